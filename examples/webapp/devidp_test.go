package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)
)

// form returns the action and hidden inputs of the first form in page.
func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in\n%s", page)
	}
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		v.Set(in[1], html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}

// devSignIn goes from the app's path through the development IdP's picker
// as user, and returns the ACS's answer.
func devSignIn(t *testing.T, a *testApp, c *http.Client, path, user string) *http.Response {
	t.Helper()
	resp, _ := get(t, c, a.root+path)
	loc := resp.Header.Get("Location")
	if !isRedirect(resp.StatusCode) || !strings.HasPrefix(loc, a.idpURL+"/"+devTenantID+"/saml2?") {
		t.Fatalf("GET %s: %d to %q, want the development IdP", path, resp.StatusCode, loc)
	}
	resp, page := get(t, c, loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Pick an account") {
		t.Fatalf("picker: %d\n%s", resp.StatusCode, page)
	}
	action, v := form(t, page)
	v.Set("user", user)
	resp, page = postForm(t, c, action, v)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "document.forms[0].submit()") || !strings.Contains(page, "<noscript>") {
		t.Fatalf("sign-in as %s: %d\n%s", user, resp.StatusCode, page)
	}
	acs, v := form(t, page)
	if acs != a.root+"/saml/acs" {
		t.Fatalf("form posts to %q", acs)
	}
	resp, _ = postForm(t, c, acs, v)
	return resp
}

func TestDevIdP(t *testing.T) {
	t.Parallel()
	a := startApp(t, "localhost")
	if !strings.HasPrefix(a.idpURL, "http://127.0.0.1:") {
		t.Fatalf("development IdP at %q, want 127.0.0.1 for an app on localhost", a.idpURL)
	}
	for _, want := range []string{"open " + a.root + "/", a.idpURL} {
		if !strings.Contains(a.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, a.stdout.String())
		}
	}

	for _, c := range []struct {
		user, path string
		status     int
		want       []string
	}{
		{"adele", "/orders/42?x=1", http.StatusOK, []string{"AdeleV@" + devDomain, "demo:" + adeleObjectID, "3 groups", "Admin", "R&amp;D &lt;Labs&gt;"}},
		{"megan", "/", http.StatusOK, []string{"MeganB@" + devDomain, "150 groups"}},
		{"grady", "/", http.StatusOK, []string{"GradyO@" + devDomain, "0 groups; overage", "groups.link"}},
		{"ursula", "/", http.StatusForbidden, []string{"not set up"}},
	} {
		t.Run(c.user, func(t *testing.T) {
			t.Parallel()
			b := browser()
			resp := devSignIn(t, a, b, c.path, c.user)
			if c.status != http.StatusOK {
				if resp.StatusCode != c.status {
					t.Fatalf("ACS: %d, want %d", resp.StatusCode, c.status)
				}
				resp, _ = get(t, b, a.root+c.path)
				if !strings.HasPrefix(resp.Header.Get("Location"), a.idpURL) {
					t.Errorf("after a refusal: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if !isRedirect(resp.StatusCode) || resp.Header.Get("Location") != c.path {
				t.Fatalf("ACS: %d to %q, want %s", resp.StatusCode, resp.Header.Get("Location"), c.path)
			}
			resp, page := get(t, b, a.root+c.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", c.path, resp.StatusCode)
			}
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		b := browser()
		signOn := a.idpURL + "/" + devTenantID + "/saml2"
		for _, c := range []struct {
			method, url string
			form        url.Values
			status      int
			text        string
		}{
			{"GET", signOn, nil, http.StatusBadRequest, "AADSTS750054"},
			{"GET", signOn + "?SAMLRequest=%25", nil, http.StatusBadRequest, "AADSTS750036"},
			{"GET", a.idpURL + "/common/saml2", nil, http.StatusNotFound, "AADSTS90002"},
			{"POST", signOn, url.Values{"user": {"adele"}}, http.StatusBadRequest, "AADSTS750054"},
		} {
			var resp *http.Response
			var body string
			if c.method == "GET" {
				resp, body = get(t, b, c.url)
			} else {
				resp, body = postForm(t, b, c.url, c.form)
			}
			if resp.StatusCode != c.status || !strings.Contains(body, c.text) {
				t.Errorf("%s %s: %d, want %d with %s\n%s", c.method, c.url, resp.StatusCode, c.status, c.text, body)
			}
		}
		// An unknown account, and values that need escaping.
		resp, _ := get(t, b, a.root+"/")
		_, page := get(t, b, resp.Header.Get("Location"))
		action, v := form(t, page)
		v.Set("user", "<mallory>")
		if resp, body := postForm(t, b, action, v); resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<mallory>") {
			t.Errorf("unknown user: %d\n%s", resp.StatusCode, body)
		}
		// The metadata is served too, as by Entra.
		resp, body := get(t, b, a.idpURL+"/"+devTenantID+"/federationmetadata/2007-06/federationmetadata.xml?appid=x")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "IDPSSODescriptor") {
			t.Errorf("metadata: %d", resp.StatusCode)
		}
	})
}
