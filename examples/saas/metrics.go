package main

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/otelsaml"
)

// observer receives every SP's events (Config.OnEvent): it feeds the
// OpenTelemetry metrics, exported for Prometheus at /metrics on the
// console's host, and keeps what the operator console shows of each
// customer, in memory.
type observer struct {
	metrics *otelsaml.Metrics
	handler http.Handler // GET /metrics
	now     func() time.Time

	mu    sync.Mutex
	stats map[string]*signInStats // by the SP's entity ID
}

// signInStats is what the console shows of a customer's sign-ins.
type signInStats struct {
	lastOK   time.Time
	failures map[string]*[24]hourCount // by reason code: ring of hours
}

type hourCount struct {
	hour int64 // Unix hour
	n    int
}

// newObserver sets up the metrics pipeline: otelsaml's instruments on an
// OpenTelemetry MeterProvider whose reader is the Prometheus exporter,
// registered in a Prometheus registry of the app's own (not the global
// one, so that several apps can run in one process, as the tests do).
// It fails only on a programming error (a fresh registry, fixed names).
func mustObserver(now func() time.Time) *observer {
	o, err := newObserver(now)
	if err != nil {
		panic(err)
	}
	return o
}

func newObserver(now func() time.Time) (*observer, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	m, err := otelsaml.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)), otelsaml.Options{Now: now})
	if err != nil {
		return nil, err
	}
	return &observer{
		metrics: m,
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		now:     now,
		stats:   map[string]*signInStats{},
	}, nil
}

// onEvent is every SP's Config.OnEvent: quick, in memory, never blocking.
func (o *observer) onEvent(ctx context.Context, e entrasaml.Event) {
	o.metrics.OnEvent(ctx, e)
	if e.Kind != entrasaml.EventSignIn {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats[e.EntityID]
	if s == nil {
		s = &signInStats{failures: map[string]*[24]hourCount{}}
		o.stats[e.EntityID] = s
	}
	if e.Outcome == entrasaml.OutcomeSuccess {
		s.lastOK = e.Time
		return
	}
	ring := s.failures[e.Reason] // reason codes are a closed set: bounded
	if ring == nil {
		ring = new([24]hourCount)
		s.failures[e.Reason] = ring
	}
	hour := e.Time.Unix() / 3600
	slot := &ring[hour%24]
	if slot.hour != hour {
		*slot = hourCount{hour: hour}
	}
	slot.n++
}

// reasonCount is a line of the console's failures column.
type reasonCount struct {
	Reason string
	N      int
}

// summary returns entityID's last successful sign-in (zero if none) and
// its failures by reason in the last 24 hours (this hour and the 23
// before), most frequent first.
func (o *observer) summary(entityID string) (lastOK time.Time, failures []reasonCount) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats[entityID]
	if s == nil {
		return time.Time{}, nil
	}
	now := o.now().Unix() / 3600
	for reason, ring := range s.failures {
		n := 0
		for _, h := range ring {
			if h.hour > now-24 && h.hour <= now {
				n += h.n
			}
		}
		if n > 0 {
			failures = append(failures, reasonCount{reason, n})
		}
	}
	slices.SortFunc(failures, func(a, b reasonCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Reason, b.Reason))
	})
	return s.lastOK, failures
}

// track adds sp to the certificate-expiry gauge, replacing the SP of the
// same customer it was rebuilt from.
func (o *observer) track(sp *entrasaml.SP) { o.metrics.Track(sp) }

// forget drops a removed customer's SP from the gauge and its console
// figures. (Its counters stay: Prometheus counters do not go back.)
func (o *observer) forget(sp *entrasaml.SP) {
	o.metrics.Untrack(sp)
	o.mu.Lock()
	delete(o.stats, sp.EntityID())
	o.mu.Unlock()
}
