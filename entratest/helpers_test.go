package entratest_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/entrasaml/entrasaml/entratest"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	bom         = "\xef\xbb\xbf"
)

// testNow is the pinned clock of most tests.
func testNow() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC) }

// newTestKey makes a 2048-bit key valid around testNow and the real clock.
// Key generation is slow: call it once per test function.
func newTestKey(t *testing.T) *entratest.Key {
	t.Helper()
	k, err := entratest.NewKey(2048, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestIdP(t *testing.T, key *entratest.Key) *entratest.IdP {
	t.Helper()
	idp, err := entratest.New(entratest.Options{Key: key, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return idp
}

// parse parses an XML document, stripping a leading byte-order mark.
func parse(t *testing.T, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(bytes.TrimPrefix(b, []byte(bom))); err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	return doc.Root()
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validate checks el's enveloped signature with goxmldsig against certs.
func validate(el *etree.Element, certs ...*x509.Certificate) error {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	_, err := ctx.Validate(el)
	return err
}

// child returns the only child element of el with the given namespace and
// local name, or nil.
func child(el *etree.Element, ns, tag string) *etree.Element {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}

// path follows a chain of child elements by (namespace, tag) pairs.
func path(el *etree.Element, steps ...string) *etree.Element {
	for i := 0; el != nil && i+1 < len(steps); i += 2 {
		el = child(el, steps[i], steps[i+1])
	}
	return el
}

// childNames returns the local names of el's child elements.
func childNames(el *etree.Element) []string {
	var names []string
	for _, c := range el.ChildElements() {
		names = append(names, c.Tag)
	}
	return names
}

// attrValues returns the values of the assertion attribute called name,
// and whether it is present.
func attrValues(assertion *etree.Element, name string) ([]string, bool) {
	stmt := child(assertion, nsAssertion, "AttributeStatement")
	if stmt == nil {
		return nil, false
	}
	for _, a := range stmt.ChildElements() {
		if a.SelectAttrValue("Name", "") != name {
			continue
		}
		var vs []string
		for _, v := range a.ChildElements() {
			vs = append(vs, v.Text())
		}
		return vs, true
	}
	return nil, false
}
