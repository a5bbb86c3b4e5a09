package entrasaml_test

import (
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/storetest"
)

// The in-memory store passes the conformance suite on a clock the suite
// moves, so its expiry checks take no time.
func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	storetest.Run(t, func(*testing.T) entrasaml.Store { return entrasaml.NewMemoryStore(clock) },
		storetest.Options{Advance: advance})
}

// On the real clock, one store shared by every subtest: the suite's
// sleeping path, as a Redis store runs it.
func TestMemoryStoreConformanceRealClock(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("sleeps 1.2 s")
	}
	s := entrasaml.NewMemoryStore(nil)
	storetest.Run(t, func(*testing.T) entrasaml.Store { return s })
}
