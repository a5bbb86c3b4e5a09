package main

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

	"github.com/entrasaml/entrasaml/examples/internal/browsertest"
)

// run runs browser actions, failing the test at once on an error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// open loads u and returns the final document's response (after
// redirects).
func open(t *testing.T, ctx context.Context, u string) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil || resp == nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return resp
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
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// pick signs account in on the IdP picker at idpOrigin, which the browser
// is on or going to, and waits for the customer's page at site.
func pick(t *testing.T, ctx context.Context, idpOrigin, site, account string) {
	t.Helper()
	waitText(t, ctx, idpOrigin+"/", "Pick an account")
	run(t, ctx, "pick "+account, chromedp.Click(chromedp.CSS(`button[value="`+account+`"]`)))
	waitText(t, ctx, site+"/", "Hello")
}

// acsLog records what the browser sent with its POSTs to the ACSs.
type acsLog struct {
	mu    sync.Mutex
	posts []acsPost
}

type acsPost struct {
	host, fetchSite string
	pending         []string // names of the pending-request cookies sent
}

func (l *acsLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/saml/acs" {
			p := acsPost{host: r.Host, fetchSite: r.Header.Get("Sec-Fetch-Site")}
			for _, c := range r.Cookies() {
				if strings.HasPrefix(strings.TrimPrefix(c.Name, "__Secure-"), "entrasaml_req_") {
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

// check verifies that each ACS POST was cross-site, as with Entra, and
// carried exactly one SameSite=None; Secure pending-request cookie (the one
// of that host's sign-in): Chromium treats *.localhost as a secure context.
func (l *acsLog) check(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.posts) == 0 {
		t.Error("no POST reached an ACS")
	}
	for _, p := range l.posts {
		secure := 0
		for _, name := range p.pending {
			if !strings.HasSuffix(name, "_l") {
				secure++
			}
		}
		if p.fetchSite != "cross-site" || secure != 1 {
			t.Errorf("ACS POST to %s: Sec-Fetch-Site %q, pending-request cookies %q; want cross-site and one SameSite=None cookie", p.host, p.fetchSite, p.pending)
		}
	}
	t.Logf("ACS POSTs: %+v", l.posts)
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	browserCtx := browsertest.NewChromium(t)
	var acs acsLog
	ta := startAppWith(t, hooks{wrap: acs.wrap})
	t.Cleanup(func() { acs.check(t) })

	t.Run("two customers in one browser", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		acme, globex := ta.reg.get("acme").dev, ta.reg.get("globex").dev
		acmeSite, globexSite := ta.url("acme", ""), ta.url("globex", "")
		want := func(site, name, tenant, nameID string) {
			t.Helper()
			if resp := open(t, ctx, site+"/"); resp.Status != 200 || resp.URL != site+"/" {
				t.Fatalf("%s/: %d %s, want the customer's page itself", site, resp.Status, resp.URL)
			}
			waitText(t, ctx, site+"/", "Hello")
			for css, w := range map[string]string{"#customer-name": name, "#tenant": tenant, "#nameid": nameID} {
				if got := text(t, ctx, css); got != w {
					t.Errorf("%s: %s is %q, want %q", site, css, got, w)
				}
			}
		}

		open(t, ctx, acmeSite+"/")
		pick(t, ctx, acme.LoginURL(), acmeSite, "wile")
		want(acmeSite, "Acme Corporation", acme.TenantID(), "wile@acmecorp.onmicrosoft.com")

		open(t, ctx, globexSite+"/") // no session here yet: globex's own IdP
		pick(t, ctx, globex.LoginURL(), globexSite, "hank")
		want(globexSite, "Globex Corporation", globex.TenantID(), "hank@globexcorp.onmicrosoft.com")

		// Each session stays on its own host.
		want(acmeSite, "Acme Corporation", acme.TenantID(), "wile@acmecorp.onmicrosoft.com")
		if got := text(t, ctx, "#displayname"); got != "Wile E. Coyote" {
			t.Errorf("acme's user is now %q", got)
		}

		// Signing out of acme (through acme's IdP) leaves globex signed in.
		run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")))
		waitText(t, ctx, acmeSite+"/saml/logout?SAMLResponse=", "signed out")
		want(globexSite, "Globex Corporation", globex.TenantID(), "hank@globexcorp.onmicrosoft.com")
		if resp := open(t, ctx, acmeSite+"/"); !strings.HasPrefix(resp.URL, acme.LoginURL()+"/") {
			t.Errorf("after signing out of acme, its page led to %d %s, want acme's IdP", resp.Status, resp.URL)
		}
	})

	t.Run("onboard through the console", func(t *testing.T) {
		t.Parallel()
		ctx := browsertest.NewTab(t, browserCtx)
		idp := startIdP(t)
		site := ta.url("vandelay", "")
		open(t, ctx, ta.url("", "/operator"))
		waitText(t, ctx, ta.url("", "/operator"), "Onboard a customer")
		run(t, ctx, "fill in the onboarding form",
			chromedp.SendKeys(chromedp.CSS("#slug"), "vandelay"),
			chromedp.SendKeys(chromedp.CSS("#name"), "Vandelay Industries"),
			chromedp.SetValue(chromedp.CSS("#metadata"), string(idp.Metadata())),
			chromedp.Click(chromedp.CSS("#onboard-submit")))
		waitText(t, ctx, ta.url("", "/operator/onboard"), "Onboarded Vandelay Industries")
		for css, w := range map[string]string{"#identifier": site + "/saml/metadata", "#reply-url": site + "/saml/acs",
			"#report-tenant": idp.TenantID(), "#ready": "yes"} {
			if got := text(t, ctx, css); got != w {
				t.Errorf("%s is %q, want %q", css, got, w)
			}
		}
		run(t, ctx, "open the new site", chromedp.Click(chromedp.CSS("#site")))
		pick(t, ctx, idp.LoginURL(), site, "vera")
		if got := text(t, ctx, "#customer-name") + " / " + text(t, ctx, "#displayname"); got != "Vandelay Industries / Vera Vandelay" {
			t.Errorf("the new customer's page shows %q", got)
		}
	})
}
