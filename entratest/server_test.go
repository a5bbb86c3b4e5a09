package entratest_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml/entratest"
)

func newTestServer(t *testing.T) *entratest.Server {
	t.Helper()
	s, err := entratest.NewServerWith(entratest.Options{Key: newTestKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, s *entratest.Server, u string) (int, http.Header, string) {
	t.Helper()
	res, err := s.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

func TestServerMetadata(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	if s.LoginURL() != s.URL || !strings.HasPrefix(s.MetadataURL(), s.URL+"/"+s.TenantID()+"/") {
		t.Fatalf("LoginURL %q MetadataURL %q, server at %q", s.LoginURL(), s.MetadataURL(), s.URL)
	}
	code, h, body := get(t, s, s.MetadataURL())
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/xml") {
		t.Fatalf("GET metadata: %d %q", code, h.Get("Content-Type"))
	}
	ed := parse(t, []byte(body))
	if err := validate(ed, s.SigningKey().Certificate); err != nil {
		t.Errorf("served metadata signature: %v", err)
	}
	if !strings.Contains(body, `Location="`+s.URL+"/"+s.TenantID()+`/saml2"`) {
		t.Error("metadata does not point at the server")
	}
	// The tenant-level spelling works too; other tenants and paths do not.
	if code, _, _ := get(t, s, s.URL+"/"+s.TenantID()+"/FederationMetadata/2007-06/FederationMetadata.xml"); code != http.StatusOK {
		t.Errorf("tenant-level metadata URL: %d", code)
	}
	if code, _, body := get(t, s, s.URL+"/common/federationmetadata/2007-06/federationmetadata.xml"); code != http.StatusNotFound || !strings.Contains(body, "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", code, body)
	}
	if code, _, _ := get(t, s, s.URL+"/"+s.TenantID()+"/oauth2/v2.0/authorize"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
}

// authnRequest returns a minimal SP AuthnRequest; extra is inserted raw
// among the root's attributes.
func authnRequest(id, issuer, acs, extra string) string {
	esc := html.EscapeString // escapes & < > " ', enough for XML
	return fmt.Sprintf(`<samlp:AuthnRequest ID="%s" Version="2.0" IssueInstant="2026-11-28T12:00:00Z" AssertionConsumerServiceURL="%s" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"%s><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</Issuer></samlp:AuthnRequest>`,
		esc(id), esc(acs), extra, esc(issuer))
}

// redirectURL encodes an AuthnRequest for the HTTP-Redirect binding.
func redirectURL(t *testing.T, s *entratest.Server, req, relayState string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, req)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return s.SignOnURL() + "?" + q.Encode()
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE      = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)
)

// postForm extracts the action and hidden inputs of the auto-post page.
func postForm(t *testing.T, page string) (string, map[string]string) {
	t.Helper()
	m := formActionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in\n%s", page)
	}
	inputs := map[string]string{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		inputs[in[1]] = html.UnescapeString(in[2])
	}
	return html.UnescapeString(m[1]), inputs
}

func TestServerSignOn(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	user := s.User()
	if user.ObjectID == "" || !strings.HasSuffix(user.UPN, ".onmicrosoft.com") {
		t.Fatalf("demo user %+v", user)
	}
	relay := `/next?a=1&b="<x>"`
	acs := "https://sp.example/saml/acs?x=1&y=2"
	code, h, page := get(t, s, redirectURL(t, s, authnRequest("id-abc", "https://sp.example/saml", acs, ""), relay))
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-on: %d %q\n%s", code, h.Get("Content-Type"), page)
	}
	if !strings.Contains(page, "document.forms[0].submit()") || !strings.Contains(page, "<noscript>") {
		t.Error("page does not auto-submit")
	}
	if strings.Contains(page, `"<x>"`) || strings.Contains(page, "x=1&y") {
		t.Error("unescaped value in page")
	}
	action, inputs := postForm(t, page)
	if action != acs || inputs["RelayState"] != relay {
		t.Errorf("action %q RelayState %q", action, inputs["RelayState"])
	}
	resp := parse(t, decodeB64(t, inputs["SAMLResponse"]))
	a := child(resp, nsAssertion, "Assertion")
	if err := validate(a, s.SigningKey().Certificate); err != nil {
		t.Errorf("assertion signature: %v", err)
	}
	if child(resp, nsDSig, "Signature") != nil {
		t.Error("response signed: the server signs the assertion only")
	}
	for _, c := range []struct{ got, want string }{
		{resp.SelectAttrValue("InResponseTo", ""), "id-abc"},
		{resp.SelectAttrValue("Destination", ""), acs},
		{path(a, nsAssertion, "Conditions", nsAssertion, "AudienceRestriction", nsAssertion, "Audience").Text(), "https://sp.example/saml"},
		{path(a, nsAssertion, "Subject", nsAssertion, "NameID").Text(), user.UPN},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}

	// SetUser changes who signs in; an Identifier that is not a URI comes
	// back as spn:<identifier>; no RelayState, no RelayState input.
	s.SetUser(entratest.User{ObjectID: "oid-2", UPN: "bob@x.example"})
	_, _, page = get(t, s, redirectURL(t, s, authnRequest("_id2", "my-app", "https://sp.example/acs", ""), ""))
	_, inputs = postForm(t, page)
	if _, ok := inputs["RelayState"]; ok {
		t.Error("RelayState input without RelayState")
	}
	a = child(parse(t, decodeB64(t, inputs["SAMLResponse"])), nsAssertion, "Assertion")
	if got := path(a, nsAssertion, "Conditions", nsAssertion, "AudienceRestriction", nsAssertion, "Audience").Text(); got != "spn:my-app" {
		t.Errorf("Audience %q, want spn:my-app", got)
	}
	if got := path(a, nsAssertion, "Subject", nsAssertion, "NameID").Text(); got != "bob@x.example" {
		t.Errorf("NameID %q after SetUser", got)
	}
}

func TestServerSignOnPOST(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	form := url.Values{
		"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(authnRequest("id-post", "https://sp.example", "https://sp.example/acs", "")))},
		"RelayState":  {"r"},
	}
	res, err := s.Client().PostForm(s.SignOnURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST binding: %d\n%s", res.StatusCode, body)
	}
	if _, inputs := postForm(t, string(body)); inputs["RelayState"] != "r" || inputs["SAMLResponse"] == "" {
		t.Errorf("inputs %v", inputs)
	}
}

func TestServerSignOnRejects(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	raw := func(v string) string { return s.SignOnURL() + "?SAMLRequest=" + url.QueryEscape(v) }
	for _, c := range []struct {
		name, url, code string
	}{
		{"digit-leading ID", redirectURL(t, s, authnRequest("1234", "https://sp.example", "https://sp.example/acs", ""), ""), "AADSTS7500529"},
		{"no ID", redirectURL(t, s, authnRequest("", "https://sp.example", "https://sp.example/acs", ""), ""), "AADSTS7500529"},
		{"no Issuer", redirectURL(t, s, authnRequest("_x", "", "https://sp.example/acs", ""), ""), "AADSTS700016"},
		{"no ACS URL", redirectURL(t, s, authnRequest("_x", "https://sp.example", "", ""), ""), "AADSTS50011"},
		{"wrong Destination", redirectURL(t, s, authnRequest("_x", "https://sp.example", "https://sp.example/acs", ` Destination="https://login.example/saml2"`), ""), "AADSTS75008"},
		{"no SAMLRequest", s.SignOnURL(), "AADSTS750054"},
		{"not base64", raw("%%%"), "AADSTS750036"},
		{"not deflated", raw(base64.StdEncoding.EncodeToString([]byte("<x/>"))), "AADSTS750036"},
		{"logout request", redirectURL(t, s, `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l"/>`, ""), "AADSTS750036"},
	} {
		code, h, body := get(t, s, c.url)
		if code != http.StatusBadRequest || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, c.code) {
			t.Errorf("%s: %d %q, want 400 with %s\n%s", c.name, code, h.Get("Content-Type"), c.code, body)
		}
	}
	// A NameIDPolicy Format Entra refuses.
	bad := strings.Replace(authnRequest("_x", "https://sp.example", "https://sp.example/acs", ""), "</samlp:AuthnRequest>",
		`<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos"/></samlp:AuthnRequest>`, 1)
	if code, _, body := get(t, s, redirectURL(t, s, bad, "")); code != http.StatusBadRequest || !strings.Contains(body, "AADSTS75016") {
		t.Errorf("NameIDPolicy: %d %s", code, body)
	}
	// The ID is escaped in the error page.
	code, _, body := get(t, s, redirectURL(t, s, authnRequest("1<script>", "https://sp.example", "https://sp.example/acs", ""), ""))
	if code != http.StatusBadRequest || strings.Contains(body, "<script>") {
		t.Errorf("unescaped ID in error page: %s", body)
	}
	// Oversized requests are refused.
	huge := redirectURL(t, s, authnRequest("_x", "https://sp.example", "https://sp.example/acs", ` Extra="`+strings.Repeat("A", 1<<20)+`"`), "")
	if code, _, _ := get(t, s, huge); code != http.StatusBadRequest {
		t.Errorf("oversized request: %d", code)
	}
}
