// Package samlxml holds the small, strict readers of SAML XML that every
// part of the library shares: namespaces, child and attribute lookup that
// compare namespaces, text that a comment cannot truncate, and the
// xs:dateTime and base64 forms SAML uses.
package samlxml

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// XML namespaces and bindings, as they appear on the wire.
const (
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	NSDSig      = "http://www.w3.org/2000/09/xmldsig#"

	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// UTF8BOM is the byte-order mark Entra puts before its metadata.
var UTF8BOM = []byte{0xEF, 0xBB, 0xBF}

// Is reports whether el is the element {ns}local.
func Is(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// Children returns el's child elements named {ns}local.
func Children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok && Is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// Child returns el's only child element named {ns}local, nil when there is
// none, and ok=false when there are several.
func Child(el *etree.Element, ns, local string) (c *etree.Element, ok bool) {
	for _, tok := range el.Child {
		e, isEl := tok.(*etree.Element)
		if !isEl || !Is(e, ns, local) {
			continue
		}
		if c != nil {
			return nil, false
		}
		c = e
	}
	return c, true
}

// Attr returns the value of el's unqualified attribute key.
func Attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// AttrValue is Attr without the ok: "" when the attribute is absent.
func AttrValue(el *etree.Element, key string) string {
	v, _ := Attr(el, key)
	return v
}

// Text returns all character data directly inside el, concatenated: a
// comment or processing instruction in the middle never truncates it (the
// 2018 SAML comment-injection class of bugs). ok is false when el holds
// child elements, which a simple-content element must not.
func Text(el *etree.Element) (s string, ok bool) {
	var b strings.Builder
	parts := 0
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			if parts == 0 {
				s = t.Data
			} else {
				if parts == 1 {
					b.WriteString(s)
				}
				b.WriteString(t.Data)
			}
			parts++
		case *etree.Element:
			return "", false
		}
	}
	if parts > 1 {
		s = b.String()
	}
	return s, true
}

// TrimmedText is Text with surrounding XML whitespace removed.
func TrimmedText(el *etree.Element) (string, bool) {
	s, ok := Text(el)
	return strings.Trim(s, " \t\r\n"), ok
}

// ParseTime parses an xs:dateTime as SAML uses it (UTC, optional fraction).
func ParseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// DecodeBase64 decodes base64 that may be wrapped or indented, as
// certificates and signature values in XML often are.
func DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}
