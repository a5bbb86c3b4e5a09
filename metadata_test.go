package entrasaml_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
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
		{"no redirect or post sso", strings.NewReplacer(`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"`, `SingleSignOnService Binding="urn:x"`,
			`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`, `SingleSignOnService Binding="urn:x"`).Replace(entra), "HTTP-Redirect or HTTP-POST"},
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

func TestMetadataSigners(t *testing.T) {
	t.Parallel()
	md := string(readTestdata(t, "entra-metadata.xml"))
	colons := strings.ToUpper(fpIdPA[:2])
	for i := 2; i < len(fpIdPA); i += 2 {
		colons += ":" + strings.ToUpper(fpIdPA[i:i+2])
	}
	tests := []struct {
		name string
		md   string
		pins []string
		want error
	}{
		{"pinned signer", md, []string{fpIdPA}, nil},
		{"pin with colons", md, []string{colons}, nil},
		{"one of several pins", md, []string{fpForeign, fpIdPA}, nil},
		{"other signer", md, []string{fpForeign}, entrasaml.ErrMetadata},
		{"tampered after signing", strings.Replace(md, "/saml2\"", "/saml3\"", 1), []string{fpIdPA}, entrasaml.ErrMetadata},
		{"unsigned", string(readTestdata(t, "other-idp-metadata.xml")), []string{fpIdPA}, entrasaml.ErrMetadata},
		{"not a fingerprint", md, []string{"abc"}, entrasaml.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
				Metadata: []byte(tt.md), MetadataSigners: tt.pins, Now: func() time.Time { return fxNow }})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// A refresh signed by a certificate that is not pinned is refused and the
// last good metadata kept.
func TestMetadataSignersOnRefresh(t *testing.T) {
	t.Parallel()
	clk := &clock{now: fxNow}
	idp, err := entratest.New(entratest.Options{Key: newKey(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ms := newMetadataServer(t, idp)
	fp := sha256.Sum256(idp.SigningKey().Certificate.Raw)
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
		MetadataURL: ms.URL, MetadataSigners: []string{hex.EncodeToString(fp[:])}, Now: clk.Now, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	old := idp.SigningKey()
	idp.UseKey(newKey(t)) // the metadata is now signed by a key nobody pinned
	if err := sp.RefreshMetadata(context.Background()); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("refresh signed by an unpinned key: %v", err)
	}
	if got := sp.IdPMetadata().Certificates; len(got) != 1 || !got[0].Equal(old.Certificate) {
		t.Errorf("last good metadata not kept")
	}
}

// FuzzParseMetadata: no panic, and whatever parses is usable.
func FuzzParseMetadata(f *testing.F) {
	for _, name := range []string{"entra-metadata.xml", "entra-metadata-tenant.xml", "other-idp-metadata.xml",
		"sp-metadata.xml", "entra-metadata-weak.xml", "html-page.html"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := entrasaml.ParseMetadata(data)
		if err != nil {
			if md != nil {
				t.Fatal("metadata returned with an error")
			}
			return
		}
		if md.EntityID == "" || md.SignOnURL == "" || len(md.Certificates) == 0 {
			t.Fatalf("unusable metadata accepted: %+v", md)
		}
	})
}

func BenchmarkParseMetadata(b *testing.B) {
	md := readTestdata(b, "entra-metadata.xml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := entrasaml.ParseMetadata(md); err != nil {
			b.Fatal(err)
		}
	}
}
