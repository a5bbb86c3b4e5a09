package entratest_test

import (
	"encoding/base64"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml/entratest"
)

var pickerAccounts = []entratest.Account{
	{Key: "ada", Note: "the first <account>", User: entratest.User{ObjectID: "0b7f3c1e-5e0a-4c55-9a51-2f1e6f0a1d01",
		UPN: "ada@fabrikam.example", DisplayName: "Ada <b>Lovelace</b>", Groups: []string{"g1"}}},
	{Key: "bob", User: entratest.User{ObjectID: "0b7f3c1e-5e0a-4c55-9a51-2f1e6f0a1d02", UPN: "bob@fabrikam.example", DisplayName: "Bob"},
		Attributes: []entratest.Attribute{{Name: "department", Values: []string{"R&D"}}}},
}

func newPickerServer(t *testing.T) *entratest.Server {
	t.Helper()
	s := newTestServer(t)
	if err := s.SetPicker(&entratest.Picker{TenantName: "Fabrikam <Ltd>", Accounts: pickerAccounts}); err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t *testing.T, s *entratest.Server, u string, v url.Values) (int, string) {
	t.Helper()
	res, err := s.Client().PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// formValues is postForm's inputs as url.Values.
func formValues(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	action, inputs := postForm(t, page)
	v := url.Values{}
	for k, x := range inputs {
		v.Set(k, x)
	}
	return action, v
}

// The picker signs the picked account in, with its extra claims, for
// requests in either binding; its pages escape what they show.
func TestServerPicker(t *testing.T) {
	t.Parallel()
	s := newPickerServer(t)
	acs := "https://app.example/saml/acs"
	postBinding := func(id string) url.Values {
		return url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(authnRequest(id, "https://app.example/saml", acs, "")))}, "RelayState": {"relay-2"}}
	}
	for _, c := range []struct {
		name  string
		start func() (int, string)
		relay string
	}{
		{"redirect binding", func() (int, string) {
			code, _, page := get(t, s, redirectURL(t, s, authnRequest("_req1", "https://app.example/saml", acs, ""), "relay-1"))
			return code, page
		}, "relay-1"},
		{"POST binding", func() (int, string) { return post(t, s, s.SignOnURL(), postBinding("_req2")) }, "relay-2"},
	} {
		code, page := c.start()
		if code != http.StatusOK || !strings.Contains(page, "Pick an account") {
			t.Fatalf("%s: picker: %d\n%s", c.name, code, page)
		}
		for _, want := range []string{"Ada &lt;b&gt;Lovelace&lt;/b&gt;", "the first &lt;account&gt;", "Fabrikam &lt;Ltd&gt;", `value="bob"`, "https://app.example/saml"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: picker lacks %q", c.name, want)
			}
		}
		action, v := formValues(t, page)
		if action != s.SignOnURL() {
			t.Fatalf("%s: picker posts to %q", c.name, action)
		}
		v.Set("user", "bob")
		code, page = post(t, s, action, v)
		if code != http.StatusOK || !strings.Contains(page, "document.forms[0].submit()") {
			t.Fatalf("%s: sign-in: %d\n%s", c.name, code, page)
		}
		action, v = formValues(t, page)
		if action != acs || v.Get("RelayState") != c.relay {
			t.Errorf("%s: form to %q with RelayState %q", c.name, action, v.Get("RelayState"))
		}
		xml := string(decodeB64(t, v.Get("SAMLResponse")))
		for _, want := range []string{"bob@fabrikam.example", `Name="department"`, "R&amp;D", `Audience>https://app.example/saml<`} {
			if !strings.Contains(xml, want) {
				t.Errorf("%s: response lacks %q", c.name, want)
			}
		}
	}

	// An unknown account, with a key that needs escaping.
	_, _, page := get(t, s, redirectURL(t, s, authnRequest("_req3", "https://app.example/saml", acs, ""), ""))
	action, v := formValues(t, page)
	v.Set("user", "<mallory>")
	if code, body := post(t, s, action, v); code != http.StatusBadRequest || !strings.Contains(body, "AADSTS50034") || strings.Contains(body, "<mallory>") {
		t.Errorf("unknown account: %d\n%s", code, body)
	}
	// The picker's form without its request.
	if code, body := post(t, s, s.SignOnURL(), url.Values{"user": {"ada"}}); code != http.StatusBadRequest || !strings.Contains(body, "AADSTS750054") {
		t.Errorf("account without request: %d\n%s", code, body)
	}
	// The index page names the tenant's URLs.
	if code, _, body := get(t, s, s.URL+"/"); code != http.StatusOK || !strings.Contains(html.UnescapeString(body), s.MetadataURL()) {
		t.Errorf("index: %d\n%s", code, body)
	}

	// Without a picker, the server signs its User in at once again.
	if err := s.SetPicker(nil); err != nil {
		t.Fatal(err)
	}
	code, _, page := get(t, s, redirectURL(t, s, authnRequest("_req4", "https://app.example/saml", acs, ""), ""))
	if code != http.StatusOK || !strings.Contains(page, "document.forms[0].submit()") {
		t.Errorf("without picker: %d\n%s", code, page)
	}
}

func TestSetPickerRejects(t *testing.T) {
	t.Parallel()
	s := newPickerServer(t)
	for _, c := range []struct {
		name string
		p    *entratest.Picker
	}{
		{"no accounts", &entratest.Picker{}},
		{"duplicate key", &entratest.Picker{Accounts: []entratest.Account{pickerAccounts[0], pickerAccounts[0]}}},
		{"empty key", &entratest.Picker{Accounts: []entratest.Account{{User: pickerAccounts[0].User}}}},
	} {
		if err := s.SetPicker(c.p); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	// The picker in place is unchanged.
	_, _, page := get(t, s, redirectURL(t, s, authnRequest("_r", "urn:app", "https://app.example/acs", ""), ""))
	if !strings.Contains(page, `value="ada"`) {
		t.Errorf("picker changed by a refused SetPicker:\n%s", page)
	}
}

// A LogoutRequest is answered at the Logout URL with a signed
// LogoutResponse, or with a "signed out" page when there is none.
func TestServerLogout(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	idp := s.IdP
	noRedirect := *s.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// A LogoutRequest as an SP sends it; the fake's own builder makes one
	// addressed to the sign-on URL.
	lu, _, err := idp.LogoutRequestURL(s.SignOnURL(), "ada@fabrikam.example", "_sess", false)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(t, s, lu); code != http.StatusOK || !strings.Contains(body, "You signed out") {
		t.Fatalf("without a Logout URL: %d\n%s", code, body)
	}
	s.SetLogoutURL("https://app.example/saml/logout")
	res, err := noRedirect.Get(lu)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://app.example/saml/logout" ||
		loc.Query().Get("SAMLResponse") == "" || loc.Query().Get("Signature") == "" {
		t.Errorf("LogoutRequest: %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Addressed to another endpoint.
	other, _, err := idp.LogoutRequestURL("https://login.example/x/saml2", "ada@fabrikam.example", "_sess", false)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(other)
	if code, _, body := get(t, s, s.SignOnURL()+"?"+q.RawQuery); code != http.StatusBadRequest || !strings.Contains(body, "AADSTS75008") {
		t.Errorf("wrong Destination: %d\n%s", code, body)
	}
}

// An unstarted server listens where it is told and is reached by the URL
// it is given.
func TestNewUnstartedServer(t *testing.T) {
	t.Parallel()
	s, err := entratest.NewUnstartedServer(entratest.Options{Key: newTestKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = ln
	u, err := entratest.CrossSiteURL("http://127.0.0.1:8080", ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	s.URL = u + "/"
	s.Start()
	if !strings.HasPrefix(s.URL, "http://localhost:") || s.LoginURL() != s.URL || !strings.HasPrefix(s.MetadataURL(), s.URL+"/") {
		t.Fatalf("URL %q LoginURL %q MetadataURL %q", s.URL, s.LoginURL(), s.MetadataURL())
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if !strings.HasSuffix(s.URL, ":"+port) {
		t.Errorf("URL %q is not on the listener's port %s", s.URL, port)
	}
	if code, _, body := get(t, s, s.MetadataURL()); code != http.StatusOK || !strings.Contains(body, `Location="`+s.SignOnURL()+`"`) {
		t.Errorf("metadata: %d", code)
	}
}

func TestCrossSiteURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ app, listen, want string }{
		{"http://localhost:8080", "127.0.0.1:5000", "http://127.0.0.1:5000"},
		{"http://acme.localhost:8081", "127.0.0.1:5000", "http://127.0.0.1:5000"},
		{"http://127.0.0.1:8080", "127.0.0.1:5000", "http://localhost:5000"},
		{"http://[::1]:8080", "127.0.0.1:5000", "http://localhost:5000"},
		{"https://app.example", "0.0.0.0:5000", "http://127.0.0.1:5000"},
		{"http://localhost:8080", "[::1]:5000", "http://[::1]:5000"},
		{"http://[::1]:8080", "[::1]:5000", "http://localhost:5000"},
		{"http://localhost:8080", "192.0.2.7:5000", "http://192.0.2.7:5000"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", c.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := entratest.CrossSiteURL(c.app, addr); got != c.want || err != nil {
			t.Errorf("CrossSiteURL(%s, %s) = %q, %v; want %q", c.app, c.listen, got, err, c.want)
		}
	}
	if _, err := entratest.CrossSiteURL("http://localhost", &net.UnixAddr{Name: "/tmp/x", Net: "unix"}); err == nil {
		t.Error("CrossSiteURL of a Unix socket: no error")
	}
	if _, err := entratest.CrossSiteURL("%", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); err == nil {
		t.Error("CrossSiteURL of a bad app URL: no error")
	}
}
