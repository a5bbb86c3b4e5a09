package entrasaml_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

var encMethods = []string{entratest.AES128CBC, entratest.AES256CBC, entratest.AES128GCM, entratest.AES256GCM}

func isCBC(method string) bool { return strings.HasSuffix(method, "-cbc") }

// TestDecryptSigningOptions: every Entra signing option with every block
// algorithm. AES-CBC with only the assertion signed (Entra's default
// signing) is refused unless AllowUnsignedCBC.
func TestDecryptSigningOptions(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	for _, sign := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse, entratest.SignBoth} {
		for _, method := range encMethods {
			t.Run(sign.String()+"/"+method[strings.LastIndex(method, "#")+1:], func(t *testing.T) {
				t.Parallel()
				resp := b64(encryptedResponse(t, sign, entratest.Encryption{Method: method}))
				_, err := newTestSP(t, idp, withDecryption(curKey(t))).Verify(context.Background(), resp, fxRequestID)
				if isCBC(method) && sign == entratest.SignAssertion {
					if !errors.Is(err, entrasaml.ErrInvalidSignature) {
						t.Fatalf("unsigned Response with CBC: %v, want ErrInvalidSignature", err)
					}
					sp := newTestSP(t, idp, func(c *entrasaml.Config) {
						withDecryption(curKey(t))(c)
						c.AllowUnsignedCBC = true
					})
					_, err = sp.Verify(context.Background(), resp, fxRequestID)
				}
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// A signed Response keeps the signed Response's rules after decryption: it
// must carry Destination (SAML Bindings 3.5.5.2), and its InResponseTo
// counts.
func TestDecryptSignedResponseRules(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	sp := newTestSP(t, idp, withDecryption(curKey(t)))
	cur, _, _ := spEncKeys(t)
	r := goodResponse()
	r.Sign, r.Encrypt, r.Destination = entratest.SignResponse, &entratest.Encryption{Certificate: cur.Certificate}, "-"
	resp, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Verify(context.Background(), resp, fxRequestID); !errors.Is(err, entrasaml.ErrDestinationMismatch) {
		t.Errorf("signed encrypted Response without Destination: got %v, want ErrDestinationMismatch", err)
	}
	r.Destination = ""
	resp, _ = idp.Response(r)
	if _, err := sp.Verify(context.Background(), resp, fxRequestID); err != nil {
		t.Errorf("with Destination: %v", err)
	}
}

// TestDecryptVariants: the other shapes and key transports an IdP may use.
func TestDecryptVariants(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	for name, enc := range map[string]entratest.Encryption{
		"entra-default":          {},
		"key-beside":             {KeyBeside: true, Method: entratest.AES128GCM},
		"mgf1p-sha256":           {SHA256: true},
		"xmlenc11-oaep-sha1":     {KeyTransport: entratest.RSAOAEP},
		"xmlenc11-oaep-sha256":   {KeyTransport: entratest.RSAOAEP, SHA256: true, Method: entratest.AES256GCM},
		"xmlenc11-oaep-beside":   {KeyTransport: entratest.RSAOAEP, SHA256: true, KeyBeside: true},
		"gcm-response-unsigned":  {Method: entratest.AES256GCM},
		"cbc-key-beside-default": {KeyBeside: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sign := entratest.SignBoth
			if enc.Method == entratest.AES256GCM || enc.Method == entratest.AES128GCM {
				sign = entratest.SignAssertion
			}
			resp := b64(encryptedResponse(t, sign, enc))
			if _, err := newTestSP(t, idp, withDecryption(curKey(t))).Verify(context.Background(), resp, fxRequestID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDecryptSession: an encrypted assertion gives exactly the session the
// same assertion gives in the clear.
func TestDecryptSession(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	cur, _, _ := spEncKeys(t)
	r := goodResponse()
	r.AssertionID, r.SessionIndex, r.Sign = "_a-1", "_s-1", entratest.SignBoth
	r.Attributes = []entratest.Attribute{{Name: "urn:custom", Values: []string{"a", "b <&> c"}}}
	plain, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	r.Encrypt = &entratest.Encryption{Certificate: cur.Certificate}
	encrypted, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := newTestSP(t, idp, nil).Verify(context.Background(), plain, fxRequestID)
	if err != nil {
		t.Fatal(err)
	}
	sp := newTestSP(t, idp, withDecryption(cur))
	got, err := sp.Verify(context.Background(), encrypted, fxRequestID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encrypted: %+v\nplain:     %+v", got, want)
	}
	if got.NameID != adele().UPN || got.AssertionID != "_a-1" || got.SessionIndex != "_s-1" || got.TenantID != idp.TenantID() {
		t.Errorf("session %+v", got)
	}
	if _, err := sp.Verify(context.Background(), encrypted, fxRequestID); !errors.Is(err, entrasaml.ErrReplay) {
		t.Errorf("second use: %v, want ErrReplay", err)
	}
}

// TestDecryptKeyRotation: every configured key is tried; the first
// certificate is the one advertised.
func TestDecryptKeyRotation(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	cur, old, other := spEncKeys(t)
	for name, keys := range map[string][]*entratest.Key{
		"new key second": {other, cur},
		"old key second": {cur, old},
		"three keys":     {old, other, cur},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := b64(encryptedResponse(t, entratest.SignBoth, entratest.Encryption{}))
			sp := newTestSP(t, idp, withDecryption(keys...))
			if _, err := sp.Verify(context.Background(), resp, fxRequestID); err != nil {
				t.Fatal(err)
			}
			want := base64.StdEncoding.EncodeToString(keys[0].Certificate.Raw)
			if !bytes.Contains(sp.SPMetadata(), []byte(`<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>`+want+`<`)) {
				t.Errorf("metadata does not advertise the first key:\n%s", sp.SPMetadata())
			}
		})
	}
}

// ecDecrypter is a crypto.Decrypter with an ECDSA public key.
type ecDecrypter struct{ *ecdsa.PrivateKey }

func (ecDecrypter) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("not RSA")
}

func TestDecryptionKeysConfig(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	cur, old, _ := spEncKeys(t)
	weak, err := entratest.NewKey(1024, fxNow.Add(-time.Hour), fxNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]entrasaml.DecryptionKey{
		"no key":              {Certificate: cur.Certificate},
		"no certificate":      {Key: cur.PrivateKey},
		"1024-bit key":        {Key: weak.PrivateKey, Certificate: weak.Certificate},
		"ECDSA key":           {Key: ecDecrypter{ec}, Certificate: cur.Certificate},
		"another certificate": {Key: cur.PrivateKey, Certificate: old.Certificate},
	} {
		_, err := entrasaml.New(context.Background(), entrasaml.Config{
			EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: idp.Metadata(),
			DecryptionKeys: []entrasaml.DecryptionKey{decKey(cur), k},
		})
		if !errors.Is(err, entrasaml.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	// Without keys, the metadata advertises no encryption.
	if md := newTestSP(t, idp, nil).SPMetadata(); bytes.Contains(md, []byte("encryption")) {
		t.Errorf("metadata without DecryptionKeys:\n%s", md)
	}
	md := newTestSP(t, idp, withDecryption(cur)).SPMetadata()
	for _, alg := range []string{"xmlenc11#aes256-gcm", "xmlenc#aes256-cbc", "xmlenc#rsa-oaep-mgf1p"} {
		if !bytes.Contains(md, []byte(`<md:EncryptionMethod Algorithm="http://www.w3.org/20`)) || !bytes.Contains(md, []byte(alg+`"/>`)) {
			t.Errorf("metadata lacks EncryptionMethod %s:\n%s", alg, md)
		}
	}
	if doc := etree.NewDocument(); doc.ReadFromBytes(md) != nil {
		t.Errorf("metadata is not well-formed XML:\n%s", md)
	}
}
