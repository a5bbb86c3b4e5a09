package apptest_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// Chromium signs in to an https app through a fake Entra on another site
// and keeps the cookies under their prefixed names: the pending-request
// cookie __Secure-entrasaml_req_… reaches the ACS on Entra's cross-site
// POST, and the session cookie is __Host-entrasaml_session at an origin
// (__Secure-entrasaml_session under a path prefix), which Chromium accepts
// only as Secure, host-only and (for __Host-) with Path=/.
func TestPrefixedCookiesInChromium(t *testing.T) {
	t.Parallel()
	browserCtx := apptest.NewChromium(t)
	idp := entratest.NewServer()
	t.Cleanup(idp.Close)
	idp.SetUser(entratest.User{ObjectID: "00000000-0000-4000-8000-000000000001", UPN: "adele@contoso.example"})
	for _, tc := range []struct{ base, session string }{
		{"", "__Host-entrasaml_session"},
		{"/app", "__Secure-entrasaml_session"},
	} {
		t.Run(tc.session, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			srv := httptest.NewUnstartedServer(mux)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // Chromium's first handshake refuses the self-signed certificate
			srv.StartTLS()
			t.Cleanup(srv.Close)
			sp, err := entrasaml.New(context.Background(), entrasaml.Config{
				EntityID: "https://app.example/saml", BaseURL: srv.URL + tc.base, Metadata: idp.Metadata(),
			})
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var sentToACS []string
			mux.Handle(tc.base+"/saml/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/saml/acs") {
					mu.Lock()
					for _, c := range r.Cookies() {
						sentToACS = append(sentToACS, c.Name)
					}
					mu.Unlock()
				}
				sp.ServeHTTP(w, r)
			}))
			mux.Handle(tc.base+"/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := entrasaml.SessionFromContext(r.Context())
				fmt.Fprintf(w, "<!doctype html><title>app</title><p>hello %s</p>", html.EscapeString(s.NameID))
			})))

			ctx := apptest.NewTab(t, browserCtx)
			// httptest's certificate is self-signed.
			if _, err := chromedp.Call(ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.base+"/orders")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, srv.URL+tc.base+"/orders", "hello adele@contoso.example")

			mu.Lock()
			sent := slices.Clone(sentToACS)
			mu.Unlock()
			if !slices.ContainsFunc(sent, func(n string) bool { return strings.HasPrefix(n, "__Secure-entrasaml_req_") }) {
				t.Errorf("cookies sent with Entra's POST to the ACS: %v, want a __Secure-entrasaml_req_ one", sent)
			}
			res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + tc.base + "/"}})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range res.Cookies {
				names = append(names, c.Name)
				if c.Name == tc.session && (!c.Secure || !c.HTTPOnly || c.Domain != "127.0.0.1" || c.Path != cookiePath(tc.base)) {
					t.Errorf("%s: secure=%v httpOnly=%v domain=%q path=%q", c.Name, c.Secure, c.HTTPOnly, c.Domain, c.Path)
				}
			}
			if !slices.Contains(names, tc.session) {
				t.Errorf("Chromium holds %v, want %s", names, tc.session)
			}
		})
	}
}

// waitFor waits until the tab is at a URL starting with prefix and its
// page shows text.
func waitFor(t *testing.T, ctx context.Context, prefix, text string) {
	t.Helper()
	for {
		href, err := chromedp.Run(ctx, chromedp.Location())
		var body string
		if err == nil {
			body, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		}
		if err == nil && strings.HasPrefix(href, prefix) && strings.Contains(body, text) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %q at %s: %v (at %s: %q)", text, prefix, ctx.Err(), href, body)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cookiePath is the session cookie's Path for a BaseURL path.
func cookiePath(base string) string {
	if base == "" {
		return "/"
	}
	return base
}
