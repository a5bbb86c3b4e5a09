package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// adminInBrowser is the admin's whole path in Chromium (a subtest of
// TestBrowser, sharing its browser and app): sign in with the local
// account, upload the wrong metadata and fail a test sign-in, which
// changes nothing; paste the App Federation Metadata Url and pass one; put
// it live; Require SSO on and off; read the audit log.
func adminInBrowser(t *testing.T, ta *testApp, browserCtx context.Context) {
	const slug = "wayne"
	ctx := apptest.NewTab(t, browserCtx)
	dev := ta.reg.get(slug).dev
	site := ta.url(slug, "")

	apptest.Open(t, ctx, site+"/admin")
	apptest.WaitText(t, ctx, site+"/login", "Sign in to Parcelry")
	apptest.Run(t, ctx, "sign in as the admin",
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@"+slug+".example"),
		chromedp.SendKeys(chromedp.CSS("#password"), ta.adminPassword(slug)),
		chromedp.Click(chromedp.CSS("#signin")))
	apptest.WaitText(t, ctx, site+"/admin", "Single sign-on with Microsoft Entra ID")
	for css, want := range map[string]string{"#identifier": site + "/saml/metadata", "#reply-url": site + "/saml/acs",
		"#sign-on-url": site + "/saml/login", "#logout-url": site + "/saml/logout", "#sso-state": "off", "#enforce-state": "off"} {
		if got := apptest.Text(t, ctx, css); got != want {
			t.Errorf("%s is %q, want %q", css, got, want)
		}
	}

	// The wrong metadata, uploaded: the test fails and nothing changes.
	wrong := filepath.Join(t.TempDir(), "federationmetadata.xml")
	if err := os.WriteFile(wrong, wrongMetadata(t, dev), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Run(t, ctx, "upload the wrong metadata",
		chromedp.SetUploadFiles(chromedp.CSS("#metadata-file"), []string{wrong}),
		chromedp.Click(chromedp.CSS("#check")))
	apptest.WaitText(t, ctx, site+"/admin/metadata", "Metadata checked")
	testSignIn(t, ctx, dev.LoginURL(), site, "Failed at")
	if got := apptest.Text(t, ctx, "#test-problem"); !strings.Contains(got, "certificate that is not in the metadata") {
		t.Errorf("failed test says %q", got)
	}
	if rc := live(t, ta, slug); rc.Enabled || rc.Enforced || len(rc.Metadata) != 0 {
		t.Errorf("a failed test changed the customer: enabled %v enforced %v", rc.Enabled, rc.Enforced)
	}

	// The right metadata, by its URL: the test passes and shows the user.
	apptest.Run(t, ctx, "paste the metadata URL",
		chromedp.SendKeys(chromedp.CSS("#metadata-url"), dev.MetadataURL()),
		chromedp.Click(chromedp.CSS("#check")))
	apptest.WaitText(t, ctx, site+"/admin/metadata", "Metadata checked")
	testSignIn(t, ctx, dev.LoginURL(), site, "Passed at")
	if got := apptest.Text(t, ctx, "#test-user"); got != "bruce@wayneenterprises.onmicrosoft.com" {
		t.Errorf("test user %q", got)
	}
	if live(t, ta, slug).Enabled {
		t.Error("a test turned SSO on")
	}

	apptest.Run(t, ctx, "use the tested metadata", chromedp.Click(chromedp.CSS("#use-draft")))
	apptest.WaitText(t, ctx, site+"/admin", "SSO is on with the tested metadata")
	apptest.Run(t, ctx, "require SSO", chromedp.Click(chromedp.CSS("#require-on")))
	apptest.WaitText(t, ctx, site+"/admin", "Require SSO is on")
	if got := apptest.Text(t, ctx, "#enforce-state"); got != "on" || !live(t, ta, slug).Enforced {
		t.Errorf("Require SSO on: page %q", got)
	}
	apptest.Run(t, ctx, "stop requiring SSO", chromedp.Click(chromedp.CSS("#require-off")))
	apptest.WaitText(t, ctx, site+"/admin", "Require SSO is off")
	if got := apptest.Text(t, ctx, "#enforce-state"); got != "off" || live(t, ta, slug).Enforced {
		t.Errorf("Require SSO off: page %q", got)
	}

	audit := apptest.Text(t, ctx, "#audit")
	for _, want := range []string{"admin@wayne.example", "metadata-draft", "test-signin-started", "test-signin", `"ok":false`, `"ok":true`, "put"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %s:\n%s", want, audit)
		}
	}
}

// testSignIn clicks "Test sign-in", picks bruce at the IdP and waits for
// the admin page to show want.
func testSignIn(t *testing.T, ctx context.Context, idpOrigin, site, want string) {
	t.Helper()
	apptest.Run(t, ctx, "test sign-in", chromedp.Click(chromedp.CSS("#run-test")))
	apptest.WaitText(t, ctx, idpOrigin+"/", "Pick an account")
	apptest.Run(t, ctx, "pick bruce", chromedp.Click(chromedp.CSS(`button[value="bruce"]`)))
	apptest.WaitText(t, ctx, site+"/admin", want)
}
