package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Account is one account on the "Pick an account" page of a [Server] with
// a [Picker].
type Account struct {
	// Key is the account's button value, e.g. "adele": non-empty and
	// unique within a Picker.
	Key string
	// Note is shown under the account's name and UPN, e.g. "150 groups".
	Note string
	// User is who signs in.
	User User
	// Attributes are claims sent beyond Entra's defaults
	// ([Response.Attributes]).
	Attributes []Attribute
}

// Picker turns a [Server] into a development IdP: its sign-on endpoint
// answers an AuthnRequest with a "Pick an account" page, and the picked
// account is signed in with Entra's auto-submitting form, so that a person
// can try an app in a browser without an Entra tenant. Development only:
// anyone who can reach the server can sign in as any account.
type Picker struct {
	// TenantName is the fake tenant's name on the pages, e.g. "Contoso".
	// "": none.
	TenantName string
	// Accounts are the page's accounts, in order. At least one.
	Accounts []Account
}

// SetPicker makes the sign-on endpoint show p's "Pick an account" page
// from now on; nil restores signing in [Server.User] at once. It fails,
// and changes nothing, when p has no account or two accounts share a Key
// or one has none.
//
// The page's form posts the AuthnRequest back to the sign-on endpoint with
// the picked account's Key in the field "user"; an unknown Key is answered
// 400 with Entra's AADSTS50034 page.
func (s *Server) SetPicker(p *Picker) error {
	if p != nil {
		if len(p.Accounts) == 0 {
			return errors.New("entratest: Picker has no accounts")
		}
		seen := map[string]bool{}
		for _, a := range p.Accounts {
			if a.Key == "" || seen[a.Key] {
				return fmt.Errorf("entratest: Picker account key %q is empty or not unique", a.Key)
			}
			seen[a.Key] = true
		}
		c := &Picker{TenantName: p.TenantName, Accounts: slices.Clone(p.Accounts)}
		for i := range c.Accounts {
			c.Accounts[i].User = cloneUser(c.Accounts[i].User)
			c.Accounts[i].Attributes = slices.Clone(c.Accounts[i].Attributes)
		}
		p = c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.picker = p
	return nil
}

func (s *Server) currentPicker() *Picker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.picker
}

// pickedAccount returns the account picked for req, or shows the picker
// (or an error page) and returns nil.
func (s *Server) pickedAccount(w http.ResponseWriter, r *http.Request, p *Picker, req *AuthnRequest) *Account {
	key := ""
	if r.Method == http.MethodPost {
		key = r.PostFormValue("user")
	}
	if key == "" {
		binding, samlRequest := "post", r.PostFormValue("SAMLRequest")
		if r.Method == http.MethodGet {
			binding, samlRequest = "redirect", r.URL.Query().Get("SAMLRequest")
		}
		d := s.pageData("")
		d.Req, d.Accounts, d.Binding, d.SAMLRequest = req, p.Accounts, binding, samlRequest
		s.htmlPage(w, http.StatusOK, "picker", d)
		return nil
	}
	for i := range p.Accounts {
		if p.Accounts[i].Key == key {
			return &p.Accounts[i]
		}
	}
	s.errorPage(w, http.StatusBadRequest, "AADSTS50034: The user account does not exist in this directory.")
	return nil
}

// CrossSiteURL returns the URL at which a browser reaches a server
// listening on addr (a development IdP) on another site than the app at
// appURL, so that the browser's form POST to the app's ACS is cross-site,
// as it is with Entra (and cookies are tested as with Entra). A loopback
// or unspecified address is named 127.0.0.1 for an app on localhost (or a
// subdomain of it) and localhost for an app on 127.0.0.1 or [::1]; another
// address is named as itself. It fails when addr is not a TCP address or
// appURL does not parse.
func CrossSiteURL(appURL string, addr net.Addr) (string, error) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("entratest: %v is not a TCP address", addr)
	}
	app, err := url.Parse(appURL)
	if err != nil {
		return "", err
	}
	appHost := app.Hostname()
	var host string
	switch ip := tcp.IP; {
	case ip.IsUnspecified() || ip.To4() != nil && ip.IsLoopback():
		host = "127.0.0.1"
		if appHost == "127.0.0.1" || appHost == "::1" {
			host = "localhost"
		}
	case ip.IsLoopback(): // ::1
		host = "::1"
		if appHost == "::1" {
			host = "localhost"
		}
	default:
		host = ip.String()
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), nil
}

// pageData is what the HTML pages show.
type pageData struct {
	*Server
	TenantName, Message          string
	Req                          *AuthnRequest
	Accounts                     []Account
	Binding, SAMLRequest, Action string
}

func (s *Server) pageData(msg string) pageData {
	d := pageData{Server: s, Message: msg, Action: s.SignOnURL()}
	if p := s.currentPicker(); p != nil {
		d.TenantName = p.TenantName
	}
	return d
}

func (s *Server) serveIndex(w http.ResponseWriter) {
	s.htmlPage(w, http.StatusOK, "index", s.pageData(""))
}

func (s *Server) htmlPage(w http.ResponseWriter, code int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	}
	w.WriteHeader(code)
	_ = s.page.ExecuteTemplate(w, name, data)
}

// submitScript is the auto-submit script of Entra's form page; the page's
// Content-Security-Policy allows it by its hash.
const submitScript = "document.forms[0].submit()"

var submitScriptHash = func() string {
	h := sha256.Sum256([]byte(submitScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}()

// pageTemplate holds the server's pages. html/template escapes every
// value; the AuthnRequest's Issuer and ACS URL are the app's, unverified.
const pageTemplate = `{{define "style"}}<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<style>body{font:15px/1.5 "Segoe UI",system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.banner{background:#fff4ce;padding:.4rem .6rem;font-size:13px}button{display:block;width:100%;text-align:left;
margin:.4rem 0;padding:.6rem .8rem;border:1px solid #ccc;background:#fff;cursor:pointer;font:inherit}
button:hover{background:#f2f2f2}small{color:#666;display:block}code{word-break:break-all}</style>
<p class="banner">entratest: a fake Microsoft Entra ID tenant{{if .TenantName}} of <strong id="tenant-name">{{.TenantName}}</strong>{{end}}, for development and tests.</p>{{end}}

{{define "picker"}}<!DOCTYPE html>
<html lang="en"><head><title>Sign in to your account</title>{{template "style" .}}</head><body>
<h1>Pick an account</h1>
<p>to continue to <code>{{.Req.Issuer}}</code><small>Reply URL <code>{{.Req.ACSURL}}</code></small></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.Req.RelayState}}">
<input type="hidden" name="binding" value="{{.Binding}}">
{{range .Accounts}}<button type="submit" name="user" value="{{.Key}}">{{.User.DisplayName}}<small>{{.User.UPN}}{{if .Note}} · {{.Note}}{{end}}</small></button>
{{end}}</form>
</body></html>
{{end}}

{{define "post"}}<!DOCTYPE html>
<html><head><title>Working...</title></head><body>
<form method="post" action="{{.ACS}}">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
{{- if .RelayState}}
<input type="hidden" name="RelayState" value="{{.RelayState}}">
{{- end}}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form>
<script>` + submitScript + `</script>
</body></html>
{{end}}

{{define "index"}}<!DOCTYPE html>
<html lang="en"><head><title>entratest</title>{{template "style" .}}</head><body>
<h1>Fake Entra tenant</h1>
<p>Tenant <code>{{.TenantID}}</code>, entity ID <code>{{.EntityID}}</code>.</p>
<p>Federation metadata: <a href="{{.MetadataURL}}">{{.MetadataURL}}</a><br>
Sign-on URL: <code>{{.SignOnURL}}</code></p>
<p>Open the app to sign in; it sends you here with an AuthnRequest.</p>
</body></html>
{{end}}

{{define "signedout"}}<!DOCTYPE html>
<html lang="en"><head><title>Sign out</title>{{template "style" .}}</head><body>
<h1>You signed out of your account</h1>
<p>It's a good idea to close all browser windows.</p>
</body></html>
{{end}}

{{define "error"}}<!DOCTYPE html>
<html lang="en"><head><title>Sign in to your account</title>{{template "style" .}}</head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>{{.Message}}</p>
</body></html>
{{end}}`
