// Package otelsaml records the events of entrasaml service providers as
// OpenTelemetry metrics. It is a module of its own, so that the library
// does not depend on OpenTelemetry.
//
// Wire it with Config.OnEvent, and Track each SP for the certificate
// gauge:
//
//	m, err := otelsaml.New(meterProvider, otelsaml.Options{})
//	cfg.OnEvent = m.OnEvent
//	sp, err := entrasaml.New(ctx, cfg)
//	m.Track(sp)
//
// The instruments (names as OpenTelemetry has them; a Prometheus exporter
// writes dots as underscores, adds the unit and _total for counters):
//
//   - entrasaml.sign_ins {sign_in}, counter: one per ACS request, with the
//     attributes outcome ("success", "failure"), reason (the event's reason
//     code: "ok", "ErrAudienceMismatch", …) and customer (the SP's entity
//     ID). Prometheus: entrasaml_sign_ins_total.
//   - entrasaml.sign_in.duration (s), histogram: how long the SP took to
//     answer each ACS request (verification, provisioning, session), with
//     outcome and customer. Prometheus: entrasaml_sign_in_duration_seconds.
//   - entrasaml.metadata.refreshes {refresh}, counter: metadata refreshes
//     with outcome, reason and customer. Prometheus:
//     entrasaml_metadata_refreshes_total.
//   - entrasaml.logouts {logout}, counter: requests to the logout URL with
//     outcome, reason, flow and customer. Prometheus:
//     entrasaml_logouts_total.
//   - entrasaml.idp.certificate.expiry (d), gauge: days (fractional, negative
//     once expired) until the earliest-expiring signing certificate in the
//     IdP metadata of each tracked SP expires, with customer. Prometheus:
//     entrasaml_idp_certificate_expiry_days. This is the alarm for the most
//     common SAML outage: Entra's signing certificate expiring unnoticed.
//
// Every attribute value comes from a closed set or from the SPs' own
// configuration: nothing from a request can add a time series.
package otelsaml

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/entrasaml/entrasaml"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/entrasaml/entrasaml/otelsaml"

// Attribute keys.
const (
	KeyOutcome  = attribute.Key("outcome")
	KeyReason   = attribute.Key("reason")
	KeyCustomer = attribute.Key("customer")
	KeyFlow     = attribute.Key("flow")
)

// Options configures [New].
type Options struct {
	// Now is the clock for the certificate gauge: use the SPs'
	// Config.Now. nil: time.Now.
	Now func() time.Time
}

// Metrics turns SP events into metrics. It is safe for concurrent use.
type Metrics struct {
	now       func() time.Time
	signIns   metric.Int64Counter
	duration  metric.Float64Histogram
	refreshes metric.Int64Counter
	logouts   metric.Int64Counter
	expiry    metric.Float64ObservableGauge
	reg       metric.Registration

	mu  sync.Mutex
	sps map[string]*entrasaml.SP // tracked, by entity ID
}

// New creates the instruments with a meter named ScopeName from mp. It
// fails only when mp refuses an instrument or the gauge's callback.
func New(mp metric.MeterProvider, opts Options) (*Metrics, error) {
	meter := mp.Meter(ScopeName)
	m := &Metrics{now: opts.Now, sps: map[string]*entrasaml.SP{}}
	if m.now == nil {
		m.now = time.Now
	}
	var errs [6]error
	m.signIns, errs[0] = meter.Int64Counter("entrasaml.sign_ins", metric.WithUnit("{sign_in}"),
		metric.WithDescription("SAML sign-in attempts at the ACS, by outcome, reason code and customer."))
	m.duration, errs[1] = meter.Float64Histogram("entrasaml.sign_in.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the SP took to answer an ACS request: verification, provisioning and session."),
		// About a millisecond for the signature; more with decryption, a
		// remote Store or a slow Provision.
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	m.refreshes, errs[2] = meter.Int64Counter("entrasaml.metadata.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("IdP metadata refreshes, by outcome, reason code and customer."))
	m.logouts, errs[3] = meter.Int64Counter("entrasaml.logouts", metric.WithUnit("{logout}"),
		metric.WithDescription("Requests to the logout URL, by outcome, reason code, flow and customer."))
	m.expiry, errs[4] = meter.Float64ObservableGauge("entrasaml.idp.certificate.expiry", metric.WithUnit("d"),
		metric.WithDescription("Days until the earliest-expiring IdP signing certificate of each customer expires (negative once expired)."))
	if err := errors.Join(errs[:5]...); err != nil {
		return nil, err
	}
	m.reg, errs[5] = meter.RegisterCallback(m.observe, m.expiry)
	if errs[5] != nil {
		return nil, errs[5]
	}
	return m, nil
}

// OnEvent records e; it has the signature of entrasaml.Config.OnEvent. It
// does not block: each call adds to in-memory aggregates.
func (m *Metrics) OnEvent(ctx context.Context, e entrasaml.Event) {
	customer := KeyCustomer.String(e.EntityID)
	switch e.Kind {
	case entrasaml.EventSignIn:
		m.signIns.Add(ctx, 1, metric.WithAttributes(KeyOutcome.String(e.Outcome), KeyReason.String(e.Reason), customer))
		m.duration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(KeyOutcome.String(e.Outcome), customer))
	case entrasaml.EventMetadataRefresh:
		m.refreshes.Add(ctx, 1, metric.WithAttributes(KeyOutcome.String(e.Outcome), KeyReason.String(e.Reason), customer))
	case entrasaml.EventLogout:
		m.logouts.Add(ctx, 1, metric.WithAttributes(KeyOutcome.String(e.Outcome), KeyReason.String(e.Reason),
			KeyFlow.String(e.Flow), customer))
	}
}

// Track adds sp to the certificate gauge, replacing any tracked SP with
// the same entity ID (as when a customer's SP is rebuilt with new
// metadata).
func (m *Metrics) Track(sp *entrasaml.SP) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sps[sp.EntityID()] = sp
}

// Untrack removes sp from the certificate gauge, unless another SP with
// its entity ID replaced it meanwhile.
func (m *Metrics) Untrack(sp *entrasaml.SP) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sps[sp.EntityID()] == sp {
		delete(m.sps, sp.EntityID())
	}
}

// Close unregisters the gauge's callback. The counters stay in the
// MeterProvider.
func (m *Metrics) Close() error { return m.reg.Unregister() }

// observe reports the days left of each tracked SP's earliest-expiring
// signing certificate.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	m.mu.Lock()
	sps := make([]*entrasaml.SP, 0, len(m.sps))
	for _, sp := range m.sps {
		sps = append(sps, sp)
	}
	m.mu.Unlock()
	now := m.now()
	for _, sp := range sps {
		var first time.Time
		for _, c := range sp.IdPMetadata().Certificates {
			if first.IsZero() || c.NotAfter.Before(first) {
				first = c.NotAfter
			}
		}
		if first.IsZero() {
			continue
		}
		o.ObserveFloat64(m.expiry, first.Sub(now).Hours()/24, metric.WithAttributes(KeyCustomer.String(sp.EntityID())))
	}
	return nil
}
