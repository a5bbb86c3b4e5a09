package entrasaml_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

func TestParseMetadataEntra(t *testing.T) {
	t.Parallel()
	data := readTestdata(t, "entra-metadata.xml")
	if !bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatal("fixture lost its byte-order mark")
	}
	md, err := entrasaml.ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != fxIdP || md.TenantID != fxTenant || md.SignOnURL != fxSSO || md.LogoutURL != fxSSO {
		t.Errorf("got %+v", md)
	}
	// Both rollover certificates of the IDPSSODescriptor, in order; the
	// RoleDescriptors' copies are not counted twice.
	if len(md.Certificates) != 2 {
		t.Fatalf("got %d certificates, want 2", len(md.Certificates))
	}
	a, b := readTestdata(t, "keys/idp-a.crt"), readTestdata(t, "keys/idp-b.crt")
	if !bytes.Contains(a, []byte("BEGIN CERTIFICATE")) || !bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
		t.Fatal("bad key fixtures")
	}
	want := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range md.Certificates {
		if !c.NotAfter.Equal(want) {
			t.Errorf("certificate expiry %v, want %v", c.NotAfter, want)
		}
	}
}

func TestParseMetadataOtherIdP(t *testing.T) {
	t.Parallel()
	md, err := entrasaml.ParseMetadata(readTestdata(t, "other-idp-metadata.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != "http://www.okta.com/exk1abcd" || md.TenantID != "" ||
		md.SignOnURL != "https://example.okta.com/app/x/sso/saml" || len(md.Certificates) != 1 {
		t.Errorf("got %+v", md)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	t.Parallel()
	entra := string(readTestdata(t, "entra-metadata.xml"))
	tests := []struct {
		name string
		data string
		want string // a phrase the admin needs to see
	}{
		{"html page", string(readTestdata(t, "html-page.html")), "HTML"},
		{"sp metadata", string(readTestdata(t, "sp-metadata.xml")), "service-provider"},
		{"weak key only", string(readTestdata(t, "entra-metadata-weak.xml")), "2048"},
		{"expired only", string(readTestdata(t, "entra-metadata-expired.xml")), "expired"},
		{"not xml", "hello", "XML"},
		{"empty", "", "XML"},
		{"wrong root", `<foo xmlns="urn:x"/>`, "root element"},
		{"no signing cert", removeAll(entra, "<KeyDescriptor use=\"signing\">", "</KeyDescriptor>"), "no signing certificate"},
		{"no redirect sso", strings.ReplaceAll(entra, `SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"`, `SingleSignOnService Binding="urn:x"`), "HTTP-Redirect"},
		{"doctype", strings.Replace(entra, "<EntityDescriptor", `<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor`, 1), "DTD"},
		{"two idps", `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + stripProlog(entra) + stripProlog(entra) + `</EntitiesDescriptor>`, "2 identity providers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := entrasaml.ParseMetadata([]byte(tt.data), entrasaml.CheckExpiry(fxNow))
			if !errors.Is(err, entrasaml.ErrMetadata) {
				t.Fatalf("got %v, want ErrMetadata", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// ParseMetadata reads no clock: expiry is judged only at an explicit time.
func TestParseMetadataClock(t *testing.T) {
	t.Parallel()
	expired := readTestdata(t, "entra-metadata-expired.xml")
	if md, err := entrasaml.ParseMetadata(expired); err != nil || len(md.Certificates) == 0 {
		t.Errorf("without a clock: %v", err)
	}
	if _, err := entrasaml.ParseMetadata(expired, entrasaml.CheckExpiry(fxNow)); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("expired at fxNow: got %v, want ErrMetadata", err)
	}
	valid := readTestdata(t, "entra-metadata.xml")
	if _, err := entrasaml.ParseMetadata(valid, entrasaml.CheckExpiry(fxNow)); err != nil {
		t.Errorf("valid at fxNow: %v", err)
	}
	if _, err := entrasaml.ParseMetadata(valid, entrasaml.CheckExpiry(time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC))); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("expired in 2046: got %v, want ErrMetadata", err)
	}
}

// removeAll cuts every span from start to the next end out of s.
func removeAll(s, start, end string) string {
	for {
		i := strings.Index(s, start)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], end)
		s = s[:i] + s[i+j+len(end):]
	}
}

func stripProlog(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	if i := strings.Index(s, "?>"); strings.HasPrefix(s, "<?xml") && i > 0 {
		s = s[i+2:]
	}
	return s
}

func TestEntraMetadataURL(t *testing.T) {
	t.Parallel()
	got := entrasaml.EntraMetadataURL(fxTenant, "0d8e1f2a-6b3c-4d5e-8f9a-1b2c3d4e5f60")
	want := "https://login.microsoftonline.com/" + fxTenant + "/federationmetadata/2007-06/federationmetadata.xml?appid=0d8e1f2a-6b3c-4d5e-8f9a-1b2c3d4e5f60"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestNewMetadataURL(t *testing.T) {
	t.Parallel()
	md := readTestdata(t, "entra-metadata.xml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write(md)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write(readTestdata(t, "html-page.html"))
		case "/huge":
			w.Write(bytes.Repeat([]byte(" "), entrasaml.MaxMetadataSize+10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	newSP := func(path string) error {
		_, err := entrasaml.New(context.Background(), entrasaml.Config{
			EntityID: fxEntityID, BaseURL: fxBaseURL, MetadataURL: srv.URL + path,
			Now: func() time.Time { return fxNow },
		})
		return err
	}
	if err := newSP("/ok"); err != nil {
		t.Fatalf("fetching good metadata: %v", err)
	}
	for _, path := range []string{"/html", "/huge", "/missing"} {
		if err := newSP(path); !errors.Is(err, entrasaml.ErrMetadata) {
			t.Errorf("%s: got %v, want ErrMetadata", path, err)
		}
	}
	var e *entrasaml.Error
	if err := newSP("/huge"); !errors.As(err, &e) || !e.TooLarge() {
		t.Errorf("/huge: got %v, want a too-large error", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	md := readTestdata(t, "entra-metadata.xml")
	tests := []struct {
		name string
		cfg  entrasaml.Config
		want error
	}{
		{"no entity id", entrasaml.Config{BaseURL: fxBaseURL, Metadata: md}, entrasaml.ErrConfig},
		{"no base url", entrasaml.Config{EntityID: fxEntityID, Metadata: md}, entrasaml.ErrConfig},
		{"relative base url", entrasaml.Config{EntityID: fxEntityID, BaseURL: "/app", Metadata: md}, entrasaml.ErrConfig},
		{"base url with query", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL + "?x=1", Metadata: md}, entrasaml.ErrConfig},
		{"no metadata", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL}, entrasaml.ErrConfig},
		{"negative skew", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: md, ClockSkew: -1}, entrasaml.ErrConfig},
		{"bad nameid format", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: md,
			AuthnOptions: entrasaml.AuthnOptions{NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos"}}, entrasaml.ErrConfig},
		{"bad metadata", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: []byte("<html></html>")}, entrasaml.ErrMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Now = func() time.Time { return fxNow }
			if _, err := entrasaml.New(context.Background(), tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewExpiredMetadataAtConfigNow(t *testing.T) {
	t.Parallel()
	cfg := entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: readTestdata(t, "entra-metadata.xml")}
	cfg.Now = func() time.Time { return time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := entrasaml.New(context.Background(), cfg); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("certificates expired at Config.Now: got %v, want ErrMetadata", err)
	}
}
