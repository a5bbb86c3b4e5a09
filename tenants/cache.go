package tenants

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
)

// Defaults for the zero values of Cache.
const (
	DefaultMaxEntries   = 10_000
	DefaultMaxBytes     = 256 << 20 // bytes, by [Cache]'s estimate
	DefaultMaxStale     = time.Second
	DefaultBuildTimeout = 15 * time.Second
)

const (
	// failedRetry: a customer whose SP could not be built is built again
	// after this long, or at once when its version changes.
	failedRetry = 10 * time.Second
	// watchedRecheck: with a live Watcher, a cached customer is still
	// looked up after this long, in case a notification was lost.
	watchedRecheck = 5 * time.Minute
	// Backoff between Watch calls that failed.
	minWatchBackoff, maxWatchBackoff = time.Second, 30 * time.Second
)

// Cache builds customers' SPs from a [Registry] as their requests arrive
// and keeps the most recently used ones, within MaxEntries and MaxBytes.
// Its Resolve method is a [Resolver] for [Router]:
//
//	reg := ... // a tenants.Registry: the SQL registry module, or a MemoryRegistry
//	cache := &tenants.Cache{Registry: reg, Template: entrasaml.Config{
//		Store: store, SessionKeys: keys, Provision: provision, Logger: logger,
//	}}
//	go cache.Run(ctx) // when reg is a Watcher: changes arrive as they happen
//	router := &tenants.Router{Resolve: cache.Resolve, Logger: logger}
//	mux.Handle("/saml/", router)
//	mux.Handle("/", router.RequireAccount(app))
//
// Each SP is built with [entrasaml.New] from [Customer.Config] over
// Template, the vendor's settings shared by every customer. A burst of
// requests for a customer that is not cached builds one SP (the others
// wait for it; one registry Lookup and one build per key at a time).
//
// What a request gets:
//   - an enabled customer: its SP, never another's (the registry's answer
//     must carry the requested key, and the SP's BaseURL must be at that
//     key, else 503);
//   - no customer at that key ([ErrNotFound]), or a disabled one
//     (Customer.Enabled false): no SP, so the Router answers 404, as for
//     any unknown address;
//   - the registry cannot answer (any other error) when the customer is
//     not cached or its cached copy is stale: an error, so the Router
//     answers 503 (never a stale SP past the staleness bound below);
//   - a customer whose SP cannot be built (metadata that does not parse,
//     a MetadataURL that cannot be fetched, a Customer that New refuses):
//     an error, logged when the build fails, so the Router answers 503.
//     The build is retried after 10 s, or at once when the customer's
//     version changes.
//
// Staleness: a cached SP is served until the registry says its customer
// changed. Without a live Watcher (Run not called, or the registry is no
// Watcher, or its Watch failed), every cached customer is looked up again
// on its first request after MaxStale (default 1 s) since its last
// lookup: a change is served within MaxStale plus one Lookup, and a
// registry that cannot be reached turns a customer's requests into 503s
// from then on. With a live Watcher, the registry's notification marks
// the customer stale at once (the bound is the Watcher's delay), and each
// cached customer is also looked up every 5 minutes in case a
// notification was lost. A Lookup that returns the cached version keeps
// the cached SP; a new version builds a new SP (requests already running
// finish with the old one). With the same Store and SessionKeys in
// Template, users stay signed in when their customer's SP is rebuilt or
// evicted and built again: cookies and sessions are bound to the
// customer's EntityID and BaseURL, not to an SP value.
//
// Memory is bounded by MaxEntries and MaxBytes, not by the number of
// customers in the registry: the least recently used customer is evicted
// when either is exceeded (at least one entry stays). An entry's bytes are
// an estimate: a measured constant for the SP, plus its customer's
// strings, plus a measured cost per byte of IdP certificate (the metadata
// XML itself is not kept). Unknown keys are not cached, so requests for
// random hosts cannot evict customers (each costs one Lookup).
//
// A Cache is safe for concurrent use; set its fields before first use and
// do not change them afterwards. It starts no goroutine (Run is the
// caller's). The zero value is not usable: Registry is required.
type Cache struct {
	// Registry is where customers come from. Required.
	Registry Registry
	// Template holds the settings every customer's SP shares; the
	// customer's fields ([Customer.Config]) are set over it. Give it the
	// Store and SessionKeys that all instances share. nil Store: one
	// MemoryStore for all customers (one instance); nil SessionKeys: one
	// random key for all customers (one instance; cookies die with the
	// process). nil HTTPClient: [onboard.PublicOnlyHTTPClient], since
	// metadata URLs come from customers. nil Logger: slog.Default(). Now
	// is also the Cache's clock for staleness.
	Template entrasaml.Config
	// PathMode selects the customer by the first path segment of the
	// request ([PathKey]; BaseURL https://vendor.example/acme is key
	// "acme"). Default false: by the Host header ([HostKey]; BaseURL
	// https://acme.vendor.example is key "acme.vendor.example"). See
	// [Router] on why host mode isolates customers better. Resolve reads
	// r.Host or r.URL.Path and nothing else (no X-Forwarded-Host); call
	// [Cache.Lookup] from your own Resolver to choose the key otherwise.
	PathMode bool
	// MaxEntries bounds the number of cached customers. 0:
	// DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the estimated bytes of the cached customers. 0:
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxStale is how long a cached customer is served without asking
	// the registry, when no Watcher is live. 0: DefaultMaxStale.
	MaxStale time.Duration
	// BuildTimeout bounds one Lookup plus one build (which may fetch the
	// customer's MetadataURL). 0: DefaultBuildTimeout.
	BuildTimeout time.Duration

	once     sync.Once
	tmpl     entrasaml.Config
	now      func() time.Time
	logger   *slog.Logger
	maxN     int
	maxBytes int64
	maxStale time.Duration
	timeout  time.Duration
	running  atomic.Bool

	mu       sync.Mutex
	entries  map[string]*entry
	lru      entry // list sentinel: lru.next is the most recently used
	bytes    int64
	flights  map[string]*flight
	gen      uint64 // bumped by changed(""): entries of older generations are stale
	watching bool   // a Watch call is live (it said changed(""))
	stats    CacheStats
}

// entry is one cached customer. Its fields are fixed once it is in the
// map, except the list links and stale, which c.mu guards.
type entry struct {
	key     string
	cust    Customer      // without Metadata
	sp      *entrasaml.SP // nil: disabled, or the build failed
	err     error         // why the build failed
	size    int64
	gen     uint64
	checked time.Time // when the registry last confirmed cust.Version (start of the Lookup)
	built   time.Time // when sp (or err) was made

	stale      bool
	prev, next *entry
}

// flight is one Lookup (and build) in progress for a key.
type flight struct {
	done  chan struct{}
	gen   uint64
	dirty bool // a change was notified while it ran
	e     *entry
	err   error
}

// CacheStats are a Cache's counters, for metrics and tests.
type CacheStats struct {
	Entries   int    // cached customers (with an SP, disabled, or failed)
	Bytes     int64  // their estimated size
	Lookups   uint64 // registry Lookups made
	Builds    uint64 // SPs built (or attempted)
	Evictions uint64 // entries evicted for MaxEntries or MaxBytes
	Watching  bool   // a Watcher is live
}

func (c *Cache) init() {
	c.tmpl = c.Template
	if c.tmpl.Now == nil {
		c.tmpl.Now = time.Now
	}
	c.now = c.tmpl.Now
	if c.tmpl.Store == nil {
		c.tmpl.Store = entrasaml.NewMemoryStore(c.now)
	}
	if len(c.tmpl.SessionKeys) == 0 {
		key := make([]byte, entrasaml.SessionKeySize)
		rand.Read(key)
		c.tmpl.SessionKeys = [][]byte{key}
	}
	if c.tmpl.HTTPClient == nil {
		c.tmpl.HTTPClient = onboard.PublicOnlyHTTPClient()
	}
	if c.tmpl.Logger == nil {
		c.tmpl.Logger = slog.Default()
	}
	c.logger = c.tmpl.Logger
	c.maxN, c.maxBytes, c.maxStale, c.timeout = c.MaxEntries, c.MaxBytes, c.MaxStale, c.BuildTimeout
	if c.maxN <= 0 {
		c.maxN = DefaultMaxEntries
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.maxStale <= 0 {
		c.maxStale = DefaultMaxStale
	}
	if c.timeout <= 0 {
		c.timeout = DefaultBuildTimeout
	}
	c.entries = make(map[string]*entry)
	c.flights = make(map[string]*flight)
	c.lru.next, c.lru.prev = &c.lru, &c.lru
}

// Resolve returns the SP of the request's customer, as the [Cache]
// documentation says: it is a [Resolver].
func (c *Cache) Resolve(r *http.Request) (*entrasaml.SP, error) {
	var key string
	if c.PathMode {
		key = PathKey(r.URL.Path)
	} else {
		key = HostKey(r.Host)
	}
	sp, _, err := c.Lookup(r.Context(), key)
	return sp, err
}

// Lookup returns the SP and the Customer (without its Metadata) at key,
// from the cache or from the registry, as Resolve does for a request:
// (nil, Customer{}, nil) when there is no customer at key, (nil, customer,
// nil) when it is disabled, an error when the registry cannot answer or
// the SP cannot be built. The Customer is shared: do not modify its
// slices. Customer.Enforced tells the app whether other ways to sign in
// are off.
func (c *Cache) Lookup(ctx context.Context, key string) (*entrasaml.SP, Customer, error) {
	e, err := c.get(ctx, key)
	switch {
	case err != nil:
		return nil, Customer{}, err
	case e == nil:
		return nil, Customer{}, nil
	case e.err != nil:
		return nil, e.cust, e.err
	}
	return e.sp, e.cust, nil
}

// Stats returns the Cache's counters.
func (c *Cache) Stats() CacheStats {
	c.once.Do(c.init)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes, s.Watching = len(c.entries), c.bytes, c.watching
	return s
}

// get returns key's entry (nil when there is no customer at key), from the
// cache when fresh, else after a Lookup (joining one in flight).
func (c *Cache) get(ctx context.Context, key string) (*entry, error) {
	c.once.Do(c.init)
	if key == "" {
		return nil, nil
	}
	if c.Registry == nil {
		return nil, errors.New("tenants: Cache.Registry is nil")
	}
	now := c.now()
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && c.freshLocked(e, now) {
		c.touchLocked(e)
		c.mu.Unlock()
		return e, nil
	}
	if f := c.flights[key]; f != nil {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{}), gen: c.gen}
	c.flights[key] = f
	var old entry
	if e != nil {
		old = *e
	}
	c.stats.Lookups++
	c.mu.Unlock()

	// The flight outlives a request that gives up: others may be waiting.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	landed := false
	defer func() {
		if !landed { // load panicked: release the waiters and the key
			c.mu.Lock()
			delete(c.flights, key)
			c.mu.Unlock()
			f.e, f.err = nil, fmt.Errorf("tenants: loading customer %q panicked", key)
			close(f.done)
		}
	}()
	f.e, f.err = c.load(lctx, key, &old, now)
	landed = true

	c.mu.Lock()
	delete(c.flights, key)
	switch {
	case f.err != nil: // keep the old entry: it is stale, so it is not served
	case f.e == nil:
		if e := c.entries[key]; e != nil {
			c.removeLocked(e)
		}
	default:
		f.e.gen, f.e.stale = f.gen, f.dirty
		c.insertLocked(f.e)
	}
	c.mu.Unlock()
	close(f.done)
	return f.e, f.err
}

// load looks key up and returns its new entry: old's SP when the version
// is unchanged, else a new SP. now is when the Lookup started.
func (c *Cache) load(ctx context.Context, key string, old *entry, now time.Time) (*entry, error) {
	cust, err := c.Registry.Lookup(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("tenants: registry lookup of %q: %w", key, err)
	case cust.Key != key:
		return nil, fmt.Errorf("tenants: the registry returned customer %q for key %q", cust.Key, key)
	}
	if old.key != "" && old.cust.Version == cust.Version && old.cust.Enabled == cust.Enabled &&
		(old.err == nil || now.Sub(old.built) < failedRetry) {
		e := *old
		e.checked, e.prev, e.next = now, nil, nil
		return &e, nil
	}
	md := cust.Metadata
	cust.Metadata = nil // not kept: the SP holds what it parsed
	e := &entry{key: key, cust: cust, checked: now, built: now}
	if !cust.Enabled {
		e.size = entryBytes(&cust, nil)
		return e, nil
	}
	c.mu.Lock()
	c.stats.Builds++
	c.mu.Unlock()
	e.sp, e.err = c.build(ctx, key, cust, md)
	if e.err != nil {
		e.err = fmt.Errorf("tenants: customer %q (version %d) cannot be served: %w", key, cust.Version, e.err)
		c.logger.ErrorContext(ctx, "entrasaml: cannot build the customer's SP", "key", key,
			"version", cust.Version, "err", e.err)
	}
	e.size = entryBytes(&cust, e.sp)
	return e, nil
}

// build makes the SP of cust, the customer at key, with metadata md.
func (c *Cache) build(ctx context.Context, key string, cust Customer, md []byte) (*entrasaml.SP, error) {
	if err := c.checkKey(key, cust.BaseURL); err != nil {
		return nil, err
	}
	cust.Metadata = md
	return entrasaml.New(ctx, cust.Config(c.tmpl))
}

// checkKey checks that base is at key in the Cache's mode: its host in
// host mode, its path "/"+key in path mode.
func (c *Cache) checkKey(key, base string) error {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return fmt.Errorf("BaseURL %q cannot be parsed", base)
	case c.PathMode && strings.TrimRight(u.Path, "/") == "/"+key:
		return nil
	case !c.PathMode && HostKey(u.Host) == key:
		return nil
	case c.PathMode:
		return fmt.Errorf("BaseURL %q is not at path /%s", base, key)
	}
	return fmt.Errorf("BaseURL %q is not at host %q", base, key)
}

// freshLocked reports whether e may be served without a Lookup.
func (c *Cache) freshLocked(e *entry, now time.Time) bool {
	if e.stale || e.gen != c.gen {
		return false
	}
	age := now.Sub(e.checked)
	switch {
	case e.err != nil && age >= failedRetry:
		return false
	case c.watching:
		return age < watchedRecheck
	}
	return age < c.maxStale
}

// changed is the Watcher's callback.
func (c *Cache) changed(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == "" {
		c.gen++
		c.watching = true
		for _, f := range c.flights {
			f.dirty = true
		}
		return
	}
	if e := c.entries[key]; e != nil {
		e.stale = true
	}
	if f := c.flights[key]; f != nil {
		f.dirty = true
	}
}

// ErrNoWatcher is returned by [Cache.Run] when the Registry is not a
// [Watcher]: the Cache then relies on MaxStale alone.
var ErrNoWatcher = errors.New("tenants: the registry is not a Watcher")

// Run subscribes to the Registry's changes ([Watcher]) and returns only
// when ctx is done (ctx.Err()), or at once with ErrNoWatcher, or with an
// error when Run is already running. When Watch fails, Run logs the
// error, falls back to MaxStale revalidation, and calls Watch again after
// a backoff (1 s, doubling up to 30 s). Call it once, in its own
// goroutine, for the life of the Cache.
func (c *Cache) Run(ctx context.Context) error {
	c.once.Do(c.init)
	w, ok := c.Registry.(Watcher)
	if !ok {
		return ErrNoWatcher
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("tenants: Cache.Run is already running")
	}
	defer c.running.Store(false)
	backoff := minWatchBackoff
	for {
		start := time.Now()
		err := w.Watch(ctx, c.changed)
		c.mu.Lock()
		c.watching = false
		c.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > time.Minute {
			backoff = minWatchBackoff
		}
		c.logger.WarnContext(ctx, "entrasaml: the registry's change notifications stopped; polling until they resume",
			"err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxWatchBackoff)
	}
}

// The LRU list, most recently used first; c.mu is held.

func (c *Cache) touchLocked(e *entry) {
	if c.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.pushLocked(e)
}

func (c *Cache) pushLocked(e *entry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}

func (c *Cache) removeLocked(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// insertLocked adds e (replacing its key's entry) and evicts the least
// recently used entries while over a limit.
func (c *Cache) insertLocked(e *entry) {
	if old := c.entries[e.key]; old != nil {
		c.removeLocked(old)
	}
	c.entries[e.key] = e
	c.bytes += e.size
	c.pushLocked(e)
	for len(c.entries) > 1 && (len(c.entries) > c.maxN || c.bytes > c.maxBytes) {
		c.removeLocked(c.lru.prev)
		c.stats.Evictions++
	}
}

// The size estimate of a cache entry, measured with
// TestCacheEntryBytes (go test -run TestCacheEntryBytes -v ./tenants),
// which fails when the estimate is off by more than a quarter.
const (
	entryOverhead   = 400  // entry, map slot, Customer header
	spOverhead      = 2400 // an SP with the Template's shared Store and SessionKeys, without its IdP certificates
	certOverhead    = 800  // a parsed *x509.Certificate besides its DER
	certBytesPerDER = 3    // heap per byte of a certificate's DER (Raw and what parsing keeps)
)

// entryBytes estimates the heap an entry for cust holds with sp (nil when
// none was built).
func entryBytes(cust *Customer, sp *entrasaml.SP) int64 {
	n := entryOverhead + len(cust.Key) + len(cust.EntityID) + len(cust.BaseURL) + len(cust.MetadataURL)
	for _, s := range cust.MetadataSigners {
		n += 16 + len(s)
	}
	if sp != nil {
		n += spOverhead + len(cust.EntityID) + 3*len(cust.BaseURL) // the SP's own copies and URLs
		for _, cert := range sp.IdPMetadata().Certificates {
			n += certOverhead + certBytesPerDER*len(cert.Raw)
		}
	}
	return int64(n)
}
