// Package devidp is the development identity provider of the example apps:
// a fake Microsoft Entra ID tenant (package entratest: Entra-shaped signed
// metadata and responses) behind a "Pick an account" page, so that signing
// in works in a browser as it does with Entra: a redirect to the IdP, a
// click, then a cross-site form POST to the app's ACS.
//
// An [IdP] is an http.Handler; serve it on its own port, on another site
// than the app ([Origin] picks the host), and give the app its metadata
// ([entratest.IdP.Metadata] or [entratest.IdP.MetadataURL]). It serves, as
// Entra's login host does:
//
//	GET  /                                                        a page naming the tenant and its URLs
//	GET  /{tenant}/federationmetadata/2007-06/federationmetadata.xml  the federation metadata (any query)
//	GET  /{tenant}/saml2?SAMLRequest=…&RelayState=…               the account picker, or single logout
//	POST /{tenant}/saml2                                          signs the picked account in: Entra's auto-posting form
//
// It checks the AuthnRequest as Entra does (AADSTS codes on its error
// page) but, like entratest, knows no registered Identifier or Reply URL:
// it answers any app. A LogoutRequest is answered with a signed
// LogoutResponse at the app's Logout URL, which Entra knows from the
// application's registration; the development IdP takes it from the
// app's last sign-in, as its Reply URL with the last path segment "acs"
// replaced by "logout" (entrasaml's /saml/acs and /saml/logout), and
// without one shows a "signed out" page. Development only: anyone who can
// reach it can sign in as any of its accounts.
package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/entrasaml/entrasaml/entratest"
)

// Account is one button on the picker.
type Account struct {
	// Key is the button's value, e.g. "adele": unique within an IdP.
	Key string
	// Note is shown under the account's name and UPN.
	Note string
	// User is who signs in.
	User entratest.User
	// Extra are claims beyond Entra's defaults.
	Extra []entratest.Attribute
}

// Options configures [New].
type Options struct {
	// LoginURL is the origin the IdP is served at, e.g.
	// "http://127.0.0.1:5000" (see [Origin]): its sign-on URL and metadata
	// URL start with it. Required; change it later with SetLoginURL.
	LoginURL string
	// TenantID is the fake tenant's id. "": a random GUID.
	TenantID string
	// Name is the tenant's name on the IdP's pages, e.g. "Contoso". "":
	// none.
	Name string
	// Accounts are the picker's accounts, in order. At least one.
	Accounts []Account
	// Key signs metadata and responses. nil: a new 2048-bit key.
	Key *entratest.Key
	// Logger receives a line per sign-in and rendering errors. nil:
	// slog.Default().
	Logger *slog.Logger
}

// IdP is a development IdP: an [entratest.IdP] (whose methods it has:
// TenantID, Metadata, MetadataURL, SignOnURL, …) behind an account picker.
// It is safe for concurrent use.
type IdP struct {
	*entratest.IdP
	name     string
	accounts []Account
	logger   *slog.Logger
	mux      *http.ServeMux

	mu         sync.Mutex
	logoutURLs map[string]string // an app's Identifier → its Logout URL
}

// maxApps bounds the Logout URLs the IdP remembers.
const maxApps = 1000

// New returns a development IdP configured by opts. It fails when
// LoginURL is missing or not an http(s) origin, when there is no account
// or two share a Key, or as [entratest.New].
func New(opts Options) (*IdP, error) {
	if opts.LoginURL == "" {
		return nil, fmt.Errorf("devidp: LoginURL is required")
	}
	if len(opts.Accounts) == 0 {
		return nil, fmt.Errorf("devidp: no accounts")
	}
	seen := map[string]bool{}
	for _, a := range opts.Accounts {
		if a.Key == "" || seen[a.Key] {
			return nil, fmt.Errorf("devidp: account key %q is empty or not unique", a.Key)
		}
		seen[a.Key] = true
	}
	idp, err := entratest.New(entratest.Options{TenantID: opts.TenantID, LoginURL: opts.LoginURL, Key: opts.Key})
	if err != nil {
		return nil, err
	}
	d := &IdP{IdP: idp, name: opts.Name, accounts: opts.Accounts, logger: opts.Logger, mux: http.NewServeMux(),
		logoutURLs: map[string]string{}}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	d.mux.HandleFunc("GET /{$}", d.serveIndex)
	d.mux.HandleFunc("GET /{tenant}/federationmetadata/2007-06/federationmetadata.xml", d.serveMetadata)
	d.mux.HandleFunc("GET /{tenant}/saml2", d.servePicker)
	d.mux.HandleFunc("POST /{tenant}/saml2", d.serveSignIn)
	return d, nil
}

// Name returns Options.Name.
func (d *IdP) Name() string { return d.name }

// Accounts returns the picker's accounts. The slice is shared: do not
// modify it.
func (d *IdP) Accounts() []Account { return d.accounts }

// ServeHTTP serves the IdP's pages and metadata.
func (d *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	d.mux.ServeHTTP(w, r)
}

func (d *IdP) serveIndex(w http.ResponseWriter, r *http.Request) {
	d.page(w, http.StatusOK, "index", d)
}

func (d *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !d.tenant(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Write(d.Metadata())
}

// servePicker answers the AuthnRequest (HTTP-Redirect binding) with the
// account picker, which posts the request back with the chosen account. A
// LogoutRequest goes to serveLogout.
func (d *IdP) servePicker(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if lr, err := entratest.ParseLogoutRequest(q); err == nil {
		d.serveLogout(w, r, lr)
		return
	}
	req, ok := d.request(w, r, q)
	if !ok {
		return
	}
	if base, ok := strings.CutSuffix(req.ACSURL, "/acs"); ok {
		d.mu.Lock()
		if len(d.logoutURLs) >= maxApps {
			clear(d.logoutURLs)
		}
		d.logoutURLs[req.Issuer] = base + "/logout"
		d.mu.Unlock()
	}
	d.page(w, http.StatusOK, "picker", struct {
		Req                                   *entratest.AuthnRequest
		Name, Action, SAMLRequest, RelayState string
		Accounts                              []Account
	}{req, d.name, d.SignOnURL(), q.Get("SAMLRequest"), q.Get("RelayState"), d.accounts})
}

// serveSignIn signs the chosen account in: it answers the AuthnRequest
// with a signed response in Entra's auto-submitting form.
func (d *IdP) serveSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		d.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	req, ok := d.request(w, r, r.PostForm)
	if !ok {
		return
	}
	var a *Account
	for i := range d.accounts {
		if d.accounts[i].Key == r.PostForm.Get("user") {
			a = &d.accounts[i]
		}
	}
	if a == nil {
		d.errorPage(w, http.StatusBadRequest, "AADSTS50034: The user account does not exist in this directory.")
		return
	}
	resp := req.Response(a.User)
	resp.Attributes = a.Extra
	samlResponse, err := d.Response(resp)
	if err != nil {
		d.logger.Error("building the SAML response", "err", err)
		d.errorPage(w, http.StatusInternalServerError, "The response could not be built.")
		return
	}
	d.logger.Info("signed in", "tenant", d.TenantID(), "user", a.User.UPN, "in_response_to", req.ID, "acs", req.ACSURL, "audience", resp.Audience)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src '"+submitScriptHash+"'; frame-ancestors 'none'")
	d.page(w, http.StatusOK, "post", struct{ ACS, SAMLResponse, RelayState string }{req.ACSURL, samlResponse, req.RelayState})
}

// serveLogout signs the user out, as Entra does, and answers at the app's
// Logout URL with a signed LogoutResponse.
func (d *IdP) serveLogout(w http.ResponseWriter, r *http.Request, lr *entratest.LogoutRequest) {
	if !d.tenant(w, r) {
		return
	}
	if lr.Destination != "" && lr.Destination != d.SignOnURL() {
		d.errorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'.", lr.Destination, d.SignOnURL()))
		return
	}
	d.mu.Lock()
	dest := d.logoutURLs[lr.Issuer]
	d.mu.Unlock()
	d.logger.Info("signed out", "tenant", d.TenantID(), "user", lr.NameID, "app", lr.Issuer, "logout_url", dest)
	if dest == "" {
		d.page(w, http.StatusOK, "signedout", d)
		return
	}
	u, err := d.LogoutResponseURL(dest, lr.ID, lr.RelayState, true)
	if err != nil {
		d.logger.Error("building the LogoutResponse", "err", err)
		d.errorPage(w, http.StatusInternalServerError, "The response could not be built.")
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// request reads and checks the AuthnRequest in v, or answers with Entra's
// error page.
func (d *IdP) request(w http.ResponseWriter, r *http.Request, v url.Values) (*entratest.AuthnRequest, bool) {
	if !d.tenant(w, r) {
		return nil, false
	}
	req, err := entratest.ParseAuthnRequest(v)
	if err != nil {
		d.errorPage(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if req.Destination != "" && req.Destination != d.SignOnURL() {
		d.errorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'.", req.Destination, d.SignOnURL()))
		return nil, false
	}
	return req, true
}

func (d *IdP) tenant(w http.ResponseWriter, r *http.Request) bool {
	if t := r.PathValue("tenant"); !strings.EqualFold(t, d.TenantID()) {
		d.errorPage(w, http.StatusNotFound, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", t))
		return false
	}
	return true
}

func (d *IdP) errorPage(w http.ResponseWriter, status int, msg string) {
	d.page(w, status, "error", struct{ Name, Message string }{d.name, msg})
}

func (d *IdP) page(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	}
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
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

// Origin returns the origin of a development IdP listening on addr, on
// another site than the app at appURL, so that the ACS POST is a
// cross-site request as with Entra. A loopback or unspecified address is
// reached as 127.0.0.1 when the app is on localhost (or a subdomain of it),
// and as localhost when the app is on 127.0.0.1 (or [::1]); another
// address as itself.
func Origin(appURL string, addr net.Addr) (string, error) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("development IdP: %v is not a TCP address", addr)
	}
	root, err := url.Parse(appURL)
	if err != nil {
		return "", err
	}
	appHost := root.Hostname()
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

// GUID derives a stable GUID-shaped id from s, for demo object and group
// ids.
func GUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
