package entratest_test

import (
	"crypto/rsa"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	idp, err := entratest.New(entratest.Options{Now: testNow}) // generates the default key
	if err != nil {
		t.Fatal(err)
	}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	if !guid.MatchString(idp.TenantID()) || !guid.MatchString(idp.AppID()) || idp.TenantID() == idp.AppID() {
		t.Errorf("tenant %q app %q", idp.TenantID(), idp.AppID())
	}
	tenant := idp.TenantID()
	for got, want := range map[string]string{
		idp.EntityID():    "https://sts.windows.net/" + tenant + "/",
		idp.LoginURL():    "https://login.microsoftonline.com",
		idp.SignOnURL():   "https://login.microsoftonline.com/" + tenant + "/saml2",
		idp.MetadataURL(): "https://login.microsoftonline.com/" + tenant + "/federationmetadata/2007-06/federationmetadata.xml?appid=" + idp.AppID(),
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	k := idp.SigningKey()
	if k.PrivateKey.N.BitLen() != 2048 || k.Certificate.Subject.CommonName != entratest.CertificateSubject ||
		!k.Certificate.NotBefore.Equal(testNow().Add(-time.Hour).Truncate(time.Second)) ||
		!k.Certificate.NotAfter.Equal(testNow().AddDate(3, 0, 0).Truncate(time.Second)) {
		t.Errorf("default key: %d bits, %q, %v to %v", k.PrivateKey.N.BitLen(), k.Certificate.Subject, k.Certificate.NotBefore, k.Certificate.NotAfter)
	}
	if keys := idp.Keys(); len(keys) != 1 || keys[0] != k {
		t.Errorf("Keys() = %v", keys)
	}
	other, _ := entratest.New(entratest.Options{Key: k})
	if other.TenantID() == tenant {
		t.Error("two IdPs share a random tenant id")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	other := newTestKey(t)
	for name, opts := range map[string]entratest.Options{
		"tenant with slash":   {TenantID: "a/b", Key: key},
		"app with query":      {AppID: "a?b", Key: key},
		"relative login URL":  {LoginURL: "login.microsoftonline.com", Key: key},
		"login URL with path": {LoginURL: "ftp://login.example", Key: key},
		"key without cert":    {Key: &entratest.Key{PrivateKey: key.PrivateKey}},
		"key without private": {Key: &entratest.Key{Certificate: key.Certificate}},
		"mismatched key":      {Key: &entratest.Key{PrivateKey: key.PrivateKey, Certificate: other.Certificate}},
	} {
		if _, err := entratest.New(opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	idp, err := entratest.New(entratest.Options{TenantID: "contoso.onmicrosoft.com", LoginURL: "http://127.0.0.1:8080//", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if idp.SignOnURL() != "http://127.0.0.1:8080/contoso.onmicrosoft.com/saml2" {
		t.Errorf("SignOnURL %q", idp.SignOnURL())
	}
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	nb, na := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	k, err := entratest.NewKey(2048, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	c := k.Certificate
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) || c.Subject.String() != "CN=Microsoft Azure Federated SSO Certificate" ||
		c.Issuer.String() != c.Subject.String() || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		t.Errorf("certificate %v %v %v %v", c.Subject, c.Issuer, c.NotBefore, c.NotAfter)
	}
	if !c.PublicKey.(*rsa.PublicKey).Equal(&k.PrivateKey.PublicKey) {
		t.Error("certificate does not hold the key")
	}
	if _, err := entratest.NewKey(2048, na, nb); err == nil {
		t.Error("notAfter before notBefore accepted")
	}
	if _, err := entratest.NewKey(512, nb, na); err == nil {
		t.Error("512-bit key accepted")
	}
}

func TestKeyManagement(t *testing.T) {
	t.Parallel()
	k1, k2 := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, k1)
	idp.AddKey(k2)
	idp.AddKey(k2)
	if got := idp.Keys(); !slices.Equal(got, []*entratest.Key{k1, k2}) || idp.SigningKey() != k1 {
		t.Errorf("after AddKey: %d keys, signing k1=%v", len(got), idp.SigningKey() == k1)
	}
	idp.RemoveKey(k1) // the signing key can be unpublished
	if got := idp.Keys(); !slices.Equal(got, []*entratest.Key{k2}) || idp.SigningKey() != k1 {
		t.Errorf("after RemoveKey: %d keys", len(got))
	}
	idp.UseKey(k1) // republishes it
	if got := idp.Keys(); !slices.Equal(got, []*entratest.Key{k2, k1}) || idp.SigningKey() != k1 {
		t.Errorf("after UseKey: %d keys", len(got))
	}
	keys := idp.Keys()
	keys[0] = nil
	if idp.Keys()[0] != k2 {
		t.Error("Keys() shares its slice")
	}
	defer func() {
		if recover() == nil {
			t.Error("AddKey(nil) did not panic")
		}
	}()
	idp.AddKey(nil)
}

func TestSetLoginURL(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, newTestKey(t))
	idp.SetLoginURL("https://login.partner.microsoftonline.cn/")
	if got := idp.SignOnURL(); got != "https://login.partner.microsoftonline.cn/"+idp.TenantID()+"/saml2" {
		t.Errorf("SignOnURL %q", got)
	}
	if !strings.Contains(string(idp.Metadata()), `Location="https://login.partner.microsoftonline.cn/`) {
		t.Error("metadata ignores the login URL")
	}
	if idp.EntityID() != "https://sts.windows.net/"+idp.TenantID()+"/" {
		t.Error("EntityID follows the login URL")
	}
}

// TestConcurrent exercises the IdP from several goroutines under -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	k1, k2 := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, k1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			switch i % 4 {
			case 0:
				idp.UseKey(k2)
				idp.UseKey(k1)
			case 1:
				_ = idp.Metadata()
			case 2:
				if _, err := idp.Response(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "x:y", NameID: "n"}); err != nil {
					t.Error(err)
				}
			case 3:
				idp.RemoveKey(k2)
				idp.SetLoginURL("https://login.example")
			}
		})
	}
	wg.Wait()
}
