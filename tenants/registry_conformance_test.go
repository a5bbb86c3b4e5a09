package tenants_test

import (
	"testing"

	"github.com/entrasaml/entrasaml/tenants"
	"github.com/entrasaml/entrasaml/tenants/registrytest"
)

// MemoryRegistry keeps the contract that every registry keeps.
func TestMemoryRegistryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter { return new(tenants.MemoryRegistry) })
}
