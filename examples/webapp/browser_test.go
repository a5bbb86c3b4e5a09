package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml/examples/internal/browsertest"
)

// check fails the test at once on a browser error.
func check[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// open loads u and returns the final document's response (after
// redirects).
func open(t *testing.T, ctx context.Context, u string) *network.Response {
	t.Helper()
	resp := check[*network.Response](t, "open "+u)(chromedp.Run(ctx, chromedp.NavigateResponse(u)))
	if resp == nil {
		t.Fatalf("open %s: no response", u)
	}
	return resp
}

// signIn opens the app's path, expects the development IdP's picker, picks
// user and returns the first document the app answers with: the page
// (after the ACS's redirect) or the ACS's error page.
func signIn(t *testing.T, ctx context.Context, a *testApp, path, user string) *network.Response {
	t.Helper()
	resp := open(t, ctx, a.root+path)
	if !strings.HasPrefix(resp.URL, a.idpURL+"/") || resp.Status != 200 {
		t.Fatalf("%s led to %d %s, want the development IdP's picker", path, resp.Status, resp.URL)
	}
	button := chromedp.CSS(`button[value="` + user + `"]`)
	check[chromedp.Void](t, "picker")(chromedp.Run(ctx, chromedp.WaitVisible(button)))
	ev := check[network.EventResponseReceived](t, "sign-in as "+user)(chromedp.Run(ctx, chromedp.WaitEvent(network.ResponseReceived,
		func(ev network.EventResponseReceived) bool {
			return ev.Type == network.ResourceTypeDocument && strings.HasPrefix(ev.Response.URL, a.root+"/")
		},
		chromedp.Click(button))))
	waitText(t, ctx, a.root+"/", "") // the app's page has loaded
	return ev.Response
}

// waitText waits until the page at a URL starting with prefix shows text.
// It polls from Go: a page that navigates destroys the JavaScript context
// of an in-page poll.
func waitText(t *testing.T, ctx context.Context, prefix, text string) {
	t.Helper()
	js := `location.href.startsWith(` + jsString(prefix) + `) && document.readyState === "complete" && !!document.body && document.body.innerText.includes(` + jsString(text) + `)`
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			href, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			t.Fatalf("waiting for %q on %s: %v (now at %s; last error: %v)", text, prefix, ctx.Err(), href, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func jsString(s string) string { return `decodeURIComponent("` + url.PathEscape(s) + `")` }

// text returns the text of the element matched by css.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return check[string](t, "text of "+css)(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css))))
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	browserCtx := browsertest.NewChromium(t)
	for _, layout := range []struct{ name, appHost, idpHost string }{
		{"app on localhost", "localhost", "127.0.0.1"},
		{"app on 127.0.0.1", "127.0.0.1", "localhost"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			var acs acsLog
			a := startAppWith(t, layout.appHost, hooks{wrap: acs.wrap})
			t.Cleanup(func() { acs.check(t) })
			if u, _ := url.Parse(a.idpURL); u.Hostname() != layout.idpHost {
				t.Fatalf("development IdP at %s, want host %s (another site than the app)", a.idpURL, layout.idpHost)
			}
			browserScenarios(t, browserCtx, a)
		})
	}
}

// acsLog records what the browser sent with its POSTs to the ACS.
type acsLog struct {
	mu    sync.Mutex
	posts []acsPost
}

type acsPost struct {
	fetchSite string   // Sec-Fetch-Site
	pending   []string // names of the pending-request cookies sent
}

func (l *acsLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/saml/acs" {
			p := acsPost{fetchSite: r.Header.Get("Sec-Fetch-Site")}
			for _, c := range r.Cookies() {
				if strings.HasPrefix(c.Name, "entrasaml_req_") {
					p.pending = append(p.pending, c.Name)
				}
			}
			l.mu.Lock()
			l.posts = append(l.posts, p)
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// check verifies that each ACS POST was cross-site and carried the
// SameSite=None; Secure pending-request cookie, which the library sets for
// exactly this request.
func (l *acsLog) check(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.posts) == 0 {
		t.Error("no POST reached the ACS")
	}
	for _, p := range l.posts {
		if p.fetchSite != "cross-site" {
			t.Errorf("ACS POST with Sec-Fetch-Site %q, want cross-site", p.fetchSite)
		}
		secure := 0
		for _, name := range p.pending {
			if !strings.HasSuffix(name, "_l") {
				secure++
			}
		}
		if secure != 1 {
			t.Errorf("ACS POST carried pending-request cookies %q, want exactly one SameSite=None one", p.pending)
		}
	}
	t.Logf("ACS POSTs: %+v", l.posts)
}

func browserScenarios(t *testing.T, browserCtx context.Context, a *testApp) {
	t.Run("deep link", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		resp := signIn(t, ctx, a, "/orders/42?x=1", "adele")
		if resp.Status != 200 || resp.URL != a.root+"/orders/42?x=1" {
			t.Fatalf("after sign-in: %d %s, want 200 %s/orders/42?x=1", resp.Status, resp.URL, a.root)
		}
		waitText(t, ctx, a.root, "Signed in as")
		if got := text(t, ctx, "#nameid"); got != "AdeleV@"+devDomain {
			t.Errorf("NameID on the page: %q", got)
		}
		if got := text(t, ctx, "#path"); got != "/orders/42?x=1" {
			t.Errorf("path on the page: %q", got)
		}
		// Claims are shown as text, not markup.
		if got := text(t, ctx, "#attributes"); !strings.Contains(got, "R&D <Labs>") {
			t.Errorf("attributes table lacks the department claim:\n%s", got)
		}
	})

	t.Run("150 groups stay signed in", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "megan"); resp.Status != 200 || resp.URL != a.root+"/" {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		for _, path := range []string{"/projects", "/projects/7?tab=members"} {
			if resp := open(t, ctx, a.root+path); resp.Status != 200 || resp.URL != a.root+path {
				t.Fatalf("GET %s: %d %s, want the page itself", path, resp.Status, resp.URL)
			}
			waitText(t, ctx, a.root, "Signed in as")
			if got := text(t, ctx, "#groups"); !strings.HasPrefix(got, "150 groups") {
				t.Errorf("%s: groups %q", path, got)
			}
			if got := text(t, ctx, "#nameid"); got != "MeganB@"+devDomain {
				t.Errorf("%s: NameID %q", path, got)
			}
		}
	})

	t.Run("groups overage", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "grady"); resp.Status != 200 {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		waitText(t, ctx, a.root, "Signed in as")
		if got := text(t, ctx, "#groups"); !strings.Contains(got, "overage") {
			t.Errorf("groups %q", got)
		}
	})

	t.Run("unprovisioned user refused", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		resp := signIn(t, ctx, a, "/", "ursula")
		if resp.Status != 403 || resp.URL != a.root+"/saml/acs" {
			t.Fatalf("ACS answered %d %s, want 403 from the ACS", resp.Status, resp.URL)
		}
		waitText(t, ctx, a.root+"/saml/acs", "not set up")
		if resp := open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after a refusal, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
		waitText(t, ctx, a.idpURL, "Pick an account")
	})

	t.Run("sign out", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "adele"); resp.Status != 200 {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		waitText(t, ctx, a.root, "Sign out")
		// Follow the page's own link: the app ends the session and sends the
		// browser to the development IdP, which signs out too and answers
		// with a LogoutResponse at the app's /saml/logout.
		ev := check[network.EventResponseReceived](t, "sign out")(chromedp.Run(ctx, chromedp.WaitEvent(network.ResponseReceived,
			func(ev network.EventResponseReceived) bool { return ev.Type == network.ResourceTypeDocument },
			chromedp.Click(chromedp.CSS("#signout")))))
		if ev.Response.Status != 200 || !strings.HasPrefix(ev.Response.URL, a.root+"/saml/logout?SAMLResponse=") {
			t.Fatalf("sign-out: %d %s", ev.Response.Status, ev.Response.URL)
		}
		waitText(t, ctx, a.root+"/saml/logout", "signed out")
		if resp := open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after sign-out, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
		waitText(t, ctx, a.idpURL, "Pick an account")
	})

	t.Run("sign-out link on another site", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "adele"); resp.Status != 200 {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		// A page on another site (the IdP's host, another port) links and
		// posts a form to the app's sign-out URL.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><a id="link" href="` + a.root + `/saml/logout">Win a prize</a>` +
				`<form method="post" action="` + a.root + `/saml/logout"><button id="post">Claim it</button></form>`))
		}))
		t.Cleanup(evil.Close)
		idp, _ := url.Parse(a.idpURL)
		evilURL := "http://" + idp.Hostname() + ":" + strings.TrimPrefix(evil.URL, "http://127.0.0.1:") + "/"
		confirmPage := func(button string) {
			t.Helper()
			open(t, ctx, evilURL)
			ev := check[network.EventResponseReceived](t, "click "+button)(chromedp.Run(ctx, chromedp.WaitEvent(network.ResponseReceived,
				func(ev network.EventResponseReceived) bool { return ev.Type == network.ResourceTypeDocument },
				chromedp.Click(chromedp.CSS("#"+button)))))
			if ev.Response.Status != 200 || ev.Response.URL != a.root+"/saml/logout" {
				t.Fatalf("the other site's %s led to %d %s, want the confirmation page", button, ev.Response.Status, ev.Response.URL)
			}
			waitText(t, ctx, a.root+"/saml/logout", "Sign out?")
		}
		for _, button := range []string{"link", "post"} {
			confirmPage(button)
			if resp := open(t, ctx, a.root+"/"); resp.Status != 200 || !strings.HasPrefix(resp.URL, a.root+"/") {
				t.Fatalf("after the other site's %s: %d %s, want still signed in", button, resp.Status, resp.URL)
			}
		}
		// The confirmation page's own button (a same-origin POST) signs out,
		// through the development IdP and back.
		confirmPage("link")
		check[chromedp.Void](t, "confirm")(chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`form button`))))
		waitText(t, ctx, a.root+"/saml/logout?SAMLResponse=", "signed out")
		if resp := open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after confirming, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
	})
}
