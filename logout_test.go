package entrasaml_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
)

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
