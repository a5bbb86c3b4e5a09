package sqlregistry_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
)

// clock is an Options.Now that a test advances.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// metadataServer serves an IdP's metadata on loopback and counts fetches;
// broken makes it answer 500.
type metadataServer struct {
	*httptest.Server
	idp     *entratest.IdP
	doc     atomic.Pointer[[]byte] // what it serves: idp.Metadata() as of the last publish
	fetches atomic.Int64
	broken  atomic.Bool
}

// publish serves the IdP's current metadata (entratest makes a new
// document, with a new ID, on every call).
func (m *metadataServer) publish() []byte {
	doc := m.idp.Metadata()
	m.doc.Store(&doc)
	return doc
}

func (m *metadataServer) served() []byte { return *m.doc.Load() }

func newMetadataServer(t *testing.T, now func() time.Time) *metadataServer {
	idp, err := entratest.New(entratest.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	m := &metadataServer{idp: idp}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		if m.broken.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(m.served())
	}))
	m.publish()
	t.Cleanup(m.Close)
	return m
}

// Two instances refresh the same customers: each customer is fetched by
// one of them per interval, the copy is stored with its fetch time and a
// new version, an unchanged copy is not rewritten, and a failed fetch
// keeps the last good copy.
func TestRefreshLease(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
			dsn := b.dsn(t)
			r1 := open(t, dsn, sqlregistry.Options{Now: clk.Now})
			r2 := open(t, dsn, sqlregistry.Options{Now: clk.Now})
			md := newMetadataServer(t, clk.Now)
			ctx := testCtx(t)

			const customers = 3
			keys := []string{"r0.example", "r1.example", "r2.example"}
			for _, k := range keys {
				c := tenants.Customer{Key: k, EntityID: "https://" + k, BaseURL: "https://" + k,
					MetadataURL: md.URL + "/" + k, Enabled: true}
				if _, err := r1.Put(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			// A customer without a URL is never fetched.
			if _, err := r1.Put(ctx, tenants.Customer{Key: "xml.example", EntityID: "e", BaseURL: "https://xml.example",
				Metadata: md.served(), Enabled: true}); err != nil {
				t.Fatal(err)
			}
			f1 := &sqlregistry.Refresher{Registry: r1, HTTPClient: md.Client(), Interval: time.Hour, Holder: "one", Batch: 2}
			f2 := &sqlregistry.Refresher{Registry: r2, HTTPClient: md.Client(), Interval: time.Hour, Holder: "two", Batch: 2}
			pass := func() int {
				t.Helper()
				var wg sync.WaitGroup
				var n1, n2 int
				var e1, e2 error
				wg.Go(func() { n1, e1 = f1.RefreshDue(ctx) })
				wg.Go(func() { n2, e2 = f2.RefreshDue(ctx) })
				wg.Wait()
				if e1 != nil || e2 != nil {
					t.Fatalf("RefreshDue: %v, %v", e1, e2)
				}
				return n1 + n2
			}
			// Batch 2 each: together they cover the three customers,
			// each customer exactly once.
			if n := pass() + pass(); n != customers {
				t.Errorf("first passes refreshed %d customers, want %d", n, customers)
			}
			if got := md.fetches.Load(); got != customers {
				t.Errorf("%d fetches for %d customers", got, customers)
			}
			versions := map[string]int64{}
			for _, k := range keys {
				c, err := r2.Lookup(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c.Metadata, md.served()) || !c.MetadataFetchedAt.Equal(clk.Now()) {
					t.Errorf("%s: metadata %d bytes fetched at %v; want the IdP's, at %v", k, len(c.Metadata), c.MetadataFetchedAt, clk.Now())
				}
				versions[k] = c.Version
			}

			// Within the interval, nobody fetches again.
			clk.Advance(30 * time.Minute)
			if n := pass(); n != 0 || md.fetches.Load() != customers {
				t.Errorf("within the interval: %d refreshed, %d fetches", n, md.fetches.Load())
			}

			// After it, each is fetched once more; the same document is
			// not rewritten (same version, same fetch time).
			clk.Advance(31 * time.Minute)
			if n := pass() + pass(); n != customers {
				t.Errorf("second interval refreshed %d, want %d", n, customers)
			}
			for _, k := range keys {
				if c, _ := r1.Lookup(ctx, k); c.Version != versions[k] {
					t.Errorf("%s: an unchanged document bumped the version %d -> %d", k, versions[k], c.Version)
				}
			}

			// A key rollover changes the document: the new copy is stored.
			next, err := entratest.NewKey(2048, clk.Now().Add(-time.Hour), clk.Now().AddDate(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			md.idp.AddKey(next)
			md.publish()
			clk.Advance(61 * time.Minute)
			pass()
			pass()
			for _, k := range keys {
				c, _ := r1.Lookup(ctx, k)
				if c.Version <= versions[k] || !bytes.Equal(c.Metadata, md.served()) || !c.MetadataFetchedAt.Equal(clk.Now()) {
					t.Errorf("%s after rollover: version %d (was %d), fetched at %v", k, c.Version, versions[k], c.MetadataFetchedAt)
				}
				versions[k] = c.Version
			}

			// The IdP fails: the last good copy stays, the retry comes
			// after 5 minutes, not an hour.
			md.broken.Store(true)
			clk.Advance(61 * time.Minute)
			before := md.fetches.Load()
			pass()
			pass()
			if got := md.fetches.Load() - before; got != customers {
				t.Errorf("%d failed fetches, want %d", got, customers)
			}
			for _, k := range keys {
				if c, _ := r1.Lookup(ctx, k); c.Version != versions[k] || !bytes.Equal(c.Metadata, md.served()) {
					t.Errorf("%s: a failed fetch changed the stored copy", k)
				}
			}
			md.broken.Store(false)
			clk.Advance(6 * time.Minute)
			if n := pass() + pass(); n != customers {
				t.Errorf("retry after a failure refreshed %d, want %d", n, customers)
			}
		})
	}
}

// A document that the customer's SP would refuse (here: not signed by the
// pinned signer) is not stored.
func TestRefreshRefusesUnverifiedMetadata(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC()}
	r := open(t, sqlitePath(t), sqlregistry.Options{Now: clk.Now})
	md := newMetadataServer(t, clk.Now)
	ctx := testCtx(t)
	c := tenants.Customer{Key: "pinned.example", EntityID: "e", BaseURL: "https://pinned.example",
		MetadataURL: md.URL, Enabled: true,
		MetadataSigners: []string{"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}
	if _, err := r.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	f := &sqlregistry.Refresher{Registry: r, HTTPClient: md.Client()}
	if n, err := f.RefreshDue(ctx); n != 1 || err != nil {
		t.Fatalf("RefreshDue = %d, %v", n, err)
	}
	got, err := r.Lookup(ctx, c.Key)
	if err != nil || got.Metadata != nil || !got.MetadataFetchedAt.IsZero() {
		t.Errorf("metadata signed by another key was stored: %d bytes, %v", len(got.Metadata), err)
	}
	var lastErr string
	if err := r.DB().QueryRowContext(ctx, "SELECT last_error FROM metadata_refresh WHERE key = ?", c.Key).Scan(&lastErr); err != nil || lastErr == "" {
		t.Errorf("last_error = %q, %v; want the reason", lastErr, err)
	}
}

// Without a client, the Refresher uses the public-only client: a URL on
// loopback is not fetched.
func TestRefreshDefaultClientIsPublicOnly(t *testing.T) {
	t.Parallel()
	r := open(t, sqlitePath(t), sqlregistry.Options{})
	md := newMetadataServer(t, time.Now)
	ctx := testCtx(t)
	if _, err := r.Put(ctx, tenants.Customer{Key: "local.example", EntityID: "e", BaseURL: "https://local.example",
		MetadataURL: md.URL, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f := &sqlregistry.Refresher{Registry: r}
	if _, err := f.RefreshDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := md.fetches.Load(); n != 0 {
		t.Errorf("the default client reached a loopback URL %d times", n)
	}
}

// Run makes a pass at once (a new customer with only a URL gets its
// metadata without waiting an interval) and returns when ctx is done.
func TestRefresherRun(t *testing.T) {
	t.Parallel()
	r := open(t, sqlitePath(t), sqlregistry.Options{})
	md := newMetadataServer(t, time.Now)
	ctx := testCtx(t)
	c := tenants.Customer{Key: "new.example", EntityID: "e", BaseURL: "https://new.example", MetadataURL: md.URL, Enabled: true}
	if _, err := r.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- (&sqlregistry.Refresher{Registry: r, HTTPClient: md.Client()}).Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := r.Lookup(ctx, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got.Metadata, md.served()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not fetch the new customer's metadata")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}
