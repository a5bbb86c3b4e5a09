package entratest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// signInApp serves the README's quick-start shape on an httptest server
// for idp's metadata: "/saml/" is the SP, "/" needs an account and
// answers with the session's UPN, display name and extra attribute
// "dept"; "/public" needs none.
func signInApp(t *testing.T, metadata []byte, provision func(*entrasaml.Session) error) *httptest.Server {
	t.Helper()
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	baseURL := "http://" + app.Listener.Addr().String()
	cfg := entrasaml.Config{EntityID: baseURL + "/saml", BaseURL: baseURL, Metadata: metadata}
	if provision != nil {
		cfg.Provision = func(_ context.Context, s *entrasaml.Session) error { return provision(s) }
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.HandleFunc("/public", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "public") })
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "%s|%s|%s", s.Name, s.DisplayName, s.Attribute("dept"))
	})))
	app.Config.Handler = mux
	app.Start()
	return app
}

func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func getBody(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	idp := newIdP(t)
	app := signInApp(t, idp.Metadata(), nil)

	// Several users at once, each with its own claims and cookie jar.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newJarClient()
			upn := fmt.Sprintf("user%d@contoso.example", i)
			user := entratest.User{UPN: upn, DisplayName: fmt.Sprintf("User %d", i)}
			if err := idp.SignIn(context.Background(), c, app.URL+"/orders?id=4", user,
				entratest.Attribute{Name: "dept", Values: []string{fmt.Sprint("d", i)}}); err != nil {
				t.Error(err)
				return
			}
			if code, body := getBody(t, c, app.URL+"/orders"); code != 200 || body != fmt.Sprintf("%s|User %d|d%d", upn, i, i) {
				t.Errorf("after SignIn: %d %q", code, body)
			}
		}()
	}
	wg.Wait()

	// Without SignIn the same page redirects to the IdP.
	c := newJarClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := getBody(t, c, app.URL+"/orders"); code != http.StatusSeeOther && code != http.StatusFound {
		t.Errorf("not signed in: %d, want a redirect", code)
	}
}

func TestSignInFails(t *testing.T) {
	t.Parallel()
	idp := newIdP(t)
	other := newIdP(t)
	app := signInApp(t, idp.Metadata(), func(s *entrasaml.Session) error {
		if s.Name == "blocked@contoso.example" {
			return errors.New("no such account")
		}
		return nil
	})
	otherApp := signInApp(t, other.Metadata(), nil)
	ctx := context.Background()
	user := entratest.User{UPN: "adele@contoso.example"}
	tests := []struct {
		name   string
		client *http.Client
		url    string
		user   entratest.User
		want   string
	}{
		{"no cookie jar", &http.Client{}, app.URL + "/", user, "cookie Jar"},
		{"a page that needs no account", newJarClient(), app.URL + "/public", user, "not a redirect to the IdP"},
		{"an app of another IdP", newJarClient(), otherApp.URL + "/", user, "not to this IdP's sign-on URL"},
		{"the app refuses the user", newJarClient(), app.URL + "/", entratest.User{UPN: "blocked@contoso.example"}, "403"},
	}
	for _, tt := range tests {
		err := idp.SignIn(ctx, tt.client, tt.url, tt.user)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

// newIdP returns an IdP on the real clock, as the apps' SPs are.
func newIdP(t *testing.T) *entratest.IdP {
	t.Helper()
	idp, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return idp
}
