package entrasaml_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
)

// The session cookie is __Host- when BaseURL is https with no path (a
// sibling subdomain can neither plant nor overwrite it), __Secure- when
// BaseURL has a path prefix (__Host- needs Path=/), and plain on http;
// the pending-request cookie, scoped to the ACS path, is __Secure- on
// https. Each set cookie meets its prefix's rules, and a cookie under
// another name (a planted unprefixed one) is ignored.
func TestCookiePrefixes(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	for _, tc := range []struct {
		base, session, pending string
	}{
		{"https://acme.vendor.example", "__Host-entrasaml_session", "__Secure-entrasaml_req_"},
		{"https://vendor.example/acme", "__Secure-entrasaml_session", "__Secure-entrasaml_req_"},
		{"http://localhost:8080", "entrasaml_session", "entrasaml_req_"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse(tc.base)
			path := u.Path
			if path == "" {
				path = "/"
			}
			sp := newTestSP(t, idp, func(c *entrasaml.Config) { c.BaseURL = tc.base; c.AllowIdPInitiated = true })

			// Sign-in start: the pending-request cookie.
			rec := httptest.NewRecorder()
			sp.StartSignIn(rec, httptest.NewRequest(http.MethodGet, tc.base+"/orders", nil), "/orders")
			var pending *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if strings.HasPrefix(c.Name, tc.pending) && !strings.HasSuffix(c.Name, "_l") {
					pending = c
				}
			}
			if pending == nil {
				t.Fatalf("no %s… cookie in %v", tc.pending, rec.Result().Cookies())
			}
			checkPrefixRules(t, pending)

			// IdP-initiated sign-in: the session cookie.
			r := goodResponse()
			r.InResponseTo = ""
			r.ACSURL = sp.ACSURL()
			resp, err := idp.Response(r)
			if err != nil {
				t.Fatal(err)
			}
			acs := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
			acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec = httptest.NewRecorder()
			sp.ServeHTTP(rec, acs)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("ACS: %d %s", rec.Code, rec.Body)
			}
			var session *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == tc.session {
					session = c
				} else if strings.Contains(c.Name, "session") {
					t.Errorf("session cookie named %s, want %s", c.Name, tc.session)
				}
			}
			if session == nil {
				t.Fatalf("no %s cookie in %v", tc.session, rec.Result().Cookies())
			}
			checkPrefixRules(t, session)
			if session.Path != path {
				t.Errorf("session cookie Path=%s, want %s", session.Path, path)
			}

			// The cookie signs the browser in under its own name only.
			for _, name := range []string{tc.session, "entrasaml_session", "__Host-entrasaml_session", "__Secure-entrasaml_session"} {
				req := httptest.NewRequest(http.MethodGet, tc.base+"/orders", nil)
				req.AddCookie(&http.Cookie{Name: name, Value: session.Value})
				s, err := sp.Session(req)
				if err != nil {
					t.Fatal(err)
				}
				if (s != nil) != (name == tc.session) {
					t.Errorf("cookie named %s: signed in = %v", name, s != nil)
				}
			}

			// Signing out clears the cookie under its name, with the same rules.
			req := httptest.NewRequest(http.MethodGet, tc.base+"/", nil)
			req.AddCookie(session)
			rec = httptest.NewRecorder()
			if err := sp.EndSession(rec, req); err != nil {
				t.Fatal(err)
			}
			cleared := false
			for _, c := range rec.Result().Cookies() {
				if c.Name == tc.session && c.MaxAge < 0 {
					cleared = true
					checkPrefixRules(t, c)
				}
			}
			if !cleared {
				t.Errorf("EndSession did not clear %s: %v", tc.session, rec.Result().Cookies())
			}
		})
	}
}

// checkPrefixRules checks what a browser demands of a prefixed cookie.
func checkPrefixRules(t *testing.T, c *http.Cookie) {
	t.Helper()
	switch {
	case strings.HasPrefix(c.Name, "__Host-"):
		if !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("%s: a browser refuses a __Host- cookie without Secure, Path=/ and no Domain: %s", c.Name, c)
		}
	case strings.HasPrefix(c.Name, "__Secure-"):
		if !c.Secure {
			t.Errorf("%s: a browser refuses a __Secure- cookie without Secure: %s", c.Name, c)
		}
	}
}
