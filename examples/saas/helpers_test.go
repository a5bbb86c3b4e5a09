package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/devidp"
)

// testKey is one IdP signing key for the tests' own IdPs: generating RSA
// keys under the race detector is slow.
var testKey = sync.OnceValues(func() (*entratest.Key, error) {
	now := time.Now()
	return entratest.NewKey(2048, now.Add(-time.Hour), now.AddDate(1, 0, 0))
})

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

// testApp is the app running in-process on a free port.
type testApp struct {
	*app
	stdout, stderr *syncBuffer
}

// url returns the URL of path on the customer slug's site, or on the
// operator console's for "".
func (ta *testApp) url(slug, path string) string { return ta.cfg.origin(slug) + path }

// startApp runs the app on a free loopback port with args. It is stopped,
// and must return nil, when the test ends; its log is printed if the test
// failed.
func startApp(t *testing.T, args ...string) *testApp {
	t.Helper()
	return startAppWith(t, hooks{}, args...)
}

func startAppWith(t *testing.T, h hooks, args ...string) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	h.appListener = ln
	h.ready = func(a *app) { ready <- a }
	go func() { done <- runWith(ctx, args, ta.stdout, ta.stderr, h) }()
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
			t.Logf("app log:\n%s", ta.stderr.String())
		}
	})
	select {
	case ta.app = <-ready:
	case err := <-done:
		t.Fatalf("run returned before it was ready: %v\n%s", err, ta.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not start")
	}
	return ta
}

// browser returns a client with a cookie jar that does not follow
// redirects, so that each hop can be checked, and that reaches *.localhost
// on the loopback address, as browsers do.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		}},
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

// postMultipart posts fields and, unless file is nil, the file field
// metadata_file, as the console's onboarding form does.
func postMultipart(t *testing.T, c *http.Client, u string, fields map[string]string, file []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("metadata_file", "federationmetadata.xml")
		fw.Write(file)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, u, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
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

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)
)

// form returns the action and hidden inputs of the first form in page.
func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in\n%s", page)
	}
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		v.Set(in[1], html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}

// idpForm goes from the customer's page to its IdP's picker (signOnURL),
// picks account, and returns the ACS URL and form the IdP's page would
// post, without posting it.
func idpForm(t *testing.T, c *http.Client, site, signOnURL, account string) (string, url.Values) {
	t.Helper()
	resp, _ := get(t, c, site+"/")
	loc := resp.Header.Get("Location")
	if !isRedirect(resp.StatusCode) || !strings.HasPrefix(loc, signOnURL+"?") {
		t.Fatalf("GET %s/: %d to %q, want the IdP %s", site, resp.StatusCode, loc, signOnURL)
	}
	resp, page := get(t, c, loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Pick an account") {
		t.Fatalf("picker: %d\n%s", resp.StatusCode, page)
	}
	action, v := form(t, page)
	v.Set("user", account)
	resp, page = postForm(t, c, action, v)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "document.forms[0].submit()") {
		t.Fatalf("sign-in as %s: %d\n%s", account, resp.StatusCode, page)
	}
	return form(t, page)
}

// signIn signs account in to the customer's site through its IdP's picker
// and returns the customer's page.
func signIn(t *testing.T, c *http.Client, site, signOnURL, account string) string {
	t.Helper()
	acs, v := idpForm(t, c, site, signOnURL, account)
	if acs != site+"/saml/acs" {
		t.Fatalf("the IdP posts to %s, want %s/saml/acs", acs, site)
	}
	if resp, body := postForm(t, c, acs, v); !isRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/" {
		t.Fatalf("ACS: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, page := get(t, c, site+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/ after sign-in: %d\n%s", site, resp.StatusCode, page)
	}
	return page
}

// signOut follows the customer's sign-out link through single logout at
// its IdP (signOnURL), and back to the signed-out page.
func signOut(t *testing.T, c *http.Client, site, signOnURL string) {
	t.Helper()
	u := site + "/saml/logout"
	for i, want := range []string{signOnURL + "?SAMLRequest=", site + "/saml/logout?SAMLResponse="} {
		fetch := get
		if i == 0 {
			fetch = clickLink // the sign-out link on the customer's own page
		}
		resp, _ := fetch(t, c, u)
		if u = resp.Header.Get("Location"); !isRedirect(resp.StatusCode) || !strings.HasPrefix(u, want) {
			t.Fatalf("sign-out: %d to %q, want %s…", resp.StatusCode, u, want)
		}
	}
	if resp, body := get(t, c, u); resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("sign-out: %d\n%s", resp.StatusCode, body)
	}
}

// testAccounts are the accounts of the tests' own IdPs.
var testAccounts = []devidp.Account{
	{Key: "vera", User: entratest.User{ObjectID: devidp.GUID("vera"), UPN: "vera@vandelay.example", DisplayName: "Vera Vandelay",
		Groups: []string{devidp.GUID("importers"), devidp.GUID("exporters")}}},
}

// startIdP serves a new development IdP, a fake Entra tenant of the
// test's own with the accounts testAccounts, on a loopback port.
func startIdP(t *testing.T) *devidp.IdP {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	d, err := devidp.New(devidp.Options{LoginURL: "http://127.0.0.1", Name: "Vandelay Industries", Accounts: testAccounts, Key: key,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d)
	t.Cleanup(ts.Close)
	d.SetLoginURL(ts.URL)
	return d
}

// onboard posts the console's onboarding form with pasted metadata.
func onboard(t *testing.T, c *http.Client, ta *testApp, slug, name string, metadata []byte) (*http.Response, string) {
	t.Helper()
	return postMultipart(t, c, ta.url("", "/operator/onboard"), map[string]string{"slug": slug, "name": name, "metadata": string(metadata)}, nil)
}
