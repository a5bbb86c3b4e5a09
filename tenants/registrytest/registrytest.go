// Package registrytest is a conformance suite for implementations of
// [tenants.RegistryWriter] (and [tenants.Watcher], when implemented): the
// contract that package tenants documents, checked the same way for every
// backend.
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) tenants.RegistryWriter {
//			return newEmptyRegistry(t) // closed by t.Cleanup
//		})
//	}
package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/tenants"
)

// Run runs the suite. It does not check whether a registry copies the
// slices it is given and returns (a database does; MemoryRegistry
// documents that it does not). open returns an empty registry for one subtest (each
// subtest calls it once, possibly in parallel with others) and arranges
// its cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) tenants.RegistryWriter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, r tenants.RegistryWriter)
	}{
		{"LookupUnknown", testLookupUnknown},
		{"RoundTrip", testRoundTrip},
		{"Versions", testVersions},
		{"Invalid", testInvalid},
		{"Disable", testDisable},
		{"Delete", testDelete},
		{"Isolation", testIsolation},
		{"ConcurrentPut", testConcurrentPut},
		{"Watch", testWatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Customer returns a valid, enabled customer at host key whose metadata is
// placeholder bytes (registries do not parse metadata).
func Customer(key string) tenants.Customer {
	return tenants.Customer{
		Key:      key,
		EntityID: "https://" + key + "/saml",
		BaseURL:  "https://" + key,
		Metadata: []byte("<EntityDescriptor entityID=\"https://sts.windows.net/" + key + "/\"/>"),
		Enabled:  true,
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func put(t *testing.T, r tenants.RegistryWriter, c tenants.Customer) int64 {
	t.Helper()
	v, err := r.Put(ctx(t), c)
	if err != nil {
		t.Fatalf("Put(%q, version %d): %v", c.Key, c.Version, err)
	}
	if v <= 0 || v <= c.Version {
		t.Fatalf("Put(%q, version %d) returned version %d", c.Key, c.Version, v)
	}
	return v
}

func lookup(t *testing.T, r tenants.Registry, key string) tenants.Customer {
	t.Helper()
	c, err := r.Lookup(ctx(t), key)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", key, err)
	}
	if c.Key != key {
		t.Fatalf("Lookup(%q) returned key %q", key, c.Key)
	}
	return c
}

func wantNotFound(t *testing.T, r tenants.Registry, key string) {
	t.Helper()
	if c, err := r.Lookup(ctx(t), key); !errors.Is(err, tenants.ErrNotFound) {
		t.Fatalf("Lookup(%q) = %+v, %v; want ErrNotFound", key, c, err)
	}
}

func testLookupUnknown(t *testing.T, r tenants.RegistryWriter) {
	for _, k := range []string{"unknown.example", "", "UNKNOWN.example", "a/b"} {
		wantNotFound(t, r, k)
	}
	put(t, r, Customer("known.example"))
	for _, k := range []string{"KNOWN.example", "known.example.", "known.example:443", "nown.example", "known.exampl"} {
		wantNotFound(t, r, k)
	}
}

func testRoundTrip(t *testing.T, r tenants.RegistryWriter) {
	fetched := time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC) // microseconds: what SQL stores
	want := tenants.Customer{
		Key:               "tenant-a",
		EntityID:          "urn:vendor:tenant-a",
		BaseURL:           "https://vendor.example/tenant-a",
		MetadataURL:       "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml?appid=a",
		Metadata:          []byte("<md/>\x00\xff binary-safe"),
		MetadataFetchedAt: fetched,
		MetadataSigners:   []string{"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
		Options: tenants.Options{AllowIdPInitiated: true, AllowSHA1: true, ClockSkew: 90 * time.Second,
			SessionMaxAge: 8 * time.Hour, LocalLogoutOnly: true},
		Enabled:  true,
		Enforced: true,
	}
	want.Version = put(t, r, want)
	got := lookup(t, r, want.Key)
	if !got.MetadataFetchedAt.Equal(want.MetadataFetchedAt) {
		t.Errorf("MetadataFetchedAt = %v, want %v", got.MetadataFetchedAt, want.MetadataFetchedAt)
	}
	got.MetadataFetchedAt = want.MetadataFetchedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Lookup returned\n%+v\nwant\n%+v", got, want)
	}

	// The zero values come back as zero values: nil slices, zero time.
	bare := tenants.Customer{Key: "bare.example", EntityID: "e", BaseURL: "http://bare.example"}
	bare.Version = put(t, r, bare)
	if got := lookup(t, r, bare.Key); !reflect.DeepEqual(got, bare) {
		t.Errorf("Lookup returned\n%+v\nwant\n%+v", got, bare)
	}
}

func testVersions(t *testing.T, r tenants.RegistryWriter) {
	a := Customer("a.example")
	v1 := put(t, r, a)
	if _, err := r.Put(ctx(t), a); !errors.Is(err, tenants.ErrConflict) {
		t.Fatalf("creating an existing key: %v, want ErrConflict", err)
	}
	b := Customer("b.example")
	vb := put(t, r, b)
	if vb <= v1 {
		t.Errorf("version of a later write to another key %d <= %d", vb, v1)
	}
	a.Version = v1 + 1000
	if _, err := r.Put(ctx(t), a); !errors.Is(err, tenants.ErrConflict) {
		t.Fatalf("Put with a wrong version: %v, want ErrConflict", err)
	}
	a.Version = v1
	a.EntityID = "urn:changed"
	v2 := put(t, r, a)
	if v2 <= vb {
		t.Errorf("version %d not above every earlier one (%d)", v2, vb)
	}
	if got := lookup(t, r, a.Key); got.Version != v2 || got.EntityID != "urn:changed" {
		t.Errorf("after replace: version %d entity %q, want %d urn:changed", got.Version, got.EntityID, v2)
	}
	// A writer that read v1 lost the race to the one that wrote v2.
	a.Version = v1
	if _, err := r.Put(ctx(t), a); !errors.Is(err, tenants.ErrConflict) {
		t.Fatalf("Put with a stale version: %v, want ErrConflict", err)
	}
	if got := lookup(t, r, a.Key); got.Version != v2 {
		t.Errorf("a refused Put changed the version to %d", got.Version)
	}
}

func testInvalid(t *testing.T, r tenants.RegistryWriter) {
	bad := []func(c *tenants.Customer){
		func(c *tenants.Customer) { c.Key = "" },
		func(c *tenants.Customer) { c.Key = "Upper.example" },
		func(c *tenants.Customer) { c.EntityID = "" },
		func(c *tenants.Customer) { c.BaseURL = "https://other.example" },
		func(c *tenants.Customer) { c.Metadata = nil },
		func(c *tenants.Customer) { c.Enabled = false; c.Enforced = true },
		func(c *tenants.Customer) { c.MetadataSigners = []string{"nope"} },
		func(c *tenants.Customer) { c.Options.ClockSkew = -time.Second },
	}
	for i, f := range bad {
		c := Customer("x.example")
		f(&c)
		if _, err := r.Put(ctx(t), c); !errors.Is(err, tenants.ErrInvalidCustomer) {
			t.Errorf("case %d: Put(%+v) = %v, want ErrInvalidCustomer", i, c, err)
		}
	}
	wantNotFound(t, r, "x.example")
}

func testDisable(t *testing.T, r tenants.RegistryWriter) {
	c := Customer("d.example")
	c.Enforced = true
	v1 := put(t, r, c)
	v2, err := r.Disable(ctx(t), c.Key)
	if err != nil || v2 <= v1 {
		t.Fatalf("Disable = %d, %v; want a version above %d", v2, err, v1)
	}
	got := lookup(t, r, c.Key)
	if got.Enabled || got.Enforced || got.Version != v2 || !bytes.Equal(got.Metadata, c.Metadata) {
		t.Errorf("after Disable: %+v", got)
	}
	v3, err := r.Disable(ctx(t), c.Key)
	if err != nil || v3 <= v2 {
		t.Errorf("Disable again = %d, %v; want a new version above %d", v3, err, v2)
	}
	if _, err := r.Disable(ctx(t), "nobody.example"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("Disable(unknown) = %v, want ErrNotFound", err)
	}
	// Re-enabling is a Put with the version read.
	got = lookup(t, r, c.Key)
	got.Enabled = true
	put(t, r, got)
	if !lookup(t, r, c.Key).Enabled {
		t.Error("Put did not re-enable")
	}
}

func testDelete(t *testing.T, r tenants.RegistryWriter) {
	c := Customer("gone.example")
	v1 := put(t, r, c)
	if err := r.Delete(ctx(t), c.Key); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, r, c.Key)
	if err := r.Delete(ctx(t), c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("Delete twice = %v, want ErrNotFound", err)
	}
	c.Version = v1
	if _, err := r.Put(ctx(t), c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("Put over a deleted customer = %v, want ErrConflict", err)
	}
	c.Version = 0
	if v := put(t, r, c); v <= v1 {
		t.Errorf("recreated with version %d <= %d", v, v1)
	}
}

func testIsolation(t *testing.T, r tenants.RegistryWriter) {
	const n = 20
	for i := range n {
		c := Customer(fmt.Sprintf("c%02d.example", i))
		c.Metadata = fmt.Appendf(nil, "<md n=%d/>", i)
		put(t, r, c)
	}
	for i := range n {
		key := fmt.Sprintf("c%02d.example", i)
		if got := lookup(t, r, key); string(got.Metadata) != fmt.Sprintf("<md n=%d/>", i) {
			t.Errorf("%s has metadata %q", key, got.Metadata)
		}
	}
}

func testConcurrentPut(t *testing.T, r tenants.RegistryWriter) {
	c := Customer("race.example")
	c.Version = put(t, r, c)
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range writers {
		wg.Go(func() {
			w := c
			w.EntityID = fmt.Sprintf("urn:writer:%d", i)
			_, err := r.Put(ctx(t), w)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, tenants.ErrConflict):
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != writers-1 {
		t.Errorf("%d writers with one expected version: %d won, %d conflicts; want 1 and %d", writers, wins, conflicts, writers-1)
	}
}

// watchDeadline bounds how long a change may take to be reported: the
// contract's aim is a second; this leaves room for a loaded machine.
const watchDeadline = 5 * time.Second

func testWatch(t *testing.T, r tenants.RegistryWriter) {
	w, ok := r.(tenants.Watcher)
	if !ok {
		t.Log("not a Watcher")
		return
	}
	keys := make(chan string, 100)
	wctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Watch(wctx, func(k string) { keys <- k }) }()
	expect := func(want string) {
		t.Helper()
		deadline := time.After(watchDeadline)
		for {
			select {
			case k := <-keys:
				if k == want {
					return
				}
			case err := <-done:
				t.Fatalf("Watch returned %v while waiting for %q", err, want)
			case <-deadline:
				t.Fatalf("%q not reported within %v", want, watchDeadline)
			}
		}
	}
	select { // the first call is changed("")
	case k := <-keys:
		if k != "" {
			t.Fatalf("first call changed(%q), want changed(\"\")", k)
		}
	case err := <-done:
		t.Fatalf("Watch returned %v", err)
	case <-time.After(watchDeadline):
		t.Fatal("no changed(\"\") after subscribing")
	}
	c := Customer("w.example")
	c.Version = put(t, r, c)
	expect(c.Key)
	put(t, r, c)
	expect(c.Key)
	if _, err := r.Disable(ctx(t), c.Key); err != nil {
		t.Fatal(err)
	}
	expect(c.Key)
	if err := r.Delete(ctx(t), c.Key); err != nil {
		t.Fatal(err)
	}
	expect(c.Key)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch after cancel returned %v, want context.Canceled", err)
		}
	case <-time.After(watchDeadline):
		t.Fatal("Watch did not return after its context was canceled")
	}
}
