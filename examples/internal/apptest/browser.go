package apptest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Run runs browser actions, failing the test at once on an error.
func Run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Open loads u and returns the final document's response (after
// redirects).
func Open(t *testing.T, ctx context.Context, u string) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil || resp == nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return resp
}

// ClickForDocument clicks the element matched by css and returns the
// response of the first document the browser then loads whose URL starts
// with prefix.
func ClickForDocument(t *testing.T, ctx context.Context, css, prefix string) *network.Response {
	t.Helper()
	ev, err := chromedp.Run(ctx, chromedp.WaitEvent(network.ResponseReceived,
		func(ev network.EventResponseReceived) bool {
			return ev.Type == network.ResourceTypeDocument && strings.HasPrefix(ev.Response.URL, prefix)
		},
		chromedp.Click(chromedp.CSS(css))))
	if err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
	return ev.Response
}

// WaitText waits until the page at a URL starting with prefix shows text.
// It polls from Go: a page that navigates destroys the JavaScript context
// of an in-page poll.
func WaitText(t *testing.T, ctx context.Context, prefix, text string) {
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

// Text returns the text of the element matched by css.
func Text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// ACSLog records what browsers send with their POSTs to the ACS
// (/saml/acs) of the handler it wraps, and the SameSite attribute of every
// cookie the handler sets, so that a test can check that the IdP's POST
// was cross-site and carried the pending-request cookie made for it,
// whatever the cookies are named.
type ACSLog struct {
	mu       sync.Mutex
	sameSite map[string]http.SameSite // cookie name → as last set
	posts    []acsPost
}

type acsPost struct {
	host, fetchSite string
	sameSiteNone    []string // cookies sent that were set SameSite=None
	cookies         []string // all cookies sent
}

// Wrap returns next, observed.
func (l *ACSLog) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/saml/acs") {
			p := acsPost{host: r.Host, fetchSite: r.Header.Get("Sec-Fetch-Site")}
			l.mu.Lock()
			for _, c := range r.Cookies() {
				p.cookies = append(p.cookies, c.Name)
				if l.sameSite[c.Name] == http.SameSiteNoneMode {
					p.sameSiteNone = append(p.sameSiteNone, c.Name)
				}
			}
			l.posts = append(l.posts, p)
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, line := range w.Header().Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(line); err == nil && c.MaxAge >= 0 {
				if l.sameSite == nil {
					l.sameSite = map[string]http.SameSite{}
				}
				l.sameSite[c.Name] = c.SameSite
			}
		}
	})
}

// Check verifies that at least one POST reached the ACS and that each was
// cross-site, as Entra's is, and carried exactly one SameSite=None cookie:
// the pending-request cookie of that sign-in (browsers send no Lax or
// Strict cookie with a cross-site POST; Chromium treats localhost and
// *.localhost as secure contexts, so Secure cookies work over http there).
func (l *ACSLog) Check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.posts) == 0 {
		t.Error("no POST reached the ACS")
	}
	for _, p := range l.posts {
		if p.fetchSite != "cross-site" || len(p.sameSiteNone) != 1 {
			t.Errorf("ACS POST to %s: Sec-Fetch-Site %q, SameSite=None cookies %q (of %q); want cross-site and exactly one",
				p.host, p.fetchSite, p.sameSiteNone, p.cookies)
		}
	}
	t.Logf("ACS POSTs: %+v", l.posts)
}
