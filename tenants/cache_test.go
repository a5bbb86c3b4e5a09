package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// fleetCustomer is customer i of a test fleet, enabled, at host
// c<i>.fleet.example, with metadata md.
func fleetCustomer(i int, md []byte) tenants.Customer {
	host := fmt.Sprintf("c%05d.fleet.example", i)
	return tenants.Customer{Key: host, EntityID: "https://" + host + "/saml", BaseURL: "https://" + host,
		Metadata: md, Enabled: true}
}

func fleetHost(i int) string { return fmt.Sprintf("c%05d.fleet.example", i) }

// newFleet returns a registry of n customers whose tenants are idps[i%len]
// and a Cache on it with a pinned clock, its own Store and the vendor's
// keys.
func newFleet(t testing.TB, n int, idps []*entratest.IdP) *tenants.MemoryRegistry {
	t.Helper()
	reg := new(tenants.MemoryRegistry)
	mds := make([][]byte, len(idps))
	for i, idp := range idps {
		mds[i] = idp.Metadata()
	}
	for i := range n {
		c := fleetCustomer(i, mds[i%len(mds)])
		c.Options.AllowIdPInitiated = i%2 == 1 // odd customers accept unsolicited responses
		if _, err := reg.Put(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func newCache(reg tenants.Registry, now func() time.Time, mod func(*tenants.Cache)) *tenants.Cache {
	c := &tenants.Cache{Registry: reg, Template: entrasaml.Config{
		Now: now, Store: entrasaml.NewMemoryStore(now), SessionKeys: vendorKeys, Logger: quietLogger,
	}}
	if mod != nil {
		mod(c)
	}
	return c
}

func pinned() time.Time { return fxNow }

// mustSP returns the cached SP at key, which must exist and be enabled.
func mustSP(t testing.TB, c *tenants.Cache, key string) *entrasaml.SP {
	t.Helper()
	sp, _, err := c.Lookup(context.Background(), key)
	if err != nil || sp == nil {
		t.Fatalf("Lookup(%q): %v %v", key, sp, err)
	}
	if want := "https://" + key + "/saml"; sp.EntityID() != want {
		t.Fatalf("Lookup(%q) returned the SP of %s", key, sp.EntityID())
	}
	return sp
}

// status returns the Router's status for a GET of u.
func status(h http.Handler, u string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
	return rec.Code
}

// signer returns the serial number of sp's first IdP certificate: which
// metadata it was built from.
func signer(sp *entrasaml.SP) string { return sp.IdPMetadata().Certificates[0].SerialNumber.String() }

// flakyRegistry fails every Lookup while down, and counts Lookups. It is
// no Watcher.
type flakyRegistry struct {
	tenants.Registry
	down  atomic.Bool
	calls atomic.Int64
}

func (f *flakyRegistry) Lookup(ctx context.Context, key string) (tenants.Customer, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return tenants.Customer{}, errors.New("dial tcp 127.0.0.1:5432: connection refused")
	}
	return f.Registry.Lookup(ctx, key)
}

func TestCacheBuildsLazily(t *testing.T) {
	t.Parallel()
	idps := []*entratest.IdP{tenantIdP(t, 0), tenantIdP(t, 1)}
	reg := newFleet(t, 50, idps)
	cache := newCache(reg, pinned, nil)
	if s := cache.Stats(); s.Builds != 0 || s.Lookups != 0 || s.Entries != 0 {
		t.Fatalf("built before any request: %+v", s)
	}
	app := vendorApp(&tenants.Router{Resolve: cache.Resolve, Logger: quietLogger})

	// A sign-in through the router, at customer 3 (a lazily built SP).
	b := newTenantBrowser(t, app)
	b.signIn("https://"+fleetHost(3)+"/orders", idps[1], "adele@c3.example")
	resp, body := b.get("https://" + fleetHost(3) + "/orders")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "customer=https://"+fleetHost(3)+"/saml user=adele@c3.example tenant="+idps[1].TenantID()) {
		t.Fatalf("signed-in page: %d %s", resp.StatusCode, body)
	}
	if s := cache.Stats(); s.Builds != 1 || s.Lookups != 1 || s.Entries != 1 {
		t.Errorf("after one customer's sign-in: %+v", s)
	}
	// The customer's options reach its SP: customer 3 accepts an
	// unsolicited response, customer 2 (same tenant key pool) does not.
	for i, want := range map[int]int{3: http.StatusSeeOther, 2: http.StatusForbidden} {
		sp := mustSP(t, cache, fleetHost(i))
		r, err := idps[i%2].Response(entratest.Response{ACSURL: sp.ACSURL(), Audience: sp.EntityID(), User: adele()})
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := b.post(sp.ACSURL(), map[string][]string{"SAMLResponse": {r}}); resp.StatusCode != want {
			t.Errorf("unsolicited response at customer %d: %d, want %d: %s", i, resp.StatusCode, want, body)
		}
	}
	if s := cache.Stats(); s.Builds != 2 || s.Entries != 2 {
		t.Errorf("after two customers: %+v", s)
	}
	// Not in the registry: 404, not cached.
	if code := status(app, "https://nobody.fleet.example/saml/metadata"); code != http.StatusNotFound {
		t.Errorf("unknown host: %d", code)
	}
	if s := cache.Stats(); s.Entries != 2 {
		t.Errorf("unknown host cached: %+v", s)
	}
}

// Many customers requested at once, in parallel, each get their own SP.
func TestCacheNoCrossCustomer(t *testing.T) {
	t.Parallel()
	idps := []*entratest.IdP{tenantIdP(t, 0), tenantIdP(t, 1), tenantIdP(t, 2)}
	reg := newFleet(t, 40, idps)
	cache := newCache(reg, pinned, func(c *tenants.Cache) { c.MaxEntries = 7 }) // evicting all the time
	tn := &tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}
	h := tn.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp, _ := tenants.SPFromContext(r.Context())
		fmt.Fprint(w, sp.EntityID())
	}))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 60 {
				i := (g*7 + n*13) % 40
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://"+strings.ToUpper(fleetHost(i))+"/", nil))
				if want := "https://" + fleetHost(i) + "/saml"; rec.Code != 200 || rec.Body.String() != want {
					t.Errorf("customer %d: %d %q", i, rec.Code, rec.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := cache.Stats(); s.Entries > 7 || s.Evictions == 0 {
		t.Errorf("stats %+v", s)
	}
}

// A registry that answers with another customer, or a customer whose
// BaseURL is elsewhere, gets a 503, never that SP.
type lyingRegistry struct{ answer tenants.Customer }

func (l lyingRegistry) Lookup(ctx context.Context, key string) (tenants.Customer, error) {
	return l.answer, nil
}

func TestCacheRefusesAnotherCustomersSP(t *testing.T) {
	t.Parallel()
	md := tenantIdP(t, 0).Metadata()
	other := fleetCustomer(2, md)
	elsewhere := fleetCustomer(1, md)
	elsewhere.BaseURL = "https://" + fleetHost(2) // stored under customer 1's key, bypassing Validate
	pathCustomer := tenants.Customer{Key: fleetHost(1), EntityID: "x", BaseURL: "https://vendor.example/" + fleetHost(1), Metadata: md, Enabled: true}
	for name, answer := range map[string]tenants.Customer{"other key": other, "BaseURL elsewhere": elsewhere, "path BaseURL in host mode": pathCustomer} {
		cache := newCache(lyingRegistry{answer}, pinned, nil)
		if sp, _, err := cache.Lookup(context.Background(), fleetHost(1)); sp != nil || err == nil {
			t.Errorf("%s: %v, %v", name, sp, err)
		}
		if code := status(&tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}, "https://"+fleetHost(1)+"/saml/metadata"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: %d", name, code)
		}
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	reg := &flakyRegistry{Registry: newFleet(t, 10, []*entratest.IdP{tenantIdP(t, 0)})}
	cache := newCache(reg, pinned, func(c *tenants.Cache) { c.MaxEntries = 3 })
	for _, i := range []int{0, 1, 2, 0, 3} { // 1 is the least recently used when 3 arrives
		mustSP(t, cache, fleetHost(i))
	}
	if s := cache.Stats(); s.Entries != 3 || s.Evictions != 1 || s.Builds != 4 {
		t.Fatalf("stats %+v", s)
	}
	calls := reg.calls.Load()
	for _, i := range []int{0, 2, 3} { // cached: no Lookup (the clock is pinned)
		mustSP(t, cache, fleetHost(i))
	}
	if n := reg.calls.Load() - calls; n != 0 {
		t.Errorf("%d lookups for cached customers", n)
	}
	mustSP(t, cache, fleetHost(1)) // evicted: built again, evicting 0
	if n := reg.calls.Load() - calls; n != 1 {
		t.Errorf("%d lookups for the evicted customer", n)
	}
	if s := cache.Stats(); s.Entries != 3 || s.Evictions != 2 || s.Builds != 5 {
		t.Errorf("stats %+v", s)
	}
}

func TestCacheEvictsByBytes(t *testing.T) {
	t.Parallel()
	reg := newFleet(t, 10, []*entratest.IdP{tenantIdP(t, 0)})
	probe := newCache(reg, pinned, nil)
	mustSP(t, probe, fleetHost(0))
	one := probe.Stats().Bytes
	if one < 4000 || one > 64<<10 {
		t.Fatalf("one entry is estimated at %d bytes", one)
	}
	cache := newCache(reg, pinned, func(c *tenants.Cache) { c.MaxBytes = one*5/2 + 100 })
	for i := range 10 {
		mustSP(t, cache, fleetHost(i))
	}
	if s := cache.Stats(); s.Entries != 2 || s.Bytes > cache.MaxBytes || s.Evictions != 8 {
		t.Errorf("stats %+v, limit %d", s, cache.MaxBytes)
	}
	// One entry larger than MaxBytes is still served (and kept alone).
	tiny := newCache(reg, pinned, func(c *tenants.Cache) { c.MaxBytes = 1 })
	mustSP(t, tiny, fleetHost(0))
	mustSP(t, tiny, fleetHost(1))
	if s := tiny.Stats(); s.Entries != 1 {
		t.Errorf("tiny cache: %+v", s)
	}
}

func TestCachePathMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp := tenantIdP(t, 0)
	var reg tenants.MemoryRegistry
	for _, name := range []string{"acme", "globex"} {
		c := tenants.Customer{Key: name, EntityID: "https://vendor.example/" + name + "/saml",
			BaseURL: "https://vendor.example/" + name, Metadata: idp.Metadata(), Enabled: true}
		if _, err := reg.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	host := fleetCustomer(0, idp.Metadata())
	host.Key, host.BaseURL = "vendor.example", "https://vendor.example"
	reg.Put(ctx, host)
	cache := newCache(&reg, pinned, func(c *tenants.Cache) { c.PathMode = true })
	tn := &tenants.Router{Resolve: cache.Resolve, Logger: quietLogger}
	mux := http.NewServeMux()
	mux.Handle("/{customer}/saml/", tn)
	mux.Handle("/{customer}/", tn.RequireAccount(http.HandlerFunc(whoAmI)))
	b := newTenantBrowser(t, mux)
	b.signIn("https://vendor.example/acme/orders", idp, "adele@acme.example")
	if _, body := b.get("https://vendor.example/acme/orders"); !strings.HasPrefix(body, "customer=https://vendor.example/acme/saml user=adele@acme.example") {
		t.Errorf("acme page: %s", body)
	}
	for u, want := range map[string]int{
		"https://vendor.example/globex/saml/metadata":         200,
		"https://acme.example/globex/saml/metadata":           200, // the host does not matter in path mode
		"https://vendor.example/initech/saml/metadata":        404,
		"https://vendor.example/ACME/saml/metadata":           404,
		"https://vendor.example/vendor.example/saml/metadata": 503, // a host-mode customer at a path key
	} {
		if code := status(mux, u); code != want {
			t.Errorf("GET %s: %d, want %d", u, code, want)
		}
	}
}

// A customer with only a MetadataURL: the SP is built from a fetch with
// Template.HTTPClient, by default one that reaches only public addresses.
func TestCacheMetadataURL(t *testing.T) {
	t.Parallel()
	idp := tenantIdP(t, 0)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(idp.Metadata())
	}))
	defer srv.Close()
	var reg tenants.MemoryRegistry
	c := fleetCustomer(1, nil)
	c.MetadataURL = srv.URL + "/federationmetadata.xml?appid=x"
	if _, err := reg.Put(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	trusted := newCache(&reg, pinned, func(c *tenants.Cache) { c.Template.HTTPClient = srv.Client() })
	if sp := mustSP(t, trusted, c.Key); sp.IdPMetadata().EntityID != idp.EntityID() {
		t.Errorf("built from the wrong metadata: %s", sp.IdPMetadata().EntityID)
	}
	public := newCache(&reg, pinned, nil) // loopback is not public
	if sp, _, err := public.Lookup(context.Background(), c.Key); sp != nil || !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("default client reached loopback: %v %v", sp, err)
	}
}
