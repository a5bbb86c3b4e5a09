package main

import "html/template"

// The local sign-in and admin pages. html/template escapes every value:
// the onboarding report, the claims and the audit log come from outside.

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Parcelry</title></head>
<body style="font-family:system-ui;max-width:40em;margin:2em auto">
<h1>Sign in to Parcelry</h1>
{{with .Msg}}<p id="msg" style="color:#a00">{{.}}</p>{{end}}
{{if .Enforced}}<p id="enforced">Your company requires signing in with Microsoft. Only its Parcelry admin can sign in here, to the admin page.</p>{{end}}
{{if .SSO}}<p><a id="sso" href="/private">Sign in with Microsoft</a></p>{{end}}
<form id="login" method="post" action="/login">
<input type="hidden" name="return" value="{{.Return}}">
<p><label>Email <input name="email" id="email" autocomplete="username"></label></p>
<p><label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label></p>
<p><button id="signin">Sign in</button></p>
</form>
</body></html>`))

var localHomePage = template.Must(template.New("localhome").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parcelry</title></head>
<body style="font-family:system-ui;max-width:40em;margin:2em auto">
<h1>Parcelry</h1>
<p>Signed in with your Parcelry password as <b id="local-user">{{.U.Email}}</b>.</p>
{{if .U.Admin}}<p><a id="admin-link" href="/admin">Single sign-on settings</a></p>{{end}}
<form method="post" action="/logout"><button id="signout">Sign out</button></form>
</body></html>`))

var adminPage = template.Must(template.New("admin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Single sign-on: {{.Slug}}</title>
<style>body{font-family:system-ui;max-width:60em;margin:2em auto} code{background:#eee;padding:0 .2em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.2em .4em;text-align:left;vertical-align:top} .ok{color:#060} .bad{color:#a00}</style></head>
<body>
<h1>Single sign-on with Microsoft Entra ID</h1>
<p>Signed in as <b id="admin-user">{{.U.Email}}</b>. <form style="display:inline" method="post" action="/logout"><button>Sign out</button></form></p>
{{with .Msg}}<p id="msg"><b>{{.}}</b></p>{{end}}

<h2>Status</h2>
<p id="status">SSO: <b id="sso-state">{{if .Customer.Enabled}}on{{else}}off{{end}}</b>.
Require SSO: <b id="enforce-state">{{if .Customer.Enforced}}on{{else}}off{{end}}</b>.
{{with .LiveDigest}}Live metadata: <code id="live-digest">{{.}}</code>{{end}}</p>

<h2>1. In Entra</h2>
<p>Microsoft Entra admin center: Enterprise applications &gt; New application &gt; Create your own application (non-gallery), then Single sign-on &gt; SAML, Basic SAML Configuration:</p>
<table id="entra">
<tr><th>Identifier (Entity ID)</th><td><code id="identifier">{{.Identifier}}</code></td></tr>
<tr><th>Reply URL (Assertion Consumer Service URL)</th><td><code id="reply-url">{{.ReplyURL}}</code></td></tr>
<tr><th>Sign on URL</th><td><code id="sign-on-url">{{.SignOnURL}}</code></td></tr>
<tr><th>Logout URL</th><td><code id="logout-url">{{.LogoutURL}}</code></td></tr>
</table>
<p>Or upload <a id="sp-metadata" href="/admin/sp-metadata">Parcelry's SP metadata</a> (available once you gave your metadata below). Assign the users and groups who may use Parcelry.</p>

<h2>2. Your metadata</h2>
<form id="draft" method="post" action="/admin/metadata" enctype="multipart/form-data">
<p><label>App Federation Metadata Url <input id="metadata-url" name="metadata_url" size="70"></label></p>
<p>or <label>Federation Metadata XML <input id="metadata-file" type="file" name="metadata_file" accept=".xml"></label> (at most 1 MiB)</p>
<p><button id="check">Check metadata</button></p>
</form>
{{with .Report}}
<div id="report">
<p>Onboarding report: {{if .Ready}}<b class="ok">usable</b>{{else}}<b class="bad">not usable</b>{{end}}.
Tenant <code>{{.TenantID}}</code>, IdP <code>{{.EntityID}}</code>, sign-on URL <code>{{.SignOnURL}}</code>.</p>
<ul>{{range .Certificates}}<li>Certificate {{.Subject}}, valid until {{.NotAfter.Format "2006-01-02"}} ({{.DaysLeft}} days)</li>{{end}}
{{range .Problems}}<li class="{{if eq .Severity "error"}}bad{{end}}">{{.Severity}}: {{.Message}}</li>{{end}}</ul>
</div>{{end}}
{{with .Draft}}<p>Draft metadata <code id="draft-digest">{{.Digest}}</code>{{if eq .Tested .Digest}} <b class="ok">(a test sign-in passed)</b>{{end}}.</p>
<form id="test" method="post" action="/admin/test"><button id="run-test">Test sign-in</button> (you alone, with this metadata; nothing changes for your users)</form>{{end}}

<h2>3. Last test sign-in</h2>
{{with .Test}}<div id="test-result">
{{if .OK}}<p class="ok" id="test-ok">Passed at {{.At.Format "15:04:05"}}.</p>
<table>
<tr><th>User</th><td id="test-user">{{$.TestDetail.NameID}}</td></tr>
<tr><th>Name, email</th><td>{{$.TestDetail.Name}}, {{$.TestDetail.Email}}</td></tr>
<tr><th>Object id, tenant</th><td>{{$.TestDetail.ObjectID}}, {{$.TestDetail.TenantID}}</td></tr>
<tr><th>Groups</th><td id="test-groups">{{range $.TestDetail.Groups}}<code>{{.}}</code> {{end}}</td></tr>
<tr><th>Roles</th><td>{{range $.TestDetail.Roles}}<code>{{.}}</code> {{end}}</td></tr>
<tr><th>Claims</th><td>{{range $.TestDetail.Claims}}<code>{{.}}</code><br>{{end}}</td></tr>
<tr><th>Account in Parcelry</th><td id="test-account">{{if $.TestDetail.HasUser}}yes: this user can sign in{{else}}no: this user would be refused; add them to Parcelry first{{end}}</td></tr>
</table>
{{else}}<p class="bad" id="test-failed">Failed at {{.At.Format "15:04:05"}}: <span id="test-problem">{{$.TestDetail.Problem}}</span></p>
<p id="test-advice">{{$.TestDetail.Advice}}</p><p>Nothing was changed.</p>{{end}}
</div>{{else}}<p>No test yet.</p>{{end}}

<h2>4. Turn it on</h2>
{{if .CanActivate}}<form id="activate" method="post" action="/admin/activate"><button id="use-draft">Use the tested metadata (turns SSO on)</button></form>{{end}}
{{if .Customer.Enforced}}<form id="enforce-off" method="post" action="/admin/enforce"><input type="hidden" name="require" value="off"><button id="require-off">Turn off Require SSO</button></form>
{{else if .CanEnforce}}<form id="enforce-on" method="post" action="/admin/enforce"><input type="hidden" name="require" value="on"><button id="require-on">Require SSO</button></form>
{{else}}<p>Require SSO is available once SSO is on with metadata a test sign-in passed with.</p>{{end}}

<h2>Refused sign-ins</h2>
<table id="refused"><tr><th>When</th><th>Who</th><th>Why</th></tr>
{{range .Refused}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.Who}}</td><td>{{.Reason}}</td></tr>{{end}}</table>

<h2>Audit log</h2>
<table id="audit"><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Detail</th></tr>
{{range .Audit}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.Actor}}</td><td class="action">{{.Action}}</td><td><code>{{printf "%.300s" (printf "%s" .Detail)}}</code></td></tr>{{end}}</table>
</body></html>`))
