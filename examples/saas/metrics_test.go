package main

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// scrape reads the app's /metrics as Prometheus does.
func scrape(t *testing.T, ta *testApp) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := apptest.Get(t, apptest.Browser(), ta.url("", "/metrics"))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return mfs
}

// series returns the metrics of family name whose labels include want,
// keyed by their outcome and reason labels ("success/ok").
func series(t *testing.T, mfs map[string]*dto.MetricFamily, name string, typ dto.MetricType, want map[string]string) map[string]*dto.Metric {
	t.Helper()
	mf := mfs[name]
	if mf == nil || mf.GetType() != typ {
		t.Fatalf("%s: %v, want a %v", name, mf, typ)
	}
	out := map[string]*dto.Metric{}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		out[labels["outcome"]+"/"+labels["reason"]] = m
	}
	return out
}

// TestMetricsScrape signs in to a demo customer once and fails once, then
// scrapes /metrics and reads the operator console.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	acme, globex := ta.reg.get("acme"), ta.reg.get("globex")
	site := ta.url("acme", "")
	b := apptest.Browser()
	signIn(t, b, site, acme.dev.SignOnURL(), "wile")
	signOut(t, b, site, acme.dev.SignOnURL()) // two logout events: ours, then Entra's LogoutResponse
	// A response for a sign-in another browser started: refused.
	_, v := idpForm(t, apptest.Browser(), site, acme.dev.SignOnURL(), "wile")
	if resp, _ := apptest.PostForm(t, apptest.Browser(), site+"/saml/acs", v); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a response to another browser's request: %d", resp.StatusCode)
	}

	// A demo tenant onboarded by its metadata URL, whose metadata is then
	// refreshed.
	if resp, page := apptest.PostForm(t, apptest.Browser(), ta.url("", "/operator/demo"), url.Values{"slug": {"initech"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("demo tenant: %d\n%s", resp.StatusCode, page)
	}
	initech := ta.reg.get("initech")
	if err := initech.sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}

	mfs := scrape(t, ta)
	acmeID, globexID := acme.sp.EntityID(), globex.sp.EntityID()
	for _, flow := range []string{"sp_initiated", "logout_response"} {
		s := series(t, mfs, "entrasaml_logouts_total", dto.MetricType_COUNTER, map[string]string{"customer": acmeID, "flow": flow})
		if len(s) != 1 || s["success/ok"].GetCounter().GetValue() != 1 {
			t.Errorf("entrasaml_logouts_total for acme, flow %s: %v", flow, s)
		}
	}
	refreshes := series(t, mfs, "entrasaml_metadata_refreshes_total", dto.MetricType_COUNTER, map[string]string{"customer": initech.sp.EntityID()})
	if len(refreshes) != 1 || refreshes["success/ok"].GetCounter().GetValue() != 1 {
		t.Errorf("entrasaml_metadata_refreshes_total for initech: %v", refreshes)
	}
	signIns := series(t, mfs, "entrasaml_sign_ins_total", dto.MetricType_COUNTER, map[string]string{"customer": acmeID})
	if len(signIns) != 2 || signIns["success/ok"].GetCounter().GetValue() != 1 ||
		signIns["failure/ErrRequestIDMismatch"].GetCounter().GetValue() != 1 {
		t.Errorf("entrasaml_sign_ins_total for acme: %v", signIns)
	}
	if s := series(t, mfs, "entrasaml_sign_ins_total", dto.MetricType_COUNTER, map[string]string{"customer": globexID}); len(s) != 0 {
		t.Errorf("globex has sign-ins: %v", s)
	}
	durations := series(t, mfs, "entrasaml_sign_in_duration_seconds", dto.MetricType_HISTOGRAM, map[string]string{"customer": acmeID})
	for _, k := range []string{"success/", "failure/"} {
		h := durations[k].GetHistogram()
		if h.GetSampleCount() != 1 || h.GetSampleSum() <= 0 || len(h.GetBucket()) != 15 || h.GetBucket()[0].GetUpperBound() != 0.0005 {
			t.Errorf("entrasaml_sign_in_duration_seconds %s: %v", k, h)
		}
	}
	for _, c := range []*customer{acme, globex} {
		g := series(t, mfs, "entrasaml_idp_certificate_expiry_days", dto.MetricType_GAUGE, map[string]string{"customer": c.sp.EntityID()})
		want := time.Until(c.dev.SigningKey().Certificate.NotAfter).Hours() / 24
		if len(g) != 1 || math.Abs(g["/"].GetGauge().GetValue()-want) > 0.01 {
			t.Errorf("entrasaml_idp_certificate_expiry_days for %s: %v, want %.2f", c.Slug, g, want)
		}
	}

	// The console shows the same, per customer.
	_, page := apptest.Get(t, apptest.Browser(), ta.url("", "/operator"))
	row := regexp.MustCompile(`(?s)<tr data-slug="acme">.*?</tr>`).FindString(page)
	days := int(math.Floor(time.Until(acme.dev.SigningKey().Certificate.NotAfter).Hours() / 24))
	for _, want := range []string{
		`<li data-reason="ErrRequestIDMismatch"><code>ErrRequestIDMismatch</code>: 1</li>`,
		"days left", time.Now().UTC().Format("2006-01-02 "),
	} {
		if !strings.Contains(row, want) {
			t.Errorf("the console's acme row lacks %q:\n%s", want, row)
		}
	}
	if !regexp.MustCompile(`>\s*(` + strconv.Itoa(days) + `|` + strconv.Itoa(days-1) + `) days left<`).MatchString(row) {
		t.Errorf("the console's acme row lacks %d days left:\n%s", days, row)
	}
	globexRow := regexp.MustCompile(`(?s)<tr data-slug="globex">.*?</tr>`).FindString(page)
	if !strings.Contains(globexRow, "none yet") || !strings.Contains(globexRow, "<li>none</li>") {
		t.Errorf("the console's globex row:\n%s", globexRow)
	}
}
