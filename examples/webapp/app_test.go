package main

import (
	"bytes"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

const testEntityID = "https://webapp.test/saml"

// adele is a user whose claims need HTML escaping.
var adele = entratest.User{
	ObjectID: "0f9d3c3a-2b1e-4c5d-8e7f-a1b2c3d4e5f6", UPN: "adele<b>@contoso.example", Email: "adele@contoso.example",
	GivenName: "Adele", Surname: `O'Vance & "Co"`, DisplayName: "<script>alert(1)</script>",
	Groups: []string{"g-1", "g-2+3"}, Roles: []string{"Admin"},
}

var extraClaims = []entratest.Attribute{{Name: "urn:example:<claim>", Values: []string{"<script>document.title='x'</script>", "two & three"}}}

// acs posts a response to the app's ACS with the RelayState of req.
func (a *testApp) acs(t *testing.T, c *http.Client, samlResponse, relayState string) (*http.Response, string) {
	t.Helper()
	return postForm(t, c, a.root+"/saml/acs", url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relayState}})
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-entity-id", testEntityID)
	c := browser()

	resp, _ := get(t, c, a.root+"/deep/link?x=1&y=%3Cz%3E")
	req := requireIdPRedirect(t, resp, idp.SignOnURL())
	if req.Issuer != testEntityID || req.ACSURL != a.root+"/saml/acs" {
		t.Fatalf("AuthnRequest Issuer %q ACS %q", req.Issuer, req.ACSURL)
	}
	r := req.Response(adele)
	r.Attributes = extraClaims
	samlResponse, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := a.acs(t, c, samlResponse, req.RelayState)
	if !isRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/deep/link?x=1&y=%3Cz%3E" {
		t.Fatalf("ACS: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	sc := cookie(resp, "entrasaml_session")
	if sc == nil || len(sc.String()) >= 4096 || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %v", sc)
	}

	resp, body = get(t, c, a.root+"/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / after sign-in: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>") || strings.Contains(body, "<claim>") {
		t.Errorf("unescaped claim in page:\n%s", body)
	}
	text := html.UnescapeString(body)
	want := []string{adele.UPN, "demo:" + adele.ObjectID, `href="/saml/logout"`, "Sign out", "2 groups"}
	for name, values := range map[string][]string{
		entratest.ClaimTenantID: {idp.TenantID()}, entratest.ClaimObjectID: {adele.ObjectID},
		entratest.ClaimName: {adele.UPN}, entratest.ClaimEmail: {adele.Email}, entratest.ClaimGivenName: {adele.GivenName},
		entratest.ClaimSurname: {adele.Surname}, entratest.ClaimDisplayName: {adele.DisplayName},
		entratest.ClaimGroups: adele.Groups, entratest.ClaimRole: adele.Roles,
		entratest.ClaimIdentityProvider: {idp.EntityID()}, entratest.ClaimAuthnMethods: {entratest.AuthnMethodPassword},
		extraClaims[0].Name: extraClaims[0].Values,
	} {
		want = append(want, name)
		want = append(want, values...)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	// Other pages are open too, and stay so.
	if resp, _ := get(t, c, a.root+"/orders/42"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /orders/42: %d", resp.StatusCode)
	}

	// Sign-out ends the session (and, through the IdP, its single logout):
	// the next page goes to the IdP again.
	signOut(t, c, a.root, idp)
	resp, _ = get(t, c, a.root+"/")
	requireIdPRedirect(t, resp, idp.SignOnURL())
}

func TestSignInRefused(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	other, err := entratest.NewKey(2048, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a := startApp(t, "127.0.0.1", "-metadata", md, "-entity-id", testEntityID)

	tamper := func(t *testing.T, r entratest.Response) string {
		x, err := idp.ResponseXML(r)
		if err != nil {
			t.Fatal(err)
		}
		x = bytes.Replace(x, []byte(adele.Email), []byte("mallory@contoso.example"), 1)
		return base64.StdEncoding.EncodeToString(x)
	}
	sign := func(t *testing.T, r entratest.Response) string {
		s, err := idp.Response(r)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name   string
		status int
		text   string
		mod    func(*entratest.Response)
		build  func(*testing.T, entratest.Response) string
	}{
		{name: "tampered", status: http.StatusForbidden, build: tamper},
		{name: "wrong audience", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Audience = "https://other.example/saml" }},
		{name: "wrong recipient", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.ACSURL = "https://other.example/saml/acs" }},
		{name: "expired", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.IssueInstant = time.Now().Add(-2 * time.Hour) }},
		{name: "unknown key", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Key = other }},
		{name: "unsigned", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Sign = entratest.SignNone }},
		{name: "another request", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.InResponseTo = "_not-this-browser" }},
		{name: "unsolicited", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.InResponseTo = "" }},
		{name: "not base64", status: http.StatusBadRequest, build: func(*testing.T, entratest.Response) string { return "%%%" }},
		{name: "unprovisioned demo user", status: http.StatusForbidden, text: "not set up",
			mod: func(r *entratest.Response) { r.User.ObjectID = ursulaObjectID }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := browser()
			resp, _ := get(t, b, a.root+"/private")
			req := requireIdPRedirect(t, resp, idp.SignOnURL())
			r := req.Response(adele)
			if c.mod != nil {
				c.mod(&r)
			}
			if c.build == nil {
				c.build = sign
			}
			resp, body := a.acs(t, b, c.build(t, r), req.RelayState)
			if resp.StatusCode != c.status || !strings.Contains(body, c.text) {
				t.Errorf("ACS: %d, want %d with %q\n%s", resp.StatusCode, c.status, c.text, body)
			}
			if sc := cookie(resp, "entrasaml_session"); sc != nil && sc.MaxAge >= 0 {
				t.Errorf("a failed sign-in set a session cookie: %v", sc)
			}
			resp, _ = get(t, b, a.root+"/")
			requireIdPRedirect(t, resp, idp.SignOnURL())
		})
	}

	t.Run("Entra error", func(t *testing.T) {
		t.Parallel()
		b := browser()
		resp, _ := get(t, b, a.root+"/")
		req := requireIdPRedirect(t, resp, idp.SignOnURL())
		s, err := idp.ErrorResponse(req.ACSURL, req.ID, entratest.StatusRequester, "", "AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted ('assigned') access.")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := a.acs(t, b, s, req.RelayState)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "AADSTS50105") {
			t.Errorf("ACS: %d\n%s", resp.StatusCode, body)
		}
	})

	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		b := browser()
		resp, _ := get(t, b, a.root+"/")
		req := requireIdPRedirect(t, resp, idp.SignOnURL())
		s := sign(t, req.Response(adele))
		if resp, _ := a.acs(t, b, s, req.RelayState); !isRedirect(resp.StatusCode) {
			t.Fatalf("first use: %d", resp.StatusCode)
		}
		if resp, _ := a.acs(t, browser(), s, req.RelayState); resp.StatusCode != http.StatusForbidden {
			t.Errorf("replay in another browser: %d", resp.StatusCode)
		}
	})

	t.Run("GET ACS", func(t *testing.T) {
		t.Parallel()
		if resp, _ := get(t, browser(), a.root+"/saml/acs"); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /saml/acs: %d", resp.StatusCode)
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-allow-idp-initiated")
	s, err := idp.Response(entratest.Response{ACSURL: a.root + "/saml/acs", Audience: a.root + "/saml/metadata", User: adele})
	if err != nil {
		t.Fatal(err)
	}
	c := browser()
	resp, body := a.acs(t, c, s, "/reports?q=1")
	if !isRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/reports?q=1" {
		t.Fatalf("unsolicited response with -allow-idp-initiated: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, _ := get(t, c, a.root+"/reports?q=1"); resp.StatusCode != http.StatusOK {
		t.Errorf("after IdP-initiated sign-in: %d", resp.StatusCode)
	}
}

// Instances behind one load balancer (same root URL and entity ID) that
// share -session-key and -store-dir accept each other's cookies.
func TestSharedSessionKey(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	key := strings.Repeat("0123456789abcdef", 4)
	dir := t.TempDir()
	a := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-store-dir", dir)
	b := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-store-dir", dir, "-root-url", a.root)
	c := startApp(t, "127.0.0.1", "-metadata", md, "-store-dir", dir, "-root-url", a.root) // another (random) key

	br := browser()
	resp, _ := get(t, br, a.root+"/")
	req := requireIdPRedirect(t, resp, idp.SignOnURL())
	s, err := idp.Response(req.Response(adele))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := a.acs(t, br, s, req.RelayState); !isRedirect(resp.StatusCode) {
		t.Fatalf("ACS: %d\n%s", resp.StatusCode, body)
	}
	// The cookie jar sends 127.0.0.1's cookies to every port.
	if resp, body := get(t, br, "http://"+b.addr+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "demo:"+adele.ObjectID) {
		t.Errorf("instance b: %d", resp.StatusCode)
	}
	resp, _ = get(t, br, "http://"+c.addr+"/")
	requireIdPRedirect(t, resp, idp.SignOnURL())
}

// -metadata also takes the App Federation Metadata Url; entratest's Server
// plays Entra, signing its user in at once.
func TestMetadataURL(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := entratest.NewServerWith(entratest.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetUser(adele)
	a := startApp(t, "localhost", "-metadata", srv.MetadataURL())
	c := browser()
	resp, _ := get(t, c, a.root+"/x")
	requireIdPRedirect(t, resp, srv.SignOnURL())
	_, page := get(t, c, resp.Header.Get("Location"))
	acs, v := form(t, page)
	if resp, _ := postForm(t, c, acs, v); !isRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/x" {
		t.Fatalf("ACS: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := get(t, c, a.root+"/x"); resp.StatusCode != http.StatusOK || !strings.Contains(body, adele.ObjectID) {
		t.Errorf("GET /x: %d", resp.StatusCode)
	}
}
