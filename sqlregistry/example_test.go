package sqlregistry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
)

// One instance with its registry in an SQLite file; a fleet passes a
// PostgreSQL URL instead. The vendor's console writes customers through
// the registry, and the Cache of every instance serves them.
func Example() {
	dir, err := os.MkdirTemp("", "registry")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	reg, err := sqlregistry.Open(ctx, filepath.Join(dir, "registry.db"), sqlregistry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	// The operator adds a customer (the audit log records who).
	_, err = reg.As("operator@vendor.example").Put(ctx, tenants.Customer{
		Key:         "acme.vendor.example",
		EntityID:    "https://acme.vendor.example/saml",
		BaseURL:     "https://acme.vendor.example",
		MetadataURL: "https://login.microsoftonline.com/acme-tenant/federationmetadata/2007-06/federationmetadata.xml?appid=acme-app",
		Enabled:     true,
	})
	if err != nil {
		log.Fatal(err)
	}
	c, err := reg.Lookup(ctx, "acme.vendor.example")
	fmt.Println(c.EntityID, c.Enabled, err)
	_, err = reg.Lookup(ctx, "globex.vendor.example")
	fmt.Println(errors.Is(err, tenants.ErrNotFound))

	// Each instance serves the registry's customers, following its
	// changes; one Refresher per instance keeps URL metadata fresh:
	//
	//	cache := &tenants.Cache{Registry: reg, Template: template}
	//	go cache.Run(ctx)
	//	go (&sqlregistry.Refresher{Registry: reg, HTTPClient: onboard.PublicOnlyHTTPClient()}).Run(ctx)
	//	router := &tenants.Router{Resolve: cache.Resolve}

	// Output:
	// https://acme.vendor.example/saml true <nil>
	// true
}
