package entratest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Test the host app through the real flow: the app (the README's quick
// start shape) runs on an httptest server, and SignIn signs a client in
// with one call.
func ExampleIdP_SignIn() {
	idp, err := entratest.New(entratest.Options{})
	if err != nil {
		panic(err)
	}

	// The app under test, served at a URL known before New (its BaseURL).
	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	baseURL := "http://" + app.Listener.Addr().String()
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: baseURL + "/saml",
		BaseURL:  baseURL,
		Metadata: idp.Metadata(),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "Hello %s, roles %v", s.DisplayName, s.Roles)
	})))
	app.Config.Handler = mux
	app.Start()

	// One call signs the client in as any user, with any claims.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	user := entratest.User{ObjectID: "6e7b768e-07e2-4810-8459-485f84f8f204", UPN: "AdeleV@contoso.example",
		DisplayName: "Adele Vance", Roles: []string{"Admin"}}
	if err := idp.SignIn(context.Background(), client, app.URL+"/orders", user); err != nil {
		panic(err)
	}

	res, err := client.Get(app.URL + "/orders")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output: 200 Hello Adele Vance, roles [Admin]
}
