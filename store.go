package entrasaml

import (
	"context"
	"sync"
	"time"
)

// Store is what the SP remembers between requests: the replay caches of
// accepted assertion IDs and signed LogoutRequest IDs, and the server-side
// sessions (pending sign-in requests live in sealed cookies, not here).
// SetIfAbsent is also what keeps the per-user session
// index that the IdP's logout reads correct under concurrent sign-ins (each
// sign-in claims a slot key of its own), so a Store needs no other atomic
// operation. Keys are short ASCII strings chosen by the SP (already namespaced per
// SP); values are opaque bytes. Every call carries a context (a store that
// talks to a server must honour its deadline) and every write an expiry,
// after which the entry must no longer be returned.
//
// A ttl <= 0 stores nothing: Set removes key, SetIfAbsent leaves a live
// key alone. With a done context every method returns an error matching
// ctx.Err() and writes nothing. An error from any method makes the
// operation fail closed: Verify returns an error matching ErrStore and
// accepts nothing, and the HTTP layer answers 503.
//
// Package github.com/entrasaml/entrasaml/storetest checks an
// implementation; github.com/entrasaml/entrasaml/redisstore is one for
// Redis.
//
// The default is an in-memory store ([NewMemoryStore]), right for a single
// instance. Several instances behind a load balancer need a shared store
// (for example Redis), or a replayed response is accepted by the instance
// that did not see the first use.
type Store interface {
	// Get returns the value of key, or found=false when it is absent or
	// expired.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Set stores value under key for ttl, replacing any previous value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetIfAbsent atomically stores value under key for ttl unless key is
	// present (and unexpired), and reports whether it stored it. Among
	// concurrent callers with the same key and different values, across
	// every process sharing the store, at most one gets true: this is the
	// one-time-use primitive. (A store may also report true when the key
	// already holds exactly value, to make a retried write idempotent.)
	SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (stored bool, err error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
}

// MemoryStore is an in-memory [Store] for a single instance. It is safe for
// concurrent use, starts no goroutine, and drops expired entries lazily as
// it is written to. Its zero value is not usable; call [NewMemoryStore].
type MemoryStore struct {
	now func() time.Time

	mu        sync.Mutex
	items     map[string]memItem
	nextSweep time.Time
	sweepSize int
}

type memItem struct {
	value   []byte
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore whose clock is now (nil:
// time.Now). [New] creates one with Config.Now when Config.Store is nil.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, items: make(map[string]memItem)}
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[key]
	if !ok || !now.Before(it.expires) {
		return nil, false, nil
	}
	return append([]byte(nil), it.value...), true, nil
}

// Set implements [Store].
func (s *MemoryStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if ttl <= 0 {
		delete(s.items, key)
		return nil
	}
	s.items[key] = memItem{value: append([]byte(nil), value...), expires: now.Add(ttl)}
	return nil
}

// SetIfAbsent implements [Store].
func (s *MemoryStore) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if it, ok := s.items[key]; ok && now.Before(it.expires) {
		return false, nil
	}
	if ttl <= 0 {
		// Expires at once: nothing to remember, but the caller was first.
		return true, nil
	}
	s.items[key] = memItem{value: append([]byte(nil), value...), expires: now.Add(ttl)}
	return true, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, key)
	return nil
}

// Len returns the number of entries held, expired ones included until the
// next sweep.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// sweepLocked drops expired entries once a minute, or sooner when the map
// has doubled since the last sweep, so that memory stays bounded by what is
// live without a background goroutine.
func (s *MemoryStore) sweepLocked(now time.Time) {
	if now.Before(s.nextSweep) && len(s.items) < 2*s.sweepSize+64 {
		return
	}
	for k, it := range s.items {
		if !now.Before(it.expires) {
			delete(s.items, k)
		}
	}
	s.nextSweep = now.Add(time.Minute)
	s.sweepSize = len(s.items)
}
