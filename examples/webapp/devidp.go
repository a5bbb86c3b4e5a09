package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/entrasaml/entrasaml/entratest"
)

// The development IdP's fixed tenant and its demo users' object ids (the
// signing key is new at every start).
const (
	devTenantID    = "9188040d-6c67-4c5b-b112-36a304b66dad"
	devDomain      = "contoso.onmicrosoft.com"
	adeleObjectID  = "6e7b768e-07e2-4810-8459-485f84f8f204"
	meganObjectID  = "48d31887-5fad-4d73-a9f5-3c356e68a038"
	ursulaObjectID = "c8f2b4f4-1d5e-4a2b-9b8e-7d3c6a5f0e19"
	gradyObjectID  = "e8ffb3b7-37cf-4ea6-a0f3-0c4a56b7e5a2"
)

// demoUser is an account on the development IdP's picker.
type demoUser struct {
	Key, Note string
	User      entratest.User
	Extra     []entratest.Attribute // claims beyond Entra's defaults
}

func demoUsers() []demoUser {
	megan := make([]string, 150) // Entra's maximum before the overage claim
	for i := range megan {
		megan[i] = guid(fmt.Sprintf("megan group %d", i))
	}
	user := func(oid, first, last, upn string, groups, roles []string) entratest.User {
		return entratest.User{ObjectID: oid, UPN: upn + "@" + devDomain, Email: upn + "@" + devDomain,
			GivenName: first, Surname: last, DisplayName: first + " " + last, Groups: groups, Roles: roles}
	}
	return []demoUser{
		{Key: "adele", Note: "3 groups, role Admin",
			User: user(adeleObjectID, "Adele", "Vance", "AdeleV",
				[]string{guid("sales"), guid("managers"), guid("all staff")}, []string{"Admin"}),
			Extra: []entratest.Attribute{{Name: "department", Values: []string{"R&D <Labs>"}}}},
		{Key: "megan", Note: "150 groups, Entra's maximum before overage",
			User: user(meganObjectID, "Megan", "Bowen", "MeganB", megan, []string{"Reader"})},
		{Key: "ursula", Note: "signs in at the IdP, but the app has no account for her",
			User: user(ursulaObjectID, "Ursula", "Unprovisioned", "UrsulaU", nil, nil)},
		{Key: "grady", Note: "over 150 groups: Entra sends groups.link instead",
			User: func() entratest.User {
				u := user(gradyObjectID, "Grady", "Overage", "GradyO", nil, nil)
				u.GroupsOverage = true
				return u
			}()},
	}
}

// guid derives a stable GUID-shaped id from s.
func guid(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// devIdP is the development IdP: an entratest.IdP (Entra-shaped signed
// metadata and responses) behind a "Pick an account" page.
type devIdP struct {
	idp    *entratest.IdP
	users  []demoUser
	logger *slog.Logger
	mux    *http.ServeMux
}

func newDevIdP(origin string, logger *slog.Logger) (*devIdP, error) {
	idp, err := entratest.New(entratest.Options{TenantID: devTenantID, LoginURL: origin})
	if err != nil {
		return nil, err
	}
	d := &devIdP{idp: idp, users: demoUsers(), logger: logger, mux: http.NewServeMux()}
	d.mux.HandleFunc("GET /{$}", d.serveIndex)
	d.mux.HandleFunc("GET /{tenant}/federationmetadata/2007-06/federationmetadata.xml", d.serveMetadata)
	d.mux.HandleFunc("GET /{tenant}/saml2", d.servePicker)
	d.mux.HandleFunc("POST /{tenant}/saml2", d.serveSignIn)
	return d, nil
}

func (d *devIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	d.mux.ServeHTTP(w, r)
}

func (d *devIdP) serveIndex(w http.ResponseWriter, r *http.Request) {
	d.page(w, http.StatusOK, "index", d.idp)
}

func (d *devIdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !d.tenant(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Write(d.idp.Metadata())
}

// servePicker answers the AuthnRequest (HTTP-Redirect binding) with the
// account picker, which posts the request back with the chosen user.
func (d *devIdP) servePicker(w http.ResponseWriter, r *http.Request) {
	req, ok := d.request(w, r, r.URL.Query())
	if !ok {
		return
	}
	q := r.URL.Query()
	d.page(w, http.StatusOK, "picker", struct {
		Req                             *entratest.AuthnRequest
		Action, SAMLRequest, RelayState string
		Users                           []demoUser
	}{req, d.idp.SignOnURL(), q.Get("SAMLRequest"), q.Get("RelayState"), d.users})
}

// serveSignIn signs the chosen user in: it answers the AuthnRequest with a
// signed response in Entra's auto-submitting form.
func (d *devIdP) serveSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		d.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	req, ok := d.request(w, r, r.PostForm)
	if !ok {
		return
	}
	var u *demoUser
	for i := range d.users {
		if d.users[i].Key == r.PostForm.Get("user") {
			u = &d.users[i]
		}
	}
	if u == nil {
		d.errorPage(w, http.StatusBadRequest, "AADSTS50034: The user account does not exist in this directory.")
		return
	}
	resp := req.Response(u.User)
	resp.Attributes = u.Extra
	samlResponse, err := d.idp.Response(resp)
	if err != nil {
		d.logger.Error("building the SAML response", "err", err)
		d.errorPage(w, http.StatusInternalServerError, "The response could not be built.")
		return
	}
	d.logger.Info("signed in", "user", u.User.UPN, "in_response_to", req.ID, "acs", req.ACSURL, "audience", resp.Audience)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src '"+submitScriptHash+"'; frame-ancestors 'none'")
	d.page(w, http.StatusOK, "post", struct{ ACS, SAMLResponse, RelayState string }{req.ACSURL, samlResponse, req.RelayState})
}

// request reads and checks the AuthnRequest in v, or answers with Entra's
// error page.
func (d *devIdP) request(w http.ResponseWriter, r *http.Request, v map[string][]string) (*entratest.AuthnRequest, bool) {
	if !d.tenant(w, r) {
		return nil, false
	}
	req, err := entratest.ParseAuthnRequest(v)
	if err != nil {
		d.errorPage(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if req.Destination != "" && req.Destination != d.idp.SignOnURL() {
		d.errorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'.", req.Destination, d.idp.SignOnURL()))
		return nil, false
	}
	return req, true
}

func (d *devIdP) tenant(w http.ResponseWriter, r *http.Request) bool {
	if t := r.PathValue("tenant"); !strings.EqualFold(t, d.idp.TenantID()) {
		d.errorPage(w, http.StatusNotFound, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", t))
		return false
	}
	return true
}

func (d *devIdP) errorPage(w http.ResponseWriter, status int, msg string) {
	d.page(w, status, "error", msg)
}

func (d *devIdP) page(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	}
	w.WriteHeader(status)
	if err := devPages.ExecuteTemplate(w, name, data); err != nil {
		d.logger.Warn("rendering a page", "page", name, "err", err)
	}
}

// submitScript is the auto-submit script of Entra's form page; the page's
// Content-Security-Policy allows it by hash.
const submitScript = "document.forms[0].submit()"

var submitScriptHash = func() string {
	h := sha256.Sum256([]byte(submitScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}()

var devPages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.}}</title>
<style>body{font:15px/1.5 "Segoe UI",system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.banner{background:#fff4ce;padding:.4rem .6rem;font-size:13px}button{display:block;width:100%;text-align:left;
margin:.4rem 0;padding:.6rem .8rem;border:1px solid #ccc;background:#fff;cursor:pointer;font:inherit}
button:hover{background:#f2f2f2}small{color:#666;display:block}code{word-break:break-all}</style></head><body>
<p class="banner">Development IdP: a fake Microsoft Entra ID tenant for trying the app without one.</p>
{{end}}

{{define "picker"}}{{template "head" "Sign in to your account"}}
<h1>Pick an account</h1>
<p>to continue to <code>{{.Req.Issuer}}</code><small>Reply URL <code>{{.Req.ACSURL}}</code></small></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
{{range .Users}}<button type="submit" name="user" value="{{.Key}}">{{.User.DisplayName}}<small>{{.User.UPN}} · {{.Note}}</small></button>
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

{{define "index"}}{{template "head" "Development IdP"}}
<h1>Development IdP</h1>
<p>Tenant <code>{{.TenantID}}</code>, entity ID <code>{{.EntityID}}</code>.</p>
<p>Federation metadata: <a href="{{.MetadataURL}}">{{.MetadataURL}}</a><br>
Sign-on URL: <code>{{.SignOnURL}}</code></p>
<p>Open the app to sign in; it sends you here with an AuthnRequest.</p>
</body></html>
{{end}}

{{define "error"}}{{template "head" "Sign in to your account"}}
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>{{.}}</p>
</body></html>
{{end}}
`))
