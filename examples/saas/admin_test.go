package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"html"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
	"github.com/entrasaml/entrasaml/tenants"
)

// adminLogin signs in slug's seeded admin in a new browser.
func adminLogin(t *testing.T, ta *testApp, slug string) *http.Client {
	t.Helper()
	c := apptest.Browser()
	resp, body := apptest.PostForm(t, c, ta.url(slug, "/login"), url.Values{"email": {"admin@" + slug + ".example"},
		"password": {ta.adminPassword(slug)}, "return": {"/admin"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("admin sign-in: %d\n%s", resp.StatusCode, body)
	}
	return c
}

// runTest clicks "Test sign-in", picks account at the IdP and posts its
// answer to the ACS, and returns the admin page it comes back to.
func runTest(t *testing.T, ta *testApp, c *http.Client, slug, account string) string {
	t.Helper()
	resp, body := apptest.PostForm(t, c, ta.url(slug, "/admin/test"), nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, ta.reg.get(slug).dev.SignOnURL()+"?") {
		t.Fatalf("test sign-in: %d to %q\n%s", resp.StatusCode, loc, body)
	}
	_, page := apptest.Get(t, c, loc)
	action, v := apptest.Form(t, page)
	v.Set("user", account)
	_, page = apptest.PostForm(t, c, action, v)
	acs, v := apptest.Form(t, page)
	resp, body = apptest.PostForm(t, c, acs, v)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("test ACS: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "session") && ck.MaxAge >= 0 {
			t.Errorf("a test sign-in set a session cookie %s", ck.Name)
		}
	}
	_, page = apptest.Get(t, c, ta.url(slug, "/admin"))
	return page
}

func live(t *testing.T, ta *testApp, slug string) tenants.Customer {
	t.Helper()
	rc, err := ta.db.reg.Lookup(context.Background(), ta.reg.customerKey(slug))
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// wrongMetadata is the metadata of another app of the same tenant: the
// same sign-on URL and issuer, another certificate.
func wrongMetadata(t *testing.T, dev *entratest.Server) []byte {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := entratest.New(entratest.Options{TenantID: dev.TenantID(), LoginURL: dev.URL, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return other.Metadata()
}

// TestAdminPath: the customer's admin sets up SSO alone; a failed test with
// the wrong metadata changes nothing; Require SSO only after a test;
// refused users listed; every change in the audit log.
func TestAdminPath(t *testing.T) {
	t.Parallel()
	adminPath(t, startApp(t))
}

// TestAdminPathPostgres runs the admin's path with -postgres: the registry
// and the app's tables on PostgreSQL.
func TestAdminPathPostgres(t *testing.T) {
	t.Parallel()
	adminPath(t, startApp(t, "-postgres", postgresURL(t)))
}

func adminPath(t *testing.T, ta *testApp) {
	const slug = "wayne"
	dev := ta.reg.get(slug).dev
	site := ta.url(slug, "")
	c := adminLogin(t, ta, slug)

	_, page := apptest.Get(t, c, site+"/admin")
	for _, want := range []string{`id="identifier">` + site + "/saml/metadata<", `id="reply-url">` + site + "/saml/acs<",
		`id="sign-on-url">` + site + "/saml/login<", `id="logout-url">` + site + "/saml/logout<", `id="sso-state">off<`} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %s", want)
		}
	}
	// Before SSO: users get the local sign-in page.
	if resp, _ := apptest.Get(t, apptest.Browser(), site+"/"); resp.Header.Get("Location") != "/login" {
		t.Errorf("home before SSO: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The wrong metadata: usable, but the test fails, and nothing changes.
	resp, page := postMultipart(t, c, site+"/admin/metadata", nil, wrongMetadata(t, dev))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "usable") {
		t.Fatalf("draft: %d\n%s", resp.StatusCode, page)
	}
	page = runTest(t, ta, c, slug, "bruce")
	if !strings.Contains(page, `id="test-failed"`) || !strings.Contains(page, "certificate that is not in the metadata") ||
		!strings.Contains(page, "Download the Federation Metadata XML") {
		t.Fatalf("failed test page:\n%s", page)
	}
	if rc := live(t, ta, slug); rc.Enabled || rc.Enforced || len(rc.Metadata) != 0 {
		t.Errorf("a failed test changed the customer: %+v", rc)
	}
	for _, p := range []string{"/admin/activate", "/admin/enforce"} {
		if resp, _ := apptest.PostForm(t, c, site+p, url.Values{"require": {"on"}}); resp.StatusCode != http.StatusConflict {
			t.Errorf("%s before a passing test: %d, want 409", p, resp.StatusCode)
		}
	}

	// The right metadata, by its App Federation Metadata Url.
	resp, page = postMultipart(t, c, site+"/admin/metadata", map[string]string{"metadata_url": dev.MetadataURL()}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("draft by URL: %d\n%s", resp.StatusCode, page)
	}
	page = runTest(t, ta, c, slug, "bruce")
	for _, want := range []string{`id="test-ok"`, `id="test-user">bruce@wayneenterprises.onmicrosoft.com<`, "yes: this user can sign in",
		guid(slug + " group Board")} {
		if !strings.Contains(page, want) {
			t.Errorf("passed test page lacks %s", want)
		}
	}
	if rc := live(t, ta, slug); rc.Enabled {
		t.Error("a test turned SSO on")
	}
	if resp, _ := apptest.PostForm(t, c, site+"/admin/activate", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("activate: %d", resp.StatusCode)
	}
	if rc := live(t, ta, slug); !rc.Enabled || rc.Enforced || rc.MetadataURL != dev.MetadataURL() {
		t.Fatalf("after activate: %+v", rc)
	}

	// Require SSO on: users' SSO works (within the registry's propagation
	// delay), the user without an account is refused and listed.
	if resp, _ := apptest.PostForm(t, c, site+"/admin/enforce", url.Values{"require": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enforce: %d", resp.StatusCode)
	}
	if !live(t, ta, slug).Enforced {
		t.Fatal("not enforced")
	}
	waitFor(t, func() bool {
		resp, _ := apptest.Get(t, apptest.Browser(), site+"/")
		return strings.HasPrefix(resp.Header.Get("Location"), dev.SignOnURL())
	})
	signIn(t, apptest.Browser(), site, dev.SignOnURL(), "bruce")
	alfred := apptest.Browser()
	acs, v := idpForm(t, alfred, site, dev.SignOnURL(), "alfred")
	if resp, _ := apptest.PostForm(t, alfred, acs, v); resp.StatusCode != http.StatusForbidden {
		t.Errorf("alfred, who has no account: %d, want 403", resp.StatusCode)
	}
	_, page = apptest.Get(t, c, site+"/admin")
	if !strings.Contains(page, "alfred@wayneenterprises.onmicrosoft.com") || !strings.Contains(page, "no account in Parcelry") {
		t.Errorf("refused sign-in not listed:\n%s", page)
	}
	if resp, _ := apptest.PostForm(t, c, site+"/admin/enforce", url.Values{"require": {"off"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enforce off: %d", resp.StatusCode)
	}
	if live(t, ta, slug).Enforced {
		t.Fatal("still enforced")
	}

	// The operator console reads the same registry (its Cache may not have
	// seen the last switch yet).
	if _, console := apptest.Get(t, apptest.Browser(), ta.url("", "/operator")); !strings.Contains(console, dev.TenantID()) ||
		!regexp.MustCompile(`data-slug="wayne">(?s:.)*?<td class="sso">(on|required) \(v\d+\)</td>`).MatchString(console) {
		t.Errorf("the console does not show wayne's SSO from the registry:\n%s", console)
	}

	// The audit log: every change, by the admin.
	log, err := ta.db.reg.AuditLog(context.Background(), ta.reg.customerKey(slug), 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Actor == "operator" {
			continue
		}
		if e.Actor != "admin@wayne.example" {
			t.Errorf("audit entry %s by %q", e.Action, e.Actor)
		}
		a := e.Action
		if e.Action == "test-signin" {
			var d struct{ OK bool }
			json.Unmarshal(e.Detail, &d)
			if d.OK {
				a += ":ok"
			} else {
				a += ":failed"
			}
		}
		actions = append(actions, a)
	}
	want := "metadata-draft test-signin-started test-signin:failed metadata-draft test-signin-started test-signin:ok put put put"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit log:\n%s\nwant\n%s", got, want)
	}
	if _, page = apptest.Get(t, c, site+"/admin"); strings.Count(page, `class="action"`) < 9 {
		t.Errorf("the admin page does not show the audit log:\n%s", page)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// TestAdminSecurity: each defence of the admin pages, with a request that
// would change the customer if it were missing.
func TestAdminSecurity(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	const slug = "wayne"
	site := ta.url(slug, "")
	c := adminLogin(t, ta, slug)
	draft := func() *draft {
		d, err := ta.db.draft(context.Background(), ta.reg.customerKey(slug))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("CSRF", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("metadata_url", ta.reg.get(slug).dev.MetadataURL())
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, site+"/admin/metadata", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if resp, _ := apptest.Do(t, c, req); resp.StatusCode != http.StatusForbidden || draft() != nil {
			t.Errorf("cross-site POST: %d, draft %v", resp.StatusCode, draft() != nil)
		}
	})
	t.Run("another customer's admin", func(t *testing.T) {
		// acme's admin also administers wayne, with wayne's own account
		// and password: a session made at acme still counts only there.
		if err := ta.db.putUser(context.Background(), user{Key: ta.reg.customerKey(slug), Email: "admin@acme.example", Admin: true}, "another"); err != nil {
			t.Fatal(err)
		}
		acme := adminLogin(t, ta, "acme")
		u, _ := url.Parse(ta.url("acme", "/"))
		var cookie *http.Cookie
		for _, ck := range acme.Jar.Cookies(u) {
			if ck.Name == localCookie {
				cookie = ck
			}
		}
		if cookie == nil {
			t.Fatal("no local session cookie")
		}
		for _, p := range []string{"/admin/metadata", "/admin/enforce", "/admin/activate", "/admin/test"} {
			req, _ := http.NewRequest(http.MethodPost, site+p, strings.NewReader("require=on&metadata_url="+url.QueryEscape(ta.reg.get(slug).dev.MetadataURL())))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			if resp, _ := apptest.Do(t, apptest.Browser(), req); resp.StatusCode != http.StatusForbidden {
				t.Errorf("acme's admin at wayne %s: %d, want 403", p, resp.StatusCode)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, site+"/admin", nil)
		req.AddCookie(cookie)
		if resp, _ := apptest.Do(t, apptest.Browser(), req); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("acme's admin at wayne's admin page: %d, want a redirect to sign in", resp.StatusCode)
		}
		if draft() != nil || live(t, ta, slug).Enabled {
			t.Error("another customer's admin changed wayne")
		}
	})
	t.Run("public addresses only", func(t *testing.T) {
		// Valid metadata on a loopback server that is not one of the
		// app's development IdPs: never fetched.
		md := ta.reg.get(slug).dev.Metadata()
		fetched := false
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched = true; w.Write(md) }))
		defer srv.Close()
		resp, page := postMultipart(t, c, site+"/admin/metadata", map[string]string{"metadata_url": srv.URL + "/federationmetadata.xml"}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || fetched || draft() != nil || !strings.Contains(page, "fetch_failed") && !strings.Contains(page, "error:") {
			t.Errorf("loopback URL: %d, fetched %v\n%s", resp.StatusCode, fetched, page)
		}
	})
	t.Run("size bound", func(t *testing.T) {
		big := bytes.Repeat([]byte(" "), 2*maxMetadataUpload)
		if resp, _ := postMultipart(t, c, site+"/admin/metadata", nil, big); resp.StatusCode != http.StatusRequestEntityTooLarge || draft() != nil {
			t.Errorf("2 MiB upload: %d", resp.StatusCode)
		}
	})
	t.Run("escaped", func(t *testing.T) {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			Subject: pkix.Name{CommonName: "<script>alert('cn')</script>"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		idp, err := entratest.New(entratest.Options{Key: &entratest.Key{PrivateKey: priv, Certificate: cert}})
		if err != nil {
			t.Fatal(err)
		}
		md := bytes.Replace(idp.Metadata(), []byte(`entityID="`+idp.EntityID()+`"`),
			[]byte(`entityID="https://evil.example/&lt;script&gt;alert(1)&lt;/script&gt;"`), 1)
		_, page := postMultipart(t, c, site+"/admin/metadata", nil, md)
		if strings.Contains(page, "<script") {
			t.Errorf("the report holds <script unescaped:\n%s", page)
		}
		text := html.UnescapeString(page)
		for _, want := range []string{"https://evil.example/<script>alert(1)</script>", `<script\>alert('cn')`} {
			if !strings.Contains(text, want) {
				t.Errorf("report lacks %s", want)
			}
		}
		// Saved as a draft when usable: the page shown later escapes it too.
		if _, page = apptest.Get(t, c, site+"/admin"); strings.Contains(page, "<script") {
			t.Errorf("the admin page holds <script unescaped")
		}
	})
}

// adviceFor words each failure for the admin: Entra's hint for an AADSTS
// code, and what to change for the library's reasons.
func TestAdviceFor(t *testing.T) {
	t.Parallel()
	origin := "http://wayne.localhost:8081"
	for _, c := range []struct {
		err                  error
		wantProblem, wantFix string
	}{
		{&entrasaml.StatusError{Code: "AADSTS50105"}, "AADSTS50105", "assign"},
		{&entrasaml.Error{Err: entrasaml.ErrUnknownSigner}, "certificate", "Federation Metadata XML"},
		{&entrasaml.Error{Err: entrasaml.ErrAudienceMismatch}, "Identifier", origin + "/saml/metadata"},
		{&entrasaml.Error{Err: entrasaml.ErrDestinationMismatch}, "Reply URL", origin + "/saml/acs"},
		{&entrasaml.Error{Err: entrasaml.ErrRequestIDMismatch}, "did not match a test", "Start the test again"},
		{&entrasaml.Error{Err: entrasaml.ErrMalformed, Reason: "odd"}, "odd", "Check the settings"},
	} {
		problem, fix := adviceFor(c.err, origin)
		if !strings.Contains(problem, c.wantProblem) || !strings.Contains(strings.ToLower(fix), strings.ToLower(c.wantFix)) {
			t.Errorf("%v: %q / %q", c.err, problem, fix)
		}
	}
}
