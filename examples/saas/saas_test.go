package main

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// runMainEnv makes the test binary run main instead of the tests, so that
// TestProcess can start the app as a real process.
const runMainEnv = "SAAS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The two demo customers each sign in with their own tenant, and each
// site shows its own customer and user.
func TestDemoCustomers(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	acme, globex := ta.reg.get("acme"), ta.reg.get("globex")
	if acme == nil || globex == nil || acme.dev == nil || globex.dev == nil {
		t.Fatalf("demo customers: %v, %v", acme, globex)
	}
	if acme.dev.TenantID() == globex.dev.TenantID() || acme.dev.SigningKey().Certificate.Equal(globex.dev.SigningKey().Certificate) {
		t.Fatal("the demo customers share a tenant or a signing key")
	}
	for _, want := range []string{ta.url("acme", "/"), ta.url("globex", "/"), acme.dev.LoginURL(), ta.url("", "/operator")} {
		if !strings.Contains(ta.stdout.String(), want) {
			t.Errorf("stdout lacks %s:\n%s", want, ta.stdout.String())
		}
	}

	for _, c := range []struct {
		slug, account string
		want          []string
		not           string
	}{
		{"acme", "wile", []string{"Acme Corporation", acme.dev.TenantID(), "wile@acmecorp.onmicrosoft.com", "Wile E. Coyote", "3 groups", "Admin", "acme:"}, "Globex"},
		{"globex", "homer", []string{"Globex Corporation", globex.dev.TenantID(), "homer@globexcorp.onmicrosoft.com", "Homer Simpson", "0 groups", "globex:"}, "Acme"},
	} {
		t.Run(c.slug, func(t *testing.T) {
			t.Parallel()
			dev := ta.reg.get(c.slug).dev
			b := apptest.Browser()
			site := ta.url(c.slug, "")
			page := signIn(t, b, site, dev.SignOnURL(), c.account)
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(page, c.not) {
				t.Errorf("%s's page mentions %s", c.slug, c.not)
			}
			// The SP metadata is the customer's own.
			resp, md := apptest.Get(t, b, site+"/saml/metadata")
			if resp.StatusCode != http.StatusOK || !strings.Contains(md, `entityID="`+site+`/saml/metadata"`) || !strings.Contains(md, site+"/saml/acs") {
				t.Errorf("SP metadata: %d\n%s", resp.StatusCode, md)
			}
			// Signing out ends the session, here and at the customer's IdP.
			signOut(t, b, site, dev.SignOnURL())
			if resp, _ := apptest.Get(t, b, site+"/"); !strings.HasPrefix(resp.Header.Get("Location"), dev.SignOnURL()+"?") {
				t.Errorf("after sign-out: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}

	t.Run("pickers", func(t *testing.T) {
		t.Parallel()
		resp, _ := apptest.Get(t, apptest.Browser(), ta.url("acme", "/"))
		_, page := apptest.Get(t, apptest.Browser(), resp.Header.Get("Location"))
		if !strings.Contains(page, "Wile E. Coyote") || !strings.Contains(page, "Acme Corporation") || strings.Contains(page, "Homer") {
			t.Errorf("acme's picker:\n%s", page)
		}
	})

	t.Run("routing", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		for _, c := range []struct {
			url      string
			status   int
			location string
		}{
			{ta.url("nobody", "/"), http.StatusNotFound, ""},
			{ta.url("nobody", "/saml/metadata"), http.StatusNotFound, ""},
			{"http://127.0.0.1:" + ta.cfg.port + "/", http.StatusNotFound, ""},
			{"http://a.acme.localhost:" + ta.cfg.port + "/", http.StatusNotFound, ""},
			{ta.url("", "/"), http.StatusSeeOther, "/operator"},
			{ta.url("", "/operator"), http.StatusOK, ""},
			{ta.url("", "/saml/metadata"), http.StatusNotFound, ""},
			{ta.url("acme", "/favicon.ico"), http.StatusNotFound, ""},
		} {
			if resp, _ := apptest.Get(t, b, c.url); resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
				t.Errorf("GET %s: %d to %q, want %d to %q", c.url, resp.StatusCode, resp.Header.Get("Location"), c.status, c.location)
			}
		}
	})
}

// Each customer is isolated: neither another tenant's response, nor
// another host's session or pending-request cookie, signs anyone in.
func TestIsolation(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	acme, globex := ta.reg.get("acme").dev, ta.reg.get("globex").dev
	acmeSite, globexSite := ta.url("acme", ""), ta.url("globex", "")
	wile := demoFor("acme").accounts("acme")[0].User
	hank := demoFor("globex").accounts("globex")[0].User

	// startSignIn starts a sign-in at site in browser b, and returns the
	// AuthnRequest the IdP gets.
	startSignIn := func(t *testing.T, b *http.Client, site string) *entratest.AuthnRequest {
		t.Helper()
		resp, _ := apptest.Get(t, b, site+"/")
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || !apptest.IsRedirect(resp.StatusCode) {
			t.Fatalf("GET %s/: %d to %q", site, resp.StatusCode, resp.Header.Get("Location"))
		}
		req, err := entratest.ParseAuthnRequest(u.Query())
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	acs := func(t *testing.T, b *http.Client, site, samlResponse, relayState string) int {
		t.Helper()
		resp, _ := apptest.PostForm(t, b, site+"/saml/acs", url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relayState}})
		return resp.StatusCode
	}

	t.Run("acme's response posted to globex", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		startSignIn(t, b, globexSite) // b has a pending sign-in at globex
		_, v := idpForm(t, apptest.Browser(), acmeSite, acme.SignOnURL(), "wile")
		if got := acs(t, b, globexSite, v.Get("SAMLResponse"), v.Get("RelayState")); got != http.StatusForbidden {
			t.Errorf("globex's ACS answered %d", got)
		}
	})

	t.Run("acme's tenant answers globex's request", func(t *testing.T) {
		t.Parallel()
		// Everything right for globex (ACS, audience, request ID), validly
		// signed, but by acme's tenant: globex's metadata lacks the key.
		for _, c := range []struct {
			signer *entratest.IdP
			status int
		}{{acme.IdP, http.StatusForbidden}, {globex.IdP, http.StatusSeeOther}} {
			b := apptest.Browser()
			req := startSignIn(t, b, globexSite)
			s, err := c.signer.Response(req.Response(hank))
			if err != nil {
				t.Fatal(err)
			}
			if got := acs(t, b, globexSite, s, req.RelayState); got != c.status {
				t.Errorf("signed by %s: globex's ACS answered %d, want %d", c.signer.TenantID(), got, c.status)
			}
		}
		if !strings.Contains(ta.stderr.String(), "signed by a certificate not in the IdP metadata") {
			t.Errorf("the log does not say why:\n%s", ta.stderr.String())
		}
	})

	t.Run("acme's request ID at globex", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		req := startSignIn(t, b, acmeSite) // a pending-request cookie for acme
		r := req.Response(wile)
		r.ACSURL, r.Audience = globexSite+"/saml/acs", globexSite+"/saml/metadata"
		s, err := globex.Response(r)
		if err != nil {
			t.Fatal(err)
		}
		post, _ := http.NewRequest(http.MethodPost, globexSite+"/saml/acs",
			strings.NewReader(url.Values{"SAMLResponse": {s}, "RelayState": {req.RelayState}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		acmeACS, _ := url.Parse(acmeSite + "/saml/acs")
		for _, c := range b.Jar.Cookies(acmeACS) { // acme's cookies, sent to globex
			post.AddCookie(c)
		}
		if len(post.Cookies()) == 0 {
			t.Fatal("no pending-request cookie for acme")
		}
		if resp, _ := apptest.Do(t, apptest.Browser(), post); resp.StatusCode != http.StatusForbidden {
			t.Errorf("globex accepted a response to acme's request: %d", resp.StatusCode)
		}
	})

	t.Run("acme's session cookie at globex", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		signIn(t, b, acmeSite, acme.SignOnURL(), "wile")
		acmeURL, _ := url.Parse(acmeSite + "/")
		var session *http.Cookie
		for _, c := range b.Jar.Cookies(acmeURL) {
			if strings.HasSuffix(c.Name, "entrasaml_session") { // __Host- on https
				session = c
			}
		}
		if session == nil {
			t.Fatal("no session cookie at acme")
		}
		for _, c := range []struct {
			site   string
			status int
		}{{acmeSite, http.StatusOK}, {globexSite, http.StatusSeeOther}} {
			req, _ := http.NewRequest(http.MethodGet, c.site+"/", nil)
			req.AddCookie(session)
			resp, body := apptest.Do(t, apptest.Browser(), req)
			if resp.StatusCode != c.status || c.status == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), globex.SignOnURL()) {
				t.Errorf("%s with acme's session cookie: %d to %q, want %d", c.site, resp.StatusCode, resp.Header.Get("Location"), c.status)
			}
			if c.site == globexSite && strings.Contains(body, "Wile") {
				t.Error("globex shows acme's user")
			}
		}
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:8081" || cfg.baseDomain != "localhost" || !cfg.portInURLs || cfg.dataPath != "" || cfg.idpAddr != "127.0.0.1:0" {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg.port = "8081"
	for _, c := range []struct{ slug, want string }{{"acme", "http://acme.localhost:8081"}, {"", "http://localhost:8081"}} {
		if got := cfg.origin(c.slug); got != c.want {
			t.Errorf("origin(%q) = %s, want %s", c.slug, got, c.want)
		}
	}
	for _, c := range []struct {
		host, slug string
		ok         bool
	}{
		{"acme.localhost:8081", "acme", true}, {"ACME.localhost.", "acme", true}, {"localhost:8081", "", true},
		{"a.b.localhost", "", false}, {"127.0.0.1:8081", "", false}, {"evil-localhost", "", false}, {".localhost", "", false},
	} {
		if slug, ok := cfg.slugOf(c.host); slug != c.slug && c.ok || ok != c.ok {
			t.Errorf("slugOf(%q) = %q, %v; want %q, %v", c.host, slug, ok, c.slug, c.ok)
		}
	}

	cfg, err = parseFlags([]string{"-base-domain", "Parcelry.Example", "-port-in-urls=false", "-data", "c.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.port = "8081"
	if got := cfg.origin("acme"); got != "https://acme.parcelry.example" || cfg.dataPath != "c.json" {
		t.Errorf("behind a proxy: origin %s, %+v", got, cfg)
	}
	for _, args := range [][]string{
		{"-base-domain", "http://x.example"}, {"-base-domain", "x.example:80"}, {"-idp-addr", "nope"}, {"-bogus"}, {"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestProcess starts the app as a real process with the default flags but
// a free port, opens the console, and stops it with SIGTERM.
func TestProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "TMPDIR="+t.TempDir()) // the default -data-dir is under it
	var stderr apptest.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	console := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`^Operator console: (\S+)$`).FindStringSubmatch(sc.Text()); m != nil {
				console <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("app log:\n%s", stderr.String())
		}
	})
	var u string
	select {
	case u = <-console:
	case err := <-exited:
		t.Fatalf("the app exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not print its console URL")
	}
	if resp, body := apptest.Get(t, apptest.Browser(), u); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Acme Corporation") || !strings.Contains(body, "Globex Corporation") {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("the app did not stop on SIGTERM")
	}
}
