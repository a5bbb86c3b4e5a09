package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
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

// testApp is the app running in-process.
type testApp struct {
	root   string // the root URL
	addr   string // host:port the app listens on
	idpURL string // the development IdP's URL ("" with -metadata)
	signOn string // and its sign-on URL
	out    apptest.Output
}

var openLine = regexp.MustCompile(`(?m)^open (\S+)/$`)

var devIdPLine = regexp.MustCompile(`(?m)^development IdP \(fake Entra tenant ([-0-9a-f]+)\) at (\S+)/$`)

// startApp runs the app as a user would, with -addr and -root-url naming
// a free port on 127.0.0.1 (the root URL's host is rootHost), plus args.
// It is stopped, and run must return nil, when the test ends.
func startApp(t *testing.T, rootHost string, args ...string) *testApp {
	t.Helper()
	a := &testApp{addr: apptest.FreeAddr(t)}
	_, port, _ := net.SplitHostPort(a.addr)
	a.root = "http://" + net.JoinHostPort(rootHost, port)
	a.start(t, args...)
	return a
}

// startObserved runs the app behind a reverse proxy that the browser
// reaches at the root URL (host rootHost), and that records the ACS POSTs
// in log.
func startObserved(t *testing.T, rootHost string, log *apptest.ACSLog) *testApp {
	t.Helper()
	a := &testApp{addr: apptest.FreeAddr(t)}
	target := &url.URL{Scheme: "http", Host: a.addr}
	proxy := httptest.NewServer(log.Wrap(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the app sees the browser's Host, as behind a load balancer
	}}))
	t.Cleanup(proxy.Close)
	_, port, _ := net.SplitHostPort(proxy.Listener.Addr().String())
	a.root = "http://" + net.JoinHostPort(rootHost, port)
	a.start(t)
	return a
}

func (a *testApp) start(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-addr", a.addr, "-root-url", a.root}, args...)
	noEnv := func(string) string { return "" }
	a.out = apptest.Start(t, func(ctx context.Context, stdout, stderr io.Writer) error {
		return run(ctx, args, noEnv, stdout, stderr)
	}, func(o apptest.Output) bool { return openLine.MatchString(o.Stdout.String()) })
	a.root = openLine.FindStringSubmatch(a.out.Stdout.String())[1] // -root-url in args wins
	if m := devIdPLine.FindStringSubmatch(a.out.Stdout.String()); m != nil {
		a.idpURL, a.signOn = m[2], m[2]+"/"+m[1]+"/saml2"
	}
}

// acs posts a response to the app's ACS with relayState.
func (a *testApp) acs(t *testing.T, c *http.Client, samlResponse, relayState string) (*http.Response, string) {
	t.Helper()
	return apptest.PostForm(t, c, a.root+"/saml/acs", url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relayState}})
}

// requireIdPRedirect checks that resp sends the browser to signOnURL with
// an AuthnRequest, and returns the request.
func requireIdPRedirect(t *testing.T, resp *http.Response, signOnURL string) *entratest.AuthnRequest {
	t.Helper()
	loc := resp.Header.Get("Location")
	if !apptest.IsRedirect(resp.StatusCode) || !strings.HasPrefix(loc, signOnURL+"?") {
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
	resp, body := apptest.ClickLink(t, c, root+"/saml/logout")
	if resp.StatusCode == http.StatusOK { // a confirmation page: submit it
		action, v := apptest.Form(t, body)
		resp, _ = apptest.PostForm(t, c, resolve(t, root+"/saml/logout", action), v)
	}
	loc := resp.Header.Get("Location")
	if !apptest.IsRedirect(resp.StatusCode) || !strings.HasPrefix(loc, idp.SignOnURL()+"?") {
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
	resp, body = apptest.Get(t, c, back)
	for apptest.IsRedirect(resp.StatusCode) { // to a clean signed-out URL
		resp, body = apptest.Get(t, c, resolve(t, back, resp.Header.Get("Location")))
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("LogoutResponse: %d\n%s", resp.StatusCode, body)
	}
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

// setCookies returns the cookies resp sets (not those it deletes).
func setCookies(resp *http.Response) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}
