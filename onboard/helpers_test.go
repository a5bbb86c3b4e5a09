package onboard_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

// Values fixed by testdata/xmlsec/gen.sh (see testdata/fixtures.json).
const (
	fxTenant   = "b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43"
	fxIdP      = "https://sts.windows.net/" + fxTenant + "/"
	fxSSO      = "https://login.microsoftonline.com/" + fxTenant + "/saml2"
	fxEntityID = "https://acme.vendor.example/saml"
	fxBaseURL  = "https://acme.vendor.example"
)

// fxNow is the tests' one clock: the instant the xmlsec1 fixtures are
// valid at, and the fake tenants' Now.
var fxNow = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

// quietLogger drops the warnings that New logs.
var quietLogger = slog.New(slog.DiscardHandler)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	keysOnce sync.Once
	keys     [3]*entratest.Key
	keysErr  error
)

// tenantIdP returns fake Entra tenant i (0 to 2), each signing with a key
// of its own; RSA key generation is slow, so the keys are made once.
func tenantIdP(t testing.TB, i int) *entratest.IdP {
	t.Helper()
	keysOnce.Do(func() {
		for j := range keys {
			if keys[j], keysErr = entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0)); keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	idp, err := entratest.New(entratest.Options{Key: keys[i%len(keys)], Now: func() time.Time { return fxNow }})
	if err != nil {
		t.Fatal(err)
	}
	return idp
}
