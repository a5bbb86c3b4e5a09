package sqlregistry_test

import (
	"testing"

	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
	"github.com/entrasaml/entrasaml/tenants/registrytest"
)

// The registry contract, on each database: every call of newRegistry is
// another instance (its own pool and Watch connection) on the same
// database, as in a fleet.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter {
				return open(t, dsn, sqlregistry.Options{})
			}, registrytest.Options{})
		})
	}
}
