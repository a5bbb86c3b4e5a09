package entratest

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Namespace URIs as they appear on the wire (http, never https).
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"
	nsFed       = "http://docs.oasis-open.org/wsfed/federation/200706"
	nsAuth      = "http://docs.oasis-open.org/wsfed/authorization/200706"
	nsWSA       = "http://www.w3.org/2005/08/addressing"
)

// xmlTime formats t as Entra does: UTC, millisecond precision, "Z".
func xmlTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// signEnveloped signs el with an enveloped signature made by k (exclusive
// c14n; RSA-SHA256 with a SHA-256 digest, or RSA-SHA1 with SHA-1) and
// inserts the Signature right after el's Issuer child, or as el's first
// child when it has none. The enveloped-signature transform makes the
// position irrelevant to the digest.
func signEnveloped(el *etree.Element, k *Key, sha1 bool) error {
	ctx, err := dsig.NewSigningContext(k.PrivateKey, [][]byte{k.Certificate.Raw})
	if err != nil {
		return fmt.Errorf("entratest: signing context: %w", err)
	}
	ctx.Prefix = "" // <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">, as Entra writes it
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := dsig.RSASHA256SignatureMethod
	if sha1 {
		method = dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return fmt.Errorf("entratest: signature method: %w", err)
	}
	// The exclusive canonicalizer rewrites its input in place (sorted
	// attributes, moved namespace declarations): hand it a copy so the
	// document keeps Entra's attribute order. Every signed element declares
	// its own namespaces, so the copy needs no ancestor context.
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		return fmt.Errorf("entratest: sign %s: %w", el.Tag, err)
	}
	at := 0
	for _, c := range el.ChildElements() {
		if c.Tag == "Issuer" {
			at = c.Index() + 1
			break
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}

// writeDoc serializes doc with character references for every character a
// parser would otherwise normalize (tabs and newlines in attributes,
// carriage returns anywhere), so that the parsed document is the one that
// was signed. It fails if the tree holds text that XML cannot carry
// (invalid UTF-8 or control characters), which etree would silently replace.
func writeDoc(doc *etree.Document) ([]byte, error) {
	if err := checkChars(&doc.Element); err != nil {
		return nil, err
	}
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalText: true}
	return doc.WriteToBytes()
}

func checkChars(el *etree.Element) error {
	for _, a := range el.Attr {
		if !xmlChars(a.Value) {
			return fmt.Errorf("entratest: attribute %s of <%s> holds characters XML cannot carry: %q", a.Key, el.Tag, a.Value)
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			if !xmlChars(t.Data) {
				return fmt.Errorf("entratest: text of <%s> holds characters XML cannot carry: %q", el.Tag, t.Data)
			}
		case *etree.Element:
			if err := checkChars(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// xmlChars reports whether s is valid UTF-8 made only of XML 1.0 Chars.
func xmlChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}
