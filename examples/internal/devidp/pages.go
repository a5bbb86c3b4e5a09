package devidp

import "html/template"

// pages are the IdP's pages. Every value is escaped by html/template; the
// AuthnRequest's Issuer and ACS URL are the app's, unverified.
var pages = template.Must(template.New("").Parse(`
{{define "style"}}<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<style>body{font:15px/1.5 "Segoe UI",system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.banner{background:#fff4ce;padding:.4rem .6rem;font-size:13px}button{display:block;width:100%;text-align:left;
margin:.4rem 0;padding:.6rem .8rem;border:1px solid #ccc;background:#fff;cursor:pointer;font:inherit}
button:hover{background:#f2f2f2}small{color:#666;display:block}code{word-break:break-all}</style>{{end}}

{{define "banner"}}<p class="banner">Development IdP: a fake Microsoft Entra ID tenant{{if .}} of <strong id="tenant-name">{{.}}</strong>{{end}}, for trying the app without one.</p>{{end}}

{{define "picker"}}<!doctype html>
<html lang="en"><head><title>Sign in to your account</title>{{template "style"}}</head><body>
{{template "banner" .Name}}
<h1>Pick an account</h1>
<p>to continue to <code>{{.Req.Issuer}}</code><small>Reply URL <code>{{.Req.ACSURL}}</code></small></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
{{range .Accounts}}<button type="submit" name="user" value="{{.Key}}">{{.User.DisplayName}}<small>{{.User.UPN}}{{if .Note}} · {{.Note}}{{end}}</small></button>
{{end}}</form>
</body></html>
{{end}}

{{define "post"}}<!doctype html>
<html><head><title>Working...</title></head><body>
<form method="post" action="{{.ACS}}">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form>
<script>` + submitScript + `</script>
</body></html>
{{end}}

{{define "index"}}<!doctype html>
<html lang="en"><head><title>Development IdP</title>{{template "style"}}</head><body>
{{template "banner" .Name}}
<h1>Development IdP</h1>
<p>Tenant <code>{{.TenantID}}</code>, entity ID <code>{{.EntityID}}</code>.</p>
<p>Federation metadata: <a href="{{.MetadataURL}}">{{.MetadataURL}}</a><br>
Sign-on URL: <code>{{.SignOnURL}}</code></p>
<p>Open the app to sign in; it sends you here with an AuthnRequest.</p>
</body></html>
{{end}}

{{define "signedout"}}<!doctype html>
<html lang="en"><head><title>Sign out</title>{{template "style"}}</head><body>
{{template "banner" .Name}}
<h1>You signed out of your account</h1>
<p>It's a good idea to close all browser windows.</p>
</body></html>
{{end}}

{{define "error"}}<!doctype html>
<html lang="en"><head><title>Sign in to your account</title>{{template "style"}}</head><body>
{{template "banner" .Name}}
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>{{.Message}}</p>
</body></html>
{{end}}
`))
