package entrasaml_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// app is a host application protected by an SP, talking to a fake Entra.
type app struct {
	sp  *entrasaml.SP
	srv *httptest.Server
	idp *entratest.Server
}

// newApp starts an app (https when tls) whose protected pages print the
// session's NameID and UserID.
func newApp(t *testing.T, tls bool, mod func(*entrasaml.Config)) *app {
	t.Helper()
	idp := entratest.NewServer()
	t.Cleanup(idp.Close)
	idp.SetUser(entratest.User{ObjectID: "oid-1", UPN: "adele@contoso.example", Email: "adele@contoso.example"})
	a := &app{idp: idp}
	mux := http.NewServeMux()
	a.srv = httptest.NewUnstartedServer(mux)
	if tls {
		a.srv.StartTLS()
	} else {
		a.srv.Start()
	}
	t.Cleanup(a.srv.Close)
	cfg := entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: a.srv.URL, Metadata: idp.Metadata()}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.sp = sp
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s user=%s groups=%d path=%s", html.EscapeString(s.NameID), s.UserID, len(s.Groups), r.URL.RequestURI())
	})))
	return a
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so each hop can be checked.
func (a *app) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var formInput = regexp.MustCompile(`name="(SAMLResponse|RelayState)"\s+value="([^"]*)"`)
var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// signIn follows the redirect to the IdP and returns the form it answers
// with: the ACS URL and the SAMLResponse/RelayState values.
func signIn(t *testing.T, c *http.Client, resp *http.Response) (string, url.Values) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("want a redirect to Entra, got %d", resp.StatusCode)
	}
	_, page := get(t, c, resp.Header.Get("Location"))
	form := url.Values{}
	for _, m := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil || form.Get("SAMLResponse") == "" {
		t.Fatalf("no form in IdP page: %s", page)
	}
	return html.UnescapeString(m[1]), form
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestHTTPRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			t.Parallel()
			a := newApp(t, tls, nil)
			c := a.browser(t)
			resp, _ := get(t, c, a.srv.URL+"/orders/42?tab=open")
			acs, form := signIn(t, c, resp)
			if acs != a.sp.ACSURL() {
				t.Fatalf("form posts to %s, want %s", acs, a.sp.ACSURL())
			}
			resp, body := post(t, c, acs, form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orders/42?tab=open" {
				t.Fatalf("ACS answered %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == "entrasaml_session" && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tls || len(ck.String()) > 4096) {
					t.Errorf("session cookie %s", ck)
				}
			}
			resp, body = get(t, c, a.srv.URL+"/orders/42?tab=open")
			if resp.StatusCode != 200 || !strings.Contains(body, "hello adele@contoso.example") {
				t.Fatalf("after sign-in: %d %s", resp.StatusCode, body)
			}
			// The same response again is refused and signs nobody in.
			fresh := a.browser(t)
			resp, _ = post(t, fresh, acs, form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("replayed response: %d", resp.StatusCode)
			}
		})
	}
}
