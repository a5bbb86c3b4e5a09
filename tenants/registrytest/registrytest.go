// Package registrytest is a conformance suite for implementations of
// [tenants.RegistryWriter] (and, when they implement it,
// [tenants.Watcher]). Every registry, the in-memory one and those in other
// modules (SQL), runs the same suite in its own tests:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter {
//			return myregistry.Open(t.Context(), db) // a new instance on the same database each call
//		}, registrytest.Options{})
//	}
//
// # What it checks
//
//   - Lookup: a missing key (and "") is ErrNotFound; a stored customer
//     comes back field for field (Metadata byte for byte,
//     MetadataFetchedAt to the microsecond, durations, flags), with the
//     version Put returned.
//   - Put's expected version: 0 creates (ErrConflict when the key exists),
//     the read version replaces (ErrConflict when stale or gone); of 32
//     goroutines replacing the same read version, exactly one wins. An
//     invalid customer is ErrInvalidCustomer and stores nothing.
//   - Versions: positive and increasing across every write to any key,
//     and after Delete and re-creation.
//   - Disable (Enabled and Enforced off, a new version, ErrNotFound when
//     missing) and Delete (ErrNotFound afterwards and when missing).
//   - Contexts: a cancelled context makes every method return an error
//     matching context.Canceled (never ErrNotFound) and write nothing.
//   - Watch (when the registry is a Watcher): changed("") first; then, on
//     a second instance from newRegistry, every Put, Disable and Delete
//     through the first within Options.Propagation; ctx.Err() when
//     cancelled.
//   - Two instances: two [tenants.Cache]s, one per instance (the second
//     running its Watcher, if any), serve through [tenants.Router] a
//     customer added, replaced, disabled, enabled again and deleted
//     through the first instance within Options.Propagation (polling with
//     MaxStale 1 s when there is no Watcher).
//
// Each check uses keys of its own, unique per Run, so newRegistry may
// return instances on one shared database, and the suite runs its checks
// in parallel (t.Parallel). It leaves the customers it wrote behind, under
// keys no later run reuses; each is at most a few kilobytes.
package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// Options tune the suite.
type Options struct {
	// Propagation is how long a write through one instance may take to be
	// seen by a Watch, or served by a Cache, on another. 0: 2 s (the
	// fleet's promise: a change is served by every instance within 2 s).
	Propagation time.Duration
}

// suite is one Run's shared state.
type suite struct {
	newRegistry func(t *testing.T) tenants.RegistryWriter
	prop        time.Duration
	prefix      string
	seq         atomic.Int64

	idpOnce sync.Once
	idps    [2]*entratest.IdP
	idpErr  error
}

// Run runs the suite. newRegistry returns an instance of the registry
// under test: each call may return the same instance or a new one on the
// same store (the Watch and two-instance checks call it twice, and write
// through the first).
func Run(t *testing.T, newRegistry func(t *testing.T) tenants.RegistryWriter, opts Options) {
	var b [4]byte
	rand.Read(b[:])
	s := &suite{newRegistry: newRegistry, prop: opts.Propagation, prefix: "rt" + hex.EncodeToString(b[:])}
	if s.prop <= 0 {
		s.prop = 2 * time.Second
	}
	_, watcher := newRegistry(t).(tenants.Watcher)
	checks := []struct {
		name string
		f    func(*testing.T)
	}{
		{"LookupMissing", s.lookupMissing},
		{"RoundTrip", s.roundTrip},
		{"ExpectedVersion", s.expectedVersion},
		{"ConcurrentPut", s.concurrentPut},
		{"Invalid", s.invalid},
		{"VersionsIncrease", s.versionsIncrease},
		{"DisableDelete", s.disableDelete},
		{"CancelledContext", s.cancelled},
		{"TwoInstances", s.twoInstances},
	}
	if watcher {
		checks = append(checks, struct {
			name string
			f    func(*testing.T)
		}{"Watch", s.watch})
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f(t)
		})
	}
}

// key returns a host key no other check or run uses.
func (s *suite) key(name string) string {
	return fmt.Sprintf("%s-%d-%s.fleet.example", s.prefix, s.seq.Add(1), name)
}

// customer returns an enabled customer at a new key with metadata md.
func (s *suite) customer(name string, md []byte) tenants.Customer {
	key := s.key(name)
	return tenants.Customer{Key: key, EntityID: "https://" + key + "/saml", BaseURL: "https://" + key,
		Metadata: md, Enabled: true}
}

// tenants returns two fake Entra tenants with different signing keys.
func (s *suite) tenants(t *testing.T) [2]*entratest.IdP {
	t.Helper()
	s.idpOnce.Do(func() {
		for i := range s.idps {
			s.idps[i], s.idpErr = entratest.New(entratest.Options{})
			if s.idpErr != nil {
				return
			}
		}
	})
	if s.idpErr != nil {
		t.Fatal(s.idpErr)
	}
	return s.idps
}

var ctx = context.Background()

func mustPut(t *testing.T, r tenants.RegistryWriter, c tenants.Customer) int64 {
	t.Helper()
	v, err := r.Put(ctx, c)
	if err != nil {
		t.Fatalf("Put(%s): %v", c.Key, err)
	}
	if v <= 0 {
		t.Fatalf("Put(%s) returned version %d", c.Key, v)
	}
	return v
}

func mustLookup(t *testing.T, r tenants.Registry, key string) tenants.Customer {
	t.Helper()
	c, err := r.Lookup(ctx, key)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", key, err)
	}
	return c
}

func (s *suite) lookupMissing(t *testing.T) {
	r := s.newRegistry(t)
	for _, key := range []string{"", s.key("missing"), "/", "x y"} {
		if c, err := r.Lookup(ctx, key); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrNotFound", key, c, err)
		}
	}
}

func (s *suite) roundTrip(t *testing.T) {
	r := s.newRegistry(t)
	md := []byte("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EntityDescriptor ID=\"_é\u00a0✓\">\r\n\t<x a='&amp;'/>\x00</EntityDescriptor>")
	c := s.customer("roundtrip", md)
	c.MetadataURL = "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml?appid=a&x=%20"
	c.MetadataFetchedAt = time.Date(2026, 11, 28, 12, 34, 56, 789012000, time.FixedZone("CET", 3600))
	c.MetadataSigners = []string{strings.Repeat("ab", 32), strings.Repeat("CD:", 31) + "CD"}
	c.Options = tenants.Options{AllowIdPInitiated: true, AllowSHA1: true, ClockSkew: 90 * time.Second,
		SessionMaxAge: 12 * time.Hour, LocalLogoutOnly: true}
	c.Enforced = true
	v := mustPut(t, r, c)
	got := mustLookup(t, r, c.Key)
	if !got.MetadataFetchedAt.Equal(c.MetadataFetchedAt) {
		t.Errorf("MetadataFetchedAt %v, want %v", got.MetadataFetchedAt, c.MetadataFetchedAt)
	}
	want := c
	want.Version = v
	got.MetadataFetchedAt, want.MetadataFetchedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Lookup returned\n%+v\nwant\n%+v", got, want)
	}

	// Zero values stay zero: a disabled customer with no metadata.
	z := s.customer("zero", nil)
	z.Enabled = false
	v = mustPut(t, r, z)
	got = mustLookup(t, r, z.Key)
	if got.Enabled || got.Enforced || len(got.Metadata) != 0 || got.MetadataURL != "" || !got.MetadataFetchedAt.IsZero() ||
		len(got.MetadataSigners) != 0 || got.Options != (tenants.Options{}) || got.Version != v {
		t.Errorf("zero customer: %+v", got)
	}
}

func (s *suite) expectedVersion(t *testing.T) {
	r := s.newRegistry(t)
	c := s.customer("expected", []byte("<md/>"))
	c.Version = 42
	if _, err := r.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("Put of a missing customer with a version: %v, want ErrConflict", err)
	}
	if _, err := r.Lookup(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("a refused Put stored the customer: %v", err)
	}
	c.Version = 0
	v1 := mustPut(t, r, c)
	if _, err := r.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("creating an existing customer: %v, want ErrConflict", err)
	}
	c.Version, c.EntityID = v1, "https://"+c.Key+"/v2"
	v2 := mustPut(t, r, c)
	c.EntityID = "https://" + c.Key + "/stale"
	if _, err := r.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("replacing from a stale read: %v, want ErrConflict", err)
	}
	if got := mustLookup(t, r, c.Key); got.Version != v2 || got.EntityID != "https://"+c.Key+"/v2" {
		t.Errorf("after the conflicts: %+v", got)
	}
	if err := r.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	c.Version = v2
	if _, err := r.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("replacing a deleted customer: %v, want ErrConflict", err)
	}
}

func (s *suite) concurrentPut(t *testing.T) {
	r := s.newRegistry(t)
	c := s.customer("race", []byte("<md/>"))
	c.Version = mustPut(t, r, c)
	const n = 32
	var wins atomic.Int64
	var winner atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := c
			c.EntityID = fmt.Sprintf("https://%s/%d", c.Key, i)
			v, err := r.Put(ctx, c)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(int64(i)<<32 | v)
			case !errors.Is(err, tenants.ErrConflict):
				t.Errorf("concurrent Put: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent Puts of one read version succeeded, want 1", wins.Load(), n)
	}
	i, v := winner.Load()>>32, winner.Load()&(1<<32-1)
	if got := mustLookup(t, r, c.Key); got.Version != v || got.EntityID != fmt.Sprintf("https://%s/%d", c.Key, i) {
		t.Errorf("stored %+v, want the winner's (%d, version %d)", got, i, v)
	}
}

func (s *suite) invalid(t *testing.T) {
	r := s.newRegistry(t)
	for name, mod := range map[string]func(*tenants.Customer){
		"BaseURL elsewhere": func(c *tenants.Customer) { c.BaseURL = "https://elsewhere.example" },
		"no metadata":       func(c *tenants.Customer) { c.Metadata = nil },
		"key not canonical": func(c *tenants.Customer) {
			c.Key, c.BaseURL = strings.ToUpper(c.Key), "https://"+strings.ToUpper(c.Key)
		},
	} {
		c := s.customer("invalid", []byte("<md/>"))
		mod(&c)
		if _, err := r.Put(ctx, c); !errors.Is(err, tenants.ErrInvalidCustomer) {
			t.Errorf("%s: Put returned %v, want ErrInvalidCustomer", name, err)
		}
		if _, err := r.Lookup(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("%s: stored anyway (%v)", name, err)
		}
	}
}

func (s *suite) versionsIncrease(t *testing.T) {
	r := s.newRegistry(t)
	var last int64
	next := func(what string, v int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v <= last {
			t.Errorf("%s: version %d after %d, want a greater one", what, v, last)
		}
		last = v
	}
	a, b := s.customer("va", []byte("<md/>")), s.customer("vb", []byte("<md/>"))
	v, err := r.Put(ctx, a)
	next("create a", v, err)
	a.Version = v
	v, err = r.Put(ctx, b)
	next("create b", v, err)
	v, err = r.Put(ctx, a)
	next("replace a", v, err)
	v, err = r.Disable(ctx, b.Key)
	next("disable b", v, err)
	v, err = r.Disable(ctx, b.Key)
	next("disable b again", v, err)
	if err := r.Delete(ctx, a.Key); err != nil {
		t.Fatal(err)
	}
	a.Version = 0
	v, err = r.Put(ctx, a)
	next("re-create a", v, err)
	if got := mustLookup(t, r, a.Key); got.Version != v {
		t.Errorf("Lookup version %d, Put returned %d", got.Version, v)
	}
}

func (s *suite) disableDelete(t *testing.T) {
	r := s.newRegistry(t)
	c := s.customer("disable", []byte("<md/>"))
	c.Enforced = true
	v1 := mustPut(t, r, c)
	v2, err := r.Disable(ctx, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	got := mustLookup(t, r, c.Key)
	if got.Enabled || got.Enforced || got.Version != v2 || v2 <= v1 || !slices.Equal(got.Metadata, c.Metadata) {
		t.Errorf("after Disable: %+v (version %d, was %d)", got, v2, v1)
	}
	for name, err := range map[string]error{
		"Disable": func() error { _, err := r.Disable(ctx, s.key("nobody")); return err }(),
		"Delete":  r.Delete(ctx, s.key("nobody")),
	} {
		if !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("%s of a missing customer: %v, want ErrNotFound", name, err)
		}
	}
	if err := r.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("Lookup after Delete: %v", err)
	}
	if err := r.Delete(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

func (s *suite) cancelled(t *testing.T) {
	r := s.newRegistry(t)
	c := s.customer("ctx", []byte("<md/>"))
	c.Version = mustPut(t, r, c)
	done, cancel := context.WithCancel(ctx)
	cancel()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", what, err)
		}
	}
	_, err := r.Lookup(done, c.Key)
	check("Lookup", err)
	_, err = r.Lookup(done, s.key("missing"))
	check("Lookup of a missing key", err)
	n := c
	n.EntityID = "https://" + c.Key + "/changed"
	_, err = r.Put(done, n)
	check("Put", err)
	_, err = r.Disable(done, c.Key)
	check("Disable", err)
	check("Delete", r.Delete(done, c.Key))
	if got := mustLookup(t, r, c.Key); got.Version != c.Version || !got.Enabled || got.EntityID != c.EntityID {
		t.Errorf("a cancelled write changed the customer: %+v", got)
	}
}

func (s *suite) watch(t *testing.T) {
	writer := s.newRegistry(t)
	w := s.newRegistry(t).(tenants.Watcher) // Run checked
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := make(chan string, 1024)
	done := make(chan error, 1)
	go func() { done <- w.Watch(wctx, func(key string) { seen <- key }) }()
	select {
	case key := <-seen:
		if key != "" {
			t.Fatalf("first call changed(%q), want changed(\"\")", key)
		}
	case err := <-done:
		t.Fatalf("Watch returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal(`no changed("") within 10 s of Watch`)
	}
	c := s.customer("watch", []byte("<md/>"))
	expect := func(what string) {
		t.Helper()
		start := time.Now()
		deadline := time.After(s.prop)
		for {
			select {
			case key := <-seen:
				if key == c.Key || key == "" {
					t.Logf("%s seen by the other instance's Watch after %v", what, time.Since(start).Round(time.Millisecond))
					return
				}
			case err := <-done:
				t.Fatalf("Watch returned %v", err)
			case <-deadline:
				t.Fatalf("%s not reported within %v", what, s.prop)
			}
		}
	}
	c.Version = mustPut(t, writer, c)
	expect("Put (create)")
	c.EntityID = "https://" + c.Key + "/v2"
	mustPut(t, writer, c)
	expect("Put (replace)")
	if _, err := writer.Disable(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	expect("Disable")
	if err := writer.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	expect("Delete")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v after cancel, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Watch did not return within 10 s of its context's cancel")
	}
}

func (s *suite) twoInstances(t *testing.T) {
	idps := s.tenants(t)
	a, b := s.newRegistry(t), s.newRegistry(t)
	template := entrasaml.Config{Store: entrasaml.NewMemoryStore(nil), Logger: slog.New(slog.DiscardHandler)}
	cacheB := &tenants.Cache{Registry: b, Template: template, MaxStale: time.Second}
	if _, ok := b.(tenants.Watcher); ok {
		rctx, cancel := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- cacheB.Run(rctx) }()
		t.Cleanup(func() { cancel(); <-ran })
		deadline := time.Now().Add(10 * time.Second)
		for !cacheB.Stats().Watching {
			if time.Now().After(deadline) {
				t.Fatal("instance b's Cache is not watching after 10 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	router := &tenants.Router{Resolve: cacheB.Resolve, Logger: template.Logger}
	c := s.customer("fleet", idps[0].Metadata())
	page := "https://" + c.Key + "/saml/metadata"
	served := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > s.prop {
				t.Fatalf("%s through instance a not served by instance b within %v", what, s.prop)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s served by instance b after %v", what, time.Since(start).Round(time.Millisecond))
	}
	code := func() int {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, page, nil))
		return rec.Code
	}
	signer := func() string {
		sp, _, err := cacheB.Lookup(ctx, c.Key)
		if err != nil || sp == nil {
			return ""
		}
		return string(sp.IdPMetadata().Certificates[0].Raw)
	}
	if code() != http.StatusNotFound {
		t.Fatal("a customer not yet added is served")
	}
	c.Version = mustPut(t, a, c)
	served("add", func() bool { return code() == http.StatusOK })
	c.Metadata = idps[1].Metadata()
	c.Version = mustPut(t, a, c)
	want := string(idps[1].SigningKey().Certificate.Raw)
	served("replace", func() bool { return signer() == want })
	if _, err := a.Disable(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	served("disable", func() bool { return code() == http.StatusNotFound })
	c = mustLookup(t, a, c.Key)
	c.Enabled = true
	mustPut(t, a, c)
	served("enable", func() bool { return code() == http.StatusOK })
	if err := a.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	served("delete", func() bool { return code() == http.StatusNotFound })
}
