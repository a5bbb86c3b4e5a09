package otelsaml_test

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/otelsaml"
)

// collect reads every metric of the otelsaml scope from reader, by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsaml.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// key renders an attribute set as "k=v,k=v" (sorted by key).
func key(s attribute.Set) string {
	var b strings.Builder
	for i, kv := range s.ToSlice() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(kv.Key) + "=" + kv.Value.String())
	}
	return b.String()
}

// sums returns a counter's values by attribute set.
func sums(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok || !s.IsMonotonic || s.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("%s is %T, want a cumulative monotonic int64 sum", m.Name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range s.DataPoints {
		out[key(dp.Attributes)] = dp.Value
	}
	return out
}

func equal[V comparable](t *testing.T, name string, got, want map[string]V) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
	}
}

// newSP returns an SP of the development IdP idp at baseURL, reporting its
// events to m.
func newSP(t *testing.T, idp *entratest.IdP, entityID, baseURL string, m *otelsaml.Metrics, now func() time.Time) *entrasaml.SP {
	t.Helper()
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: entityID, BaseURL: baseURL, Metadata: idp.Metadata(), Now: now,
		AllowIdPInitiated: true, OnEvent: m.OnEvent, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("%s: %v (now %v)", entityID, err, now())
	}
	return sp
}

func newIdP(t *testing.T, notAfter time.Time) *entratest.IdP {
	t.Helper()
	k, err := entratest.NewKey(2048, now.AddDate(-1, 0, 0), notAfter)
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entratest.New(entratest.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	return idp
}

// postACS posts a SAMLResponse to sp's ACS and returns the status.
func postACS(t *testing.T, sp *entrasaml.SP, samlResponse string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sp.ServeHTTP(rec, req)
	return rec.Code
}

// TestMetrics drives two real SPs through sign-ins that succeed and fail,
// and reads the instruments with the SDK's ManualReader.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	m, err := otelsaml.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), otelsaml.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	acmeIdP, globexIdP := newIdP(t, now.Add(12*24*time.Hour)), newIdP(t, now.Add(400*24*time.Hour))
	acme := newSP(t, acmeIdP, "https://acme.example/saml", "https://acme.example", m, clock)
	globex := newSP(t, globexIdP, "https://globex.example/saml", "https://globex.example", m, clock)
	m.Track(acme)
	m.Track(globex)

	// ok is a response of idp for sp, for audience when it is not "".
	ok := func(idp *entratest.IdP, sp *entrasaml.SP, who string, audience ...string) string {
		v, err := idp.Response(entratest.Response{ACSURL: sp.ACSURL(), Audience: append(audience, sp.EntityID())[0],
			User: entratest.User{ObjectID: who, UPN: who + "@example.com"}, IssueInstant: now})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		sp       *entrasaml.SP
		response string
		status   int
	}{
		{acme, ok(acmeIdP, acme, "ann"), http.StatusSeeOther},
		{acme, ok(acmeIdP, acme, "bob"), http.StatusSeeOther},
		{acme, ok(globexIdP, acme, "eve"), http.StatusForbidden},                  // signed by another tenant: unknown signer
		{acme, ok(acmeIdP, acme, "eve", globex.EntityID()), http.StatusForbidden}, // for another SP
		{globex, ok(acmeIdP, globex, "eve"), http.StatusForbidden},                // unknown signer at globex
		{globex, "not base64!", http.StatusBadRequest},
	} {
		if got := postACS(t, tc.sp, tc.response); got != tc.status {
			t.Fatalf("ACS %s: %d, want %d", tc.sp.EntityID(), got, tc.status)
		}
	}
	// Refreshes and logouts as the SP reports them.
	m.OnEvent(context.Background(), entrasaml.Event{Kind: entrasaml.EventMetadataRefresh, Outcome: "success", Reason: "ok", EntityID: "https://acme.example/saml"})
	m.OnEvent(context.Background(), entrasaml.Event{Kind: entrasaml.EventMetadataRefresh, Outcome: "failure", Reason: "ErrMetadata", EntityID: "https://acme.example/saml"})
	m.OnEvent(context.Background(), entrasaml.Event{Kind: entrasaml.EventLogout, Outcome: "success", Reason: "ok", Flow: "sp_initiated", EntityID: "https://globex.example/saml"})
	m.OnEvent(context.Background(), entrasaml.Event{Kind: entrasaml.EventCertificate, Outcome: "warning", Reason: "CertificateExpiring", EntityID: "https://acme.example/saml"})

	got := collect(t, reader)
	const acmeC, globexC = "customer=https://acme.example/saml", "customer=https://globex.example/saml"
	equal(t, "entrasaml.sign_ins", sums(t, got["entrasaml.sign_ins"]), map[string]int64{
		acmeC + ",outcome=success,reason=ok":                  2,
		acmeC + ",outcome=failure,reason=ErrUnknownSigner":    1,
		acmeC + ",outcome=failure,reason=ErrAudienceMismatch": 1,
		globexC + ",outcome=failure,reason=ErrUnknownSigner":  1,
		globexC + ",outcome=failure,reason=ErrMalformed":      1,
	})
	equal(t, "entrasaml.metadata.refreshes", sums(t, got["entrasaml.metadata.refreshes"]), map[string]int64{
		acmeC + ",outcome=success,reason=ok":          1,
		acmeC + ",outcome=failure,reason=ErrMetadata": 1,
	})
	equal(t, "entrasaml.logouts", sums(t, got["entrasaml.logouts"]), map[string]int64{
		globexC + ",flow=sp_initiated,outcome=success,reason=ok": 1,
	})

	h, isHist := got["entrasaml.sign_in.duration"].Data.(metricdata.Histogram[float64])
	if !isHist || got["entrasaml.sign_in.duration"].Unit != "s" {
		t.Fatalf("entrasaml.sign_in.duration: %+v", got["entrasaml.sign_in.duration"])
	}
	counts := map[string]uint64{}
	for _, dp := range h.DataPoints {
		counts[key(dp.Attributes)] = dp.Count
		var n uint64
		for _, c := range dp.BucketCounts {
			n += c
		}
		if n != dp.Count || dp.Sum <= 0 || len(dp.Bounds) != 14 || dp.Bounds[0] != 0.0005 {
			t.Errorf("histogram point %s: %+v", key(dp.Attributes), dp)
		}
	}
	equal(t, "entrasaml.sign_in.duration counts", counts, map[string]uint64{
		acmeC + ",outcome=success": 2, acmeC + ",outcome=failure": 2, globexC + ",outcome=failure": 2,
	})

	equal(t, "entrasaml.idp.certificate.expiry", gauge(t, got), map[string]float64{acmeC: 12, globexC: 400})

	// A rebuilt SP replaces the old one under its entity ID; untracking the
	// old one then changes nothing; untracking the current one drops it.
	acme2 := newSP(t, globexIdP, "https://acme.example/saml", "https://acme.example", m, clock)
	m.Track(acme2)
	m.Untrack(acme)
	equal(t, "after replacing acme", gauge(t, collect(t, reader)), map[string]float64{acmeC: 400, globexC: 400})
	m.Untrack(globex)
	equal(t, "after untracking globex", gauge(t, collect(t, reader)), map[string]float64{acmeC: 400})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if g, ok := collect(t, reader)["entrasaml.idp.certificate.expiry"]; ok && len(g.Data.(metricdata.Gauge[float64]).DataPoints) > 0 {
		t.Errorf("after Close: %+v", g)
	}
}

var now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// gauge returns the certificate gauge's values by attribute set, in days
// rounded to a millionth.
func gauge(t *testing.T, got map[string]metricdata.Metrics) map[string]float64 {
	t.Helper()
	m := got["entrasaml.idp.certificate.expiry"]
	g, ok := m.Data.(metricdata.Gauge[float64])
	if !ok || m.Unit != "d" {
		t.Fatalf("entrasaml.idp.certificate.expiry: %+v", m)
	}
	out := map[string]float64{}
	for _, dp := range g.DataPoints {
		out[key(dp.Attributes)] = math.Round(dp.Value*1e6) / 1e6
	}
	return out
}

// BenchmarkOnEvent is the hook's cost per sign-in event with the SDK.
func BenchmarkOnEvent(b *testing.B) {
	m, err := otelsaml.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())), otelsaml.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := entrasaml.Event{Kind: entrasaml.EventSignIn, Outcome: "failure", Reason: "ErrAudienceMismatch",
		EntityID: "https://acme.example/saml", Duration: 1500 * time.Microsecond}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.OnEvent(ctx, e)
	}
}
