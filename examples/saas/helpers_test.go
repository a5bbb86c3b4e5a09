package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// testKey is one IdP signing key for the tests' own IdPs: generating RSA
// keys under the race detector is slow.
var testKey = sync.OnceValues(func() (*entratest.Key, error) {
	now := time.Now()
	return entratest.NewKey(2048, now.Add(-time.Hour), now.AddDate(1, 0, 0))
})

// testApp is the app running in-process on a free port.
type testApp struct {
	*app
	stdout, stderr *apptest.Buffer
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
	ready := make(chan *app, 1)
	h.appListener = ln
	h.ready = func(a *app) { ready <- a }
	if !hasFlag(args, "-data-dir") {
		args = append([]string{"-data-dir", t.TempDir()}, args...)
	}
	ta := &testApp{}
	out := apptest.Start(t, func(ctx context.Context, stdout, stderr io.Writer) error {
		return runWith(ctx, args, stdout, stderr, h)
	}, func(apptest.Output) bool {
		select {
		case ta.app = <-ready:
			return true
		default:
			return false
		}
	})
	ta.stdout, ta.stderr = out.Stdout, out.Stderr
	return ta
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
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
	return apptest.Do(t, c, req)
}

// idpForm goes from the customer's page to its IdP's picker (signOnURL),
// picks account, and returns the ACS URL and form the IdP's page would
// post, without posting it.
func idpForm(t *testing.T, c *http.Client, site, signOnURL, account string) (string, url.Values) {
	t.Helper()
	return apptest.Pick(t, c, site+"/", signOnURL, account)
}

// signIn signs account in to the customer's site through its IdP's picker
// and returns the customer's page.
func signIn(t *testing.T, c *http.Client, site, signOnURL, account string) string {
	t.Helper()
	acs, v := idpForm(t, c, site, signOnURL, account)
	if acs != site+"/saml/acs" {
		t.Fatalf("the IdP posts to %s, want %s/saml/acs", acs, site)
	}
	if resp, body := apptest.PostForm(t, c, acs, v); !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/" {
		t.Fatalf("ACS: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, page := apptest.Get(t, c, site+"/")
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
	for i, want := range []string{signOnURL + "?SAMLRequest=", site + "/saml/logout?SAMLResponse=", "/saml/logout?signed-out="} {
		fetch := apptest.Get
		if i == 0 {
			fetch = apptest.ClickLink // the sign-out link on the customer's own page
		}
		resp, _ := fetch(t, c, u)
		if u = resp.Header.Get("Location"); !apptest.IsRedirect(resp.StatusCode) || !strings.HasPrefix(u, want) {
			t.Fatalf("sign-out: %d to %q, want %s…", resp.StatusCode, u, want)
		}
	}
	if resp, body := apptest.Get(t, c, site+u); resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("sign-out: %d\n%s", resp.StatusCode, body)
	}
}

// testAccounts are the accounts of the tests' own IdPs.
var testAccounts = []entratest.Account{
	{Key: "vera", User: entratest.User{ObjectID: guid("vera"), UPN: "vera@vandelay.example", DisplayName: "Vera Vandelay",
		Groups: []string{guid("importers"), guid("exporters")}}},
}

// startIdP serves a new development IdP, a fake Entra tenant of the
// test's own with the accounts testAccounts, on a loopback port.
func startIdP(t *testing.T) *entratest.Server {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	d, err := entratest.NewServerWith(entratest.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if err := d.SetPicker(&entratest.Picker{TenantName: "Vandelay Industries", Accounts: testAccounts}); err != nil {
		t.Fatal(err)
	}
	return d
}

// onboardCustomer posts the console's onboarding form with pasted metadata.
// The tests' own IdPs' users must have an account at the customer too
// (Provision checks): onboardCustomer adds testAccounts to it.
func onboardCustomer(t *testing.T, c *http.Client, ta *testApp, slug, name string, metadata []byte) (*http.Response, string) {
	t.Helper()
	resp, page := postMultipart(t, c, ta.url("", "/operator/onboard"), map[string]string{"slug": slug, "name": name, "metadata": string(metadata)}, nil)
	addUsers(t, ta, slug)
	return resp, page
}

// addUsers gives testAccounts an account at the customer slug.
func addUsers(t *testing.T, ta *testApp, slug string) {
	t.Helper()
	for _, a := range testAccounts {
		if err := ta.db.putUser(context.Background(), user{Key: ta.reg.customerKey(slug), Email: a.User.UPN, Name: a.User.DisplayName}, ""); err != nil {
			t.Fatal(err)
		}
	}
}
