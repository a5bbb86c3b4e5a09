package entrasaml_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

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

func signedIn(t *testing.T, a *app, c *http.Client) bool {
	t.Helper()
	resp, _ := get(t, c, a.srv.URL+"/")
	return resp.StatusCode == http.StatusOK
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
		{"older than the skew", signed("_skew", now.Add(-entrasaml.DefaultClockSkew-time.Minute), ""), http.StatusForbidden},
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
		{"fresh", time.Now(), http.StatusOK},
	} {
		cl := a.browser(t) // each attempt consumes the logout cookie: copy it
		cl.Jar.SetCookies(u, c.Jar.Cookies(u))
		if resp, body := get(t, cl, at(tt.issued)); resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.status, body)
		}
	}
}

// GET /saml/logout without SAML parameters ends the session only when it
// comes from the application's own pages; from another site it shows a
// confirmation page whose button POSTs back, and ends nothing.
func TestLogoutCSRF(t *testing.T) {
	t.Parallel()
	a, _ := signedInApp(t, nil)
	own, evil := a.srv.URL, "https://evil.example"
	for _, tt := range []struct {
		name                          string
		method, site, origin, referer string
		ends                          bool
	}{
		{"link on our page", "GET", "same-origin", "", "", true},
		{"typed or bookmarked", "GET", "none", "", "", true},
		{"link on another site", "GET", "cross-site", "", "", false},
		{"link on a sibling subdomain", "GET", "same-site", "", "", false},
		{"cross-site, claiming our Referer", "GET", "cross-site", "", own + "/", false},
		{"same-origin, foreign Origin", "GET", "same-origin", evil, "", false},
		{"no Sec-Fetch-Site, our Referer", "GET", "", "", own + "/account", true},
		{"no Sec-Fetch-Site, foreign Referer", "GET", "", "", evil + "/", false},
		{"no Sec-Fetch-Site, foreign Origin", "GET", "", evil, "", false},
		{"no Sec-Fetch-Site, Origin null", "GET", "", "null", "", false},
		{"no Sec-Fetch-Site, Origin and Referer", "GET", "", "", "", false},
		{"the confirmation button", "POST", "same-origin", own, "", true},
		{"POST, our Origin only", "POST", "", own, "", true},
		{"POST, no headers at all", "POST", "", "", "", true},
		{"POST from another site", "POST", "cross-site", evil, "", false},
		{"POST, foreign Origin only", "POST", "", evil, "", false},
		{"POST, Origin null", "POST", "", "null", "", false},
		{"POST, Sec-Fetch-Site none", "POST", "none", "", "", false},
		{"POST, foreign Referer only", "POST", "", "", evil + "/", false},
		{"POST, same-origin and another port", "POST", "same-origin", strings.Replace(own, "127.0.0.1:", "127.0.0.1:1", 1), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := a.browser(t)
			resp, _ := get(t, c, a.srv.URL+"/")
			acs, form := signIn(t, c, resp)
			post(t, c, acs, form)
			resp, body := do(t, c, tt.method, a.srv.URL+"/saml/logout", tt.site, tt.origin, tt.referer)
			if tt.ends {
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), a.idp.SignOnURL()+"?SAMLRequest=") {
					t.Errorf("%d %s, want a redirect to Entra's logout", resp.StatusCode, resp.Header.Get("Location"))
				}
				if signedIn(t, a, c) {
					t.Error("still signed in")
				}
				return
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<form method="post" action="/saml/logout"><button type="submit">Sign out</button></form>`) ||
				!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("want the confirmation page, got %d %v\n%s", resp.StatusCode, resp.Header, body)
			}
			if !signedIn(t, a, c) {
				t.Fatal("the session ended")
			}
			// Its button: a same-origin POST.
			if resp, _ := do(t, c, http.MethodPost, a.srv.URL+"/saml/logout", "same-origin", own, own+"/saml/logout"); resp.StatusCode != http.StatusSeeOther || signedIn(t, a, c) {
				t.Errorf("the confirmation button: %d, signed in %v", resp.StatusCode, signedIn(t, a, c))
			}
		})
	}
}
