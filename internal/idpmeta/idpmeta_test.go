package idpmeta_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/internal/idpmeta"
)

// fxNow is the instant the fixtures' certificates are valid at.
var fxNow = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codes returns the findings as "code" (fatal ones as "code!"), in order.
func codes(fs []idpmeta.Finding) []string {
	var out []string
	for _, f := range fs {
		c := string(f.Code)
		if f.Fatal {
			c += "!"
		}
		if f.Reason == "" {
			c += " (no reason)"
		}
		out = append(out, c)
	}
	return out
}

// One table, one row per kind of document: the findings (every one, with
// its code, in document order) and whether a document came back.
func TestReadBytes(t *testing.T) {
	t.Parallel()
	entra := string(readTestdata(t, "entra-metadata.xml"))
	tests := []struct {
		name string
		data []byte
		now  time.Time
		doc  bool
		want []string
	}{
		{"app metadata", []byte(entra), fxNow, true, nil},
		{"other IdP", readTestdata(t, "other-idp-metadata.xml"), fxNow, true, nil},
		{"expired, judged", readTestdata(t, "entra-metadata-expired.xml"), fxNow, true,
			[]string{"certificate_expired", "certificate_expired!"}},
		{"expired, no clock", readTestdata(t, "entra-metadata-expired.xml"), time.Time{}, true, nil},
		{"weak key", readTestdata(t, "entra-metadata-weak.xml"), fxNow, true, []string{"weak_key", "weak_key!"}},
		{"expiring", []byte(entra), time.Date(2044, 12, 20, 0, 0, 0, 0, time.UTC), true,
			[]string{"certificate_expiring", "certificate_expiring"}},
		{"SP metadata", readTestdata(t, "sp-metadata.xml"), fxNow, false, []string{"sp_metadata!"}},
		{"HTML page", readTestdata(t, "html-page.html"), fxNow, false, []string{"html_page!"}},
		{"not XML", []byte("MIIC8DCCAdigAwIBAgIQ"), fxNow, false, []string{"not_xml!"}},
		{"DTD", []byte(`<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor/>`), fxNow, false, []string{"malformed!"}},
		{"too large", append([]byte("<a>"), make([]byte, idpmeta.MaxSize)...), fxNow, false, []string{"invalid_metadata!"}},
		{"several problems at once", []byte(strings.NewReplacer(
			`entityID="https://sts.windows.net/`, `entityID="`,
			`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"`, `Binding="urn:x"`,
			`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`, `Binding="urn:x"`,
		).Replace(entra)), fxNow, true, []string{"invalid_metadata!"}},
		// JumpCloud's, without "Declare Redirect Endpoint": AuthnRequests go by POST.
		{"HTTP-POST sign-on URL only", readTestdata(t, "idps/jumpcloud/metadata.xml"), fxNow, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, fs := idpmeta.ReadBytes(tt.data, tt.now)
			if got := codes(fs); !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			if (doc != nil) != tt.doc {
				t.Errorf("document %v, want %v", doc != nil, tt.doc)
			}
			if f := idpmeta.FirstFatal(fs); (f != nil) != slices.ContainsFunc(fs, func(f idpmeta.Finding) bool { return f.Fatal }) {
				t.Errorf("FirstFatal = %v", f)
			}
		})
	}
}

// Every fatal finding is reported, not just the first: a document with
// no entity ID and no sign-on URL says both.
func TestReadReportsEveryFinding(t *testing.T) {
	t.Parallel()
	md := strings.NewReplacer(`entityID="https://sts.windows.net/b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43/"`, ``,
		`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"`, `SingleSignOnService Binding="urn:x"`,
		`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`, `SingleSignOnService Binding="urn:x"`).
		Replace(string(readTestdata(t, "entra-metadata.xml")))
	_, fs := idpmeta.ReadBytes([]byte(md), fxNow)
	if len(fs) != 2 || !fs[0].Fatal || !fs[1].Fatal || !strings.Contains(fs[0].Reason, "entityID") ||
		!strings.Contains(fs[1].Reason, "HTTP-Redirect") {
		t.Errorf("findings %+v", fs)
	}
}
