package entrasaml_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

func TestEntraSettings(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	for _, tc := range []struct{ base, root string }{
		{"https://acme.vendor.example", "https://acme.vendor.example"},
		{"https://acme.vendor.example/", "https://acme.vendor.example"},
		{"https://vendor.example/acme", "https://vendor.example/acme"},
		{"http://acme.localhost:8080", "http://acme.localhost:8080"},
	} {
		sp := newSP(t, entrasaml.Config{EntityID: "urn:vendor:acme", BaseURL: tc.base, Metadata: idp.Metadata(),
			Now: func() time.Time { return fxNow }}, nil)
		got, err := entrasaml.NewEntraSettings("urn:vendor:acme", tc.base)
		want := entrasaml.EntraSettings{Identifier: "urn:vendor:acme", ReplyURL: tc.root + "/saml/acs", ReplyURLs: []string{tc.root + "/saml/acs"},
			SignOnURL: tc.root + "/saml/login", LogoutURL: tc.root + "/saml/logout", SPMetadataURL: tc.root + "/saml/metadata"}
		if err != nil || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(sp.EntraSettings(), want) || sp.ACSURL() != want.ReplyURL || sp.LogoutURL() != want.LogoutURL {
			t.Errorf("%s: %+v, %v; SP %+v", tc.base, got, err, sp.EntraSettings())
		}
		// The SP metadata carries the same values and is served at MetadataURL.
		md := string(sp.SPMetadata())
		for _, v := range []string{`entityID="` + want.Identifier + `"`, `Location="` + want.ReplyURL + `"`, `Location="` + want.LogoutURL + `"`} {
			if !strings.Contains(md, v) {
				t.Errorf("SP metadata lacks %s:\n%s", v, md)
			}
		}
		rec := httptest.NewRecorder()
		sp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, want.SPMetadataURL, nil))
		if rec.Code != 200 || rec.Body.String() != md {
			t.Errorf("GET %s: %d", want.SPMetadataURL, rec.Code)
		}
	}
	for _, tc := range [][2]string{{"", "https://acme.vendor.example"}, {"x", "acme.vendor.example"}, {"x", "ftp://acme.vendor.example"},
		{"x", "https://acme.vendor.example/?a=b"}, {"x", "https://user@acme.vendor.example"},
		// A Reply URL pasted as BaseURL would give .../saml/acs/saml/acs.
		{"x", "https://acme.vendor.example/saml/acs"}, {"x", "https://acme.vendor.example/saml/acs/"},
		{"x", "https://vendor.example/acme/saml/logout"}} {
		_, err := entrasaml.NewEntraSettings(tc[0], tc[1])
		_, newErr := entrasaml.New(context.Background(), entrasaml.Config{EntityID: tc[0], BaseURL: tc[1], Metadata: idp.Metadata()})
		if !errors.Is(err, entrasaml.ErrConfig) || !errors.Is(newErr, entrasaml.ErrConfig) {
			t.Errorf("%q %q: %v; New: %v", tc[0], tc[1], err, newErr)
		}
	}
}
