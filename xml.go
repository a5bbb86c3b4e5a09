package entrasaml

import (
	"bytes"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// XML namespaces, as they appear on the wire.
const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	nsExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"

	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	cmBearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// maxDepth bounds element nesting. A SAML response nests about ten deep;
// anything far beyond that is an attack on the parser or canonicalizer.
const maxDepth = 48

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseXML parses one XML document strictly: no DTD or entity declarations,
// no processing instructions but the XML declaration, nothing but
// whitespace outside the single root element, no duplicate attributes and
// bounded depth. Any violation is ErrMalformed (or sentinel, for metadata).
func parseXML(data []byte, sentinel error) (*etree.Element, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, wrapErr(sentinel, err, "not well-formed XML")
	}
	var root *etree.Element
	for i, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if root != nil {
				return nil, newErr(sentinel, "more than one root element")
			}
			root = t
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				return nil, newErr(sentinel, "text outside the root element")
			}
		case *etree.ProcInst:
			if i != 0 || t.Target != "xml" {
				return nil, newErr(sentinel, "processing instruction outside the XML declaration")
			}
		case *etree.Directive:
			return nil, newErr(sentinel, "DTD or entity declaration")
		case *etree.Comment:
			return nil, newErr(sentinel, "comment outside the root element")
		default:
			return nil, newErr(sentinel, "unexpected token outside the root element")
		}
	}
	if root == nil {
		return nil, newErr(sentinel, "no root element")
	}
	if err := checkTree(root, 1, sentinel); err != nil {
		return nil, err
	}
	return root, nil
}

// checkTree rejects directives, processing instructions, duplicate
// attributes and excessive depth below el.
func checkTree(el *etree.Element, depth int, sentinel error) error {
	if depth > maxDepth {
		return newErr(sentinel, "elements nested deeper than %d", maxDepth)
	}
	for i := range el.Attr {
		for j := i + 1; j < len(el.Attr); j++ {
			if el.Attr[i].Space == el.Attr[j].Space && el.Attr[i].Key == el.Attr[j].Key {
				return newErr(sentinel, "duplicate attribute %q", el.Attr[i].Key)
			}
		}
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := checkTree(t, depth+1, sentinel); err != nil {
				return err
			}
		case *etree.Directive:
			return newErr(sentinel, "DTD or entity declaration")
		case *etree.ProcInst:
			return newErr(sentinel, "processing instruction inside the document")
		}
	}
	return nil
}

func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// is reports whether el is the element {ns}local.
func is(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// children returns el's child elements named {ns}local.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok && is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// child returns el's only child element named {ns}local, nil when there is
// none, and ok=false when there are several.
func child(el *etree.Element, ns, local string) (c *etree.Element, ok bool) {
	for _, tok := range el.Child {
		e, isEl := tok.(*etree.Element)
		if !isEl || !is(e, ns, local) {
			continue
		}
		if c != nil {
			return nil, false
		}
		c = e
	}
	return c, true
}

// attr returns the value of el's unqualified attribute key.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

func attrValue(el *etree.Element, key string) string {
	v, _ := attr(el, key)
	return v
}

// text returns all character data directly inside el, concatenated: a
// comment or processing instruction in the middle never truncates it (the
// 2018 SAML comment-injection class of bugs). ok is false when el holds
// child elements, which a simple-content element must not.
func text(el *etree.Element) (s string, ok bool) {
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

// trimmedText is text with surrounding XML whitespace removed.
func trimmedText(el *etree.Element) (string, bool) {
	s, ok := text(el)
	return strings.Trim(s, " \t\r\n"), ok
}

// parseTime parses an xs:dateTime as SAML uses it (UTC, optional fraction).
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
