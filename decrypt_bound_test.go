package entrasaml_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// countingKey is a DecryptionKey's crypto.Decrypter that counts its
// private-key operations.
type countingKey struct {
	crypto.Decrypter
	n *atomic.Int32
}

func (k countingKey) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.n.Add(1)
	return k.Decrypter.Decrypt(r, msg, opts)
}

// countedKeys returns DecryptionKeys for ks whose operations all add to n.
func countedKeys(n *atomic.Int32, ks ...*entratest.Key) []entrasaml.DecryptionKey {
	var out []entrasaml.DecryptionKey
	for _, k := range ks {
		out = append(out, entrasaml.DecryptionKey{Key: countingKey{k.PrivateKey, n}, Certificate: k.Certificate})
	}
	return out
}

// stripKeyCertificate drops the KeyInfo of the EncryptedKey, as IdPs that
// do not name the recipient's certificate send it.
func stripKeyCertificate(t *testing.T, doc []byte) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	kis := d.FindElements("//EncryptedKey/KeyInfo")
	if len(kis) != 1 {
		t.Fatalf("%d EncryptedKey KeyInfos", len(kis))
	}
	kis[0].Parent().RemoveChild(kis[0])
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An unsigned Response can be posted by anyone, and each key tried on its
// EncryptedKey is an RSA private-key operation: it costs one when the
// EncryptedKey names one of the SP's certificates (as Entra's does), at
// most two otherwise, however many DecryptionKeys there are. A signed
// Response (verified before decryption) tries every key. Every failure is
// the same ErrDecryption.
func TestDecryptUnsignedKeyTrialsBounded(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	cur, old, other := spEncKeys(t)
	gcm := entratest.Encryption{Method: entratest.AES256GCM}
	for _, tc := range []struct {
		name     string
		sign     entratest.SignMode
		keys     []*entratest.Key // configured, in order; the response is encrypted to cur
		noCert   bool             // the EncryptedKey names no certificate
		maxTries int32
		want     error
	}{
		{"unsigned, for a key not configured, named", entratest.SignAssertion, []*entratest.Key{old, other, old, other, old, other}, false, 2, entrasaml.ErrDecryption},
		{"unsigned, for a key not configured, unnamed", entratest.SignAssertion, []*entratest.Key{old, other, old, other, old, other}, true, 2, entrasaml.ErrDecryption},
		{"unsigned, for the fifth key, named", entratest.SignAssertion, []*entratest.Key{old, other, old, other, cur}, false, 1, nil},
		{"unsigned, for the first key, named", entratest.SignAssertion, []*entratest.Key{cur, other, old}, false, 1, nil},
		{"unsigned, for the second key, unnamed", entratest.SignAssertion, []*entratest.Key{old, cur, other}, true, 2, nil},
		{"unsigned, for the third key, unnamed", entratest.SignAssertion, []*entratest.Key{old, other, cur}, true, 2, entrasaml.ErrDecryption},
		{"signed, for the fifth key", entratest.SignBoth, []*entratest.Key{old, other, old, other, cur}, false, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := encryptedResponse(t, tc.sign, gcm)
			if tc.noCert {
				doc = stripKeyCertificate(t, doc)
			}
			var tries atomic.Int32
			sp := newTestSP(t, idp, func(c *entrasaml.Config) { c.DecryptionKeys = countedKeys(&tries, tc.keys...) })
			s, err := sp.Verify(context.Background(), b64(doc), fxRequestID)
			switch {
			case tc.want == nil && (err != nil || s == nil):
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			case tc.want != nil && err.Error() != errDecryptionText(t):
				t.Errorf("error %q differs from the one decryption error", err)
			}
			if n := tries.Load(); n > tc.maxTries {
				t.Errorf("%d RSA decryptions with %d DecryptionKeys, want at most %d", n, len(tc.keys), tc.maxTries)
			}
		})
	}

	// A certificate that names one key while the content key was wrapped
	// for another: that one key is tried, and fails as any other.
	doc := encryptedResponse(t, entratest.SignAssertion, entratest.Encryption{Method: entratest.AES256GCM, Certificate: cur.Certificate})
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	d.FindElement("//EncryptedKey/KeyInfo/X509Data/X509Certificate").SetText(b64(old.Certificate.Raw))
	doc, _ = d.WriteToBytes()
	var tries atomic.Int32
	sp := newTestSP(t, idp, func(c *entrasaml.Config) { c.DecryptionKeys = countedKeys(&tries, other, old, cur) })
	if _, err := sp.Verify(context.Background(), b64(doc), fxRequestID); !errors.Is(err, entrasaml.ErrDecryption) || err.Error() != errDecryptionText(t) {
		t.Errorf("wrapped for one key, naming another: %v", err)
	}
	if n := tries.Load(); n != 1 {
		t.Errorf("wrapped for one key, naming another: %d RSA decryptions, want 1", n)
	}
}

// errDecryptionText is the text of the one error every decryption failure
// gives: a response for a key nobody configured, tried with one key.
func errDecryptionText(t *testing.T) string {
	t.Helper()
	idp, _ := sharedIdP(t)
	_, old, _ := spEncKeys(t)
	doc := encryptedResponse(t, entratest.SignBoth, entratest.Encryption{Method: entratest.AES256GCM})
	_, err := newTestSP(t, idp, withDecryption(old)).Verify(context.Background(), b64(doc), fxRequestID)
	if !errors.Is(err, entrasaml.ErrDecryption) {
		t.Fatalf("reference failure: %v", err)
	}
	return err.Error()
}

// BenchmarkDecryptUnsignedForeignKey: what one unsigned Response with an
// EncryptedAssertion wrapped for a key the SP does not have costs the SP
// before anything is authenticated, by the number of DecryptionKeys.
func BenchmarkDecryptUnsignedForeignKey(b *testing.B) {
	idp, _ := sharedIdP(b)
	cur, old, other := spEncKeys(b)
	r := goodResponse()
	r.Encrypt = &entratest.Encryption{Method: entratest.AES256GCM, Certificate: cur.Certificate}
	doc, err := idp.ResponseXML(r)
	if err != nil {
		b.Fatal(err)
	}
	resp := b64(doc)
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			var tries atomic.Int32
			var ks []*entratest.Key
			for i := range n {
				ks = append(ks, []*entratest.Key{old, other}[i%2])
			}
			sp := newTestSP(b, idp, func(c *entrasaml.Config) { c.DecryptionKeys = countedKeys(&tries, ks...); c.Store = forgetfulStore{} })
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sp.Verify(context.Background(), resp, fxRequestID); !errors.Is(err, entrasaml.ErrDecryption) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tries.Load())/float64(b.N), "rsa-decrypts/op")
		})
	}
}
