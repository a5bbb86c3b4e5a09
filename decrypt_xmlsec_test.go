package entrasaml_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// fixtureDecryptionKey is the SP encryption key of testdata/encrypted/
// (test-only), which encrypted the fixtures made by
// testdata/encrypted/gen.sh with xmlsec1.
func fixtureDecryptionKey(t testing.TB) entrasaml.DecryptionKey {
	t.Helper()
	blk, _ := pem.Decode(readTestdata(t, "encrypted/keys/sp-enc.key"))
	if blk == nil {
		t.Fatal("sp-enc.key: no PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ = pem.Decode(readTestdata(t, "encrypted/keys/sp-enc.crt"))
	if blk == nil {
		t.Fatal("sp-enc.crt: no PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return entrasaml.DecryptionKey{Key: key.(crypto.Decrypter), Certificate: cert}
}

// TestDecryptXMLSec1Fixtures verifies assertions encrypted (and responses
// signed after encryption) by xmlsec1. Each must give exactly the session
// of the same assertion in the clear.
func TestDecryptXMLSec1Fixtures(t *testing.T) {
	t.Parallel()
	allowCBC := func(c *entrasaml.Config) { c.AllowUnsignedCBC = true }
	for _, tc := range []struct {
		file  string
		plain string // the fixture it was made from
		cfg   func(*entrasaml.Config)
		want  error
	}{
		// Entra's default signing with encryption: CBC without an outer signature.
		{file: "aes256cbc-assertion-signed.xml", plain: "response-assertion-signed.xml", want: entrasaml.ErrInvalidSignature},
		{file: "aes256cbc-assertion-signed.xml", plain: "response-assertion-signed.xml", cfg: allowCBC},
		// "Sign SAML response and assertion" with encryption: the recommended setting.
		{file: "aes256cbc-both-signed.xml", plain: "response-assertion-signed.xml"},
		{file: "aes128gcm-assertion-signed.xml", plain: "response-assertion-signed.xml"},
		{file: "aes256gcm-response-signed.xml", plain: "response-signed.xml"},
		// saml: declared on the Response only, so missing from the plaintext.
		{file: "aes128cbc-prefixed-both-signed.xml", plain: "response-assertion-signed.xml"},
		// A genuine PKCS#1 v1.5 EncryptedKey that the key could open: refused unopened.
		{file: "rsa15-assertion-signed.xml", want: entrasaml.ErrDecryption},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			sp := fixtureSP(t, func(c *entrasaml.Config) {
				c.DecryptionKeys = []entrasaml.DecryptionKey{fixtureDecryptionKey(t)}
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			s, err := sp.Verify(context.Background(), fixtureB64(t, "encrypted/"+tc.file), fxRequestID)
			if tc.want != nil {
				if s != nil || !errors.Is(err, tc.want) {
					t.Fatalf("Verify = %v, %v; want %v", s, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := fixtureSP(t, nil).Verify(context.Background(), fixtureB64(t, tc.plain), fxRequestID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("session\n%+v\nwant (from %s)\n%+v", s, tc.plain, want)
			}
		})
	}
}

// TestDecryptXMLSec1WrongKey: the xmlsec1 fixtures do not open with
// another key, and a key list that holds the right one second works.
func TestDecryptXMLSec1WrongKey(t *testing.T) {
	t.Parallel()
	_, _, other := spEncKeys(t)
	for keys, want := range map[int]error{1: entrasaml.ErrDecryption, 2: nil} {
		sp := fixtureSP(t, func(c *entrasaml.Config) {
			c.DecryptionKeys = []entrasaml.DecryptionKey{decKey(other), fixtureDecryptionKey(t)}[:keys]
		})
		_, err := sp.Verify(context.Background(), fixtureB64(t, "encrypted/aes256cbc-both-signed.xml"), fxRequestID)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("%d keys: %v, want %v", keys, err, want)
		}
	}
}

// FuzzVerifyEncrypted mutates the xmlsec1-encrypted responses. Verify must
// never panic, and may only return the session of the assertion the IdP
// signed (a mutated ciphertext, key or algorithm never yields another).
func FuzzVerifyEncrypted(f *testing.F) {
	sp := fixtureSP(f, func(c *entrasaml.Config) {
		c.Store = forgetfulStore{}
		c.DecryptionKeys = []entrasaml.DecryptionKey{fixtureDecryptionKey(f)}
		c.AllowUnsignedCBC = true
	})
	files, err := filepath.Glob("testdata/encrypted/*.xml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no encrypted fixtures: %v", err)
	}
	signed := make(map[string]*entrasaml.Session)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if s, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(b), fxRequestID); err == nil {
			signed[s.AssertionID] = s
		}
	}
	if len(signed) != 2 { // the assertions of response-assertion-signed.xml and response-signed.xml
		f.Fatalf("%d distinct assertions verify, want 2", len(signed))
	}
	f.Fuzz(func(t *testing.T, xml []byte) { checkFuzzed(t, sp, signed, xml) })
}

// Token encryption: the SP's private key, and the certificate uploaded in
// the Entra application's "Token encryption" page.
func ExampleDecryptionKey() {
	keyPEM, _ := os.ReadFile("testdata/encrypted/keys/sp-enc.key")
	certPEM, _ := os.ReadFile("testdata/encrypted/keys/sp-enc.crt")
	blk, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	blk, _ = pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	metadata, _ := os.ReadFile("testdata/entra-metadata.xml")
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: metadata,
		// Rotation: put the new key first (its certificate is the one the
		// SP metadata advertises), keep the old one until Entra uses the new.
		DecryptionKeys: []entrasaml.DecryptionKey{{Key: key.(crypto.Decrypter), Certificate: cert}},
		Now:            func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	// A response from an Entra app with token encryption and "Sign SAML
	// response and assertion".
	xml, _ := os.ReadFile("testdata/encrypted/aes256cbc-both-signed.xml")
	session, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(xml), "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(session.NameID)
	// Output: adele.vance@contoso.example
}
