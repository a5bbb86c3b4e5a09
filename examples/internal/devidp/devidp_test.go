package devidp_test

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/devidp"
)

var accounts = []devidp.Account{
	{Key: "ada", Note: "the first <account>", User: entratest.User{ObjectID: devidp.GUID("ada"), UPN: "ada@fabrikam.example",
		DisplayName: "Ada <b>Lovelace</b>", Groups: []string{devidp.GUID("g1")}}},
	{Key: "bob", User: entratest.User{ObjectID: devidp.GUID("bob"), UPN: "bob@fabrikam.example", DisplayName: "Bob"},
		Extra: []entratest.Attribute{{Name: "department", Values: []string{"R&D"}}}},
}

// start serves a development IdP on a loopback port, as the example apps
// do, and returns it with its origin.
func start(t *testing.T) *devidp.IdP {
	t.Helper()
	d, err := devidp.New(devidp.Options{LoginURL: "http://127.0.0.1", Name: "Fabrikam <Ltd>", Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d)
	t.Cleanup(ts.Close)
	d.SetLoginURL(ts.URL)
	return d
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var inputRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)

func hidden(page string) url.Values {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// An SP configured with the IdP's metadata accepts the response of the
// picked account, and the pages escape what they show.
func TestSignIn(t *testing.T) {
	t.Parallel()
	d := start(t)
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "https://app.example/saml",
		BaseURL: "https://app.example", Metadata: d.Metadata()})
	if err != nil {
		t.Fatal(err)
	}
	u, requestID, err := sp.AuthnRequestURL("relay-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.String(), d.SignOnURL()+"?") {
		t.Fatalf("AuthnRequest URL %s, want the IdP's sign-on URL %s", u, d.SignOnURL())
	}
	status, page := get(t, u.String())
	if status != http.StatusOK || !strings.Contains(page, "Pick an account") {
		t.Fatalf("picker: %d\n%s", status, page)
	}
	for _, want := range []string{"Ada &lt;b&gt;Lovelace&lt;/b&gt;", "the first &lt;account&gt;", "Fabrikam &lt;Ltd&gt;", `value="bob"`} {
		if !strings.Contains(page, want) {
			t.Errorf("picker lacks %q", want)
		}
	}
	v := hidden(page)
	v.Set("user", "bob")
	status, page = post(t, d.SignOnURL(), v)
	if status != http.StatusOK || !strings.Contains(page, `action="https://app.example/saml/acs"`) {
		t.Fatalf("sign-in: %d\n%s", status, page)
	}
	form := hidden(page)
	if form.Get("RelayState") != "relay-1" {
		t.Errorf("RelayState %q", form.Get("RelayState"))
	}
	s, err := sp.Verify(context.Background(), form.Get("SAMLResponse"), requestID)
	if err != nil {
		t.Fatal(err)
	}
	if s.NameID != "bob@fabrikam.example" || s.TenantID != d.TenantID() || s.Attribute("department") != "R&D" {
		t.Errorf("session %+v", s)
	}

	// Single logout: the IdP answers at the app's Logout URL, which it
	// learned from the sign-in.
	lu, _, err := sp.LogoutRequestURL(s)
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(lu.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://app.example/saml/logout" ||
		loc.Query().Get("SAMLResponse") == "" || loc.Query().Get("Signature") == "" {
		t.Errorf("LogoutRequest: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// An app that never signed in here gets the "signed out" page.
	other, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "urn:other", BaseURL: "https://other.example", Metadata: d.Metadata()})
	if err != nil {
		t.Fatal(err)
	}
	if lu, _, err = other.LogoutRequestURL(s); err != nil {
		t.Fatal(err)
	}
	if status, page := get(t, lu.String()); status != http.StatusOK || !strings.Contains(page, "You signed out") {
		t.Errorf("LogoutRequest of an unknown app: %d\n%s", status, page)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	d := start(t)
	signOn := d.SignOnURL()
	base := d.LoginURL()
	for _, c := range []struct {
		name, method, url string
		form              url.Values
		status            int
		text              string
	}{
		{"no request", "GET", signOn, nil, http.StatusBadRequest, "AADSTS750054"},
		{"not base64", "GET", signOn + "?SAMLRequest=%25", nil, http.StatusBadRequest, "AADSTS750036"},
		{"another tenant", "GET", base + "/common/saml2", nil, http.StatusNotFound, "AADSTS90002"},
		{"post without request", "POST", signOn, url.Values{"user": {"ada"}}, http.StatusBadRequest, "AADSTS750054"},
		{"index", "GET", base + "/", nil, http.StatusOK, d.MetadataURL()},
		{"metadata", "GET", base + "/" + d.TenantID() + "/federationmetadata/2007-06/federationmetadata.xml?appid=x", nil, http.StatusOK, "IDPSSODescriptor"},
	} {
		var status int
		var body string
		if c.method == "GET" {
			status, body = get(t, c.url)
		} else {
			status, body = post(t, c.url, c.form)
		}
		if status != c.status || !strings.Contains(html.UnescapeString(body), c.text) {
			t.Errorf("%s: %d, want %d with %s\n%s", c.name, status, c.status, c.text, body)
		}
	}

	// An unknown account, with a name that needs escaping.
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "urn:app", BaseURL: "https://app.example", Metadata: d.Metadata()})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := sp.AuthnRequestURL("r")
	if err != nil {
		t.Fatal(err)
	}
	_, page := get(t, u.String())
	v := hidden(page)
	v.Set("user", "<mallory>")
	if status, body := post(t, signOn, v); status != http.StatusBadRequest || !strings.Contains(body, "AADSTS50034") || strings.Contains(body, "<mallory>") {
		t.Errorf("unknown account: %d\n%s", status, body)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts devidp.Options
	}{
		{"no login URL", devidp.Options{Accounts: accounts}},
		{"bad login URL", devidp.Options{LoginURL: "ftp://x", Accounts: accounts}},
		{"no accounts", devidp.Options{LoginURL: "http://127.0.0.1:1"}},
		{"duplicate key", devidp.Options{LoginURL: "http://127.0.0.1:1", Accounts: []devidp.Account{accounts[0], accounts[0]}}},
		{"bad tenant", devidp.Options{LoginURL: "http://127.0.0.1:1", Accounts: accounts, TenantID: "a/b"}},
	} {
		if _, err := devidp.New(c.opts); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestOrigin(t *testing.T) {
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
		if got, err := devidp.Origin(c.app, addr); got != c.want || err != nil {
			t.Errorf("Origin(%s, %s) = %q, %v; want %q", c.app, c.listen, got, err, c.want)
		}
	}
	if _, err := devidp.Origin("http://localhost", &net.UnixAddr{Name: "/tmp/x", Net: "unix"}); err == nil {
		t.Error("Origin of a Unix socket: no error")
	}
}
