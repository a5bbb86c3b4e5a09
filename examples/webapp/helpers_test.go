package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

// testKey is one IdP signing key shared by the tests: generating RSA keys
// under the race detector is slow.
var testKey = sync.OnceValues(func() (*entratest.Key, error) {
	now := time.Now()
	return entratest.NewKey(2048, now.Add(-time.Hour), now.AddDate(1, 0, 0))
})

// newIdP returns a fake Entra tenant and the path of a file holding its
// federation metadata, for -metadata.
func newIdP(t *testing.T) (*entratest.IdP, string) {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entratest.New(entratest.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "federationmetadata.xml")
	if err := os.WriteFile(path, idp.Metadata(), 0o600); err != nil {
		t.Fatal(err)
	}
	return idp, path
}

// syncBuffer is a bytes.Buffer safe for the app's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testApp is the app running in-process.
type testApp struct {
	root, idpURL string // the root URL and the dev IdP's origin ("" with -metadata)
	addr         string // host:port the app listens on
	stdout       *syncBuffer
}

// startApp runs the app as the acceptance suite starts it, with -addr and
// -root-url naming a free port on 127.0.0.1 (the root URL's host is
// rootHost), plus args. It is stopped, and run must return nil, when the
// test ends; the log is printed if the test failed.
func startApp(t *testing.T, rootHost string, args ...string) *testApp {
	t.Helper()
	return startAppWith(t, rootHost, hooks{}, args...)
}

// startAppWith is startApp with hooks (whose listener and ready are
// replaced).
func startAppWith(t *testing.T, rootHost string, h hooks, args ...string) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	a := &testApp{addr: ln.Addr().String(), stdout: &syncBuffer{}}
	args = append([]string{"-addr", a.addr, "-root-url", "http://" + net.JoinHostPort(rootHost, port)}, args...)
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	noEnv := func(string) string { return "" }
	go func() {
		h.appListener = ln
		h.ready = func(root, idp string) { ready <- [2]string{root, idp} }
		done <- runWith(ctx, args, noEnv, a.stdout, stderr, h)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return after its context was cancelled")
		}
		if t.Failed() {
			t.Logf("app log:\n%s", stderr.String())
		}
	})
	select {
	case u := <-ready:
		a.root, a.idpURL = u[0], u[1]
	case err := <-done:
		t.Fatalf("run returned before it was ready: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not start")
	}
	return a
}

// browser returns a client with a cookie jar that does not follow
// redirects, so that each hop can be checked.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}

// get loads u as a browser's page navigation would.
func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return do(t, c, req)
}

// clickLink gets u as a browser following a link on one of the app's own
// pages does (Sec-Fetch-Site: same-origin): entrasaml's sign-out URL
// signs out only then.
func clickLink(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return do(t, c, req)
}

// postForm posts form to u, as a browser submits a form.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func isRedirect(code int) bool { return code == http.StatusFound || code == http.StatusSeeOther }

// requireIdPRedirect checks that resp sends the browser to signOnURL with
// an AuthnRequest, and returns the request.
func requireIdPRedirect(t *testing.T, resp *http.Response, signOnURL string) *entratest.AuthnRequest {
	t.Helper()
	loc := resp.Header.Get("Location")
	if !isRedirect(resp.StatusCode) || !strings.HasPrefix(loc, signOnURL+"?") {
		t.Fatalf("got %d to %q, want a redirect to %s", resp.StatusCode, loc, signOnURL)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("SAMLRequest") == "" || u.Query().Get("RelayState") == "" {
		t.Fatalf("redirect without SAMLRequest and RelayState: %s", loc)
	}
	req, err := entratest.ParseAuthnRequest(u.Query())
	if err != nil {
		t.Fatal(err)
	}
	if req.Destination != signOnURL {
		t.Errorf("AuthnRequest Destination %q, want %q", req.Destination, signOnURL)
	}
	return req
}

// signOut follows single logout from the app at root: /saml/logout ends
// the session and sends the browser to idp with a LogoutRequest, idp
// answers at the app's Logout URL, which shows the signed-out page.
func signOut(t *testing.T, c *http.Client, root string, idp *entratest.IdP) {
	t.Helper()
	resp, _ := clickLink(t, c, root+"/saml/logout")
	loc := resp.Header.Get("Location")
	if !isRedirect(resp.StatusCode) || !strings.HasPrefix(loc, idp.SignOnURL()+"?") {
		t.Fatalf("logout: %d to %q, want the IdP's logout URL %s", resp.StatusCode, loc, idp.SignOnURL())
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := entratest.ParseLogoutRequest(u.Query())
	if err != nil {
		t.Fatal(err)
	}
	back, err := idp.LogoutResponseURL(root+"/saml/logout", lr.ID, lr.RelayState, true)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, c, back); resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("LogoutResponse: %d\n%s", resp.StatusCode, body)
	}
}

// cookie returns the cookie named name that resp sets, or nil.
func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
