package entrasaml_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
)

// responseSeeds are the xmlsec1-signed responses the fuzzers start from.
func responseSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/response-*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no response fixtures: %v", err)
	}
	seeds := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds[filepath.Base(f)] = b
	}
	return seeds
}

// FuzzVerify mutates signed responses. Verify must never panic, and may
// only return a session whose every value is exactly what the IdP signed:
// the session of an unmutated fixture with the same assertion ID.
func FuzzVerify(f *testing.F) {
	sp := fixtureSP(f, func(c *entrasaml.Config) {
		c.Store = forgetfulStore{} // the same assertion verifies again and again
		c.AllowSHA1 = true
		c.AllowIdPInitiated = true
	})
	signed := make(map[string]*entrasaml.Session) // by assertion ID
	for name, xml := range responseSeeds(f) {
		f.Add(xml)
		s, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(xml), fxRequestID)
		if err == nil {
			signed[s.AssertionID] = s
		} else if !strings.Contains(name, "error") && !strings.Contains(name, "foreign") {
			f.Fatalf("seed %s does not verify: %v", name, err)
		}
	}
	if len(signed) < 6 {
		f.Fatalf("only %d seeds verify", len(signed))
	}
	f.Fuzz(func(t *testing.T, xml []byte) {
		s, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(xml), fxRequestID)
		if err != nil {
			if s != nil {
				t.Fatal("session returned with an error")
			}
			return
		}
		want, ok := signed[s.AssertionID]
		if !ok {
			t.Fatalf("session for an assertion the IdP never signed: %+v", s)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("session differs from what the IdP signed:\n got %+v\nwant %+v", s, want)
		}
	})
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
