package entrasaml_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/storetest"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := entrasaml.NewMemoryStore(clock)
	ctx := context.Background()

	if err := s.Set(ctx, "a", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, "a"); err != nil || !ok || string(v) != "1" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	if ok, _ := s.SetIfAbsent(ctx, "a", []byte("2"), time.Minute); ok {
		t.Error("SetIfAbsent overwrote a live key")
	}
	advance(time.Minute)
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Error("expired key still returned")
	}
	if ok, _ := s.SetIfAbsent(ctx, "a", []byte("2"), time.Minute); !ok {
		t.Error("SetIfAbsent refused an expired key")
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Error("deleted key still returned")
	}

	// Values are copied in and out.
	v := []byte("xyz")
	s.Set(ctx, "b", v, time.Hour)
	v[0] = 'Q'
	got, _, _ := s.Get(ctx, "b")
	got[1] = 'Q'
	if again, _, _ := s.Get(ctx, "b"); string(again) != "xyz" {
		t.Errorf("stored value aliased: %q", again)
	}

	// Expired entries are swept without a goroutine.
	for i := range 1000 {
		s.Set(ctx, string(rune('a'+i%26))+time.Duration(i).String(), nil, time.Second)
	}
	advance(2 * time.Minute)
	s.Set(ctx, "trigger", nil, time.Second)
	if n := s.Len(); n > 2 {
		t.Errorf("%d entries after sweep, want at most 2", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.SetIfAbsent(cancelled, "c", nil, time.Minute); err == nil {
		t.Error("cancelled context accepted")
	}
}

func TestMemoryStoreSetIfAbsentIsAtomic(t *testing.T) {
	t.Parallel()
	s := entrasaml.NewMemoryStore(nil)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if ok, err := s.SetIfAbsent(context.Background(), "k", nil, time.Minute); err == nil && ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d goroutines won SetIfAbsent, want 1", wins.Load())
	}
}

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
