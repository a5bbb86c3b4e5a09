package registrytest_test

import (
	"testing"

	"github.com/entrasaml/entrasaml/tenants"
	"github.com/entrasaml/entrasaml/tenants/registrytest"
)

// One MemoryRegistry is every "instance": it is one process's memory.
func TestMemoryRegistry(t *testing.T) {
	reg := new(tenants.MemoryRegistry)
	registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter { return reg }, registrytest.Options{})
}

// A registry that is no Watcher is served by polling.
func TestPollingRegistry(t *testing.T) {
	reg := new(tenants.MemoryRegistry)
	registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter { return noWatch{reg} }, registrytest.Options{})
}

type noWatch struct{ tenants.RegistryWriter }
