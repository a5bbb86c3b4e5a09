package entrasaml_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

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
		{"other InResponseTo", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), "_other", success), "", nil), 403, "Sign-out failed"},
		{"other issuer", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML("https://login.microsoftonline.com/other/", id, success), "", nil), 403, "Sign-out failed"},
		{"issuer without trailing slash", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(strings.TrimSuffix(loginIssuer(a), "/"), id, success), "", nil), 403, "Sign-out failed"},
		{"forged signature", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), id, success), "", otherKeyOf(t)), 403, "Sign-out failed"},
		{"Entra's issuer, signed", idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), id, success), "", a.idp.SigningKey()), 303, "/saml/logout?signed-out=all"},
	}
	for _, tt := range tests {
		// Each attempt consumes the logout cookie: replay it.
		cl := a.browser(t)
		u, _ := url.Parse(a.srv.URL + "/saml/logout")
		cl.Jar.SetCookies(u, c.Jar.Cookies(u))
		resp, body := get(t, cl, tt.u)
		if tt.status == http.StatusSeeOther {
			body = resp.Header.Get("Location")
		}
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) || strings.Contains(body, "Sign-in") {
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
	back := resp.Header.Get("Location")
	resp, _ = do(t, c, http.MethodGet, back, "cross-site", "", "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/saml/logout?signed-out=all" {
		t.Fatalf("back at the SP: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The clean URL shows the signed-out page, on a reload too; the
	// LogoutResponse URL itself, replayed (Back), never says "Sign-in".
	for range 2 {
		resp, body := do(t, c, http.MethodGet, a.srv.URL+"/saml/logout?signed-out=all", "cross-site", "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, "and of Microsoft Entra ID") {
			t.Errorf("signed-out page: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := do(t, c, http.MethodGet, back, "cross-site", "", ""); strings.Contains(body, "Sign-in") || resp.StatusCode == 200 {
		t.Errorf("replayed LogoutResponse: %d %s", resp.StatusCode, body)
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

// logoutRequestAt is an IdP's LogoutRequest for nameID with the given ID
// and IssueInstant (omitted when zero), plus extra attributes.
func logoutRequestAt(issuer, id, nameID string, issued time.Time, extra string) string {
	ii := ""
	if !issued.IsZero() {
		ii = ` IssueInstant="` + issued.UTC().Format(time.RFC3339) + `"`
	}
	return fmt.Sprintf(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="%s" Version="2.0"%s%s><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</Issuer><NameID xmlns="urn:oasis:names:tc:SAML:2.0:assertion">%s</NameID></samlp:LogoutRequest>`,
		id, ii, extra, issuer, nameID)
}

// A signed IdP-initiated LogoutRequest is accepted only within the clock
// skew of its IssueInstant, and only once: a captured URL (history, proxy
// logs, Referer) cannot sign the user out of a later session.
func TestSingleLogoutRequestFreshness(t *testing.T) {
	t.Parallel()
	a, victim := signedInApp(t, nil)
	logout := a.srv.URL + "/saml/logout"
	user, now := "adele@contoso.example", time.Now()
	signed := func(id string, issued time.Time, extra string) string {
		return idpRedirect(t, logout, "SAMLRequest", logoutRequestAt(a.idp.EntityID(), id, user, issued, extra), "", a.idp.SigningKey())
	}
	for _, tt := range []struct {
		name   string
		u      string
		status int
	}{
		{"captured three days ago", signed("_old", now.Add(-72*time.Hour), ""), http.StatusForbidden},
		{"older than the skew", signed("_skew", now.Add(-4*time.Minute), ""), http.StatusForbidden},
		{"issued in the future", signed("_future", now.Add(time.Hour), ""), http.StatusForbidden},
		{"no IssueInstant", signed("_none", time.Time{}, ""), http.StatusBadRequest},
		{"NotOnOrAfter passed", signed("_noa", now, ` NotOnOrAfter="`+now.Add(-time.Hour).UTC().Format(time.RFC3339)+`"`), http.StatusForbidden},
		{"unsigned and old, in the victim's browser", idpRedirect(t, logout, "SAMLRequest", logoutRequestAt(a.idp.EntityID(), "_u", user, now.Add(-72*time.Hour), ""), "", nil), http.StatusForbidden},
	} {
		for _, c := range []*http.Client{a.browser(t), victim} {
			if resp, body := get(t, c, tt.u); resp.StatusCode != tt.status {
				t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.status, body)
			}
		}
		if !signedIn(t, a, victim) {
			t.Fatalf("%s: the session ended", tt.name)
		}
	}

	// Fresh: accepted, every session of the user ends.
	fresh := signed("_fresh", now, "")
	if resp, _ := get(t, a.browser(t), fresh); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fresh signed LogoutRequest: %d", resp.StatusCode)
	}
	if signedIn(t, a, victim) {
		t.Fatal("still signed in after a fresh signed LogoutRequest")
	}
	// The user signs in again; the same URL played again is refused, from
	// any browser, and the new session survives.
	resp, _ := get(t, victim, a.srv.URL+"/")
	acs, form := signIn(t, victim, resp)
	post(t, victim, acs, form)
	for _, c := range []*http.Client{a.browser(t), victim} {
		if resp, _ := get(t, c, fresh); resp.StatusCode != http.StatusForbidden {
			t.Errorf("replayed LogoutRequest: %d, want 403", resp.StatusCode)
		}
	}
	if !signedIn(t, a, victim) {
		t.Error("a replayed LogoutRequest ended the new session")
	}
	// entratest's own (signed, fresh) request works once, not twice.
	u, _, err := a.idp.LogoutRequestURL(logout, user, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, a.browser(t), u); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("entratest's LogoutRequest: %d", resp.StatusCode)
	}
	if resp, _ := get(t, a.browser(t), u); resp.StatusCode != http.StatusForbidden {
		t.Errorf("entratest's LogoutRequest, replayed: %d, want 403", resp.StatusCode)
	}
}

// The replay cache is per SP: the same signed LogoutRequest ID at two
// SPs sharing a Store is accepted by each once.
func TestSingleLogoutReplayCachePerSP(t *testing.T) {
	t.Parallel()
	store := entrasaml.NewMemoryStore(nil)
	a, _ := signedInApp(t, func(c *entrasaml.Config) { c.Store = store })
	b, _ := signedInApp(t, func(c *entrasaml.Config) { c.Store = store; c.EntityID = "https://other.example/saml" })
	for _, x := range []*app{a, b} {
		u := idpRedirect(t, x.srv.URL+"/saml/logout", "SAMLRequest",
			logoutRequestAt(x.idp.EntityID(), "_same", "adele@contoso.example", time.Now(), ""), "", x.idp.SigningKey())
		if resp, _ := get(t, x.browser(t), u); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d", x.srv.URL, resp.StatusCode)
		}
	}
}

// The IdP's LogoutResponse must be fresh too.
func TestSingleLogoutResponseFreshness(t *testing.T) {
	t.Parallel()
	a, c := signedInApp(t, nil)
	resp, _ := clickSignOut(t, c, a.srv.URL+"/saml/logout")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := redirectMessage(t, loc, "SAMLRequest").SelectAttrValue("ID", "")
	logout := a.srv.URL + "/saml/logout"
	at := func(issued time.Time) string {
		xml := strings.Replace(logoutResponseXML(loginIssuer(a), id, "urn:oasis:names:tc:SAML:2.0:status:Success"),
			`IssueInstant="`+time.Now().UTC().Format(time.RFC3339)+`"`, `IssueInstant="`+issued.UTC().Format(time.RFC3339)+`"`, 1)
		return idpRedirect(t, logout, "SAMLResponse", xml, "", a.idp.SigningKey())
	}
	u, _ := url.Parse(logout)
	for _, tt := range []struct {
		name   string
		issued time.Time
		status int
	}{
		{"three days old", time.Now().Add(-72 * time.Hour), http.StatusForbidden},
		{"in the future", time.Now().Add(time.Hour), http.StatusForbidden},
		{"fresh", time.Now(), http.StatusSeeOther},
	} {
		cl := a.browser(t) // each attempt consumes the logout cookie: copy it
		cl.Jar.SetCookies(u, c.Jar.Cookies(u))
		if resp, body := get(t, cl, at(tt.issued)); resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.status, body)
		}
	}
}
