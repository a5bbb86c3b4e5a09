package entrasaml_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Values fixed by testdata/xmlsec/gen.sh (see testdata/fixtures.json).
const (
	fxTenant    = "b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43"
	fxIdP       = "https://sts.windows.net/" + fxTenant + "/"
	fxSSO       = "https://login.microsoftonline.com/" + fxTenant + "/saml2"
	fxEntityID  = "https://acme.vendor.example/saml"
	fxBaseURL   = "https://acme.vendor.example"
	fxACS       = "https://acme.vendor.example/saml/acs"
	fxRequestID = "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e"
)

// fxNow is the one clock of the tests: the instant the xmlsec1 fixtures
// are verified at, and the fake Entra tenant's and every SP's Config.Now.
var fxNow = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureB64 returns a testdata response as its SAMLResponse form value.
func fixtureB64(t testing.TB, name string) string {
	return base64.StdEncoding.EncodeToString(readTestdata(t, name))
}

// fixtureSP returns an SP configured for the xmlsec1 fixtures, pinned at
// fxNow, after mod has adjusted its Config.
func fixtureSP(t testing.TB, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	return newSP(t, entrasaml.Config{
		EntityID: fxEntityID,
		BaseURL:  fxBaseURL,
		Metadata: readTestdata(t, "entra-metadata.xml"),
		Now:      func() time.Time { return fxNow },
	}, mod)
}

// newSP returns New(cfg) after mod (if any) has adjusted cfg, failing the
// test on an error. Refusals are logged to quietLogger unless mod says
// otherwise.
func newSP(t testing.TB, cfg entrasaml.Config, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	cfg.Logger = quietLogger
	if mod != nil {
		mod(&cfg)
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sp
}

// quietLogger drops the warnings that refused responses log.
var quietLogger = slog.New(slog.DiscardHandler)

var (
	testIdPOnce sync.Once
	testIdP     *entratest.IdP
	otherKey    *entratest.Key
	testIdPErr  error
)

// sharedIdP returns one fake Entra tenant for all tests in the package
// (RSA key generation is slow), and a foreign key that its metadata lacks.
// Tests must not change its keys.
func sharedIdP(t testing.TB) (*entratest.IdP, *entratest.Key) {
	t.Helper()
	testIdPOnce.Do(func() {
		k, err := entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0))
		if err != nil {
			testIdPErr = err
			return
		}
		testIdP, testIdPErr = entratest.New(entratest.Options{Key: k, Now: func() time.Time { return fxNow }})
		if testIdPErr == nil {
			otherKey, testIdPErr = entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0))
		}
	})
	if testIdPErr != nil {
		t.Fatal(testIdPErr)
	}
	return testIdP, otherKey
}

// newTestSP returns an SP for idp at fxNow, after mod has adjusted its Config.
func newTestSP(t testing.TB, idp *entratest.IdP, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	return newSP(t, entrasaml.Config{
		EntityID: fxEntityID,
		BaseURL:  fxBaseURL,
		Metadata: idp.Metadata(),
		Now:      func() time.Time { return fxNow },
	}, mod)
}

func adele() entratest.User {
	return entratest.User{
		ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10", UPN: "adele@contoso.example", Email: "adele.vance@contoso.example",
		GivenName: "Adele", Surname: "Vance", DisplayName: "Adele Vance",
		Groups: []string{"0b7cc495-fc1e-480d-9bb6-c289fda37380", "4b4accf6-f84c-431f-8025-4718eec9aa05"},
		Roles:  []string{"Admin"},
	}
}

// goodResponse is a valid SP-initiated response for the test SP.
func goodResponse() entratest.Response {
	return entratest.Response{ACSURL: fxACS, Audience: fxEntityID, InResponseTo: fxRequestID, User: adele()}
}

// forgetfulStore accepts every assertion: for benchmarks only.
type forgetfulStore struct{}

func (forgetfulStore) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (forgetfulStore) Set(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (forgetfulStore) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (forgetfulStore) Delete(context.Context, string) error { return nil }

// checkFuzzed is the property of the Verify fuzz targets: a mutated
// response yields no session, or exactly a session the IdP signed (signed
// holds them by assertion ID).
func checkFuzzed(t *testing.T, sp *entrasaml.SP, signed map[string]*entrasaml.Session, xml []byte) {
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
}
