package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// signIn opens the app's path in the browser, expects the development
// IdP's picker, picks user and returns the first document the app answers
// with: the page (after the ACS's redirect) or the ACS's error page.
func signIn(t *testing.T, ctx context.Context, a *testApp, path, user string) *network.Response {
	t.Helper()
	resp := apptest.Open(t, ctx, a.root+path)
	if !strings.HasPrefix(resp.URL, a.idpURL+"/") || resp.Status != 200 {
		t.Fatalf("%s led to %d %s, want the development IdP's picker", path, resp.Status, resp.URL)
	}
	button := `button[value="` + user + `"]`
	apptest.Run(t, ctx, "picker", chromedp.WaitVisible(button))
	doc := apptest.ClickForDocument(t, ctx, button, a.root+"/")
	apptest.WaitText(t, ctx, a.root+"/", "") // the app's page has loaded
	return doc
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	browserCtx := apptest.NewChromium(t)
	for _, layout := range []struct{ name, appHost, idpHost string }{
		{"app on localhost", "localhost", "127.0.0.1"},
		{"app on 127.0.0.1", "127.0.0.1", "localhost"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			var acs apptest.ACSLog
			a := startObserved(t, layout.appHost, &acs)
			t.Cleanup(func() { acs.Check(t) })
			if u, _ := url.Parse(a.idpURL); u.Hostname() != layout.idpHost {
				t.Fatalf("development IdP at %s, want host %s (another site than the app)", a.idpURL, layout.idpHost)
			}
			browserScenarios(t, browserCtx, a)
		})
	}
}

func browserScenarios(t *testing.T, browserCtx context.Context, a *testApp) {
	const domain = "@contoso.onmicrosoft.com"
	t.Run("deep link", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		resp := signIn(t, ctx, a, "/orders/42?x=1", "adele")
		if resp.Status != 200 || resp.URL != a.root+"/orders/42?x=1" {
			t.Fatalf("after sign-in: %d %s, want 200 %s/orders/42?x=1", resp.Status, resp.URL, a.root)
		}
		apptest.WaitText(t, ctx, a.root, "Signed in as")
		if got := apptest.Text(t, ctx, "#nameid"); got != "AdeleV"+domain {
			t.Errorf("NameID on the page: %q", got)
		}
		if got := apptest.Text(t, ctx, "#path"); got != "/orders/42?x=1" {
			t.Errorf("path on the page: %q", got)
		}
		// Claims are shown as text, not markup.
		if got := apptest.Text(t, ctx, "#attributes"); !strings.Contains(got, "R&D <Labs>") {
			t.Errorf("attributes table lacks the department claim:\n%s", got)
		}
	})

	t.Run("150 groups stay signed in", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "megan"); resp.Status != 200 || resp.URL != a.root+"/" {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		for _, path := range []string{"/projects", "/projects/7?tab=members"} {
			if resp := apptest.Open(t, ctx, a.root+path); resp.Status != 200 || resp.URL != a.root+path {
				t.Fatalf("GET %s: %d %s, want the page itself", path, resp.Status, resp.URL)
			}
			apptest.WaitText(t, ctx, a.root, "Signed in as")
			if got := apptest.Text(t, ctx, "#groups"); !strings.HasPrefix(got, "150 groups") {
				t.Errorf("%s: groups %q", path, got)
			}
			if got := apptest.Text(t, ctx, "#nameid"); got != "MeganB"+domain {
				t.Errorf("%s: NameID %q", path, got)
			}
		}
	})

	t.Run("groups overage", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "grady"); resp.Status != 200 {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		apptest.WaitText(t, ctx, a.root, "Signed in as")
		if got := apptest.Text(t, ctx, "#groups"); !strings.Contains(got, "overage") {
			t.Errorf("groups %q", got)
		}
	})

	t.Run("unprovisioned user refused", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		resp := signIn(t, ctx, a, "/", "ursula")
		if resp.Status != 403 || resp.URL != a.root+"/saml/acs" {
			t.Fatalf("ACS answered %d %s, want 403 from the ACS", resp.Status, resp.URL)
		}
		apptest.WaitText(t, ctx, a.root+"/saml/acs", "not set up")
		if resp := apptest.Open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after a refusal, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
		apptest.WaitText(t, ctx, a.idpURL, "Pick an account")
	})

	t.Run("sign out", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		if resp := signIn(t, ctx, a, "/", "adele"); resp.Status != 200 {
			t.Fatalf("after sign-in: %d %s", resp.Status, resp.URL)
		}
		apptest.WaitText(t, ctx, a.root, "Sign out")
		// Follow the page's own link: the app ends the session and sends the
		// browser to the development IdP, which signs out too and answers
		// with a LogoutResponse at the app's /saml/logout.
		apptest.Run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")))
		apptest.WaitText(t, ctx, a.root+"/", "signed out") // the LogoutResponse, or the page it redirects to
		if resp := apptest.Open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after sign-out, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
		apptest.WaitText(t, ctx, a.idpURL, "Pick an account")
	})

	t.Run("sign-out link on another site", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
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
			apptest.Open(t, ctx, evilURL)
			resp := apptest.ClickForDocument(t, ctx, "#"+button, a.root+"/saml/logout")
			if resp.Status != 200 || resp.URL != a.root+"/saml/logout" {
				t.Fatalf("the other site's %s led to %d %s, want the confirmation page", button, resp.Status, resp.URL)
			}
			apptest.WaitText(t, ctx, a.root+"/saml/logout", "Sign out?")
		}
		for _, button := range []string{"link", "post"} {
			confirmPage(button)
			if resp := apptest.Open(t, ctx, a.root+"/"); resp.Status != 200 || !strings.HasPrefix(resp.URL, a.root+"/") {
				t.Fatalf("after the other site's %s: %d %s, want still signed in", button, resp.Status, resp.URL)
			}
		}
		// The confirmation page's own button (a same-origin POST) signs out,
		// through the development IdP and back.
		confirmPage("link")
		apptest.Run(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`form button`)))
		apptest.WaitText(t, ctx, a.root+"/", "signed out")
		if resp := apptest.Open(t, ctx, a.root+"/"); !strings.HasPrefix(resp.URL, a.idpURL+"/") {
			t.Fatalf("after confirming, / led to %d %s, want the IdP", resp.Status, resp.URL)
		}
	})
}
