package sqlregistry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/sqlregistry"
)

// BenchmarkPropagation measures how long a change written through one
// instance takes to reach another instance's Cache: from Put's return to
// the other Cache serving the new version (its Watch reports the key, the
// next Lookup through the Cache reads the registry and rebuilds the SP).
// ns/op is that delay; the Put itself is not timed.
//
//	go test -run '^$' -bench Propagation -benchtime 50x ./sqlregistry
func BenchmarkPropagation(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			dsn := be.dsn(b)
			f := newFleet()
			one, two := f.instance(b, dsn), f.instance(b, dsn)
			ctx := context.Background()
			c := customerOf(b, "acme.example")
			var err error
			if c.Version, err = one.reg.Put(ctx, c); err != nil {
				b.Fatal(err)
			}
			var worst time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c.EntityID = fmt.Sprintf("urn:acme:%d", i)
				if c.Version, err = one.reg.Put(ctx, c); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				b.StartTimer()
				for {
					_, got, err := two.cache.Lookup(ctx, c.Key)
					if err != nil {
						b.Fatal(err)
					}
					if got.Version == c.Version {
						break
					}
					time.Sleep(100 * time.Microsecond)
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkLookup is one Registry.Lookup of a customer with 14 KB of
// metadata: what a Cache pays per cold or changed customer before it
// builds the SP.
func BenchmarkLookup(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			r := open(b, be.dsn(b), sqlregistry.Options{})
			ctx := context.Background()
			c := customerOf(b, "acme.example")
			if _, err := r.Put(ctx, c); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Lookup(ctx, c.Key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPut is one write (a transaction: version, row, journal, audit
// log, NOTIFY on PostgreSQL).
func BenchmarkPut(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			r := open(b, be.dsn(b), sqlregistry.Options{})
			ctx := context.Background()
			c := simpleCustomer("acme.example")
			var err error
			for b.Loop() {
				if c.Version, err = r.Put(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
