package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// pick signs account in on the IdP picker at idpOrigin, which the browser
// is on or going to, and waits for the customer's page at site.
func pick(t *testing.T, ctx context.Context, idpOrigin, site, account string) {
	t.Helper()
	apptest.WaitText(t, ctx, idpOrigin+"/", "Pick an account")
	apptest.Run(t, ctx, "pick "+account, chromedp.Click(chromedp.CSS(`button[value="`+account+`"]`)))
	apptest.WaitText(t, ctx, site+"/", "Hello")
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	browserCtx := apptest.NewChromium(t)
	var acs apptest.ACSLog
	ta := startAppWith(t, hooks{wrap: acs.Wrap})
	t.Cleanup(func() { acs.Check(t) })

	t.Run("the customer's admin sets up SSO", func(t *testing.T) {
		t.Parallel()
		adminInBrowser(t, ta, browserCtx)
	})

	t.Run("two customers in one browser", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		acme, globex := ta.reg.get("acme").dev, ta.reg.get("globex").dev
		acmeSite, globexSite := ta.url("acme", ""), ta.url("globex", "")
		want := func(site, name, tenant, nameID string) {
			t.Helper()
			if resp := apptest.Open(t, ctx, site+"/"); resp.Status != 200 || resp.URL != site+"/" {
				t.Fatalf("%s/: %d %s, want the customer's page itself", site, resp.Status, resp.URL)
			}
			apptest.WaitText(t, ctx, site+"/", "Hello")
			for css, w := range map[string]string{"#customer-name": name, "#tenant": tenant, "#nameid": nameID} {
				if got := apptest.Text(t, ctx, css); got != w {
					t.Errorf("%s: %s is %q, want %q", site, css, got, w)
				}
			}
		}

		apptest.Open(t, ctx, acmeSite+"/")
		pick(t, ctx, acme.LoginURL(), acmeSite, "wile")
		want(acmeSite, "Acme Corporation", acme.TenantID(), "wile@acmecorp.onmicrosoft.com")

		apptest.Open(t, ctx, globexSite+"/") // no session here yet: globex's own IdP
		pick(t, ctx, globex.LoginURL(), globexSite, "hank")
		want(globexSite, "Globex Corporation", globex.TenantID(), "hank@globexcorp.onmicrosoft.com")

		// Each session stays on its own host.
		want(acmeSite, "Acme Corporation", acme.TenantID(), "wile@acmecorp.onmicrosoft.com")
		if got := apptest.Text(t, ctx, "#displayname"); got != "Wile E. Coyote" {
			t.Errorf("acme's user is now %q", got)
		}

		// Signing out of acme (through acme's IdP) leaves globex signed in.
		apptest.Run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")))
		apptest.WaitText(t, ctx, acmeSite+"/", "signed out") // the LogoutResponse, or the page it redirects to
		want(globexSite, "Globex Corporation", globex.TenantID(), "hank@globexcorp.onmicrosoft.com")
		if resp := apptest.Open(t, ctx, acmeSite+"/"); !strings.HasPrefix(resp.URL, acme.LoginURL()+"/") {
			t.Errorf("after signing out of acme, its page led to %d %s, want acme's IdP", resp.Status, resp.URL)
		}
	})

	t.Run("onboard through the console", func(t *testing.T) {
		t.Parallel()
		ctx := apptest.NewTab(t, browserCtx)
		idp := startIdP(t)
		site := ta.url("vandelay", "")
		apptest.Open(t, ctx, ta.url("", "/operator"))
		apptest.WaitText(t, ctx, ta.url("", "/operator"), "Onboard a customer")
		apptest.Run(t, ctx, "fill in the onboarding form",
			chromedp.SendKeys(chromedp.CSS("#slug"), "vandelay"),
			chromedp.SendKeys(chromedp.CSS("#name"), "Vandelay Industries"),
			chromedp.SetValue(chromedp.CSS("#metadata"), string(idp.Metadata())),
			chromedp.Click(chromedp.CSS("#onboard-submit")))
		apptest.WaitText(t, ctx, ta.url("", "/operator/onboard"), "Onboarded Vandelay Industries")
		addUsers(t, ta, "vandelay")
		for css, w := range map[string]string{"#identifier": site + "/saml/metadata", "#reply-url": site + "/saml/acs",
			"#report-tenant": idp.TenantID(), "#ready": "yes"} {
			if got := apptest.Text(t, ctx, css); got != w {
				t.Errorf("%s is %q, want %q", css, got, w)
			}
		}
		apptest.Run(t, ctx, "open the new site", chromedp.Click(chromedp.CSS("#site")))
		pick(t, ctx, idp.LoginURL(), site, "vera")
		if got := apptest.Text(t, ctx, "#customer-name") + " / " + apptest.Text(t, ctx, "#displayname"); got != "Vandelay Industries / Vera Vandelay" {
			t.Errorf("the new customer's page shows %q", got)
		}
	})
}
