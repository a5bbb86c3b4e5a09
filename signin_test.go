package entrasaml_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// The sign-in endpoint, Entra's Sign on URL: GET ?return=/path starts
// SP-initiated sign-in and comes back to the path; other places become /.
func TestHTTPLoginEndpoint(t *testing.T) {
	t.Parallel()
	a := newApp(t, false, nil)
	for _, tt := range []struct{ query, want string }{
		{"", "/"},
		{"?return=" + url.QueryEscape("/orders/42?tab=open"), "/orders/42?tab=open"},
		{"?return=" + url.QueryEscape("https://evil.example/"), "/"},
		{"?return=" + url.QueryEscape("//evil.example/x"), "/"},
		{"?return=" + url.QueryEscape("/%2F%2Fevil.example"), "/"},
		{"?return=" + url.QueryEscape(`/\evil.example`), "/"},
	} {
		c := a.browser(t)
		resp, _ := get(t, c, a.srv.URL+"/saml/login"+tt.query)
		acs, form := signIn(t, c, resp)
		resp, body := post(t, c, acs, form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tt.want {
			t.Errorf("login%s: %d to %q, want %q: %s", tt.query, resp.StatusCode, resp.Header.Get("Location"), tt.want, body)
		}
	}
	// An image or a fetch (another site's <img src=".../saml/login">) sets
	// no pending-request cookie.
	for _, mode := range []string{"no-cors", "cors"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, a.srv.URL+"/saml/login", nil)
		req.Header.Set("Sec-Fetch-Mode", mode)
		a.sp.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
			t.Errorf("Sec-Fetch-Mode %s: %d, cookies %v", mode, rec.Code, rec.Result().Cookies())
		}
	}
}

// syncBuffer is a log destination for a test's own logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The app opened on another host than BaseURL's (127.0.0.1 for
// localhost): the pending-request cookie would be set on the wrong host
// and never reach the ACS. The browser is sent to BaseURL's origin before
// the IdP, and the sign-in completes there.
func TestHTTPOtherHostThanBaseURL(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	a := newApp(t, false, func(c *entrasaml.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	base := a.sp.EntraSettings().SignOnURL[:len(a.sp.EntraSettings().SignOnURL)-len("/saml/login")]
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/orders/42") // http://127.0.0.1:port
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, base+"/saml/login?") {
		t.Fatalf("on 127.0.0.1: %d to %s, want BaseURL's sign-in endpoint", resp.StatusCode, loc)
	}
	if host := strings.TrimPrefix(a.srv.URL, "http://"); !strings.Contains(logs.String(), "host="+host) ||
		!strings.Contains(logs.String(), "base_url_host="+strings.TrimPrefix(base, "http://")) {
		t.Errorf("the log does not name both hosts: %s", logs.String())
	}
	for _, ck := range resp.Cookies() {
		t.Errorf("a cookie set on the wrong host: %s", ck)
	}
	resp, _ = get(t, c, loc) // now on localhost
	acs, form := signIn(t, c, resp)
	resp, body := post(t, c, acs, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orders/42" {
		t.Fatalf("ACS: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := get(t, c, base+"/orders/42"); resp.StatusCode != 200 || !strings.Contains(body, "hello adele") {
		t.Errorf("after sign-in: %d %s", resp.StatusCode, body)
	}

	// Behind a proxy that rewrites Host, the sign-in endpoint on BaseURL's
	// origin still sees another host: it goes on rather than loop.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9/saml/login?return=%2Fx&hop=1", nil)
	a.sp.ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, a.idp.SignOnURL()) {
		t.Errorf("second hop: %d to %s, want the IdP", rec.Code, loc)
	}
	// X-Forwarded-Host naming BaseURL's host counts as BaseURL's.
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9/saml/login", nil)
	req.Header.Set("X-Forwarded-Host", strings.TrimPrefix(base, "http://"))
	a.sp.ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, a.idp.SignOnURL()) {
		t.Errorf("X-Forwarded-Host: %d to %s, want the IdP", rec.Code, loc)
	}
	// Another port of BaseURL's host name gets the same cookies: no detour.
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "http://localhost:9/x", nil)
	a.sp.StartSignIn(rec, req, "/x")
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, a.idp.SignOnURL()) {
		t.Errorf("another port: %d to %s, want the IdP", rec.Code, loc)
	}
}

// When no pending-request cookie reaches the ACS at all, the reason says
// so (and names BaseURL's host), unlike a cookie for another request.
func TestHTTPNoPendingCookieReason(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	a := newApp(t, false, func(c *entrasaml.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)

	// Another browser, which started no sign-in: no cookie at all.
	if resp, _ := post(t, a.browser(t), acs, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
	noCookie := logs.String()
	if !strings.Contains(noCookie, "no pending-request cookie reached the ACS") || !strings.Contains(noCookie, strings.TrimPrefix(a.srv.URL, "http://")) {
		t.Errorf("no cookie: %s", noCookie)
	}
	// A browser with a pending request of its own, but not this one.
	other := a.browser(t)
	get(t, other, a.srv.URL+"/")
	if resp, _ := post(t, other, acs, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("other request: %d", resp.StatusCode)
	}
	if rest := strings.TrimPrefix(logs.String(), noCookie); strings.Contains(rest, "no pending-request cookie") || !strings.Contains(rest, "outstanding request") {
		t.Errorf("other request: %s", rest)
	}
	// The browser that started it signs in.
	if resp, _ := post(t, c, acs, form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("own request: %d", resp.StatusCode)
	}
}

// New accepts Entra's tenant-level metadata (it parses) but warns, naming
// the fix; the application's metadata gets no such warning.
func TestNewWarnsTenantLevelMetadata(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		warn bool
	}{{"entra-metadata-tenant.xml", true}, {"entra-metadata.xml", false}} {
		var logs syncBuffer
		_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
			Metadata: readTestdata(t, tc.file), Now: func() time.Time { return fxNow }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(logs.String(), "tenant's federation metadata") && strings.Contains(logs.String(), "?appid=")
		if got != tc.warn {
			t.Errorf("%s: warning %v, want %v: %s", tc.file, got, tc.warn, logs.String())
		}
	}
}

// EntraMetadataURL never builds the tenant-level URL.
func TestEntraMetadataURLNeedsAppID(t *testing.T) {
	t.Parallel()
	for _, args := range [][2]string{{fxTenant, ""}, {"", "0d8e1f2a-6b3c-4d5e-8f9a-1b2c3d4e5f60"}, {"", ""}} {
		if got := entrasaml.EntraMetadataURL(args[0], args[1]); got != "" {
			t.Errorf("EntraMetadataURL(%q, %q) = %q, want \"\"", args[0], args[1], got)
		}
	}
	_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
		MetadataURL: entrasaml.EntraMetadataURL(fxTenant, "")})
	if err == nil || !strings.Contains(err.Error(), "EntraMetadataURL") {
		t.Errorf("New with EntraMetadataURL(tenant, \"\"): %v", err)
	}
}
