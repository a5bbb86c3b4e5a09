package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Attacks on token encryption: tampered, misplaced, downgraded and forged
// encrypted assertions, each refused with one sentinel and no session.
// encDoc parses an encrypted response for editing.
func encDoc(t *testing.T, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return doc
}

// find returns the first element with local name tag under el (depth first).
func find(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
		if f := find(c, tag); f != nil {
			return f
		}
	}
	return nil
}

// childNamed returns el's first child element with local name tag.
func childNamed(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// flipCipher decodes the CipherValue of el (EncryptedData or EncryptedKey),
// XORs byte at (negative: from the end) with mask and encodes it again.
func flipCipher(t *testing.T, el *etree.Element, at int, mask byte) {
	t.Helper()
	cv := childNamed(childNamed(el, "CipherData"), "CipherValue")
	b, err := base64.StdEncoding.DecodeString(cv.Text())
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += len(b)
	}
	b[at] ^= mask
	cv.SetText(base64.StdEncoding.EncodeToString(b))
}

// encryptedData returns the EncryptedData of an encrypted response.
func encryptedData(doc *etree.Document) *etree.Element { return find(doc.Root(), "EncryptedData") }

// encryptedKey returns its EncryptedKey (wherever it is).
func encryptedKey(doc *etree.Document) *etree.Element { return find(doc.Root(), "EncryptedKey") }

// TestDecryptRefused has one row per rule: each response must be refused
// with want, and never yield a session.
func TestDecryptRefused(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	cur, old, other := spEncKeys(t)
	inv, dec := entrasaml.ErrInvalidSignature, entrasaml.ErrDecryption
	allowCBC := func(c *entrasaml.Config) { c.AllowUnsignedCBC = true }
	gcm := entratest.Encryption{Method: entratest.AES256GCM}
	edit := func(sign entratest.SignMode, enc entratest.Encryption, f func(t *testing.T, doc *etree.Document)) func(t *testing.T) string {
		return func(t *testing.T) string {
			doc := encDoc(t, encryptedResponse(t, sign, enc))
			f(t, doc)
			return encWrite(t, doc)
		}
	}
	subst := func(sign entratest.SignMode, enc entratest.Encryption, old, new string) func(t *testing.T) string {
		return func(t *testing.T) string {
			b := encryptedResponse(t, sign, enc)
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%q not in the response", old)
			}
			return b64(bytes.Replace(b, []byte(old), []byte(new), 1))
		}
	}
	unsignedAssertion := func(t *testing.T) []byte {
		b, err := idp.ResponseXML(func() entratest.Response { r := goodResponse(); r.Sign = entratest.SignNone; return r }())
		if err != nil {
			t.Fatal(err)
		}
		return []byte(strings.SplitN(strings.SplitN(string(b), "<Assertion ", 2)[1], "</samlp:Response>", 2)[0])
	}
	rows := []struct {
		name string
		form func(t *testing.T) string
		keys []*entratest.Key // nil: the current key
		cfg  func(*entrasaml.Config)
		want error
	}{
		// Keys.
		{name: "no DecryptionKeys", form: edit(entratest.SignBoth, entratest.Encryption{}, func(*testing.T, *etree.Document) {}), keys: []*entratest.Key{}, want: dec},
		{name: "wrong key", form: edit(entratest.SignBoth, entratest.Encryption{}, func(*testing.T, *etree.Document) {}), keys: []*entratest.Key{other}, want: dec},
		{name: "wrong keys, rotation list", form: edit(entratest.SignAssertion, gcm, func(*testing.T, *etree.Document) {}), keys: []*entratest.Key{old, other}, want: dec},

		// Tampering.
		{name: "GCM ciphertext byte flipped", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), 40, 0x01)
		}), want: dec},
		{name: "GCM tag byte flipped", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), -1, 0x80)
		}), want: dec},
		{name: "CBC IV flipped, unsigned, allowed", form: edit(entratest.SignAssertion, entratest.Encryption{}, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), 0, 0x01) // '<' becomes '='
		}), cfg: allowCBC, want: dec},
		{name: "CBC padding broken, unsigned, allowed", form: edit(entratest.SignAssertion, entratest.Encryption{}, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), -17, 0x80) // the padding length byte becomes > 16
		}), cfg: allowCBC, want: dec},
		{name: "CBC ciphertext flipped, Response signed", form: edit(entratest.SignBoth, entratest.Encryption{}, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), 40, 0x01)
		}), want: inv},
		{name: "EncryptedKey flipped", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedKey(d), 100, 0x01)
		}), want: dec},
		{name: "EncryptedKey flipped, key beside", form: edit(entratest.SignAssertion, entratest.Encryption{Method: entratest.AES128GCM, KeyBeside: true}, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedKey(d), 0, 0x01)
		}), want: dec},
		{name: "GCM switched to CBC (algorithm swap), unsigned", form: subst(entratest.SignAssertion, gcm, entratest.AES256GCM, entratest.AES256CBC), want: inv},
		{name: "GCM switched to CBC, unsigned, allowed", form: subst(entratest.SignAssertion, gcm, entratest.AES256GCM, entratest.AES256CBC), cfg: allowCBC, want: dec},

		// Layout.
		{name: "EncryptedAssertion and a plain Assertion", form: func(t *testing.T) string {
			plain, err := idp.ResponseXML(goodResponse())
			if err != nil {
				t.Fatal(err)
			}
			doc := encDoc(t, encryptedResponse(t, entratest.SignAssertion, gcm))
			doc.Root().AddChild(find(encDoc(t, plain).Root(), "Assertion"))
			return encWrite(t, doc)
		}, want: inv},
		{name: "two EncryptedAssertions", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			d.Root().AddChild(find(d.Root(), "EncryptedAssertion").Copy())
		}), want: inv},
		{name: "EncryptedAssertion in Extensions", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			ea := find(d.Root(), "EncryptedAssertion")
			d.Root().CreateElement("samlp:Extensions").AddChild(ea)
		}), want: inv},
		{name: "Signature inside the EncryptedAssertion", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			find(d.Root(), "EncryptedAssertion").CreateElement("Signature").CreateAttr("xmlns", "http://www.w3.org/2000/09/xmldsig#")
		}), want: inv},
		{name: "two EncryptedKeys", form: edit(entratest.SignAssertion, entratest.Encryption{Method: entratest.AES128GCM, KeyBeside: true}, func(t *testing.T, d *etree.Document) {
			ek := encryptedKey(d)
			ek.Parent().AddChild(ek.Copy())
		}), want: dec},
		{name: "no EncryptedKey", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			ek := encryptedKey(d)
			ek.Parent().RemoveChild(ek)
		}), want: dec},
		{name: "CipherReference", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			cd := childNamed(encryptedData(d), "CipherData")
			cd.RemoveChild(childNamed(cd, "CipherValue"))
			cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "http://169.254.169.254/")
		}), want: dec},

		// Algorithms.
		{name: "rsa-1_5 key transport", form: subst(entratest.SignAssertion, entratest.Encryption{}, entratest.RSAOAEPMGF1P, "http://www.w3.org/2001/04/xmlenc#rsa-1_5"), want: dec},
		{name: "aes192-cbc", form: subst(entratest.SignAssertion, entratest.Encryption{}, entratest.AES256CBC, "http://www.w3.org/2001/04/xmlenc#aes192-cbc"), want: dec},
		{name: "tripledes-cbc", form: subst(entratest.SignAssertion, entratest.Encryption{}, entratest.AES256CBC, "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"), want: dec},
		{name: "OAEP digest md5", form: subst(entratest.SignAssertion, entratest.Encryption{}, "http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/04/xmldsig-more#md5"), want: dec},
		{name: "MGF with rsa-oaep-mgf1p", form: edit(entratest.SignAssertion, gcm, func(t *testing.T, d *etree.Document) {
			m := find(encryptedKey(d), "EncryptionMethod").CreateElement("MGF")
			m.CreateAttr("xmlns", "http://www.w3.org/2009/xmlenc11#")
			m.CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#mgf1sha256")
		}), want: dec},
		{name: "Type Content", form: subst(entratest.SignAssertion, entratest.Encryption{}, `Type="http://www.w3.org/2001/04/xmlenc#Element"`, `Type="http://www.w3.org/2001/04/xmlenc#Content"`), want: dec},

		// What decrypts must be one signed Assertion, parsed strictly.
		{name: "plaintext with a DOCTYPE", form: func(t *testing.T) string {
			return crewjamEncrypted(t, append([]byte(`<!DOCTYPE Assertion [<!ENTITY x "y">]>`), signedAssertion(t)...), xmlenc.AES256GCM)
		}, want: dec},
		{name: "plaintext not XML", form: func(t *testing.T) string {
			return crewjamEncrypted(t, []byte("not xml <"), xmlenc.AES256GCM)
		}, want: dec},
		{name: "plaintext a Response", form: func(t *testing.T) string {
			plain, _ := idp.ResponseXML(goodResponse())
			return crewjamEncrypted(t, plain, xmlenc.AES256GCM)
		}, want: dec},
		{name: "plaintext two Assertions", form: func(t *testing.T) string {
			a := signedAssertion(t)
			return crewjamEncrypted(t, append(a, a...), xmlenc.AES256GCM)
		}, want: dec},
		{name: "plaintext an unsigned Assertion (anyone can encrypt to the SP)", form: func(t *testing.T) string {
			return crewjamEncrypted(t, append([]byte("<Assertion "), unsignedAssertion(t)...), xmlenc.AES256GCM)
		}, want: inv},
		{name: "plaintext Assertion holding an EncryptedAssertion", form: func(t *testing.T) string {
			a := string(signedAssertion(t))
			a = strings.Replace(a, "</Assertion>", `<EncryptedAssertion/></Assertion>`, 1)
			return crewjamEncrypted(t, []byte(a), xmlenc.AES256GCM)
		}, want: inv},
		{name: "plaintext Assertion with the Response's ID", form: func(t *testing.T) string {
			a := strings.Replace(string(signedAssertion(t)), `ID="`, `ID="_r" X="`, 1)
			return crewjamEncrypted(t, []byte(a), xmlenc.AES256GCM)
		}, want: inv},
		{name: "plaintext Assertion tampered after signing", form: func(t *testing.T) string {
			a := bytes.Replace(signedAssertion(t), []byte(adele().UPN), []byte("evil@contoso.example"), 1)
			return crewjamEncrypted(t, a, xmlenc.AES256GCM)
		}, want: inv},

		// Signatures still rule.
		{name: "nothing signed", form: edit(entratest.SignNone, gcm, func(*testing.T, *etree.Document) {}), want: inv},
		{name: "Response signed by a foreign key, before decryption", form: func(t *testing.T) string {
			_, foreign := sharedIdP(t)
			r := goodResponse()
			r.Sign, r.Key, r.Encrypt = entratest.SignResponse, foreign, &entratest.Encryption{Certificate: cur.Certificate}
			s, err := idp.Response(r)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, keys: []*entratest.Key{other}, want: entrasaml.ErrUnknownSigner}, // not ErrDecryption: verified first
		{name: "Response signature broken by a changed CipherValue", form: edit(entratest.SignResponse, gcm, func(t *testing.T, d *etree.Document) {
			flipCipher(t, encryptedData(d), 20, 0x01)
		}), want: inv},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			form := r.form(t)
			keys := r.keys
			if keys == nil {
				keys = []*entratest.Key{cur}
			}
			sp := newTestSP(t, idp, func(c *entrasaml.Config) {
				withDecryption(keys...)(c)
				if r.cfg != nil {
					r.cfg(c)
				}
			})
			s, err := sp.Verify(context.Background(), form, fxRequestID)
			if s != nil || !errors.Is(err, r.want) {
				t.Fatalf("Verify = %v, %v; want %v", s, err, r.want)
			}
		})
	}
}

// TestDecryptNoOracle: every failure past the algorithm checks, whatever
// went wrong, is the same error.
func TestDecryptNoOracle(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	_, _, other := spEncKeys(t)
	cbc := func(f func(t *testing.T, d *etree.Document)) string {
		doc := encDoc(t, encryptedResponse(t, entratest.SignAssertion, entratest.Encryption{}))
		f(t, doc)
		return encWrite(t, doc)
	}
	forms := map[string]string{
		"padding":    cbc(func(t *testing.T, d *etree.Document) { flipCipher(t, encryptedData(d), -17, 0x80) }),
		"parse":      cbc(func(t *testing.T, d *etree.Document) { flipCipher(t, encryptedData(d), 0, 0x01) }),
		"key":        cbc(func(t *testing.T, d *etree.Document) { flipCipher(t, encryptedKey(d), 7, 0x01) }),
		"not-xml":    crewjamEncrypted(t, []byte("\x00\xff"), xmlenc.AES128CBC),
		"doctype":    crewjamEncrypted(t, []byte(`<!DOCTYPE a><a/>`), xmlenc.AES128CBC),
		"not-assert": crewjamEncrypted(t, []byte(`<a/>`), xmlenc.AES128CBC),
	}
	var first string
	for name, form := range forms {
		sp := newTestSP(t, idp, func(c *entrasaml.Config) {
			withDecryption(curKey(t))(c)
			c.AllowUnsignedCBC = true
		})
		_, err := sp.Verify(context.Background(), form, fxRequestID)
		if !errors.Is(err, entrasaml.ErrDecryption) {
			t.Fatalf("%s: %v, want ErrDecryption", name, err)
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("%s: %q differs from %q", name, err.Error(), first)
		}
	}
	// A wrong key gives the same error.
	sp := newTestSP(t, idp, withDecryption(other))
	_, err := sp.Verify(context.Background(), b64(encryptedResponse(t, entratest.SignBoth, entratest.Encryption{})), fxRequestID)
	if err == nil || err.Error() != first {
		t.Errorf("wrong key: %v, want %q", err, first)
	}
}
