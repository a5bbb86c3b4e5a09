package entrasaml_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/entrasaml/entrasaml"
)

// Two customers, each on its own subdomain with its own Entra tenant,
// served by one handler tree. (Both use the same metadata file here; in
// real life each customer's admin sends their own.)
func ExampleTenants() {
	metadata, err := os.ReadFile("testdata/entra-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	// Shared by every customer: cookies stay bound to their own SP.
	store := entrasaml.NewMemoryStore(nil) // one instance; use a shared Store for several
	key := make([]byte, entrasaml.SessionKeySize)
	rand.Read(key) // in production: from your secret store, the same on every instance

	var customers entrasaml.HostDirectory
	for _, name := range []string{"acme", "globex"} {
		base := "https://" + name + ".vendor.example"
		sp, err := entrasaml.New(context.Background(), entrasaml.Config{
			EntityID: base + "/saml", BaseURL: base, Metadata: metadata,
			Store: store, SessionKeys: [][]byte{key},
		})
		if err != nil {
			log.Fatal(err) // in an app: report it for this customer and go on with the others
		}
		customers.Set(name+".vendor.example", sp)
	}
	tenants := &entrasaml.Tenants{Resolve: customers.Resolve}

	mux := http.NewServeMux()
	mux.Handle("/saml/", tenants)
	mux.Handle("/", tenants.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp, _ := entrasaml.SPFromContext(r.Context())
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "%s signed in to %s", s.NameID, sp.EntityID())
	})))

	for _, u := range []string{
		"https://acme.vendor.example/orders",          // not signed in: off to acme's tenant
		"https://globex.vendor.example/saml/metadata", // globex's SP metadata
		"https://initech.vendor.example/orders",       // no such customer
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		fmt.Println(rec.Code, u)
	}
	// Output:
	// 303 https://acme.vendor.example/orders
	// 200 https://globex.vendor.example/saml/metadata
	// 404 https://initech.vendor.example/orders
}

// The operator checks what a customer's admin sent before switching SSO on.
func ExampleOnboard() {
	xml, err := os.ReadFile("testdata/entra-metadata.xml") // uploaded by the customer's admin
	if err != nil {
		log.Fatal(err)
	}
	rep := entrasaml.Onboard(context.Background(), entrasaml.OnboardingInput{
		Metadata: xml,
		Now:      func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	fmt.Println("ready:", rep.Ready)
	fmt.Println("tenant:", rep.TenantID)
	for _, c := range rep.Certificates {
		fmt.Println(c.ThumbprintSHA1, c.NotAfter.Format(time.DateOnly), c.DaysLeft, "days left")
	}
	for _, p := range rep.Problems {
		fmt.Println(p.Severity, p.Code, p.Message)
	}
	// When rep.Ready: entrasaml.New(ctx, entrasaml.Config{Metadata: rep.Metadata, ...})

	// Output:
	// ready: true
	// tenant: b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43
	// C7E9C3298058B9D376DC033B77D5549889E41F5B 2045-01-01 6616 days left
	// 00EDE8CAFDD1ACAFE1AA620A35E387FEE25DEDDD 2045-01-01 6616 days left
}

// What to tell a new customer's admin to type into Entra, before their
// metadata is in.
func ExampleNewEntraSettings() {
	settings, err := entrasaml.NewEntraSettings("https://acme.vendor.example/saml", "https://acme.vendor.example")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(settings, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "identifier": "https://acme.vendor.example/saml",
	//   "reply_url": "https://acme.vendor.example/saml/acs",
	//   "sign_on_url": "https://acme.vendor.example/",
	//   "logout_url": "https://acme.vendor.example/saml/logout",
	//   "metadata_url": "https://acme.vendor.example/saml/metadata"
	// }
}
