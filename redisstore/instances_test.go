package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance serves the one external origin a load balancer would.
const (
	appEntityID = "https://app.example/saml"
	appBaseURL  = "https://app.example"
	appHost     = "app.example"
)

var (
	idpOnce sync.Once
	idp     *entratest.IdP
	idpErr  error
)

// testIdP returns one fake Entra tenant for the package (RSA key
// generation is slow), on the real clock like Redis.
func testIdP(tb testing.TB) *entratest.IdP {
	tb.Helper()
	idpOnce.Do(func() { idp, idpErr = entratest.New(entratest.Options{}) })
	if idpErr != nil {
		tb.Fatal(idpErr)
	}
	return idp
}

func testUser(n int) entratest.User {
	return entratest.User{ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), UPN: fmt.Sprintf("user%d@contoso.example", n)}
}

// instance is one copy of the app behind the load balancer: an SP with the
// shared Config, served by an httptest server of its own.
type instance struct {
	name    string
	handler http.Handler
	srv     *httptest.Server
	client  *http.Client // to this instance; no cookie jar, no redirects
	logs    *logRecorder
	served  atomic.Int64 // ACS requests answered
}

// newInstances starts n instances of the app with one Config (EntityID,
// BaseURL, SessionKeys) and each its own Store from newStore, as separate
// processes would have.
func newInstances(tb testing.TB, n int, newStore func() entrasaml.Store) []*instance {
	tb.Helper()
	key := make([]byte, entrasaml.SessionKeySize)
	rand.Read(key)
	var out []*instance
	for i := range n {
		in := &instance{name: string(rune('A' + i)), logs: &logRecorder{}}
		sp, err := entrasaml.New(context.Background(), entrasaml.Config{
			EntityID: appEntityID, BaseURL: appBaseURL, Metadata: testIdP(tb).Metadata(),
			Store: newStore(), SessionKeys: [][]byte{key}, SessionMaxAge: 10 * time.Minute,
			Logger: slog.New(in.logs),
		})
		if err != nil {
			tb.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/saml/", sp)
		mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := entrasaml.SessionFromContext(r.Context())
			fmt.Fprintf(w, "hello %s from %s", s.NameID, in.name)
		})))
		in.handler = mux
		in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mux.ServeHTTP(w, r)
			if r.URL.Path == "/saml/acs" {
				in.served.Add(1)
			}
		}))
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		tb.Cleanup(func() { tr.CloseIdleConnections(); in.srv.Close() })
		in.client = &http.Client{
			Transport:     route{to: in.srv.Listener.Addr().String(), tr: tr},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       30 * time.Second,
		}
		out = append(out, in)
	}
	return out
}

// redisStores returns a newStore for newInstances: each instance gets its
// own client (of newClient), all with the same opts.
func redisStores(tb testing.TB, newClient func(testing.TB) redis.UniversalClient, opts redisstore.Options) func() entrasaml.Store {
	return func() entrasaml.Store { return redisstore.New(newClient(tb), opts) }
}

// clientsOf returns a newClient for redisStores: clients of opts().
func clientsOf(opts func() *redis.Options) func(testing.TB) redis.UniversalClient {
	return func(tb testing.TB) redis.UniversalClient { return closing(tb, redis.NewClient(opts())) }
}

// route sends requests for https://app.example to one instance (over
// plain HTTP on loopback, as from a TLS-terminating load balancer).
type route struct {
	to string
	tr http.RoundTripper
}

func (r route) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != appHost {
		return nil, fmt.Errorf("request to %s: only %s is routed", req.URL.Host, appHost)
	}
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = "http", r.to
	return r.tr.RoundTrip(req)
}

// browser is a cookie jar that sends each request through a chosen
// instance.
type browser struct{ jar *cookiejar.Jar }

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{jar: jar}
}

func (b *browser) do(tb testing.TB, in *instance, method, path string, form url.Values) (*http.Response, string) {
	tb.Helper()
	c := *in.client
	c.Jar = b.jar
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, appBaseURL+path, body)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b2, _ := io.ReadAll(resp.Body)
	return resp, string(b2)
}

// copyOf returns a browser holding b's cookies for path, as a thief who
// copied them would.
func (b *browser) copyOf(path string) *browser {
	u, _ := url.Parse(appBaseURL + path)
	c := newBrowser()
	c.jar.SetCookies(u, b.jar.Cookies(u))
	return c
}

// answer plays Entra: it reads the AuthnRequest in the redirect to the
// sign-on URL and returns the form Entra posts back for u.
func answer(tb testing.TB, location string, u entratest.User) url.Values {
	tb.Helper()
	form, err := answerErr(testIdP(tb), location, u)
	if err != nil {
		tb.Fatal(err)
	}
	return form
}

// answerErr is answer for goroutines other than the test's.
func answerErr(idp *entratest.IdP, location string, u entratest.User) (url.Values, error) {
	loc, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, idp.SignOnURL()+"?") {
		return nil, fmt.Errorf("not a redirect to Entra: %q", location)
	}
	req, err := entratest.ParseAuthnRequest(loc.Query())
	if err != nil {
		return nil, err
	}
	resp, err := idp.Response(req.Response(u))
	if err != nil {
		return nil, err
	}
	return url.Values{"SAMLResponse": {resp}, "RelayState": {req.RelayState}}, nil
}

// logRecorder is a slog.Handler that keeps the errors logged.
type logRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// count returns how many logged errors match target.
func (l *logRecorder) count(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, err := range l.errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// The scenario of a load balancer in front of two instances sharing Redis,
// on each topology.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	forEachTopology(t, testTwoInstances)
}

func testTwoInstances(t *testing.T, newClient func(testing.TB) redis.UniversalClient) {
	ins := newInstances(t, 2, redisStores(t, newClient, redisstore.Options{Prefix: testPrefix(t, newClient(t))}))
	a, b := ins[0], ins[1]
	user := testUser(1)

	// A sign-in started on A completes on B.
	br := newBrowser()
	resp, _ := br.do(t, a, http.MethodGet, "/orders/42", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("A without a session: %d, want 303 to Entra", resp.StatusCode)
	}
	form := answer(t, resp.Header.Get("Location"), user)
	thief := br.copyOf("/saml/acs") // the pending-request cookie, copied
	resp, body := br.do(t, b, http.MethodPost, "/saml/acs", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orders/42" {
		t.Fatalf("B's ACS: %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}

	// The session created on B is valid on A (and on B).
	for _, in := range []*instance{a, b} {
		if resp, body := br.do(t, in, http.MethodGet, "/orders/42", nil); resp.StatusCode != 200 || body != "hello "+user.UPN+" from "+in.name {
			t.Errorf("signed in on B, request to %s: %d %q", in.name, resp.StatusCode, body)
		}
	}

	// The same response posted again to A, with the pending cookie too,
	// is refused as a replay.
	resp, _ = thief.do(t, a, http.MethodPost, "/saml/acs", form)
	if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil {
		t.Errorf("replay to A after B accepted: %d, session cookie %v; want 403, none", resp.StatusCode, sessionCookie(resp))
	}
	if a.logs.count(entrasaml.ErrReplay) != 1 {
		t.Errorf("A logged %d ErrReplay, want 1: %v", a.logs.count(entrasaml.ErrReplay), a.logs.errs)
	}

	// Signing out on A ends the session on B, for a copied cookie too.
	stolen := br.copyOf("/")
	// (With single logout, A then sends the browser to Entra.) A POST: a GET
	// without a browser's Sec-Fetch-Site header gets a confirmation page.
	if resp, body := br.do(t, a, http.MethodPost, "/saml/logout", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.Contains(resp.Header.Get("Location"), "SAMLRequest=") {
		t.Fatalf("logout on A: %d %s", resp.StatusCode, body)
	}
	for _, c := range []*browser{br, stolen} {
		for _, in := range []*instance{b, a} {
			if resp, _ := c.do(t, in, http.MethodGet, "/orders/42", nil); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("after logout on A, request to %s: %d, want 303 to sign in", in.name, resp.StatusCode)
			}
		}
	}
}

// The control: with an in-memory store each, the same scenario accepts a
// replay and loses the session, which is what the shared store prevents.
func TestTwoInstancesWithoutSharedStore(t *testing.T) {
	t.Parallel()
	ins := newInstances(t, 2, func() entrasaml.Store { return entrasaml.NewMemoryStore(nil) })
	a, b := ins[0], ins[1]
	br := newBrowser()
	resp, _ := br.do(t, a, http.MethodGet, "/", nil)
	form := answer(t, resp.Header.Get("Location"), testUser(2))
	thief := br.copyOf("/saml/acs")
	if resp, _ := br.do(t, b, http.MethodPost, "/saml/acs", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("B's ACS: %d", resp.StatusCode)
	}
	if resp, _ := br.do(t, a, http.MethodGet, "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("B's session on A without a shared store: %d, want 303", resp.StatusCode)
	}
	if resp, _ := thief.do(t, a, http.MethodPost, "/saml/acs", form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("replay to A without a shared store: %d, want 303 (accepted)", resp.StatusCode)
	}
}

// sessionCookie returns the session cookie resp sets, or nil (BaseURL is
// https with no path, so its name has the __Host- prefix).
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-entrasaml_session" && c.MaxAge > 0 && c.Value != "" {
			return c
		}
	}
	return nil
}
