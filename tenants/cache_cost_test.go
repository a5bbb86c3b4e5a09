package tenants_test

import (
	"runtime"
	"testing"

	"github.com/entrasaml/entrasaml/entratest"
)

// TestCacheEntryBytes checks the Cache's estimate of an entry's bytes
// against the heap that entries really hold, for metadata with one and
// with three signing certificates. It is not parallel: it reads
// process-wide statistics while no other test runs.
//
//	go test -run TestCacheEntryBytes -v ./tenants
func TestCacheEntryBytes(t *testing.T) {
	const n = 400
	for _, certs := range []int{1, 3} {
		idp := tenantIdP(t, 0)
		for k := 1; k < certs; k++ {
			idp.AddKey(poolKeys[k])
		}
		reg := newFleet(t, n, []*entratest.IdP{idp})
		cache := newCache(reg, pinned, nil)
		mustSP(t, cache, fleetHost(0)) // the Cache's own first-use allocations
		before := heapInUse()
		for i := 1; i < n; i++ {
			mustSP(t, cache, fleetHost(i))
		}
		measured := float64(heapInUse()-before) / (n - 1)
		s := cache.Stats()
		estimated := float64(s.Bytes) / float64(s.Entries)
		t.Logf("%d certificate(s), %d bytes of metadata: %.0f bytes per entry measured, %.0f estimated",
			certs, len(idp.Metadata()), measured, estimated)
		if estimated < 0.75*measured || estimated > 1.25*measured {
			t.Errorf("estimate %.0f is more than 25%% off the measured %.0f", estimated, measured)
		}
		runtime.KeepAlive(cache)
		runtime.KeepAlive(reg)
	}
}
