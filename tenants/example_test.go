package tenants_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/tenants"
)

// Two customers, each on its own subdomain with its own Entra tenant,
// served by one handler tree. (Both use the same metadata file here; in
// real life each customer's admin sends their own.)
func ExampleRouter() {
	metadata, err := os.ReadFile("../testdata/entra-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	// Shared by every customer: cookies stay bound to their own SP.
	store := entrasaml.NewMemoryStore(nil) // one instance; use a shared Store for several
	key := make([]byte, entrasaml.SessionKeySize)
	rand.Read(key) // in production: from your secret store, the same on every instance

	var customers tenants.HostDirectory
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
	router := &tenants.Router{Resolve: customers.Resolve}

	mux := http.NewServeMux()
	mux.Handle("/saml/", router)
	mux.Handle("/", router.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp, _ := tenants.SPFromContext(r.Context())
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

// A fleet's customers in a registry: each SP is built on its customer's
// first request, kept in a bounded cache, and rebuilt, disabled or dropped
// when the registry says its customer changed.
func ExampleCache() {
	metadata, err := os.ReadFile("../testdata/entra-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	reg := new(tenants.MemoryRegistry) // for a fleet: the SQL registry module
	for _, name := range []string{"acme", "globex"} {
		base := "https://" + name + ".vendor.example"
		_, err := reg.Put(ctx, tenants.Customer{
			Key: name + ".vendor.example", EntityID: base + "/saml", BaseURL: base,
			Metadata: metadata, Enabled: true,
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	cache := &tenants.Cache{Registry: reg, MaxEntries: 5000, Template: entrasaml.Config{
		// Shared by every customer; in production the same on every instance.
		Store: entrasaml.NewMemoryStore(nil),
	}}
	go cache.Run(ctx) // changes are served as the registry reports them
	router := &tenants.Router{Resolve: cache.Resolve}
	mux := http.NewServeMux()
	mux.Handle("/saml/", router)

	get := func(u string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		fmt.Println(rec.Code, u)
	}
	get("https://acme.vendor.example/saml/metadata")
	get("https://initech.vendor.example/saml/metadata")

	// The operator disables globex: its requests get 404 (at once on every
	// instance whose Cache is told by the registry, within MaxStale on the
	// others).
	reg.Disable(ctx, "globex.vendor.example")
	get("https://globex.vendor.example/saml/metadata")
	fmt.Println(cache.Stats().Builds, "SP built")
	// Output:
	// 200 https://acme.vendor.example/saml/metadata
	// 404 https://initech.vendor.example/saml/metadata
	// 404 https://globex.vendor.example/saml/metadata
	// 1 SP built
}
