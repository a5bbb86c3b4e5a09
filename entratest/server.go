package entratest

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// Size limits of the sign-on endpoint.
const (
	maxEncodedRequest  = 64 << 10  // SAMLRequest, base64
	maxInflatedRequest = 256 << 10 // AuthnRequest XML after DEFLATE
)

// Server is a fake Entra login host for tests, shaped like
// httptest.Server: an [IdP] served over HTTP on a loopback address. It
// serves
//
//   - GET /{tenant}/federationmetadata/2007-06/federationmetadata.xml
//     (any query, path case-insensitive): [IdP.Metadata], as application/xml;
//   - GET /{tenant}/saml2?SAMLRequest=...&RelayState=... (HTTP-Redirect
//     binding) and POST /{tenant}/saml2 (HTTP-POST binding): signs the
//     current user in at once and answers with Entra's auto-submitting form
//     that posts a SAMLResponse (assertion signed with SHA-256) and the
//     RelayState to the request's AssertionConsumerServiceURL.
//
// The sign-on endpoint answers 400 with an HTML page naming the AADSTS code
// Entra would show when the request is malformed, has an ID starting with a
// digit (AADSTS7500529), no Issuer, no AssertionConsumerServiceURL (the fake
// knows no registered Reply URL), a Destination other than SignOnURL
// (AADSTS75008), or a NameIDPolicy Format Entra refuses (AADSTS75016). It
// does not check Issuer and ACS URL against a registration, and always
// sends the default NameID (the user's UPN in emailAddress format). A
// LogoutRequest sent to the sign-on endpoint (redirect binding) is
// answered at the Logout URL set with [Server.SetLogoutURL]. An unknown
// tenant in the path gets 404.
//
// With [Server.SetPicker] the sign-on endpoint shows a "Pick an account"
// page instead of signing the current user in at once: a development IdP
// for trying an app in a browser. [NewUnstartedServer] serves it on a
// listener and URL of your choice (see [CrossSiteURL]).
//
// A Server is safe for concurrent use.
type Server struct {
	*IdP

	// URL is the base URL of the server, of the form http://ipaddr:port
	// with no trailing slash. It is also the IdP's LoginURL. On a server
	// from [NewUnstartedServer] it may be set before Start, to reach the
	// server by another name than its listener's address.
	URL string

	// Listener is the server's listener: on a server from
	// [NewUnstartedServer] it may be replaced before Start (the default
	// one, on a free loopback port, is then closed).
	Listener net.Listener

	ts   *httptest.Server
	page *template.Template

	mu        sync.Mutex
	user      User
	logoutURL string
	picker    *Picker
}

// SetLogoutURL sets the service provider's Logout URL, as registered in
// Entra: a LogoutRequest sent to the sign-on endpoint is answered there
// with a signed LogoutResponse. Without it the endpoint answers a
// LogoutRequest with a "signed out" page.
func (s *Server) SetLogoutURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logoutURL = u
}

// NewServer starts and returns a Server for a new IdP with default
// [Options]. The caller should call Close when finished, to shut it down.
// Like httptest.NewServer, it panics if it cannot start (for example if the
// default key cannot be generated).
func NewServer() *Server {
	s, err := NewServerWith(Options{})
	if err != nil {
		panic(err)
	}
	return s
}

// NewServerWith starts and returns a Server for an IdP configured by opts.
// opts.LoginURL is ignored: the IdP's LoginURL is the server's URL.
// NewServerWith fails as [New]; like httptest.NewServer, it panics if it
// cannot listen on a loopback port.
//
// The signed-in user is a demo user (Adele Vance, UPN
// "AdeleV@<first 8 characters of the tenant id>.onmicrosoft.com", random
// object id, one random group); change it with SetUser.
func NewServerWith(opts Options) (*Server, error) {
	s, err := NewUnstartedServer(opts)
	if err != nil {
		return nil, err
	}
	s.Start()
	return s, nil
}

// NewUnstartedServer returns a Server for an IdP configured by opts, as
// [NewServerWith] does, but does not start it, like
// httptest.NewUnstartedServer: change its Listener or URL, then call
// Start. The caller should call Close when finished.
func NewUnstartedServer(opts Options) (*Server, error) {
	opts.LoginURL = ""
	idp, err := New(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		IdP:  idp,
		page: template.Must(template.New("page").Parse(pageTemplate)),
		user: demoUser(idp.TenantID()),
	}
	s.ts = httptest.NewUnstartedServer(s.handler())
	s.Listener = s.ts.Listener
	return s, nil
}

// Start starts a server from [NewUnstartedServer] on its Listener. Its
// URL (and the IdP's LoginURL) is the URL set before, or else
// "http://" and the listener's address. Start panics if the server is
// already started or URL is not an http(s) origin.
func (s *Server) Start() {
	if s.Listener != s.ts.Listener {
		s.ts.Listener.Close()
		s.ts.Listener = s.Listener
	}
	s.ts.Start()
	if s.URL == "" {
		s.URL = s.ts.URL
	}
	u, err := cleanLoginURL(s.URL)
	if err != nil {
		panic("entratest: Server.URL: " + err.Error())
	}
	s.URL = u
	s.SetLoginURL(s.URL)
}

// Close shuts down the server and blocks until all outstanding requests on
// it have completed.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client configured for requests to the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// SetUser sets the user the sign-on endpoint signs in from now on.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = cloneUser(u)
}

// User returns the user the sign-on endpoint signs in.
func (s *Server) User() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneUser(s.user)
}

func (s *Server) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			s.serveIndex(w)
			return
		}
		tenant, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		rest = strings.ToLower(rest)
		if rest != "saml2" && rest != "federationmetadata/2007-06/federationmetadata.xml" {
			http.NotFound(w, r)
			return
		}
		if !strings.EqualFold(tenant, s.TenantID()) {
			s.errorPage(w, http.StatusNotFound, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
			return
		}
		switch {
		case rest == "saml2" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
			s.serveSignOn(w, r)
		case rest != "saml2" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			_, _ = w.Write(s.Metadata())
		default:
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// serveSignOn answers an AuthnRequest with the auto-posting form.
func (s *Server) serveSignOn(w http.ResponseWriter, r *http.Request) {
	var req *AuthnRequest
	var err error
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 2*maxEncodedRequest)
		// The picker's form posts the request back as it came, with the
		// picked account and the binding it came with.
		inflate := r.PostFormValue("binding") == "redirect"
		req, err = readAuthnRequest(r.PostFormValue("SAMLRequest"), r.PostFormValue("RelayState"), inflate)
	} else {
		if lr, lerr := ParseLogoutRequest(r.URL.Query()); lerr == nil {
			s.serveLogoutRequest(w, r, lr)
			return
		}
		req, err = ParseAuthnRequest(r.URL.Query())
	}
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Destination != "" && req.Destination != s.SignOnURL() {
		s.errorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'.", req.Destination, s.SignOnURL()))
		return
	}
	resp := req.Response(s.User())
	if p := s.currentPicker(); p != nil {
		a := s.pickedAccount(w, r, p, req)
		if a == nil {
			return // the picker page, or an error page
		}
		resp.User, resp.Attributes = a.User, a.Attributes
	}
	samlResponse, err := s.Response(resp)
	if err != nil {
		s.errorPage(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src '"+submitScriptHash+"'; frame-ancestors 'none'")
	_ = s.page.ExecuteTemplate(w, "post", struct{ ACS, SAMLResponse, RelayState string }{req.ACSURL, samlResponse, req.RelayState})
}

// serveLogoutRequest signs the user out, as Entra does, and answers at the
// SP's Logout URL.
func (s *Server) serveLogoutRequest(w http.ResponseWriter, r *http.Request, lr *LogoutRequest) {
	if lr.Destination != "" && lr.Destination != s.SignOnURL() {
		s.errorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'.", lr.Destination, s.SignOnURL()))
		return
	}
	s.mu.Lock()
	dest := s.logoutURL
	s.mu.Unlock()
	if dest == "" {
		s.htmlPage(w, http.StatusOK, "signedout", s.pageData(""))
		return
	}
	u, err := s.LogoutResponseURL(dest, lr.ID, lr.RelayState, true)
	if err != nil {
		s.errorPage(w, http.StatusInternalServerError, err.Error())
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Server) errorPage(w http.ResponseWriter, code int, msg string) {
	s.htmlPage(w, code, "error", s.pageData(msg))
}

// decodeRequest undoes base64 and, for the redirect binding, DEFLATE.
func decodeRequest(encoded string, inflate bool) ([]byte, error) {
	if len(encoded) > maxEncodedRequest {
		return nil, errors.New("request too large")
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errors.New("the SAMLRequest is not base64 (standard encoding)")
	}
	if !inflate {
		return raw, nil
	}
	fr := flate.NewReader(bytes.NewReader(raw))
	defer fr.Close()
	xml, err := io.ReadAll(io.LimitReader(fr, maxInflatedRequest+1))
	if err != nil {
		return nil, errors.New("the SAMLRequest is not DEFLATE-compressed")
	}
	if len(xml) > maxInflatedRequest {
		return nil, errors.New("request too large")
	}
	return xml, nil
}

// parseAuthnRequest reads an AuthnRequest and applies Entra's checks. On
// failure it returns the message for the browser, with Entra's AADSTS code.
func parseAuthnRequest(raw []byte) (*AuthnRequest, string) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, "AADSTS750036: Unable to parse the SAML request: not XML."
	}
	root := doc.Root()
	if root == nil || root.Tag != "AuthnRequest" || root.NamespaceURI() != nsProtocol {
		return nil, "AADSTS750036: Unable to parse the SAML request: expected a samlp:AuthnRequest (entratest reads a LogoutRequest only in the redirect binding)."
	}
	req := &AuthnRequest{
		ID:          root.SelectAttrValue("ID", ""),
		ACSURL:      root.SelectAttrValue("AssertionConsumerServiceURL", ""),
		Destination: root.SelectAttrValue("Destination", ""),
	}
	if req.ID == "" || req.ID[0] >= '0' && req.ID[0] <= '9' {
		return nil, fmt.Sprintf("AADSTS7500529: The value '%s' is not a valid SAML ID. The ID must not begin with a number.", req.ID)
	}
	for _, c := range root.ChildElements() {
		switch {
		case c.Tag == "Issuer" && c.NamespaceURI() == nsAssertion:
			req.Issuer = strings.TrimSpace(c.Text())
		case c.Tag == "NameIDPolicy" && c.NamespaceURI() == nsProtocol:
			switch f := c.SelectAttrValue("Format", ""); f {
			case "", NameIDPersistent, NameIDEmail, NameIDUnspecified, NameIDTransient:
			default:
				return nil, fmt.Sprintf("AADSTS75016: The requested NameID format '%s' is not supported.", f)
			}
		}
	}
	if req.Issuer == "" {
		return nil, "AADSTS700016: Application with identifier '' was not found in the directory: the AuthnRequest has no Issuer."
	}
	if req.ACSURL == "" {
		return nil, "AADSTS50011: The request has no AssertionConsumerServiceURL, and entratest knows no registered Reply URL."
	}
	return req, ""
}

// audienceFor returns the Audience Entra sends for an Identifier: the
// identifier itself when it is a URI, else "spn:" + identifier.
func audienceFor(identifier string) string {
	if u, err := url.Parse(identifier); err == nil && u.Scheme != "" {
		return identifier
	}
	return "spn:" + identifier
}

func demoUser(tenantID string) User {
	prefix := strings.ToLower(tenantID)
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	domain := prefix + ".onmicrosoft.com"
	return User{
		ObjectID:    newGUID(),
		UPN:         "AdeleV@" + domain,
		Email:       "AdeleV@" + domain,
		GivenName:   "Adele",
		Surname:     "Vance",
		DisplayName: "Adele Vance",
		Groups:      []string{newGUID()},
	}
}

func cloneUser(u User) User {
	u.Groups = slices.Clone(u.Groups)
	u.Roles = slices.Clone(u.Roles)
	u.AuthMethods = slices.Clone(u.AuthMethods)
	return u
}
