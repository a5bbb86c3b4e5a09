package entrasaml_test

import (
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	formInputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
	redirectSSO  = regexp.MustCompile(`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="[^"]*"\s*/>`)
)

// postForm reads an auto-submitting form page and posts it with c, as the
// browser's script does.
func postForm(t *testing.T, c *http.Client, res *http.Response) *http.Response {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := formActionRE.FindSubmatch(b)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("want a form page, got %s:\n%s", res.Status, b)
	}
	form := url.Values{}
	for _, in := range formInputRE.FindAllSubmatch(b, -1) {
		form.Set(string(in[1]), html.UnescapeString(string(in[2])))
	}
	next, err := c.PostForm(html.UnescapeString(string(m[1])), form)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// An IdP whose metadata lists its sign-on URL for HTTP-POST only (as
// JumpCloud's and older OneLogin's do) gets the AuthnRequest from an
// auto-submitting form: a whole sign-in against the fake Entra server,
// whose metadata has its HTTP-Redirect sign-on URLs taken out.
func TestSignInHTTPPOSTBinding(t *testing.T) {
	t.Parallel()
	idp := entratest.NewServer()
	defer idp.Close()
	idp.SetUser(entratest.User{ObjectID: "6e7b768e-07e2-4810-8459-485f84f8f204", UPN: "adele@contoso.example"})
	md := redirectSSO.ReplaceAll(idp.Metadata(), nil)
	if parsed, err := entrasaml.ParseMetadata(md); err != nil || parsed.SignOnURL != "" || parsed.SignOnPOSTURL != idp.SignOnURL() {
		t.Fatalf("ParseMetadata: %+v, %v", parsed, err)
	}

	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	baseURL := "http://" + app.Listener.Addr().String()
	sp := newSP(t, entrasaml.Config{EntityID: baseURL + "/saml", BaseURL: baseURL, Metadata: md}, nil)
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		io.WriteString(w, "hello "+s.ObjectID+" at "+r.URL.Path)
	})))
	app.Config.Handler = mux
	app.Start()

	if _, _, err := sp.AuthnRequestURL(""); !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("AuthnRequestURL = %v, want ErrConfig (no HTTP-Redirect sign-on URL)", err)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(app.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("form page CSP %q", csp)
	}
	res = postForm(t, c, res) // the AuthnRequest to the IdP, which answers with its form
	res = postForm(t, c, res) // the SAMLResponse to the ACS, which redirects to /orders
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(b) != "hello 6e7b768e-07e2-4810-8459-485f84f8f204 at /orders" {
		t.Fatalf("after sign-in: %s %q", res.Status, b)
	}
}

// The posted AuthnRequest is the redirect one's XML, not deflated, with
// the POST location as its Destination.
func TestAuthnRequestHTTPPOSTForm(t *testing.T) {
	t.Parallel()
	md := withTestKey(t, readTestdata(t, "idps/jumpcloud/metadata.xml"))
	sp := newSP(t, entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: md}, nil)
	rec := httptest.NewRecorder()
	sp.StartSignIn(rec, httptest.NewRequest(http.MethodGet, fxBaseURL+"/x", nil), "/x")
	page := rec.Body.String()
	m := formActionRE.FindStringSubmatch(page)
	if rec.Code != http.StatusOK || m == nil || m[1] != "https://sso.jumpcloud.com/saml2/ucariontest" {
		t.Fatalf("%d\n%s", rec.Code, page)
	}
	fields := map[string]string{}
	for _, in := range formInputRE.FindAllStringSubmatch(page, -1) {
		fields[in[1]] = html.UnescapeString(in[2])
	}
	xml, err := base64.StdEncoding.DecodeString(fields["SAMLRequest"])
	if err != nil || !strings.HasPrefix(string(xml), "<samlp:AuthnRequest ") ||
		!strings.Contains(string(xml), ` Destination="https://sso.jumpcloud.com/saml2/ucariontest"`) ||
		!strings.Contains(string(xml), ` AssertionConsumerServiceURL="`+fxACS+`"`) {
		t.Errorf("SAMLRequest %q, %v", xml, err)
	}
	if fields["RelayState"] == "" || len(rec.Result().Cookies()) == 0 {
		t.Errorf("RelayState %q, cookies %v", fields["RelayState"], rec.Result().Cookies())
	}
}

// The form's action comes from the metadata: html/template escapes it, and
// the page runs no script but its own (by hash).
func TestAuthnRequestHTTPPOSTFormEscapes(t *testing.T) {
	t.Parallel()
	const evil = `https://sso.jumpcloud.com/saml2/x?a="><script>alert(1)</script>`
	md := strings.Replace(string(withTestKey(t, readTestdata(t, "idps/jumpcloud/metadata.xml"))),
		`Location="https://sso.jumpcloud.com/saml2/ucariontest"`, `Location="`+html.EscapeString(evil)+`"`, 1)
	sp := newSP(t, entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: []byte(md)}, nil)
	if got := sp.IdPMetadata().SignOnPOSTURL; got != evil {
		t.Fatalf("SignOnPOSTURL %q", got)
	}
	rec := httptest.NewRecorder()
	sp.StartSignIn(rec, httptest.NewRequest(http.MethodGet, fxBaseURL+"/", nil), "/")
	page := rec.Body.String()
	if strings.Contains(page, "<script>alert") || strings.Count(page, "<script>") != 1 {
		t.Errorf("unescaped metadata in the form page:\n%s", page)
	}
	// html/template percent-encodes what a URL attribute must not hold:
	// the same URL to the browser.
	m := formActionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form:\n%s", page)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || u.Host != "sso.jumpcloud.com" || u.Query().Get("a") != `"><script>alert(1)</script>` {
		t.Errorf("form action %q (%v), want %q", m[1], err, evil)
	}
}
