package entrasaml

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestExcC14NAgreesWithXMLSec1: on the documents of testdata/attacks/c14n
// (namespace undeclaration and redefinition, InclusiveNamespaces, xml:
// attributes, attributes sorted by namespace URI, escaping, comments),
// signed by xmlsec1, verifyEnveloped accepts exactly what xmlsec1 accepts:
// NAME.xml and NAME.ok-N.xml verify, NAME.bad-N.xml (changes that xmlsec1
// refuses, checked by testdata/attacks/gen.sh) do not.
func TestExcC14NAgreesWithXMLSec1(t *testing.T) {
	t.Parallel()
	blk, _ := pem.Decode(mustRead(t, "testdata/keys/idp-a.crt"))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/attacks/c14n/*.xml")
	if err != nil || len(files) < 30 {
		t.Fatalf("%d files, err %v", len(files), err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wantOK := !strings.Contains(name, ".bad-")
			root, err := parseXML(mustRead(t, f), ErrMalformed)
			if err != nil {
				if wantOK {
					t.Fatalf("parseXML: %v", err)
				}
				return
			}
			el := findID(root, "r1")
			sig, _ := child(el, nsDSig, "Signature")
			if sig == nil {
				t.Fatal("no Signature")
			}
			signed, err := verifyEnveloped(el, sig, "r1", []*x509.Certificate{cert}, false)
			switch {
			case wantOK && err != nil:
				t.Fatalf("xmlsec1 verifies it, we do not: %v", err)
			case !wantOK && err == nil:
				t.Fatal("xmlsec1 refuses it, we verify it")
			case !wantOK:
				return
			}
			// What the verified copy says is what its canonical bytes say:
			// serialize it as c14n does, parse that, canonicalize again.
			_, once, err := excC14N(signed, -1, "")
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseXML(once, ErrMalformed)
			if err != nil {
				t.Fatalf("the canonical form does not parse: %v\n%s", err, once)
			}
			if _, twice, err := excC14N(again, -1, ""); err != nil || string(twice) != string(once) {
				t.Fatalf("canonical form not stable (err %v):\n%s\n%s", err, once, twice)
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// findID returns the element under root whose ID attribute is id.
func findID(root *etree.Element, id string) *etree.Element {
	if attrValue(root, "ID") == id {
		return root
	}
	for _, c := range root.ChildElements() {
		if el := findID(c, id); el != nil {
			return el
		}
	}
	return nil
}
