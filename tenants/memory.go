package tenants

import (
	"context"
	"slices"
	"sync"
)

// MemoryRegistry is a [RegistryWriter] and [Watcher] in one process's
// memory: for tests, small apps with one instance, and as the reference
// implementation of the contract. Nothing survives the process. The zero
// value is an empty registry, ready to use; it is safe for concurrent use.
// Writes are reported to Watchers at once (propagation delay: a goroutine
// switch).
type MemoryRegistry struct {
	mu       sync.Mutex
	m        map[string]Customer
	version  int64 // the last version handed out
	watchers map[*memoryWatch]struct{}
}

var (
	_ RegistryWriter = (*MemoryRegistry)(nil)
	_ Watcher        = (*MemoryRegistry)(nil)
)

// Lookup returns the customer at key, or ErrNotFound. It fails otherwise
// only when ctx is done (ctx.Err()), as every method does.
func (m *MemoryRegistry) Lookup(ctx context.Context, key string) (Customer, error) {
	if err := ctx.Err(); err != nil {
		return Customer{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[key]
	if !ok {
		return Customer{}, ErrNotFound
	}
	return c, nil
}

// Len returns the number of customers, enabled or not.
func (m *MemoryRegistry) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// Put stores c as [RegistryWriter.Put] says. Unlike a database, it keeps
// c.Metadata and c.MetadataSigners as given, without a copy (so that many
// customers can share one document in tests and benchmarks): do not
// modify them after Put.
func (m *MemoryRegistry) Put(ctx context.Context, c Customer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Validate(); err != nil {
		return 0, err
	}
	c.Metadata, c.MetadataSigners = slices.Clip(c.Metadata), slices.Clip(c.MetadataSigners)
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.m[c.Key]
	if (ok && old.Version != c.Version) || (!ok && c.Version != 0) {
		return 0, ErrConflict
	}
	return m.store(c), nil
}

// Disable turns the customer at key off as [RegistryWriter.Disable] says.
func (m *MemoryRegistry) Disable(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[key]
	if !ok {
		return 0, ErrNotFound
	}
	c.Enabled, c.Enforced = false, false
	return m.store(c), nil
}

// Delete removes the customer at key, or returns ErrNotFound.
func (m *MemoryRegistry) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[key]; !ok {
		return ErrNotFound
	}
	delete(m.m, key)
	m.version++ // a registry-wide event, though no version is stored
	m.notify(key)
	return nil
}

// store gives c the next version, stores it and returns the version; m.mu
// is held.
func (m *MemoryRegistry) store(c Customer) int64 {
	m.version++
	c.Version = m.version
	if m.m == nil {
		m.m = make(map[string]Customer)
	}
	m.m[c.Key] = c
	m.notify(c.Key)
	return c.Version
}

// notify queues key for every watcher; m.mu is held.
func (m *MemoryRegistry) notify(key string) {
	for w := range m.watchers {
		w.add(key)
	}
}

// Watch reports changes as [Watcher] says: changed("") once subscribed,
// then every written key, until ctx is done. Keys written while changed
// runs are reported after it returns (several writes to one key in that
// time are reported once). It returns ctx.Err().
func (m *MemoryRegistry) Watch(ctx context.Context, changed func(key string)) error {
	w := &memoryWatch{signal: make(chan struct{}, 1)}
	m.mu.Lock()
	if m.watchers == nil {
		m.watchers = make(map[*memoryWatch]struct{})
	}
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.watchers, w)
		m.mu.Unlock()
	}()
	changed("")
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.signal:
		}
		for _, key := range w.take() {
			changed(key)
		}
	}
}

// memoryWatch is one Watch call's queue of changed keys.
type memoryWatch struct {
	mu      sync.Mutex
	pending []string
	queued  map[string]bool
	signal  chan struct{} // capacity 1: "pending is not empty"
}

func (w *memoryWatch) add(key string) {
	w.mu.Lock()
	if !w.queued[key] {
		if w.queued == nil {
			w.queued = make(map[string]bool)
		}
		w.queued[key] = true
		w.pending = append(w.pending, key)
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *memoryWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := w.pending
	w.pending, w.queued = nil, nil
	return keys
}
