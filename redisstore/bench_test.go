package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
)

// The benchmarks compare the Redis store (the package's test server, on
// loopback) with the in-memory one, side by side:
//
//	go test -run XXX -bench . -benchmem -cpu 1

var benchKinds = []string{"memory", "redis"}

func benchStore(b *testing.B, kind string) entrasaml.Store {
	if kind == "memory" {
		return entrasaml.NewMemoryStore(nil)
	}
	rdb := testClient(b)
	return redisstore.New(rdb, redisstore.Options{Prefix: testPrefix(b, rdb)})
}

// freshAssertions makes every SetIfAbsent key unique, so that one signed
// response can be posted b.N times: each call costs what the replay check
// of a new assertion ID costs.
type freshAssertions struct {
	entrasaml.Store
	n atomic.Int64
}

func (s *freshAssertions) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return s.Store.SetIfAbsent(ctx, key+"/"+strconv.FormatInt(s.n.Add(1), 10), value, ttl)
}

// BenchmarkACS is one POST to the ACS: form parsing, the pending-request
// cookie, Verify (signature, conditions, the replay SetIfAbsent), the
// session Set and the redirect.
func BenchmarkACS(b *testing.B) {
	for _, kind := range benchKinds {
		b.Run(kind, func(b *testing.B) {
			store := &freshAssertions{Store: benchStore(b, kind)}
			in := newInstances(b, 1, func() entrasaml.Store { return store })[0]
			s := signIns(b, in, 0, 1)[0]
			body := s.form.Encode()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, appBaseURL+"/saml/acs", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for _, c := range s.cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				in.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusSeeOther {
					b.Fatalf("ACS: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkRequireAccount is one signed-in request: the session cookie
// opened and the session read from the Store.
func BenchmarkRequireAccount(b *testing.B) {
	for _, kind := range benchKinds {
		b.Run(kind, func(b *testing.B) {
			store := benchStore(b, kind)
			in := newInstances(b, 1, func() entrasaml.Store { return store })[0]
			s := signIns(b, in, 0, 1)[0]
			acs := httptest.NewRequest(http.MethodPost, appBaseURL+"/saml/acs", strings.NewReader(s.form.Encode()))
			acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range s.cookies {
				acs.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			in.handler.ServeHTTP(rec, acs)
			req := httptest.NewRequest(http.MethodGet, appBaseURL+"/page", nil)
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				in.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("signed-in request: %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkStore is the bare Store calls behind the two benchmarks above.
func BenchmarkStore(b *testing.B) {
	for _, kind := range benchKinds {
		b.Run(kind+"/SetIfAbsent", func(b *testing.B) {
			s := benchStore(b, kind)
			ctx := b.Context()
			i := 0
			for b.Loop() {
				i++
				if ok, err := s.SetIfAbsent(ctx, "replay/"+strconv.Itoa(i), []byte{1}, 10*time.Minute); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(kind+"/Get", func(b *testing.B) {
			s := benchStore(b, kind)
			ctx := b.Context()
			if err := s.Set(ctx, "session", make([]byte, 600), 10*time.Minute); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, ok, err := s.Get(ctx, "session"); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
