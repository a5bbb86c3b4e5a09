package entrasaml_test

import (
	"context"
	"fmt"
	"html"
	"log"
	"net/http"

	"github.com/entrasaml/entrasaml"
)

// A customer's administrator tests metadata before it goes live: POSTs to
// the ACS that carry a test cookie go to a SignInTest of the candidate,
// everything else to the live SP.
func ExampleNewSignInTest() {
	ctx := context.Background()
	store := entrasaml.NewMemoryStore(nil)
	live := entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: "https://acme.app.example", Store: store /* , Metadata: … */}
	var candidate []byte // the metadata the admin pasted, not yet saved

	signInTest := func() (*entrasaml.SignInTest, error) {
		cfg := live
		cfg.Metadata = candidate
		return entrasaml.NewSignInTest(ctx, cfg, func(w http.ResponseWriter, r *http.Request, res *entrasaml.TestResult) {
			if res.Err != nil {
				http.Error(w, "The test sign-in failed.", http.StatusForbidden) // log res.Err; show advice
				return
			}
			fmt.Fprintf(w, "Signed in as %s with %d groups.", html.EscapeString(res.Session.NameID), len(res.Session.Groups))
		})
	}
	var liveSP http.Handler // entrasaml.New(ctx, live)
	mux := http.NewServeMux()
	mux.HandleFunc("/saml/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && entrasaml.IsSignInTest(r) {
			t, err := signInTest()
			if err != nil {
				http.Error(w, "no test", http.StatusBadRequest)
				return
			}
			t.ServeHTTP(w, r)
			return
		}
		liveSP.ServeHTTP(w, r)
	})
	mux.HandleFunc("POST /admin/test", func(w http.ResponseWriter, r *http.Request) {
		// Only after checking that r comes from this customer's admin.
		t, err := signInTest()
		if err != nil {
			log.Print(err)
			return
		}
		t.Start(w, r, "/admin")
	})
}
