// Package apptest is the test harness the example apps share: it runs an
// app in-process, drives it with cookie-jar clients as a browser would
// (through the development IdP's "Pick an account" page too), checks the
// ACS POSTs a browser sends, and starts the real services the tests need
// (headless Chromium, redis-server).
package apptest

import (
	"bytes"
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/internal/tooltest"
)

// Buffer is a bytes.Buffer safe for an app's goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Output is what an app started by [Start] printed.
type Output struct{ Stdout, Stderr *Buffer }

// Start runs run in a goroutine until the test ends, then cancels its
// context and expects it to return nil within 15 s. It returns once ready
// reports true (polled), and fails the test if run returns first or 30 s
// pass. The app's log (stderr) is printed if the test failed.
func Start(t *testing.T, run func(ctx context.Context, stdout, stderr io.Writer) error, ready func(Output) bool) Output {
	t.Helper()
	out := Output{&Buffer{}, &Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, out.Stdout, out.Stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the app returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the app did not return after its context was cancelled")
		}
		if t.Failed() {
			t.Logf("app log:\n%s", out.Stderr.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !ready(out); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("the app returned before it was ready: %v\n%s", err, out.Stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not start\n%s", out.Stderr.String())
		}
	}
	return out
}

// FreeAddr returns a loopback address with a port free now, for an app
// that must be told its address before it listens.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Browser returns a client with a cookie jar that does not follow
// redirects, so that each hop can be checked, and that reaches localhost
// and *.localhost on 127.0.0.1, as browsers do.
func Browser() *http.Client {
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

// Get loads u as a browser's page navigation would.
func Get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return Do(t, c, req)
}

// ClickLink gets u as a browser following a link on one of the app's own
// pages does (Sec-Fetch-Site: same-origin): entrasaml's sign-out URL signs
// out at once only then, and asks for confirmation otherwise.
func ClickLink(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return Do(t, c, req)
}

// PostForm posts form to u, as a browser submits a form.
func PostForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return Do(t, c, req)
}

// Do sends req and returns the response with its body read.
func Do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
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

// IsRedirect reports whether code is a redirect a browser follows with GET.
func IsRedirect(code int) bool { return code == http.StatusFound || code == http.StatusSeeOther }

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)
)

// Form returns the action and hidden inputs of the first form in page.
func Form(t *testing.T, page string) (string, url.Values) {
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

// Pick opens the app's page u, expects a redirect to the development IdP
// at signOnURL and its "Pick an account" page, picks account, and returns
// the ACS URL and form that the IdP's auto-submitting page would post,
// without posting it.
func Pick(t *testing.T, c *http.Client, u, signOnURL, account string) (string, url.Values) {
	t.Helper()
	resp, _ := Get(t, c, u)
	loc := resp.Header.Get("Location")
	if !IsRedirect(resp.StatusCode) || !strings.HasPrefix(loc, signOnURL+"?") {
		t.Fatalf("GET %s: %d to %q, want the IdP %s", u, resp.StatusCode, loc, signOnURL)
	}
	resp, page := Get(t, c, loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Pick an account") {
		t.Fatalf("picker: %d\n%s", resp.StatusCode, page)
	}
	action, v := Form(t, page)
	v.Set("user", account)
	resp, page = PostForm(t, c, action, v)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "document.forms[0].submit()") || !strings.Contains(page, "<noscript>") {
		t.Fatalf("sign-in as %s: %d\n%s", account, resp.StatusCode, page)
	}
	return Form(t, page)
}

// RedisURL returns the Redis to test against: $REDIS_URL (CI starts one),
// else a private redis-server on a free loopback port, stopped when the
// test ends. Without either the test is skipped, except on CI.
func RedisURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	bin := tooltest.RedisServer().Need(t)
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "redis://" + addr + "/0"
		}
	}
	t.Fatal("redis-server did not start")
	return ""
}
