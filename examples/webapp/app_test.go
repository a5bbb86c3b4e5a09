package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

const testEntityID = "https://webapp.test/saml"

// adele is a user whose claims need HTML escaping.
var adele = entratest.User{
	ObjectID: "0f9d3c3a-2b1e-4c5d-8e7f-a1b2c3d4e5f6", UPN: "adele<b>@contoso.example", Email: "adele@contoso.example",
	GivenName: "Adele", Surname: `O'Vance & "Co"`, DisplayName: "<script>alert(1)</script>",
	Groups: []string{"g-1", "g-2+3"}, Roles: []string{"Admin"},
}

var extraClaims = []entratest.Attribute{{Name: "urn:example:<claim>", Values: []string{"<script>document.title='x'</script>", "two & three"}}}

func TestSignIn(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-entity-id", testEntityID)
	c := apptest.Browser()

	resp, _ := apptest.Get(t, c, a.root+"/deep/link?x=1&y=%3Cz%3E")
	req := requireIdPRedirect(t, resp, idp.SignOnURL())
	if req.Issuer != testEntityID || req.ACSURL != a.root+"/saml/acs" {
		t.Fatalf("AuthnRequest Issuer %q ACS %q", req.Issuer, req.ACSURL)
	}
	r := req.Response(adele)
	r.Attributes = extraClaims
	samlResponse, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := a.acs(t, c, samlResponse, req.RelayState)
	if !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/deep/link?x=1&y=%3Cz%3E" {
		t.Fatalf("ACS: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if sc := setCookies(resp); len(sc) != 1 || len(sc[0].String()) >= 4096 || !sc[0].HttpOnly || sc[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("the ACS set cookies %v, want one HttpOnly SameSite=Lax session cookie", sc)
	}

	resp, body = apptest.Get(t, c, a.root+"/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / after sign-in: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>") || strings.Contains(body, "<claim>") {
		t.Errorf("unescaped claim in page:\n%s", body)
	}
	text := html.UnescapeString(body)
	want := []string{adele.UPN, "demo:" + adele.ObjectID, `href="/saml/logout"`, "Sign out", "2 groups"}
	for name, values := range map[string][]string{
		entratest.ClaimTenantID: {idp.TenantID()}, entratest.ClaimObjectID: {adele.ObjectID},
		entratest.ClaimName: {adele.UPN}, entratest.ClaimEmail: {adele.Email}, entratest.ClaimGivenName: {adele.GivenName},
		entratest.ClaimSurname: {adele.Surname}, entratest.ClaimDisplayName: {adele.DisplayName},
		entratest.ClaimGroups: adele.Groups, entratest.ClaimRole: adele.Roles,
		entratest.ClaimIdentityProvider: {idp.EntityID()}, entratest.ClaimAuthnMethods: {entratest.AuthnMethodPassword},
		extraClaims[0].Name: extraClaims[0].Values,
	} {
		want = append(want, name)
		want = append(want, values...)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	// Other pages are open too, and stay so.
	if resp, _ := apptest.Get(t, c, a.root+"/orders/42"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /orders/42: %d", resp.StatusCode)
	}

	// Sign-out ends the session (and, through the IdP, its single logout):
	// the next page goes to the IdP again.
	signOut(t, c, a.root, idp)
	resp, _ = apptest.Get(t, c, a.root+"/")
	requireIdPRedirect(t, resp, idp.SignOnURL())
}

func TestSignInRefused(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	other, err := entratest.NewKey(2048, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a := startApp(t, "127.0.0.1", "-metadata", md, "-entity-id", testEntityID)

	tamper := func(t *testing.T, r entratest.Response) string {
		x, err := idp.ResponseXML(r)
		if err != nil {
			t.Fatal(err)
		}
		x = bytes.Replace(x, []byte(adele.Email), []byte("mallory@contoso.example"), 1)
		return base64.StdEncoding.EncodeToString(x)
	}
	sign := func(t *testing.T, r entratest.Response) string {
		s, err := idp.Response(r)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name   string
		status int
		text   string
		mod    func(*entratest.Response)
		build  func(*testing.T, entratest.Response) string
	}{
		{name: "tampered", status: http.StatusForbidden, build: tamper},
		{name: "wrong audience", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Audience = "https://other.example/saml" }},
		{name: "wrong recipient", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.ACSURL = "https://other.example/saml/acs" }},
		{name: "expired", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.IssueInstant = time.Now().Add(-2 * time.Hour) }},
		{name: "unknown key", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Key = other }},
		{name: "unsigned", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.Sign = entratest.SignNone }},
		{name: "another request", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.InResponseTo = "_not-this-browser" }},
		{name: "unsolicited", status: http.StatusForbidden, mod: func(r *entratest.Response) { r.InResponseTo = "" }},
		{name: "not base64", status: http.StatusBadRequest, build: func(*testing.T, entratest.Response) string { return "%%%" }},
		{name: "unprovisioned demo user", status: http.StatusForbidden, text: "not set up",
			mod: func(r *entratest.Response) { r.User.ObjectID = ursulaObjectID }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := apptest.Browser()
			resp, _ := apptest.Get(t, b, a.root+"/private")
			req := requireIdPRedirect(t, resp, idp.SignOnURL())
			r := req.Response(adele)
			if c.mod != nil {
				c.mod(&r)
			}
			if c.build == nil {
				c.build = sign
			}
			resp, body := a.acs(t, b, c.build(t, r), req.RelayState)
			if resp.StatusCode != c.status || !strings.Contains(body, c.text) {
				t.Errorf("ACS: %d, want %d with %q\n%s", resp.StatusCode, c.status, c.text, body)
			}
			if sc := setCookies(resp); len(sc) != 0 {
				t.Errorf("a failed sign-in set cookies: %v", sc)
			}
			resp, _ = apptest.Get(t, b, a.root+"/")
			requireIdPRedirect(t, resp, idp.SignOnURL())
		})
	}

	t.Run("Entra error", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		resp, _ := apptest.Get(t, b, a.root+"/")
		req := requireIdPRedirect(t, resp, idp.SignOnURL())
		s, err := idp.ErrorResponse(req.ACSURL, req.ID, entratest.StatusRequester, "", "AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted ('assigned') access.")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := a.acs(t, b, s, req.RelayState)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "AADSTS50105") {
			t.Errorf("ACS: %d\n%s", resp.StatusCode, body)
		}
	})

	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		b := apptest.Browser()
		resp, _ := apptest.Get(t, b, a.root+"/")
		req := requireIdPRedirect(t, resp, idp.SignOnURL())
		s := sign(t, req.Response(adele))
		if resp, _ := a.acs(t, b, s, req.RelayState); !apptest.IsRedirect(resp.StatusCode) {
			t.Fatalf("first use: %d", resp.StatusCode)
		}
		if resp, _ := a.acs(t, apptest.Browser(), s, req.RelayState); resp.StatusCode != http.StatusForbidden {
			t.Errorf("replay in another browser: %d", resp.StatusCode)
		}
	})

	t.Run("GET ACS", func(t *testing.T) {
		t.Parallel()
		if resp, _ := apptest.Get(t, apptest.Browser(), a.root+"/saml/acs"); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /saml/acs: %d", resp.StatusCode)
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-allow-idp-initiated")
	s, err := idp.Response(entratest.Response{ACSURL: a.root + "/saml/acs", Audience: a.root + "/saml/metadata", User: adele})
	if err != nil {
		t.Fatal(err)
	}
	c := apptest.Browser()
	resp, body := a.acs(t, c, s, "/reports?q=1")
	if !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/reports?q=1" {
		t.Fatalf("unsolicited response with -allow-idp-initiated: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, _ := apptest.Get(t, c, a.root+"/reports?q=1"); resp.StatusCode != http.StatusOK {
		t.Errorf("after IdP-initiated sign-in: %d", resp.StatusCode)
	}
}

// Without -redis, instances that share -session-key (behind one load
// balancer: same root URL and entity ID) finish each other's sign-ins, as
// the pending request travels in a cookie sealed with the key, but each
// keeps its own sessions in memory; an instance with another key refuses.
func TestSessionKeyWithoutRedis(t *testing.T) {
	t.Parallel()
	idp, md := newIdP(t)
	key := strings.Repeat("0123456789abcdef", 4)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key)
	b := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-root-url", a.root)
	c := startApp(t, "127.0.0.1", "-metadata", md, "-root-url", a.root) // a random key

	// A sign-in started on a, finished on another instance. The cookie jar
	// sends 127.0.0.1's cookies to every port.
	finishOn := func(br *http.Client, other *testApp) *http.Response {
		resp, _ := apptest.Get(t, br, a.root+"/")
		req := requireIdPRedirect(t, resp, idp.SignOnURL())
		s, err := idp.Response(req.Response(adele))
		if err != nil {
			t.Fatal(err)
		}
		resp, _ = apptest.PostForm(t, br, "http://"+other.addr+"/saml/acs", url.Values{"SAMLResponse": {s}, "RelayState": {req.RelayState}})
		return resp
	}
	if resp := finishOn(apptest.Browser(), c); resp.StatusCode != http.StatusForbidden {
		t.Errorf("ACS of an instance with another key: %d, want 403", resp.StatusCode)
	}
	br := apptest.Browser()
	if resp := finishOn(br, b); !apptest.IsRedirect(resp.StatusCode) {
		t.Fatalf("ACS of an instance with the same key: %d", resp.StatusCode)
	}
	if resp, body := apptest.Get(t, br, "http://"+b.addr+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "demo:"+adele.ObjectID) {
		t.Errorf("instance b after its sign-in: %d", resp.StatusCode)
	}
	resp, _ := apptest.Get(t, br, "http://"+a.addr+"/")
	requireIdPRedirect(t, resp, idp.SignOnURL()) // a does not know b's session
}

// -metadata also takes the App Federation Metadata Url; entratest's Server
// plays Entra, signing its user in at once.
func TestMetadataURL(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := entratest.NewServerWith(entratest.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetUser(adele)
	a := startApp(t, "localhost", "-metadata", srv.MetadataURL())
	c := apptest.Browser()
	resp, _ := apptest.Get(t, c, a.root+"/x")
	requireIdPRedirect(t, resp, srv.SignOnURL())
	_, page := apptest.Get(t, c, resp.Header.Get("Location"))
	acs, v := apptest.Form(t, page)
	if resp, _ := apptest.PostForm(t, c, acs, v); !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/x" {
		t.Fatalf("ACS: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := apptest.Get(t, c, a.root+"/x"); resp.StatusCode != http.StatusOK || !strings.Contains(body, adele.ObjectID) {
		t.Errorf("GET /x: %d", resp.StatusCode)
	}
}

// Without -metadata the app starts the development IdP on another site,
// whose accounts show what the app does with each kind of user.
func TestDevIdP(t *testing.T) {
	t.Parallel()
	a := startApp(t, "localhost")
	if !strings.HasPrefix(a.idpURL, "http://127.0.0.1:") {
		t.Fatalf("development IdP at %q, want 127.0.0.1 for an app on localhost\n%s", a.idpURL, a.out.Stdout.String())
	}
	const domain = "@contoso.onmicrosoft.com"
	for _, c := range []struct {
		user, path string
		status     int
		want       []string
	}{
		{"adele", "/orders/42?x=1", http.StatusOK, []string{"AdeleV" + domain, "demo:6e7b768e-07e2-4810-8459-485f84f8f204", "3 groups", "Admin", "R&amp;D &lt;Labs&gt;"}},
		{"megan", "/", http.StatusOK, []string{"MeganB" + domain, "150 groups"}},
		{"grady", "/", http.StatusOK, []string{"GradyO" + domain, "0 groups; overage", "groups.link"}},
		{"ursula", "/", http.StatusForbidden, []string{"not set up"}},
	} {
		t.Run(c.user, func(t *testing.T) {
			t.Parallel()
			b := apptest.Browser()
			acs, v := apptest.Pick(t, b, a.root+c.path, a.signOn, c.user)
			if acs != a.root+"/saml/acs" {
				t.Fatalf("the IdP posts to %q", acs)
			}
			resp, page := apptest.PostForm(t, b, acs, v)
			if c.status == http.StatusOK {
				if !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != c.path {
					t.Fatalf("ACS: %d to %q, want %s", resp.StatusCode, resp.Header.Get("Location"), c.path)
				}
				resp, page = apptest.Get(t, b, a.root+c.path)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("%d, want %d\n%s", resp.StatusCode, c.status, page)
			}
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	// Signing out goes through the development IdP and back.
	b := apptest.Browser()
	acs, v := apptest.Pick(t, b, a.root+"/", a.signOn, "adele")
	if resp, _ := apptest.PostForm(t, b, acs, v); !apptest.IsRedirect(resp.StatusCode) {
		t.Fatalf("ACS: %d", resp.StatusCode)
	}
	resp, page := apptest.ClickLink(t, b, a.root+"/saml/logout")
	for i := 0; apptest.IsRedirect(resp.StatusCode) && i < 5; i++ {
		resp, page = apptest.Get(t, b, resolve(t, resp.Request.URL.String(), resp.Header.Get("Location")))
	}
	if !strings.Contains(page, "signed out") {
		t.Errorf("after sign-out: %s\n%s", resp.Request.URL, page)
	}
	if resp, _ := apptest.Get(t, b, a.root+"/"); !strings.HasPrefix(resp.Header.Get("Location"), a.signOn+"?") {
		t.Errorf("after sign-out, / answers %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The environment variables configure the app, flags win over them, and
// -h shows their values but not the session key.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	env := map[string]string{"WEBAPP_ROOT_URL": "https://env.example", "WEBAPP_ENTITY_ID": "urn:env", "WEBAPP_SESSION_KEY": key,
		"WEBAPP_REDIS_URL": "redis://127.0.0.1:1/0", "WEBAPP_METADATA": "env.xml"}
	var usage bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(k string) string { return env[k] }, io.Discard, &usage)
	if !errors.Is(err, flag.ErrHelp) || strings.Contains(usage.String(), key) {
		t.Errorf("-h: %v\n%s", err, usage.String())
	}
	for _, want := range []string{"https://env.example", "urn:env", "redis://127.0.0.1:1/0", "env.xml", "WEBAPP_SESSION_KEY"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("-h lacks %q", want)
		}
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"WEBAPP_SESSION_KEY": "abcd"}, nil, "-session-key"},
		{map[string]string{"WEBAPP_SESSION_KEY": "abcd"}, []string{"-session-key", strings.Repeat("zz", 32)}, "-session-key"},
		{map[string]string{"WEBAPP_REDIS_URL": "mysql://x"}, nil, "-redis"},
		{map[string]string{"WEBAPP_METADATA": "/no/such/file.xml"}, nil, "no such file"},
		{map[string]string{"WEBAPP_METADATA": "app_test.go"}, nil, "metadata"},
		{map[string]string{"WEBAPP_ROOT_URL": "ftp://x.example"}, nil, "BaseURL"},
		{map[string]string{"WEBAPP_ADDR": "no-port"}, nil, "no-port"},
		{nil, []string{"-addr", "no-port"}, "no-port"},
		{nil, []string{"-no-such-flag"}, "no-such-flag"},
	} {
		if c.env["WEBAPP_ADDR"] == "" && !slices.Contains(c.args, "-addr") {
			c.args = append([]string{"-addr", "127.0.0.1:0"}, c.args...)
		}
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v args %q: %v, want an error about %s", c.env, c.args, err, c.want)
		}
	}
}
