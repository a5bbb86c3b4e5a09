package otelsaml_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/otelsaml"
)

// In an application the MeterProvider's reader is an exporter (OTLP, or
// Prometheus as in examples/saas); a ManualReader shows what it would get.
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	m, err := otelsaml.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), otelsaml.Options{})
	if err != nil {
		log.Fatal(err)
	}
	idp := entratest.NewServer() // stands for the customer's Entra tenant
	defer idp.Close()
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: idp.Metadata(),
		OnEvent:  m.OnEvent,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	m.Track(sp)

	// Someone posts garbage to the ACS.
	req := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(url.Values{"SAMLResponse": {"garbage"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sp.ServeHTTP(httptest.NewRecorder(), req)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			switch data := metric.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					outcome, _ := dp.Attributes.Value(otelsaml.KeyOutcome)
					reason, _ := dp.Attributes.Value(otelsaml.KeyReason)
					fmt.Println(metric.Name, outcome.AsString(), reason.AsString(), dp.Value)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					fmt.Println(metric.Name, dp.Value > 365) // entratest's key is valid for 3 years
				}
			}
		}
	}
	// Output:
	// entrasaml.sign_ins failure ErrMalformed 1
	// entrasaml.idp.certificate.expiry true
}
