package entrasaml_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

func TestHTTPRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			t.Parallel()
			a := newApp(t, tls, nil)
			c := a.browser(t)
			resp, _ := get(t, c, a.srv.URL+"/orders/42?tab=open")
			acs, form := signIn(t, c, resp)
			if acs != a.sp.ACSURL() {
				t.Fatalf("form posts to %s, want %s", acs, a.sp.ACSURL())
			}
			resp, body := post(t, c, acs, form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orders/42?tab=open" {
				t.Fatalf("ACS answered %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			name := "entrasaml_session"
			if tls {
				name = "__Host-entrasaml_session"
			}
			found := false
			for _, ck := range resp.Cookies() {
				if ck.Name != name {
					continue
				}
				found = true
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tls || len(ck.String()) > 4096 {
					t.Errorf("session cookie %s", ck)
				}
			}
			if !found {
				t.Errorf("no %s cookie in %v", name, resp.Cookies())
			}
			resp, body = get(t, c, a.srv.URL+"/orders/42?tab=open")
			if resp.StatusCode != 200 || !strings.Contains(body, "hello adele@contoso.example") {
				t.Fatalf("after sign-in: %d %s", resp.StatusCode, body)
			}
			// The same response again is refused and signs nobody in.
			fresh := a.browser(t)
			resp, _ = post(t, fresh, acs, form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("replayed response: %d", resp.StatusCode)
			}
		})
	}
}

func TestHTTPParallelTabs(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	c := a.browser(t)
	r1, _ := get(t, c, a.srv.URL+"/tab/one")
	r2, _ := get(t, c, a.srv.URL+"/tab/two")
	acs1, f1 := signIn(t, c, r1)
	acs2, f2 := signIn(t, c, r2)
	// Completed in the opposite order, each comes back to its own page.
	for _, tc := range []struct {
		acs  string
		form url.Values
		want string
	}{{acs2, f2, "/tab/two"}, {acs1, f1, "/tab/one"}} {
		resp, body := post(t, c, tc.acs, tc.form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
			t.Errorf("got %d %q, want %s: %s", resp.StatusCode, resp.Header.Get("Location"), tc.want, body)
		}
	}
}

// An attacker's own valid response, for a request the attacker started,
// must not sign a victim's browser in (login CSRF).
func TestHTTPLoginCSRF(t *testing.T) {
	t.Parallel()
	a := newApp(t, true, nil)
	attacker := a.browser(t)
	resp, _ := get(t, attacker, a.srv.URL+"/")
	acs, form := signIn(t, attacker, resp)

	victim := a.browser(t)
	get(t, victim, a.srv.URL+"/") // the victim even has a sign-in of their own pending
	resp, _ = post(t, victim, acs, form)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("attacker's response in the victim's browser: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "entrasaml_session") && ck.MaxAge >= 0 {
			t.Fatal("victim got a session cookie")
		}
	}
	if resp, _ := get(t, victim, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("victim signed in: %d", resp.StatusCode)
	}
}

func TestHTTPNonNavigationGets401(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	c := a.browser(t)
	for _, tc := range []struct {
		method string
		header map[string]string
	}{
		{http.MethodPost, nil},
		{http.MethodGet, map[string]string{"Accept": "application/json"}},
		{http.MethodGet, map[string]string{"Sec-Fetch-Mode": "cors"}},
		{http.MethodGet, map[string]string{"X-Requested-With": "XMLHttpRequest"}},
		{http.MethodDelete, nil},
	} {
		req, _ := http.NewRequest(tc.method, a.srv.URL+"/api/orders", nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %v: %d, want 401", tc.method, tc.header, resp.StatusCode)
		}
	}
	// A navigation is redirected, HEAD included.
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(m, a.srv.URL+"/x", nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), a.idp.SignOnURL()+"?SAMLRequest=") {
			t.Errorf("%s navigation: %d %s", m, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestHTTPErrorPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, func(c *entrasaml.Config) { c.MaxResponseSize = 64 << 10 })
	c := a.browser(t)
	errResp, _ := a.idp.ErrorResponse(a.sp.ACSURL(), "", entratest.StatusRequester, "", "AADSTS50105: user <b>not</b> assigned")
	tests := []struct {
		name   string
		method string
		form   url.Values
		status int
		want   string
	}{
		{"wrong method", http.MethodGet, nil, http.StatusMethodNotAllowed, "Method not allowed"},
		{"not base64", http.MethodPost, url.Values{"SAMLResponse": {"<samlp:Response>"}}, http.StatusBadRequest, "Sign-in failed"},
		{"empty", http.MethodPost, url.Values{}, http.StatusBadRequest, "Sign-in failed"},
		{"too large", http.MethodPost, url.Values{"SAMLResponse": {strings.Repeat("A", 100<<10)}}, http.StatusRequestEntityTooLarge, "Sign-in failed"},
		{"entra error", http.MethodPost, url.Values{"SAMLResponse": {errResp}}, http.StatusForbidden, "Error AADSTS50105. The signed-in user is not assigned to the application"},
	}
	for _, tt := range tests {
		var resp *http.Response
		var body string
		if tt.method == http.MethodGet {
			resp, body = get(t, c, a.sp.ACSURL())
		} else {
			resp, body = post(t, c, a.sp.ACSURL(), tt.form)
		}
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) || !strings.Contains(body, "Reference:") {
			t.Errorf("%s: %d, want %d with %q: %s", tt.name, resp.StatusCode, tt.status, tt.want, body)
		}
		if strings.Contains(body, "<b>not</b>") || strings.Contains(body, "samlp:") {
			t.Errorf("%s: the page echoes input: %s", tt.name, body)
		}
	}
}

func TestHTTPStoreDown(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, func(c *entrasaml.Config) { c.Store = failingStore{} })
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	if resp, _ := post(t, c, acs, form); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("store down at the ACS: %d, want 503", resp.StatusCode)
	}
}

func TestHTTPLogoutRevokesCopiedCookie(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	post(t, c, acs, form)
	u, _ := url.Parse(a.srv.URL)
	stolen := c.Jar.Cookies(u)

	// Single logout: the local session ends, then the browser goes to
	// Entra with a LogoutRequest.
	resp, body := clickSignOut(t, c, a.srv.URL+"/saml/logout")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), a.idp.SignOnURL()+"?SAMLRequest=") {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to sign in", resp.StatusCode)
	}
	thief := a.browser(t)
	thief.Jar.SetCookies(u, stolen)
	if resp, _ := get(t, thief, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("copied cookie after logout: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestHTTPProvision(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, func(c *entrasaml.Config) {
		c.Provision = func(ctx context.Context, s *entrasaml.Session) error {
			if s.ObjectID != "oid-1" {
				return entrasaml.ErrNotProvisioned
			}
			s.UserID = "u-42"
			return nil
		}
	})
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	post(t, c, acs, form)
	if _, body := get(t, c, a.srv.URL+"/"); !strings.Contains(body, "user=u-42") {
		t.Errorf("UserID not set: %s", body)
	}

	a.idp.SetUser(entratest.User{ObjectID: "oid-2", UPN: "mallory@contoso.example"})
	c = a.browser(t)
	resp, _ = get(t, c, a.srv.URL+"/")
	acs, form = signIn(t, c, resp)
	resp, body := post(t, c, acs, form)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not set up") {
		t.Errorf("unprovisioned user: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("unprovisioned user has a session: %d", resp.StatusCode)
	}
}

func TestHTTP150Groups(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	groups := make([]string, 150)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	a.idp.SetUser(entratest.User{ObjectID: "oid-big", UPN: "megan@contoso.example", Groups: groups})
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	resp, _ = post(t, c, acs, form)
	for _, ck := range resp.Cookies() {
		if len(ck.String()) > 4096 {
			t.Errorf("cookie %s is %d bytes", ck.Name, len(ck.String()))
		}
	}
	for range 3 {
		if resp, body := get(t, c, a.srv.URL+"/"); resp.StatusCode != 200 || !strings.Contains(body, "groups=150") {
			t.Fatalf("150-group user: %d %s", resp.StatusCode, body)
		}
	}
}

func TestHTTPMetadataEndpoint(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	resp, body := get(t, a.browser(t), a.srv.URL+"/saml/metadata")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`entityID="https://app.example/saml"`, `Location="` + a.sp.ACSURL() + `"`,
		`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`, a.srv.URL + "/saml/logout"} {
		if !strings.Contains(body, want) {
			t.Errorf("metadata lacks %s:\n%s", want, body)
		}
	}
	if _, err := entrasaml.ParseMetadata([]byte(body)); !errors.Is(err, entrasaml.ErrMetadata) || !strings.Contains(err.Error(), "service-provider") {
		t.Errorf("our SP metadata given as IdP metadata: %v", err)
	}
}

// Cookies sealed with an old key still open after rotation; a key that is
// no longer listed, or another SP, does not open them.
func TestHTTPSessionKeyRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := make([]byte, 32), make([]byte, 32)
	k2[0] = 1
	store := entrasaml.NewMemoryStore(nil)
	a := newApp(t, false, func(c *entrasaml.Config) { c.SessionKeys = [][]byte{k1}; c.Store = store })
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	post(t, c, acs, form)
	u, _ := url.Parse(a.srv.URL)
	cookies := c.Jar.Cookies(u)

	check := func(keys [][]byte, entityID string, want int) {
		t.Helper()
		sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: entityID, BaseURL: a.srv.URL,
			Metadata: a.idp.Metadata(), SessionKeys: keys, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		h := sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		req := httptest.NewRequest(http.MethodGet, a.srv.URL+"/", nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("keys %d, entity %s: %d, want %d", len(keys), entityID, rec.Code, want)
		}
	}
	check([][]byte{k2, k1}, "https://app.example/saml", 200)
	check([][]byte{k2}, "https://app.example/saml", http.StatusSeeOther)
	check([][]byte{k1}, "https://other.example/saml", http.StatusSeeOther)

	if _, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "x", BaseURL: a.srv.URL,
		Metadata: a.idp.Metadata(), SessionKeys: [][]byte{k1[:16]}}); !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("16-byte key: %v", err)
	}
}

func TestSessionFromContext(t *testing.T) {
	t.Parallel()
	if _, ok := entrasaml.SessionFromContext(context.Background()); ok {
		t.Error("session in an empty context")
	}
	s := &entrasaml.Session{NameID: "n"}
	if got, ok := entrasaml.SessionFromContext(entrasaml.ContextWithSession(context.Background(), s)); !ok || got != s {
		t.Error("ContextWithSession round trip")
	}
}

// BenchmarkRequireAccount measures the per-request cost of a signed-in
// request: cookie, AES-GCM, Store lookup, context.
func BenchmarkRequireAccount(b *testing.B) {
	for _, groups := range []int{3, 150} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			idp, _ := sharedIdP(b)
			sp := newTestSP(b, idp, func(c *entrasaml.Config) { c.AllowIdPInitiated = true })
			r := goodResponse()
			r.InResponseTo = ""
			r.User.Groups = make([]string, groups)
			for i := range r.User.Groups {
				r.User.Groups[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			}
			resp, err := idp.Response(r)
			if err != nil {
				b.Fatal(err)
			}
			// Sign in through the ACS to get a real session cookie.
			acsReq := httptest.NewRequest(http.MethodPost, fxACS, strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
			acsReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			sp.ServeHTTP(rec, acsReq)
			if rec.Code != http.StatusSeeOther {
				b.Fatalf("ACS: %d %s", rec.Code, rec.Body)
			}
			req := httptest.NewRequest(http.MethodGet, fxBaseURL+"/orders", nil)
			for _, ck := range rec.Result().Cookies() {
				req.AddCookie(ck)
			}
			ok := false
			h := sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := entrasaml.SessionFromContext(r.Context())
				ok = s != nil && len(s.Groups) == groups
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if !ok {
				b.Fatalf("not signed in: %d", w.Code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

func TestHTTPPendingCookiesBounded(t *testing.T) {
	t.Parallel()
	a := newApp(t, true, nil)
	c := a.browser(t)
	var last *http.Response
	for i := range 12 {
		last, _ = get(t, c, fmt.Sprintf("%s/tab/%d", a.srv.URL, i))
	}
	acs, form := signIn(t, c, last)
	resp, _ := post(t, c, acs, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tab/11" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cleared := 0
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(strings.TrimPrefix(ck.Name, "__Secure-"), "entrasaml_req_") && ck.MaxAge < 0 {
			cleared++
		}
	}
	// The used one, and the oldest of the other 11 beyond 8.
	if cleared != 1+11-8 {
		t.Errorf("cleared %d pending cookies, want %d", cleared, 1+11-8)
	}
}
