package sqlregistry_test

import (
	"testing"

	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
	"github.com/entrasaml/entrasaml/tenants/registrytest"
)

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			// One database per backend; each subtest its own keys would
			// do, but the suite wants an empty registry: one database per
			// subtest on PostgreSQL costs a CREATE DATABASE each.
			registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter {
				return open(t, b.dsn(t), sqlregistry.Options{})
			})
		})
	}
}
