package entrasaml_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// The README's quick start, served by httptest against a fake Entra tenant
// (package entratest) instead of a real one, and signed into with
// entratest's IdP.SignIn as a browser would.
func Example_quickStart() {
	idp, err := entratest.New(entratest.Options{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47"})
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewUnstartedServer(nil) // in production: https://acme.vendor.example
	defer app.Close()
	baseURL := "http://" + app.Listener.Addr().String()

	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: baseURL + "/saml", // Entra: Identifier (Entity ID)
		BaseURL:  baseURL,           // Entra: Reply URL = BaseURL + "/saml/acs"
		Metadata: idp.Metadata(),    // in production: MetadataURL: entrasaml.EntraMetadataURL(tenantID, appID)
		Provision: func(ctx context.Context, s *entrasaml.Session) error {
			if s.ObjectID == "" { // look the user up; refuse users the app has not set up
				return errors.New("unknown user")
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp) // /saml/acs, /saml/metadata, /saml/logout
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "Hello %s (tenant %s, user %s)", s.DisplayName, s.TenantID, s.ObjectID)
	})))
	app.Config.Handler = mux
	app.Start()

	// A page load without a session is redirected to Entra.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := browser.Get(app.URL + "/orders")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	fmt.Println(res.StatusCode, loc.Host+loc.Path)

	// Sign in (what the browser does at Entra and back), then load the page.
	adele := entratest.User{ObjectID: "6e7b768e-07e2-4810-8459-485f84f8f204", UPN: "AdeleV@contoso.example", DisplayName: "Adele Vance"}
	if err := idp.SignIn(context.Background(), browser, app.URL+"/orders", adele); err != nil {
		log.Fatal(err)
	}
	res, err = browser.Get(app.URL + "/orders")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(page))
	// Output:
	// 303 login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2
	// 200 Hello Adele Vance (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, user 6e7b768e-07e2-4810-8459-485f84f8f204)
}
