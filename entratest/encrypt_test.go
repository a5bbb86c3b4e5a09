package entratest_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/internal/tooltest"
)

const (
	nsXMLEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXMLEnc11 = "http://www.w3.org/2009/xmlenc11#"
)

// decryptForTest decrypts the EncryptedAssertion of resp with key, reading
// what the document says (a minimal decryptor, independent of the package
// under test), and returns the parsed assertion.
func decryptForTest(t *testing.T, ea *etree.Element, key *rsa.PrivateKey) *etree.Element {
	t.Helper()
	ed := child(ea, nsXMLEnc, "EncryptedData")
	ek := path(ed, nsDSig, "KeyInfo", nsXMLEnc, "EncryptedKey")
	if ek == nil {
		ek = child(ea, nsXMLEnc, "EncryptedKey")
	}
	if ed == nil || ek == nil {
		t.Fatalf("no EncryptedData or EncryptedKey: %v", childNames(ea))
	}
	km := child(ek, nsXMLEnc, "EncryptionMethod")
	hash, mgf := crypto.SHA1, crypto.SHA1
	if dm := child(km, nsDSig, "DigestMethod"); dm != nil && strings.HasSuffix(dm.SelectAttrValue("Algorithm", ""), "#sha256") {
		hash = crypto.SHA256
	}
	if m := child(km, nsXMLEnc11, "MGF"); m != nil && m.SelectAttrValue("Algorithm", "") == nsXMLEnc11+"mgf1sha256" {
		mgf = crypto.SHA256
	}
	cek, err := key.Decrypt(rand.Reader, decodeB64(t, path(ek, nsXMLEnc, "CipherData", nsXMLEnc, "CipherValue").Text()),
		&rsa.OAEPOptions{Hash: hash, MGFHash: mgf})
	if err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	data := decodeB64(t, path(ed, nsXMLEnc, "CipherData", nsXMLEnc, "CipherValue").Text())
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatal(err)
	}
	var pt []byte
	if strings.HasSuffix(child(ed, nsXMLEnc, "EncryptionMethod").SelectAttrValue("Algorithm", ""), "-gcm") {
		gcm, _ := cipher.NewGCM(block)
		if pt, err = gcm.Open(nil, data[:12], data[12:], nil); err != nil {
			t.Fatal(err)
		}
	} else {
		pt = make([]byte, len(data)-16)
		cipher.NewCBCDecrypter(block, data[:16]).CryptBlocks(pt, data[16:])
		pt = pt[:len(pt)-int(pt[len(pt)-1])]
	}
	return parse(t, pt)
}

func TestEncrypt(t *testing.T) {
	t.Parallel()
	idpKey, spKey := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, idpKey)
	for _, tc := range []struct {
		name   string
		enc    entratest.Encryption
		method string
		keyAlg string
	}{
		{name: "default", method: entratest.AES256CBC, keyAlg: entratest.RSAOAEPMGF1P},
		{name: "aes128-gcm beside", enc: entratest.Encryption{Method: entratest.AES128GCM, KeyBeside: true}, method: entratest.AES128GCM, keyAlg: entratest.RSAOAEPMGF1P},
		{name: "aes256-gcm oaep11 sha256", enc: entratest.Encryption{Method: entratest.AES256GCM, KeyTransport: entratest.RSAOAEP, SHA256: true}, method: entratest.AES256GCM, keyAlg: entratest.RSAOAEP},
		{name: "aes128-cbc oaep11 beside", enc: entratest.Encryption{Method: entratest.AES128CBC, KeyTransport: entratest.RSAOAEP, KeyBeside: true}, method: entratest.AES128CBC, keyAlg: entratest.RSAOAEP},
	} {
		for _, sign := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse, entratest.SignBoth} {
			t.Run(tc.name+"/"+sign.String(), func(t *testing.T) {
				t.Parallel()
				enc := tc.enc
				enc.Certificate = spKey.Certificate
				b, err := idp.ResponseXML(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "https://sp.example", User: entratest.User{UPN: "u@x.example"}, Sign: sign, Encrypt: &enc})
				if err != nil {
					t.Fatal(err)
				}
				resp := parse(t, b)
				if child(resp, nsAssertion, "Assertion") != nil || bytes.Contains(b, []byte("u@x.example")) {
					t.Fatalf("the assertion is in the clear:\n%s", b)
				}
				ea := child(resp, nsAssertion, "EncryptedAssertion")
				if ea == nil {
					t.Fatalf("no EncryptedAssertion: %v", childNames(resp))
				}
				ed := child(ea, nsXMLEnc, "EncryptedData")
				if got := child(ed, nsXMLEnc, "EncryptionMethod").SelectAttrValue("Algorithm", ""); got != tc.method || ed.SelectAttrValue("Type", "") != nsXMLEnc+"Element" {
					t.Errorf("EncryptedData method %s, Type %s", got, ed.SelectAttrValue("Type", ""))
				}
				inside := path(ed, nsDSig, "KeyInfo", nsXMLEnc, "EncryptedKey")
				beside := child(ea, nsXMLEnc, "EncryptedKey")
				if (inside == nil) == (beside == nil) || (beside != nil) != tc.enc.KeyBeside {
					t.Fatalf("EncryptedKey inside %v, beside %v", inside != nil, beside != nil)
				}
				ek := inside
				if ek == nil {
					ek = beside
				}
				if got := child(ek, nsXMLEnc, "EncryptionMethod").SelectAttrValue("Algorithm", ""); got != tc.keyAlg {
					t.Errorf("EncryptedKey method %s", got)
				}
				if sign != entratest.SignAssertion {
					if err := validate(resp, idpKey.Certificate); err != nil {
						t.Errorf("Response signature: %v", err)
					}
				}
				a := decryptForTest(t, ea, spKey.PrivateKey)
				if a.Tag != "Assertion" || a.NamespaceURI() != nsAssertion || path(a, nsAssertion, "Subject", nsAssertion, "NameID").Text() != "u@x.example" {
					t.Fatalf("decrypted %s", a.Tag)
				}
				if sign != entratest.SignResponse {
					if err := validate(a, idpKey.Certificate); err != nil {
						t.Errorf("decrypted Assertion signature: %v", err)
					}
				} else if child(a, nsDSig, "Signature") != nil {
					t.Error("SignResponse signed the assertion")
				}
			})
		}
	}
}

func TestEncryptErrors(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	for name, enc := range map[string]entratest.Encryption{
		"no certificate":        {},
		"unknown method":        {Certificate: key.Certificate, Method: "http://www.w3.org/2001/04/xmlenc#aes192-cbc"},
		"unknown key transport": {Certificate: key.Certificate, KeyTransport: "http://www.w3.org/2001/04/xmlenc#rsa-1_5"},
	} {
		if _, err := idp.ResponseXML(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "x", NameID: "n", Encrypt: &enc}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestEncryptXMLSec1 decrypts the fake's encrypted assertions with xmlsec1
// (libxml2 and OpenSSL, independent of this package) and verifies the
// decrypted assertion's signature with it too. xmlsec1 1.2 lacks the XML
// Encryption 1.1 rsa-oaep, so only rsa-oaep-mgf1p is checked.
func TestEncryptXMLSec1(t *testing.T) {
	t.Parallel()
	bin := tooltest.XMLSec1().Need(t)
	idpKey, spKey := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, idpKey)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "sp.key")
	der, err := x509.MarshalPKCS8PrivateKey(spKey.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, enc := range []entratest.Encryption{
		{},
		{Method: entratest.AES128CBC}, // xmlsec1 1.2 knows no SHA-256 OAEP digest
		{Method: entratest.AES128GCM},
		{Method: entratest.AES256GCM, KeyBeside: true},
	} {
		enc.Certificate = spKey.Certificate
		b, err := idp.ResponseXML(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "https://sp.example",
			User: entratest.User{UPN: "u@x.example", DisplayName: "a<b&c\"d\r\n\te"}, Sign: entratest.SignAssertion, Encrypt: &enc})
		if err != nil {
			t.Fatal(err)
		}
		in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
		if err := os.WriteFile(in, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(bin, "--decrypt", "--privkey-pem", keyFile,
			"--id-attr:Id", nsXMLEnc+":EncryptedKey", "--output", out, in).CombinedOutput(); err != nil {
			t.Fatalf("%+v: xmlsec1 --decrypt: %v\n%s\n%s", enc, err, msg, b)
		}
		dec, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(dec, []byte(">u@x.example</NameID>")) {
			t.Fatalf("%+v: decrypted:\n%s", enc, dec)
		}
		if err := xmlsecVerify(t, dec, idpKey, xpathAssertionSig); err != nil {
			t.Errorf("%+v: decrypted assertion: %v", enc, err)
		}
	}
}
