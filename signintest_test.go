package entrasaml_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// testApp is a host with a live SP and test sign-ins of a candidate
// configuration, routed as the SignInTest doc says: POSTs to the ACS with a
// test cookie go to the SignInTest built from the current candidate.
type testApp struct {
	live  *entrasaml.SP
	idp   *entratest.Server
	srv   *httptest.Server
	store entrasaml.Store
	keys  [][]byte

	mu        sync.Mutex
	candidate []byte
	results   []*entrasaml.TestResult
}

func newTestApp(t *testing.T) *testApp { return newTestAppTLS(t, false) }

// newTestAppTLS starts the app on https when tls (cookies then carry the
// __Secure- prefix).
func newTestAppTLS(t *testing.T, tls bool) *testApp {
	t.Helper()
	a := &testApp{idp: entratest.NewServer(), store: entrasaml.NewMemoryStore(nil), keys: [][]byte{make([]byte, entrasaml.SessionKeySize)}}
	t.Cleanup(a.idp.Close)
	a.idp.SetUser(entratest.User{ObjectID: "oid-1", UPN: "adele@contoso.example", Email: "adele@contoso.example", Groups: []string{"g1"}})
	a.candidate = a.idp.Metadata()
	mux := http.NewServeMux()
	a.srv = httptest.NewUnstartedServer(mux)
	if tls {
		a.srv.StartTLS()
	} else {
		a.srv.Start()
	}
	t.Cleanup(a.srv.Close)
	live, err := entrasaml.New(context.Background(), a.config(a.idp.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	a.live = live
	mux.HandleFunc("/saml/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && entrasaml.IsSignInTest(r) {
			a.signInTest(t).ServeHTTP(w, r)
			return
		}
		live.ServeHTTP(w, r)
	})
	mux.HandleFunc("/admin/test", func(w http.ResponseWriter, r *http.Request) {
		a.signInTest(t).Start(w, r, "/admin")
	})
	mux.Handle("/", live.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", html.EscapeString(s.NameID))
	})))
	return a
}

func (a *testApp) config(md []byte) entrasaml.Config {
	return entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: a.srv.URL, Metadata: md,
		Store: a.store, SessionKeys: a.keys, Logger: quietLogger}
}

func (a *testApp) signInTest(t *testing.T) *entrasaml.SignInTest {
	a.mu.Lock()
	md := a.candidate
	a.mu.Unlock()
	st, err := entrasaml.NewSignInTest(context.Background(), a.config(md), func(w http.ResponseWriter, r *http.Request, res *entrasaml.TestResult) {
		a.mu.Lock()
		a.results = append(a.results, res)
		a.mu.Unlock()
		if res.Err != nil {
			fmt.Fprintf(w, "test failed")
			return
		}
		fmt.Fprintf(w, "test passed: %s", html.EscapeString(res.Session.NameID))
	})
	if err != nil {
		t.Error(err)
	}
	return st
}

func (a *testApp) setCandidate(md []byte) { a.mu.Lock(); a.candidate = md; a.mu.Unlock() }

func (a *testApp) lastResult(t *testing.T) *entrasaml.TestResult {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.results) == 0 {
		t.Fatal("the result handler was not called")
	}
	return a.results[len(a.results)-1]
}

func (a *testApp) browser(t *testing.T) *http.Client { return (&app{}).browser(t) }

// noSession fails t when resp sets a session cookie or c is signed in.
func (a *testApp) noSession(t *testing.T, c *http.Client, resp *http.Response) {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "session") {
			t.Errorf("a session cookie was set: %s", ck.Name)
		}
	}
	if r, _ := get(t, c, a.srv.URL+"/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the browser is signed in after a test: %d", r.StatusCode)
	}
}

// cookie returns the jar's cookie whose name starts with prefix at the ACS.
func cookieAt(t *testing.T, c *http.Client, u, prefix string) *http.Cookie {
	t.Helper()
	pu, _ := url.Parse(u)
	for _, ck := range c.Jar.Cookies(pu) {
		if strings.HasPrefix(ck.Name, prefix) && !strings.HasSuffix(ck.Name, "_l") {
			return ck
		}
	}
	t.Fatalf("no %s cookie for %s", prefix, u)
	return nil
}

func TestSignInTestPasses(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tls), func(t *testing.T) {
			t.Parallel()
			signInTestPasses(t, newTestAppTLS(t, tls))
		})
	}
}

func signInTestPasses(t *testing.T, a *testApp) {
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/admin/test")
	acs, form := signIn(t, c, resp)
	resp, body := post(t, c, acs, form)
	res := a.lastResult(t)
	if res.Err != nil || res.Session == nil || res.Session.NameID != "adele@contoso.example" || len(res.Session.Groups) != 1 {
		t.Fatalf("result %+v, want adele's session", res)
	}
	if res.ReturnTo != "/admin" || !strings.Contains(body, "test passed: adele@contoso.example") {
		t.Errorf("ReturnTo %q, page %q", res.ReturnTo, body)
	}
	if res.Metadata != a.signInTest(t).Metadata() || len(res.Metadata) != 64 {
		t.Errorf("Metadata %q", res.Metadata)
	}
	a.noSession(t, c, resp)

	u, _ := url.Parse(acs)
	for _, ck := range c.Jar.Cookies(u) {
		if strings.Contains(ck.Name, "entrasaml_test_") {
			t.Errorf("the test cookie %s was not cleared", ck.Name)
		}
	}
	// Browsers ignore a deletion of a SameSite=None cookie without Secure.
	cleared := 0
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(strings.TrimPrefix(ck.Name, "__Secure-"), "entrasaml_test_") && !strings.HasSuffix(ck.Name, "_l") && ck.MaxAge < 0 {
			cleared++
			if strings.HasPrefix(a.srv.URL, "https:") != strings.HasPrefix(ck.Name, "__Secure-") {
				t.Errorf("test cookie %s on %s", ck.Name, a.srv.URL)
			}
			if !ck.Secure || ck.SameSite != http.SameSiteNoneMode {
				t.Errorf("test cookie cleared without Secure and SameSite=None: %v", ck)
			}
		}
	}
	if cleared != 1 {
		t.Errorf("%d test cookies cleared, want 1", cleared)
	}
}

// TestSignInTestReplay posts the same response twice with the same test
// cookie: the second is refused as a replay and makes no session.
func TestSignInTestReplay(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/admin/test")
	acs, form := signIn(t, c, resp)
	ck := cookieAt(t, c, acs, "entrasaml_test_")
	post(t, c, acs, form)
	if err := a.lastResult(t).Err; err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(acs)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: u.Path}})
	resp, _ = post(t, c, acs, form)
	if err := a.lastResult(t).Err; !errors.Is(err, entrasaml.ErrReplay) {
		t.Errorf("replayed test response: %v, want ErrReplay", err)
	}
	a.noSession(t, c, resp)

	// The same response at the live SP (no test cookie): refused too.
	c2 := a.browser(t)
	resp, _ = post(t, c2, acs, form)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("test response at the live ACS: %d, want 403", resp.StatusCode)
	}
	a.noSession(t, c2, resp)
}

// TestSignInTestNoConversion: a pending request of the live SP renamed as a
// test cookie does not open as one, and a test cookie renamed as an
// ordinary pending request gives no session at the live SP.
func TestSignInTestNoConversion(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)

	t.Run("ordinary as test", func(t *testing.T) {
		c := a.browser(t)
		resp, _ := get(t, c, a.srv.URL+"/private")
		acs, form := signIn(t, c, resp)
		ck := cookieAt(t, c, acs, "entrasaml_req_")
		u, _ := url.Parse(acs)
		c2 := a.browser(t)
		c2.Jar.SetCookies(u, []*http.Cookie{{Name: "entrasaml_test_" + strings.TrimPrefix(ck.Name, "entrasaml_req_"), Value: ck.Value, Path: u.Path}})
		resp, _ = post(t, c2, acs, form)
		if err := a.lastResult(t).Err; !errors.Is(err, entrasaml.ErrRequestIDMismatch) {
			t.Errorf("ordinary request as a test: %v, want ErrRequestIDMismatch", err)
		}
		a.noSession(t, c2, resp)
	})
	t.Run("test as ordinary", func(t *testing.T) {
		c := a.browser(t)
		resp, _ := get(t, c, a.srv.URL+"/admin/test")
		acs, form := signIn(t, c, resp)
		ck := cookieAt(t, c, acs, "entrasaml_test_")
		u, _ := url.Parse(acs)
		c2 := a.browser(t)
		c2.Jar.SetCookies(u, []*http.Cookie{{Name: "entrasaml_req_" + strings.TrimPrefix(ck.Name, "entrasaml_test_"), Value: ck.Value, Path: u.Path}})
		resp, _ = post(t, c2, acs, form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("test request as an ordinary one: %d, want 403", resp.StatusCode)
		}
		a.noSession(t, c2, resp)
	})
}

// TestSignInTestWrongMetadata: a candidate with the wrong certificate (the
// metadata of another app of the same tenant) fails the test and changes
// nothing: the live SP still signs users in.
func TestSignInTestWrongMetadata(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)
	wrong, err := entratest.New(entratest.Options{TenantID: a.idp.TenantID(), LoginURL: a.idp.URL})
	if err != nil {
		t.Fatal(err)
	}
	a.setCandidate(wrong.Metadata())
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/admin/test")
	acs, form := signIn(t, c, resp)
	resp, body := post(t, c, acs, form)
	res := a.lastResult(t)
	if !errors.Is(res.Err, entrasaml.ErrUnknownSigner) && !errors.Is(res.Err, entrasaml.ErrInvalidSignature) || res.Session != nil {
		t.Fatalf("wrong metadata: %+v, want ErrUnknownSigner", res)
	}
	var e *entrasaml.Error
	if !errors.As(res.Err, &e) || !strings.Contains(body, "test failed") || res.ReturnTo != "/admin" {
		t.Errorf("err %T, page %q", res.Err, body)
	}
	a.noSession(t, c, resp)

	// The live SP is untouched: an ordinary sign-in works.
	resp, _ = get(t, c, a.srv.URL+"/private")
	acs, form = signIn(t, c, resp)
	resp, _ = post(t, c, acs, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("live sign-in after a failed test: %d", resp.StatusCode)
	}
	if _, body := get(t, c, a.srv.URL+"/private"); body != "hello adele@contoso.example" {
		t.Errorf("live page %q", body)
	}
}

// TestSignInTestOtherCandidate: a test started with one candidate cannot be
// concluded by another.
func TestSignInTestOtherCandidate(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/admin/test")
	acs, form := signIn(t, c, resp)
	a.setCandidate(append(a.idp.Metadata(), '\n'))
	resp, _ = post(t, c, acs, form)
	if err := a.lastResult(t).Err; !errors.Is(err, entrasaml.ErrRequestIDMismatch) {
		t.Errorf("other candidate: %v, want ErrRequestIDMismatch", err)
	}
	a.noSession(t, c, resp)
}

// TestSignInTestUnsolicited: an IdP-initiated response with a test cookie
// is refused even when the candidate allows IdP-initiated sign-in.
func TestSignInTestUnsolicited(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)
	c := a.browser(t)
	get(t, c, a.srv.URL+"/admin/test")
	resp64, err := a.idp.Response(entratest.Response{ACSURL: a.srv.URL + "/saml/acs", Audience: "https://app.example/saml",
		User: entratest.User{ObjectID: "oid-2", UPN: "mallory@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := post(t, c, a.srv.URL+"/saml/acs", url.Values{"SAMLResponse": {resp64}})
	if err := a.lastResult(t).Err; !errors.Is(err, entrasaml.ErrUnsolicited) && !errors.Is(err, entrasaml.ErrRequestIDMismatch) {
		t.Errorf("unsolicited: %v", err)
	}
	a.noSession(t, c, resp)
}

func TestNewSignInTestConfig(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	done := func(http.ResponseWriter, *http.Request, *entrasaml.TestResult) {}
	good := entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: idp.Metadata(), Store: entrasaml.NewMemoryStore(nil)}
	for _, tc := range []struct {
		name string
		mod  func(*entrasaml.Config)
		done func(http.ResponseWriter, *http.Request, *entrasaml.TestResult)
		want error
	}{
		{"ok", func(*entrasaml.Config) {}, done, nil},
		{"no handler", func(*entrasaml.Config) {}, nil, entrasaml.ErrConfig},
		{"URL only", func(c *entrasaml.Config) { c.Metadata, c.MetadataURL = nil, "https://login.example/md" }, done, entrasaml.ErrConfig},
		{"no store", func(c *entrasaml.Config) { c.Store = nil }, done, entrasaml.ErrConfig},
		{"bad metadata", func(c *entrasaml.Config) { c.Metadata = []byte("<x/>") }, done, entrasaml.ErrMetadata},
		{"no entity ID", func(c *entrasaml.Config) { c.EntityID = "" }, done, entrasaml.ErrConfig},
	} {
		cfg := good
		tc.mod(&cfg)
		_, err := entrasaml.NewSignInTest(context.Background(), cfg, tc.done)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// BenchmarkNewSignInTest is what a host pays per test ACS POST when it
// builds the SignInTest from its stored draft each time.
func BenchmarkNewSignInTest(b *testing.B) {
	idp, _ := sharedIdP(b)
	cfg := entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: idp.Metadata(), Store: entrasaml.NewMemoryStore(nil),
		SessionKeys: [][]byte{make([]byte, entrasaml.SessionKeySize)}}
	done := func(http.ResponseWriter, *http.Request, *entrasaml.TestResult) {}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := entrasaml.NewSignInTest(context.Background(), cfg, done); err != nil {
			b.Fatal(err)
		}
	}
}
