package onboard_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/onboard"
)

// problems returns the report's problems as "severity:code" strings.
func problems(rep *onboard.Report) []string {
	var out []string
	for _, p := range rep.Problems {
		if p.Message == "" {
			out = append(out, "empty message for "+string(p.Code))
		}
		out = append(out, string(p.Severity)+":"+string(p.Code))
	}
	slices.Sort(out)
	return out
}

func checkReport(t *testing.T, rep *onboard.Report, ready bool, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := problems(rep); rep.Ready != ready || !slices.Equal(got, want) {
		t.Errorf("ready=%v problems=%v, want ready=%v %v", rep.Ready, got, ready, want)
		for _, p := range rep.Problems {
			t.Logf("  %s %s: %s", p.Severity, p.Code, p.Message)
		}
	}
	if rep.Problems == nil || rep.Certificates == nil {
		t.Error("nil list in the report (JSON null)")
	}
}

// newWithMetadata builds an SP from metadata, as after onboarding.
func newWithMetadata(md []byte, now time.Time) error {
	_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
		Metadata: md, Now: func() time.Time { return now }, Logger: quietLogger})
	return err
}

func TestOnboardDocuments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  []byte
		ready bool
		want  []string
	}{
		{"app metadata", readTestdata(t, "entra-metadata.xml"), true, nil},
		{"tenant-level metadata", readTestdata(t, "entra-metadata-tenant.xml"), false, []string{"error:tenant_level"}},
		{"expired certificate", readTestdata(t, "entra-metadata-expired.xml"), false, []string{"error:certificate_expired"}},
		{"weak key", readTestdata(t, "entra-metadata-weak.xml"), false, []string{"error:weak_key"}},
		{"another vendor", readTestdata(t, "other-idp-metadata.xml"), true, nil},
		{"SP metadata", readTestdata(t, "sp-metadata.xml"), false, []string{"error:sp_metadata"}},
		{"HTML page", readTestdata(t, "html-page.html"), false, []string{"error:html_page"}},
		{"not XML", []byte("MIIC8DCCAdigAwIBAgIQ..."), false, []string{"error:not_xml"}},
		{"truncated XML", readTestdata(t, "entra-metadata.xml")[:2000], false, []string{"error:invalid_metadata"}},
		{"other XML", []byte(`<?xml version="1.0"?><settings/>`), false, []string{"error:invalid_metadata"}},
		{"nothing", nil, false, []string{"error:no_input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := onboard.Check(context.Background(), onboard.Input{Metadata: tt.data, Now: func() time.Time { return fxNow }})
			checkReport(t, rep, tt.ready, tt.want...)
			// Ready means New accepts the metadata; New refusing means
			// not Ready. (New accepts tenant-level metadata: sign-in then
			// fails at every response, which Check catches earlier.)
			if err := newWithMetadata(rep.Metadata, fxNow); rep.Ready && err != nil || !rep.Ready && err == nil && tt.name != "tenant-level metadata" {
				t.Errorf("Ready=%v but New: %v", rep.Ready, err)
			}
		})
	}
}

func TestOnboardReportValues(t *testing.T) {
	t.Parallel()
	rep := onboard.Check(context.Background(), onboard.Input{Metadata: readTestdata(t, "entra-metadata.xml"),
		Now: func() time.Time { return fxNow }})
	if !rep.Ready || rep.TenantID != fxTenant || rep.EntityID != fxIdP || rep.SignOnURL != fxSSO || rep.LogoutURL != fxSSO {
		t.Errorf("report %+v", rep)
	}
	want := []onboard.Certificate{{ // testdata/fixtures.json: idp-a, idp-b
		Subject:          "CN=Microsoft Azure Federated SSO Certificate",
		ThumbprintSHA1:   "C7E9C3298058B9D376DC033B77D5549889E41F5B",
		ThumbprintSHA256: "8F469F3BEAFB7AE3381A68A0927A90AEA6A641120797C5B52939CE7A275B288C",
		NotBefore:        time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:         time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		DaysLeft:         6616,
	}, {
		Subject:          "CN=Microsoft Azure Federated SSO Certificate",
		ThumbprintSHA1:   "00EDE8CAFDD1ACAFE1AA620A35E387FEE25DEDDD",
		ThumbprintSHA256: "C17250396D0F45D9F38D72640D88948C7B5ABC923BE04EB3C3F8492C8DCCAE76",
		NotBefore:        time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:         time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		DaysLeft:         6616,
	}}
	if !slices.Equal(rep.Certificates, want) {
		t.Errorf("certificates\n got %+v\nwant %+v", rep.Certificates, want)
	}

	// The JSON a UI gets: stable names, empty lists as [], no raw document.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	cert := m["certificates"].([]any)[0].(map[string]any)
	if m["ready"] != true || m["tenant_id"] != fxTenant || m["sign_on_url"] != fxSSO ||
		cert["thumbprint_sha1"] != want[0].ThumbprintSHA1 || cert["not_after"] != "2045-01-01T00:00:00Z" || cert["days_left"] != 6616.0 ||
		!strings.Contains(string(b), `"problems":[]`) || strings.Contains(string(b), "EntityDescriptor") {
		t.Errorf("JSON %s", b)
	}
}

// certKey returns pool key i with a new certificate: subject cn, valid from
// notBefore to notAfter (no key generation).
func certKey(t *testing.T, i int, cn string, notBefore, notAfter time.Time) *entratest.Key {
	t.Helper()
	priv := tenantIdP(t, i).SigningKey().PrivateKey
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &entratest.Key{PrivateKey: priv, Certificate: cert}
}

func TestOnboardCertificates(t *testing.T) {
	t.Parallel()
	const cn = entratest.CertificateSubject
	current := func() *entratest.Key { return certKey(t, 0, cn, fxNow.AddDate(-1, 0, 0), fxNow.AddDate(2, 0, 0)) }
	tests := []struct {
		name  string
		keys  func() []*entratest.Key
		ready bool
		want  []string
	}{
		{"rollover: one current, one expired", func() []*entratest.Key {
			return []*entratest.Key{current(), certKey(t, 1, cn, fxNow.AddDate(-3, 0, 0), fxNow.AddDate(0, 0, -1))}
		}, true, []string{"warning:certificate_expired"}},
		{"expires in 10 days", func() []*entratest.Key {
			return []*entratest.Key{certKey(t, 0, cn, fxNow.AddDate(-3, 0, 0), fxNow.Add(10*24*time.Hour+time.Hour))}
		}, true, []string{"warning:certificate_expiring"}},
		{"rollover: new one not yet valid", func() []*entratest.Key {
			return []*entratest.Key{current(), certKey(t, 1, cn, fxNow.AddDate(0, 0, 1), fxNow.AddDate(3, 0, 0))}
		}, true, []string{"warning:certificate_expired"}},
		{"only one, not yet valid", func() []*entratest.Key {
			return []*entratest.Key{certKey(t, 1, cn, fxNow.AddDate(0, 0, 1), fxNow.AddDate(3, 0, 0))}
		}, false, []string{"error:certificate_expired"}},
		{"tenant-level certificates", func() []*entratest.Key {
			return []*entratest.Key{certKey(t, 2, "accounts.accesscontrol.windows.net", fxNow.AddDate(-1, 0, 0), fxNow.AddDate(1, 0, 0))}
		}, false, []string{"error:tenant_level"}},
		{"an imported certificate", func() []*entratest.Key {
			return []*entratest.Key{certKey(t, 2, "acme SAML signing", fxNow.AddDate(-1, 0, 0), fxNow.AddDate(1, 0, 0))}
		}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := tt.keys()
			idp, err := entratest.New(entratest.Options{Key: keys[0], Now: func() time.Time { return fxNow }})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys[1:] {
				idp.AddKey(k)
			}
			rep := onboard.Check(context.Background(), onboard.Input{Metadata: idp.Metadata(), Now: func() time.Time { return fxNow }})
			checkReport(t, rep, tt.ready, tt.want...)
			if len(rep.Certificates) != len(keys) {
				t.Errorf("%d certificates", len(rep.Certificates))
			}
			if tt.name == "expires in 10 days" && rep.Certificates[0].DaysLeft != 10 {
				t.Errorf("DaysLeft %d", rep.Certificates[0].DaysLeft)
			}
		})
	}
	k := certKey(t, 0, cn, fxNow.AddDate(-3, 0, 0), fxNow.Add(-time.Hour))
	idp, _ := entratest.New(entratest.Options{Key: k, Now: func() time.Time { return fxNow }})
	if rep := onboard.Check(context.Background(), onboard.Input{Metadata: idp.Metadata(), Now: func() time.Time { return fxNow }}); rep.Certificates[0].DaysLeft != -1 {
		t.Errorf("expired an hour ago: DaysLeft %d, want -1", rep.Certificates[0].DaysLeft)
	}
}

// metadataHost serves idp's metadata at Entra's path (any query), or what
// body returns, over TLS.
func metadataHost(t *testing.T, idp *entratest.IdP, body func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body != nil {
			body(w, r)
			return
		}
		if !strings.EqualFold(r.URL.Path, "/"+idp.TenantID()+"/federationmetadata/2007-06/federationmetadata.xml") {
			http.NotFound(w, r)
			return
		}
		w.Write(idp.Metadata())
	}))
	t.Cleanup(srv.Close)
	return srv, srv.URL + "/" + idp.TenantID() + "/federationmetadata/2007-06/federationmetadata.xml"
}

func TestOnboardURL(t *testing.T) {
	t.Parallel()
	idp, other := tenantIdP(t, 0), tenantIdP(t, 1)
	now := func() time.Time { return fxNow }
	srv, tenantURL := metadataHost(t, idp, nil)
	appURL := tenantURL + "?appid=" + idp.AppID()

	rep := onboard.Check(context.Background(), onboard.Input{MetadataURL: appURL, HTTPClient: srv.Client(), Now: now})
	checkReport(t, rep, true)
	if rep.TenantID != idp.TenantID() || rep.AppID != idp.AppID() || rep.MetadataURL != appURL || len(rep.Metadata) == 0 {
		t.Errorf("report %+v", rep)
	}
	// What onboarding found is what New needs.
	if _, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "https://acme.vendor.example/saml",
		BaseURL: "https://acme.vendor.example", Metadata: rep.Metadata, MetadataURL: appURL, HTTPClient: srv.Client(), Now: now}); err != nil {
		t.Errorf("New with the onboarded metadata: %v", err)
	}

	plain := httptest.NewServer(srv.Config.Handler)
	t.Cleanup(plain.Close)
	hang := make(chan struct{})
	_, slowURL := metadataHost(t, idp, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(hang) }) // before the server closes
	_, htmlURL := metadataHost(t, idp, func(w http.ResponseWriter, r *http.Request) { w.Write(readTestdata(t, "html-page.html")) })
	_, hugeURL := metadataHost(t, idp, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<EntityDescriptor>"))
		w.Write(make([]byte, entrasaml.MaxMetadataSize))
	})
	tests := []struct {
		name     string
		timeout  time.Duration
		in       onboard.Input
		ready    bool
		problems []string
	}{
		{"tenant-level URL", 0, onboard.Input{MetadataURL: tenantURL}, false, []string{"error:tenant_level"}},
		{"plain http", 0, onboard.Input{MetadataURL: strings.Replace(appURL, srv.URL, plain.URL, 1), HTTPClient: plain.Client()}, true, []string{"warning:metadata_url"}},
		{"not found", 0, onboard.Input{MetadataURL: srv.URL + "/nope?appid=x"}, false, []string{"error:fetch_failed"}},
		{"HTML", 0, onboard.Input{MetadataURL: htmlURL + "?appid=x"}, false, []string{"error:html_page"}},
		{"too large", 0, onboard.Input{MetadataURL: hugeURL + "?appid=x"}, false, []string{"error:fetch_failed"}},
		{"hangs", 100 * time.Millisecond, onboard.Input{MetadataURL: slowURL + "?appid=x"}, false, []string{"error:fetch_failed"}},
		{"not a URL", 0, onboard.Input{MetadataURL: "login.microsoftonline.com/x"}, false, []string{"error:metadata_url"}},
		{"not http", 0, onboard.Input{MetadataURL: "file:///etc/passwd"}, false, []string{"error:metadata_url"}},
		{"XML and URL of different tenants", 0, onboard.Input{Metadata: other.Metadata(), MetadataURL: appURL}, false, []string{"error:tenant_mismatch"}},
		{"URL names the tenant by domain", 0, onboard.Input{Metadata: idp.Metadata(), MetadataURL: "https://login.microsoftonline.com/contoso.onmicrosoft.com" +
			"/federationmetadata/2007-06/federationmetadata.xml?appid=" + idp.AppID()}, true, nil},
		{"XML given, URL only checked", 0, onboard.Input{Metadata: idp.Metadata(), MetadataURL: "https://127.0.0.1:1/" + idp.TenantID() +
			"/federationmetadata/2007-06/federationmetadata.xml?appid=" + idp.AppID()}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if tt.in.HTTPClient == nil {
				tt.in.HTTPClient = srv.Client()
			}
			tt.in.Now = now
			checkReport(t, onboard.Check(ctx, tt.in), tt.ready, tt.problems...)
		})
	}
}

// By default Check does not fetch from loopback, private or link-local
// addresses: the URL comes from outside and must not reach the vendor's
// internal network.
func TestOnboardDefaultClientRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	for _, u := range []string{srv.URL + "/x?appid=1", "http://[::1]:1/x", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:1/x", "http://100.64.0.1:1/x"} {
		rep := onboard.Check(context.Background(), onboard.Input{MetadataURL: u})
		if rep.Ready || !slices.Contains(problems(rep), "error:fetch_failed") || !strings.Contains(rep.Problems[0].Message, "private or local") {
			t.Errorf("%s: %+v", u, rep.Problems)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the internal server was reached %d times", hits.Load())
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"entra-metadata.xml", "entra-metadata-tenant.xml", "entra-metadata-expired.xml",
		"other-idp-metadata.xml", "sp-metadata.xml", "html-page.html"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := onboard.Check(context.Background(), onboard.Input{Metadata: data, Now: func() time.Time { return fxNow }})
		if _, err := json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
		if err := newWithMetadata(data, fxNow); rep.Ready && err != nil {
			t.Fatalf("Ready, but New refuses: %v", err)
		}
	})
}

// Every customer's IdP: the real metadata of each (testdata/idps) is
// recognised and reported as supported, with notes on what to set there.
func TestOnboardOtherIdPs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir, idp string
		ready    bool   // false: refused for a reason the notes fix
		note     string // in one of the notes
	}{
		{"okta", "Okta", true, `"Audience URI (SP Entity ID)"`},
		{"google", "Google Workspace", true, `"ACS URL"`},
		{"adfs", "AD FS", false, `"Relying party trust identifier"`}, // its real certificate expired in 2017
		{"keycloak", "Keycloak", true, `"Client signature required"`},
		{"pingone", "PingFederate / PingOne", false, `"Partner's Entity ID (Connection ID)"`}, // expired in 2024
		{"onelogin", "OneLogin", false, `"ACS (Consumer) URL"`},                               // expired in 2018
		{"jumpcloud", "JumpCloud", true, `"Declare Redirect Endpoint"`},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			rep := onboard.Check(context.Background(), onboard.Input{
				Metadata: readTestdata(t, "idps/"+tt.dir+"/metadata.xml"),
				Now:      func() time.Time { return fxNow },
			})
			if rep.IdP != tt.idp || rep.Ready != tt.ready || !strings.Contains(strings.Join(rep.Notes, "\n"), tt.note) || rep.SignOnURL == "" {
				t.Errorf("IdP %q ready %v notes %q problems %+v", rep.IdP, rep.Ready, rep.Notes, rep.Problems)
			}
			for _, p := range rep.Problems {
				if tt.ready || p.Severity != onboard.SeverityError || (p.Code != onboard.ProblemCertificateExpired && p.Code != onboard.ProblemInvalidMetadata) {
					t.Errorf("problem %+v", p)
				}
			}
		})
	}
	entra := onboard.Check(context.Background(), onboard.Input{Metadata: readTestdata(t, "entra-metadata.xml"), Now: func() time.Time { return fxNow }})
	if entra.IdP != "Microsoft Entra ID" || len(entra.Notes) != 0 {
		t.Errorf("Entra: IdP %q, notes %q", entra.IdP, entra.Notes)
	}
}
