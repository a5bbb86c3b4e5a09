package tenants_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// The Cache over time: polling and notifications, a registry that fails,
// broken metadata, concurrent loads of one customer, a Watcher that fails
// and a load that panics. Fleets and helpers are in cache_test.go.

// syncBuffer is a log destination for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Polling: without a Watcher, a change is served after MaxStale.
func TestCachePollsVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	mem := newFleet(t, 3, []*entratest.IdP{idpA})
	reg := &flakyRegistry{Registry: mem}
	clk := &clock{now: fxNow}
	cache := newCache(reg, clk.Now, func(c *tenants.Cache) { c.MaxStale = 2 * time.Second })
	app := &tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}
	key := fleetHost(1)
	sp1 := mustSP(t, cache, key)

	// Unchanged: after MaxStale one Lookup confirms the version and keeps the SP.
	clk.Advance(2 * time.Second)
	if sp := mustSP(t, cache, key); sp != sp1 || reg.calls.Load() != 2 || cache.Stats().Builds != 1 {
		t.Errorf("revalidation rebuilt: %d lookups, %+v", reg.calls.Load(), cache.Stats())
	}

	// Changed: served from the next Lookup on, within MaxStale.
	c, _ := mem.Lookup(ctx, key)
	c.Metadata = idpB.Metadata()
	if _, err := mem.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if sp := mustSP(t, cache, key); sp != sp1 {
		t.Error("change served before MaxStale: the clock says the copy is fresh")
	}
	clk.Advance(time.Second)
	sp2 := mustSP(t, cache, key)
	if sp2 == sp1 || signer(sp2) != signer(customerSP(t, idpB, "https://"+key, nil)) {
		t.Errorf("new metadata not served after MaxStale")
	}

	// Disabled: 404 once the copy is stale; enabled again: served again.
	if _, err := mem.Disable(ctx, key); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if code := status(app, "https://"+key+"/saml/metadata"); code != http.StatusNotFound {
		t.Errorf("disabled customer: %d", code)
	}
	if sp, cust, err := cache.Lookup(ctx, key); sp != nil || err != nil || cust.Key != key || cust.Enabled {
		t.Errorf("disabled customer: %v %+v %v", sp, cust, err)
	}
	c, _ = mem.Lookup(ctx, key)
	c.Enabled = true
	mem.Put(ctx, c)
	clk.Advance(2 * time.Second)
	if code := status(app, "https://"+key+"/saml/metadata"); code != http.StatusOK {
		t.Errorf("enabled again: %d", code)
	}

	// Deleted: 404 and dropped from the cache.
	n := cache.Stats().Entries
	mem.Delete(ctx, key)
	clk.Advance(2 * time.Second)
	if code := status(app, "https://"+key+"/saml/metadata"); code != http.StatusNotFound || cache.Stats().Entries != n-1 {
		t.Errorf("deleted customer: %d, %+v", code, cache.Stats())
	}
}

// The registry down: 503 for customers not cached, and for cached ones
// once their copy is older than MaxStale; served again when it is back.
func TestCacheRegistryDown(t *testing.T) {
	t.Parallel()
	reg := &flakyRegistry{Registry: newFleet(t, 3, []*entratest.IdP{tenantIdP(t, 0)})}
	clk := &clock{now: fxNow}
	var logs syncBuffer
	cache := newCache(reg, clk.Now, nil)
	app := &tenants.Router{Resolve: cache.Resolve, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	cached := "https://" + fleetHost(0) + "/saml/metadata"
	if code := status(app, cached); code != 200 {
		t.Fatalf("before the outage: %d", code)
	}
	reg.down.Store(true)
	for _, u := range []string{"https://" + fleetHost(1) + "/saml/metadata", "https://nobody.fleet.example/"} {
		if code := status(app, u); code != http.StatusServiceUnavailable {
			t.Errorf("%s, registry down: %d", u, code)
		}
	}
	if code := status(app, cached); code != 200 {
		t.Errorf("cached customer within MaxStale: %d", code)
	}
	clk.Advance(tenants.DefaultMaxStale)
	if code := status(app, cached); code != http.StatusServiceUnavailable {
		t.Errorf("cached customer past MaxStale, registry down: %d", code)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log: %s", logs.String())
	}
	reg.down.Store(false)
	if code := status(app, cached); code != 200 {
		t.Errorf("registry back: %d", code)
	}
	if s := cache.Stats(); s.Builds != 1 {
		t.Errorf("the outage rebuilt the SP: %+v", s)
	}
}

// A customer whose metadata does not parse gets a 503 and a log line; the
// others are served; the build is retried when its version changes.
func TestCacheBrokenMetadata(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp := tenantIdP(t, 0)
	reg := newFleet(t, 2, []*entratest.IdP{idp})
	broken := fleetCustomer(5, []byte("<EntityDescriptor>not metadata"))
	if _, err := reg.Put(ctx, broken); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	clk := &clock{now: fxNow}
	cache := newCache(reg, clk.Now, func(c *tenants.Cache) {
		c.Template.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	app := &tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}
	for range 3 {
		if code := status(app, "https://"+fleetHost(5)+"/saml/metadata"); code != http.StatusServiceUnavailable {
			t.Errorf("broken metadata: %d", code)
		}
	}
	if code := status(app, "https://"+fleetHost(1)+"/saml/metadata"); code != 200 {
		t.Errorf("another customer: %d", code)
	}
	if n := strings.Count(logs.String(), "cannot build the customer's SP"); n != 1 || !strings.Contains(logs.String(), fleetHost(5)) {
		t.Errorf("%d build failures logged, want 1 (cached): %s", n, logs.String())
	}
	_, _, err := cache.Lookup(ctx, fleetHost(5))
	if !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("error %v, want ErrMetadata", err)
	}
	// Retried after 10 s.
	clk.Advance(10 * time.Second)
	status(app, "https://"+fleetHost(5)+"/saml/metadata")
	if n := strings.Count(logs.String(), "cannot build the customer's SP"); n != 2 {
		t.Errorf("%d build failures logged after the retry interval, want 2", n)
	}
	// Fixed by the admin: served from the next Lookup.
	c, _ := reg.Lookup(ctx, fleetHost(5))
	c.Metadata = idp.Metadata()
	reg.Put(ctx, c)
	clk.Advance(time.Second)
	if code := status(app, "https://"+fleetHost(5)+"/saml/metadata"); code != 200 {
		t.Errorf("fixed metadata: %d", code)
	}
}

// gatedRegistry holds every Lookup until released.
type gatedRegistry struct {
	tenants.Registry
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func (g *gatedRegistry) Lookup(ctx context.Context, key string) (tenants.Customer, error) {
	c, err := g.Registry.Lookup(ctx, key) // the registry's answer before the gate
	g.calls.Add(1)
	g.entered <- struct{}{}
	<-g.release
	return c, err
}

// A burst of requests for a cold customer makes one Lookup and one build.
func TestCacheSingleFlight(t *testing.T) {
	t.Parallel()
	reg := &gatedRegistry{Registry: newFleet(t, 2, []*entratest.IdP{tenantIdP(t, 0)}),
		entered: make(chan struct{}, 100), release: make(chan struct{})}
	cache := newCache(reg, pinned, nil)
	const burst = 50
	sps := make(chan *entrasaml.SP, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			sp, _, err := cache.Lookup(context.Background(), fleetHost(1))
			if err != nil {
				t.Error(err)
			}
			sps <- sp
		})
	}
	<-reg.entered
	// A waiter that gives up gets its own ctx error; the flight goes on.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := cache.Lookup(ctx, fleetHost(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(reg.release)
	wg.Wait()
	close(sps)
	first := <-sps
	for sp := range sps {
		if sp != first || sp == nil {
			t.Fatal("the burst got different SPs")
		}
	}
	if s := cache.Stats(); reg.calls.Load() != 1 || s.Lookups != 1 || s.Builds != 1 {
		t.Errorf("%d registry calls, %+v", reg.calls.Load(), s)
	}
}

// runCache runs cache.Run until the test ends and waits until it watches.
func runCache(t *testing.T, cache *tenants.Cache) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- cache.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "the Watcher", func() bool { return cache.Stats().Watching })
}

// waitFor polls cond until it holds (a notification is asynchronous).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Notifications: with a live Watcher a change is served at once, though the
// clock (pinned) never makes the cached copy stale.
func TestCacheNotifications(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	mem := newFleet(t, 3, []*entratest.IdP{idpA})
	cache := newCache(mem, pinned, nil)
	app := &tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}
	runCache(t, cache)
	if err := cache.Run(ctx); err == nil || errors.Is(err, tenants.ErrNoWatcher) {
		t.Errorf("second Run: %v", err)
	}
	key := fleetHost(2)
	sp1 := mustSP(t, cache, key)
	lookups := cache.Stats().Lookups

	c, _ := mem.Lookup(ctx, key)
	c.Metadata = idpB.Metadata()
	mem.Put(ctx, c)
	waitFor(t, "the new metadata", func() bool { return mustSP(t, cache, key) != sp1 })
	if s := cache.Stats(); s.Lookups != lookups+1 || s.Builds != 2 {
		t.Errorf("stats %+v", s)
	}
	mem.Disable(ctx, key)
	waitFor(t, "the disabled customer's 404", func() bool { return status(app, "https://"+key+"/") == http.StatusNotFound })
	c, _ = mem.Lookup(ctx, key)
	c.Enabled = true
	mem.Put(ctx, c)
	waitFor(t, "the enabled customer", func() bool { return status(app, "https://"+key+"/saml/metadata") == 200 })
	mem.Delete(ctx, key)
	waitFor(t, "the deleted customer's 404", func() bool { return status(app, "https://"+key+"/saml/metadata") == http.StatusNotFound })

	// Unchanged customers are not looked up again.
	mustSP(t, cache, fleetHost(0))
	lookups = cache.Stats().Lookups
	for range 10 {
		mustSP(t, cache, fleetHost(0))
	}
	if s := cache.Stats(); s.Lookups != lookups {
		t.Errorf("cached customer looked up again: %+v", s)
	}

	if err := (&tenants.Cache{Registry: &flakyRegistry{Registry: mem}}).Run(ctx); !errors.Is(err, tenants.ErrNoWatcher) {
		t.Errorf("Run without a Watcher: %v", err)
	}
}

// A change notified while the customer's Lookup is in flight is not lost:
// the SP built from the older answer is served to that burst only.
func TestCacheNotificationDuringLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	mem := newFleet(t, 2, []*entratest.IdP{idpA})
	gated := &gatedRegistry{Registry: mem, entered: make(chan struct{}, 10), release: make(chan struct{}, 10)}
	cache := newCache(struct {
		tenants.Registry
		tenants.Watcher
	}{gated, mem}, pinned, nil)
	runCache(t, cache)
	key := fleetHost(1)
	first := make(chan *entrasaml.SP)
	go func() {
		sp, _, _ := cache.Lookup(ctx, key)
		first <- sp
	}()
	<-gated.entered // the registry answered with the old metadata
	c, _ := mem.Lookup(ctx, key)
	c.Metadata = idpB.Metadata()
	mem.Put(ctx, c)
	time.Sleep(10 * time.Millisecond) // let the notification arrive while the Lookup is held
	gated.release <- struct{}{}
	sp1 := <-first
	if signer(sp1) != signer(customerSP(t, idpA, "https://"+key, nil)) {
		t.Fatal("the held Lookup's answer was not the old one")
	}
	gated.release <- struct{}{} // for the next Lookup, if there is one
	sp2 := mustSP(t, cache, key)
	if signer(sp2) != signer(customerSP(t, idpB, "https://"+key, nil)) {
		t.Error("the change notified during the Lookup was lost")
	}
}

// watchOnce is a Watcher whose Watch subscribes, then fails when told.
type watchOnce struct {
	tenants.Registry
	fail chan error
}

func (w *watchOnce) Watch(ctx context.Context, changed func(string)) error {
	changed("")
	select {
	case err := <-w.fail:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// When the Watcher fails, the Cache polls: cached customers are looked up
// again after MaxStale.
func TestCacheWatcherFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	mem := newFleet(t, 2, []*entratest.IdP{idpA})
	w := &watchOnce{Registry: mem, fail: make(chan error, 1)}
	clk := &clock{now: fxNow}
	var logs syncBuffer
	cache := newCache(w, clk.Now, func(c *tenants.Cache) { c.Template.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	runCache(t, cache)
	key := fleetHost(1)
	sp1 := mustSP(t, cache, key)
	c, _ := mem.Lookup(ctx, key)
	c.Metadata = idpB.Metadata()
	mem.Put(ctx, c) // watchOnce reports nothing
	clk.Advance(time.Minute)
	if mustSP(t, cache, key) != sp1 {
		t.Fatal("rebuilt without a notification while watching")
	}
	w.fail <- errors.New("LISTEN connection lost")
	waitFor(t, "the fallback to polling", func() bool { return !cache.Stats().Watching })
	if mustSP(t, cache, key) == sp1 {
		t.Error("a copy checked a minute ago was served after the Watcher failed")
	}
	if !strings.Contains(logs.String(), "LISTEN connection lost") {
		t.Errorf("log: %s", logs.String())
	}
}

// panicRegistry panics in its first Lookup.
type panicRegistry struct {
	tenants.Registry
	panicked atomic.Bool
}

func (p *panicRegistry) Lookup(ctx context.Context, key string) (tenants.Customer, error) {
	if p.panicked.CompareAndSwap(false, true) {
		panic("registry bug")
	}
	return p.Registry.Lookup(ctx, key)
}

// A panic while loading a customer does not leave its key stuck.
func TestCacheLoadPanics(t *testing.T) {
	t.Parallel()
	cache := newCache(&panicRegistry{Registry: newFleet(t, 2, []*entratest.IdP{tenantIdP(t, 0)})}, pinned, nil)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		cache.Lookup(context.Background(), fleetHost(1))
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		mustSP(t, cache, fleetHost(1))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the key is stuck after a panic")
	}
}
