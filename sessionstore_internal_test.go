package entrasaml

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// rendezvousStore widens the race window of concurrent sign-ins: the first
// n writes (Set or SetIfAbsent) to a key starting with prefix wait until
// all n have arrived, so that whatever each sign-in read before writing,
// it read before any of the others wrote. Later writes pass at once (and
// after a second, so do the first, lest a design that writes less often
// deadlock).
type rendezvousStore struct {
	Store
	prefix string
	n      int

	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func newRendezvousStore(s Store, prefix string, n int) *rendezvousStore {
	return &rendezvousStore{Store: s, prefix: prefix, n: n, all: make(chan struct{})}
}

func (s *rendezvousStore) wait(key string) {
	if !strings.HasPrefix(key, s.prefix) {
		return
	}
	s.mu.Lock()
	s.arrived++
	if s.arrived == s.n {
		close(s.all)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-time.After(time.Second):
	}
}

func (s *rendezvousStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.wait(key)
	return s.Store.Set(ctx, key, value, ttl)
}

func (s *rendezvousStore) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	s.wait(key)
	return s.Store.SetIfAbsent(ctx, key, value, ttl)
}

// Concurrent sign-ins of one user each get an entry in the session index,
// so the IdP's logout ends every one of them (a Get-then-Set of one list
// lost all but one).
func TestSessionIndexConcurrentSignIns(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 16, maxIndexed} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			sp := &SP{store: newRendezvousStore(NewMemoryStore(clock), "idx/", n), now: clock, indexNS: "idx/", sessNS: "sess/"}
			testConcurrentSignIns(t, sp, n)
		})
	}
}

// testConcurrentSignIns signs one user in n times at once, then ends the
// user's sessions as an IdP-initiated logout does, and checks that none is
// left.
func testConcurrentSignIns(t *testing.T, sp *SP, n int) {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = randomID()
		wg.Go(func() {
			s := &Session{NameID: "adele@contoso.example", SessionIndex: fmt.Sprintf("_idx%d", i), ExpiresAt: sp.now().Add(time.Hour)}
			if errs[i] = sp.store.Set(ctx, sp.sessNS+ids[i], []byte("{}"), time.Hour); errs[i] == nil {
				errs[i] = sp.indexSession(ctx, ids[i], s)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.endSessionsOf(ctx, "adele@contoso.example", nil); err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, id := range ids {
		if _, found, err := sp.store.Get(ctx, sp.sessNS+id); err != nil {
			t.Fatal(err)
		} else if found {
			left++
		}
	}
	if left > 0 {
		t.Errorf("%d of %d concurrent sessions survived the IdP's logout: their index entries were lost", left, n)
	}
}

// Sessions indexed by an earlier version, in one list per NameID, are
// still ended by the IdP's logout (a rolling upgrade).
func TestSessionIndexLegacyList(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	sp := &SP{store: NewMemoryStore(clock), now: clock, indexNS: "idx/", sessNS: "sess/"}
	ctx := context.Background()
	list := indexLine("old1", "_a", now.Add(time.Hour)) + indexLine("old2", "_b", now.Add(time.Hour))
	for _, kv := range [][2]string{{sp.sessionIndexKey("adele"), list}, {"sess/old1", "{}"}, {"sess/old2", "{}"}} {
		if err := sp.store.Set(ctx, kv[0], []byte(kv[1]), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.endSessionsOf(ctx, "adele", []string{"_b"}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"old1": true, "old2": false} {
		if _, found, _ := sp.store.Get(ctx, "sess/"+id); found != want {
			t.Errorf("session %s still there = %v, want %v", id, found, want)
		}
	}
}

// The per-user session index keeps the newest maxIndexed sessions, so a
// user who signs in again and again cannot grow it without bound.
func TestSessionIndexBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	sp := &SP{store: NewMemoryStore(func() time.Time { return now }), now: func() time.Time { return now }, indexNS: "idx/", sessNS: "sess/"}
	ctx := context.Background()
	const n = 3 * maxIndexed
	for i := range n {
		// Each later session expires later: the newest are the ones kept.
		s := &Session{NameID: "adele", SessionIndex: "_s", ExpiresAt: now.Add(time.Hour + time.Duration(i)*time.Minute)}
		id := fmt.Sprintf("id%03d", i)
		if err := sp.store.Set(ctx, sp.sessNS+id, []byte("{}"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := sp.indexSession(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	live := 0
	for i := range maxIndexed {
		if _, found, _ := sp.store.Get(ctx, sp.indexSlotKey("adele", i)); found {
			live++
		}
	}
	if live != maxIndexed {
		t.Fatalf("%d sessions indexed, want %d", live, maxIndexed)
	}
	if err := sp.endSessionsOf(ctx, "adele", nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, found, _ := sp.store.Get(ctx, sp.sessNS+fmt.Sprintf("id%03d", i))
		if newest := i >= n-maxIndexed; found == newest {
			t.Errorf("session %d of %d: still there = %v, want %v", i, n, found, !newest)
		}
	}
}
