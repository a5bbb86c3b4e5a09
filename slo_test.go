package entrasaml_test

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// signedInApp returns an app and a browser signed in to it.
func signedInApp(t *testing.T, mod func(*entrasaml.Config)) (*app, *http.Client) {
	t.Helper()
	a := newApp(t, false, mod)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	if resp, body := post(t, c, acs, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return a, c
}

// redirectMessage decodes the SAML message of a Redirect-binding URL.
func redirectMessage(t *testing.T, u *url.URL, param string) *etree.Element {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(u.Query().Get(param))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// idpRedirect builds what Entra sends to the SP's logout URL: param
// ("SAMLRequest" or "SAMLResponse") carrying xml, signed with key when it
// is not nil.
func idpRedirect(t *testing.T, logoutURL, param, xml, relayState string, key *entratest.Key) string {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	fw.Write([]byte(xml))
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(b.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if key != nil {
		q += "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
		d := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.PrivateKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	return logoutURL + "?" + q
}

func logoutResponseXML(issuer, inResponseTo, status string) string {
	return fmt.Sprintf(`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_lr1" Version="2.0" IssueInstant="%s" InResponseTo="%s"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</Issuer><samlp:Status><samlp:StatusCode Value="%s"/></samlp:Status></samlp:LogoutResponse>`,
		time.Now().UTC().Format(time.RFC3339), inResponseTo, issuer, status)
}

func logoutRequestXML(issuer, nameID, sessionIndex string) string {
	si := ""
	if sessionIndex != "" {
		si = "<samlp:SessionIndex>" + sessionIndex + "</samlp:SessionIndex>"
	}
	return fmt.Sprintf(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_idp-logout-1" Version="2.0" IssueInstant="%s"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</Issuer><NameID xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</NameID>%s</samlp:LogoutRequest>`,
		time.Now().UTC().Format(time.RFC3339), issuer, nameID, si)
}

// do sends method to u like a browser would, with the Sec-Fetch-Site,
// Origin and Referer headers when not empty.
func do(t *testing.T, c *http.Client, method, u, site, origin, referer string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Accept", "text/html")
	for k, v := range map[string]string{"Sec-Fetch-Site": site, "Origin": origin, "Referer": referer} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// clickSignOut follows the application's own sign-out link, as a browser
// does (Sec-Fetch-Site: same-origin).
func clickSignOut(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	return do(t, c, http.MethodGet, u, "same-origin", "", "")
}

// loginIssuer is the Issuer Entra puts on its LogoutResponse.
func loginIssuer(a *app) string { return a.idp.LoginURL() + "/" + a.idp.TenantID() + "/" }

func TestSingleLogoutSPInitiated(t *testing.T) {
	t.Parallel()
	a, c := signedInApp(t, nil)
	resp, _ := clickSignOut(t, c, a.srv.URL+"/saml/logout")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Scheme+"://"+loc.Host+loc.Path != a.idp.SignOnURL() {
		t.Fatalf("logout: %d %s", resp.StatusCode, loc)
	}
	req := redirectMessage(t, loc, "SAMLRequest")
	id := req.SelectAttrValue("ID", "")
	if req.Tag != "LogoutRequest" || id == "" || id[0] >= '0' && id[0] <= '9' ||
		req.SelectElement("Issuer").Text() != "https://app.example/saml" ||
		req.SelectElement("NameID").Text() != "adele@contoso.example" ||
		req.SelectElement("SessionIndex") == nil || req.SelectAttrValue("Destination", "") != a.idp.SignOnURL() {
		t.Fatalf("LogoutRequest: %+v", req)
	}
	// The local session is already gone.
	if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}

	logout := a.srv.URL + "/saml/logout"
	success := "urn:oasis:names:tc:SAML:2.0:status:Success"
	tests := []struct {
		name   string
		u      string
		status int
		want   string
	}{
		{"other InResponseTo", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), "_other", success), "", nil), 403, "Sign-in failed"},
		{"other issuer", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML("https://login.microsoftonline.com/other/", id, success), "", nil), 403, "Sign-in failed"},
		{"issuer without trailing slash", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(strings.TrimSuffix(loginIssuer(a), "/"), id, success), "", nil), 403, "Sign-in failed"},
		{"forged signature", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), id, success), "", otherKeyOf(t)), 403, "Sign-in failed"},
		{"Entra's issuer, signed", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), id, success), "", a.idp.SigningKey()), 200, "signed out of this application and of Microsoft Entra ID"},
	}
	for _, tt := range tests {
		// Each attempt consumes the logout cookie: replay it.
		cl := a.browser(t)
		u, _ := url.Parse(a.srv.URL + "/saml/logout")
		cl.Jar.SetCookies(u, c.Jar.Cookies(u))
		resp, body := get(t, cl, tt.u)
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d, want %d %q: %s", tt.name, resp.StatusCode, tt.status, tt.want, body)
		}
	}
	// The entity ID is the other accepted Issuer; no logout cookie, no match.
	resp, _ = get(t, a.browser(t), idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(a.idp.EntityID(), id, success), "", nil))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("LogoutResponse without this browser's logout cookie: %d", resp.StatusCode)
	}
}

func otherKeyOf(t *testing.T) *entratest.Key {
	_, k := sharedIdP(t)
	return k
}

func TestSingleLogoutIdPInitiated(t *testing.T) {
	t.Parallel()
	store := entrasaml.NewMemoryStore(nil)
	a, victim := signedInApp(t, func(c *entrasaml.Config) { c.Store = store })
	logout := a.srv.URL + "/saml/logout"

	// Unsigned, from a third party's browser: the victim stays signed in,
	// and the third party still gets a LogoutResponse for Entra.
	resp, _ := get(t, a.browser(t), idpRedirect(t, logout, "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "", nil))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "SAMLResponse=") {
		t.Fatalf("unsigned LogoutRequest: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, victim, a.srv.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("an unsigned third-party LogoutRequest ended the session: %d", resp.StatusCode)
	}

	// Signed by Entra: every session of that user ends, here and on any
	// instance sharing the Store.
	other := a.browser(t)
	resp, _ = get(t, other, a.srv.URL+"/")
	acs, form := signIn(t, other, resp)
	post(t, other, acs, form)
	resp, _ = get(t, a.browser(t), idpRedirect(t, logout, "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "rs1", a.idp.SigningKey()))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed LogoutRequest: %d", resp.StatusCode)
	}
	lr := redirectMessage(t, loc, "SAMLResponse")
	if lr.Tag != "LogoutResponse" || lr.SelectAttrValue("InResponseTo", "") != "_idp-logout-1" || loc.Query().Get("RelayState") != "rs1" {
		t.Errorf("LogoutResponse %+v, RelayState %q", lr, loc.Query().Get("RelayState"))
	}
	for name, c := range map[string]*http.Client{"victim": victim, "other browser": other} {
		if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s still signed in after Entra's signed LogoutRequest: %d", name, resp.StatusCode)
		}
	}

	// Wrong issuer or a forged signature: refused.
	for name, u := range map[string]string{
		"issuer": idpRedirect(t, logout, "SAMLRequest", logoutRequestXML("https://evil.example/", "adele@contoso.example", ""), "", a.idp.SigningKey()),
		"forged": idpRedirect(t, logout, "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "", otherKeyOf(t)),
	} {
		if resp, _ := get(t, a.browser(t), u); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
}

func TestSingleLogoutUnsignedOwnBrowser(t *testing.T) {
	t.Parallel()
	a, c := signedInApp(t, nil)
	u := idpRedirect(t, a.srv.URL+"/saml/logout", "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "", nil)
	if resp, _ := get(t, c, u); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%d", resp.StatusCode)
	}
	if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the browser's own session survived its LogoutRequest: %d", resp.StatusCode)
	}
}

func TestLocalLogoutOnly(t *testing.T) {
	t.Parallel()
	a, c := signedInApp(t, func(c *entrasaml.Config) { c.LocalLogoutOnly = true })
	if resp, body := clickSignOut(t, c, a.srv.URL+"/saml/logout"); resp.StatusCode != 200 || !strings.Contains(body, "signed out") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("still signed in: %d", resp.StatusCode)
	}
}

// The whole round trip with entratest's Server playing Entra.
func TestSingleLogoutRoundTrip(t *testing.T) {
	t.Parallel()
	a, c := signedInApp(t, nil)
	a.idp.SetLogoutURL(a.srv.URL + "/saml/logout")
	resp, _ := clickSignOut(t, c, a.srv.URL+"/saml/logout")
	resp, _ = get(t, c, resp.Header.Get("Location")) // Entra signs out and redirects back
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("IdP: %d", resp.StatusCode)
	}
	resp, body := do(t, c, http.MethodGet, resp.Header.Get("Location"), "cross-site", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "and of Microsoft Entra ID") {
		t.Errorf("back at the SP: %d %s", resp.StatusCode, body)
	}
	// An IdP-initiated LogoutRequest built by entratest, signed.
	c2 := a.browser(t)
	resp, _ = get(t, c2, a.srv.URL+"/")
	acs, form := signIn(t, c2, resp)
	post(t, c2, acs, form)
	u, _, err := a.idp.LogoutRequestURL(a.srv.URL+"/saml/logout", "adele@contoso.example", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, a.browser(t), u); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed LogoutRequest: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c2, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("still signed in after Entra's LogoutRequest: %d", resp.StatusCode)
	}
}
