package tenants_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// One SP per customer must be cheap: these measure the memory a configured
// customer holds and the time to add one. Run them with
//
//	go test -run TestCost -v ./tenants
//	go test -run XXX -bench 'NewSP|RouterRequireAccount' -benchmem ./tenants

const customers = 1000

// poolMetadata returns poolSize distinct fake tenants and their metadata.
func poolMetadata(t testing.TB) ([][]byte, []*entratest.IdP) {
	mds, idps := make([][]byte, poolSize), make([]*entratest.IdP, poolSize)
	for i := range mds {
		idps[i] = tenantIdP(t, i)
		mds[i] = idps[i].Metadata()
	}
	return mds, idps
}

// customerConfig is customer i's Config: its own EntityID and BaseURL,
// metadata drawn round-robin from mds.
func customerConfig(i int, mds [][]byte, shared bool) entrasaml.Config {
	base := fmt.Sprintf("https://c%05d.vendor.example", i)
	cfg := entrasaml.Config{EntityID: base + "/saml", BaseURL: base, Metadata: mds[i%len(mds)], Logger: quietLogger}
	if shared {
		cfg.Store, cfg.SessionKeys = vendorStore, vendorKeys
	}
	return cfg
}

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestCostThousandCustomers reports the memory held by 1,000 configured
// customers (SP plus HostDirectory entry) and the time to add each, and
// checks that no goroutine is started per customer. It is not parallel:
// it reads process-wide statistics while no other test runs.
func TestCostThousandCustomers(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 1,000 SPs")
	}
	mds, _ := poolMetadata(t)
	for _, tc := range []struct {
		name   string
		shared bool
		limit  int64 // bytes per customer
	}{
		{"shared Store and SessionKeys", true, 64 << 10},
		// The default (a MemoryStore and a random key per SP) costs about
		// 100 bytes more per customer: see BenchmarkNewSP/default-store.
	} {
		goroutines := runtime.NumGoroutine()
		before := heapInUse()
		start := time.Now()
		var dir tenants.HostDirectory
		for i := range customers {
			cfg := customerConfig(i, mds, tc.shared)
			sp, err := entrasaml.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			dir.Set(cfg.BaseURL[len("https://"):], sp)
		}
		elapsed := time.Since(start)
		perCustomer := (heapInUse() - before) / customers
		added := runtime.NumGoroutine() - goroutines
		t.Logf("%s: %d customers hold %d KiB, %d bytes each; %v to add one; %d goroutines added",
			tc.name, dir.Len(), perCustomer*customers>>10, perCustomer, elapsed/customers, added)
		if perCustomer > tc.limit {
			t.Errorf("%d bytes per customer, want at most %d", perCustomer, tc.limit)
		}
		if added > 2 {
			t.Errorf("%d goroutines added for %d customers", added, customers)
		}
		runtime.KeepAlive(&dir)
	}
}

// BenchmarkNewSP measures adding one customer: New from metadata XML and
// a HostDirectory entry. B/SP is the heap each one keeps.
func BenchmarkNewSP(b *testing.B) {
	for _, shared := range []bool{true, false} {
		b.Run(map[bool]string{true: "shared-store", false: "default-store"}[shared], func(b *testing.B) {
			mds, _ := poolMetadata(b)
			var dir tenants.HostDirectory
			before := heapInUse()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				cfg := customerConfig(i, mds, shared)
				sp, err := entrasaml.New(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				dir.Set(cfg.BaseURL[len("https://"):], sp)
				i++
			}
			b.ReportMetric(float64(heapInUse()-before)/float64(i), "B/SP")
			runtime.KeepAlive(&dir)
		})
	}
}

// BenchmarkRouterRequireAccount measures a signed-in page load routed
// through a Router among 1,000 customers: host lookup, cookie, Store, context.
func BenchmarkRouterRequireAccount(b *testing.B) {
	mds, idps := poolMetadata(b)
	var dir tenants.HostDirectory
	for i := range customers {
		cfg := customerConfig(i, mds, true)
		cfg.AllowIdPInitiated = true
		cfg.Now = func() time.Time { return fxNow }
		sp, err := entrasaml.New(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		dir.Set(cfg.BaseURL[len("https://"):], sp)
	}
	tn := &tenants.Router{Resolve: dir.Resolve}
	sp := dir.Get("c00007.vendor.example")
	resp, err := idps[7%poolSize].Response(entratest.Response{ACSURL: sp.ACSURL(), Audience: sp.EntityID(), User: adele()})
	if err != nil {
		b.Fatal(err)
	}
	acs := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
	acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	tn.ServeHTTP(rec, acs)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("ACS: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "https://c00007.vendor.example/orders", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	ok := false
	h := tn.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = entrasaml.SessionFromContext(r.Context())
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if !ok {
		b.Fatalf("not signed in: %d", w.Code)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
