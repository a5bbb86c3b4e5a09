package samlxml

import (
	"bytes"
	"fmt"

	"github.com/beevik/etree"
)

// MaxDepth bounds element nesting. A SAML response nests about ten deep;
// anything far beyond that is an attack on the parser or canonicalizer.
const MaxDepth = 48

// ParseError says why Parse refused a document. Reason names the rule,
// never the document's content; Cause is the XML decoder's error, if any.
type ParseError struct {
	Reason string
	Cause  error
}

func (e *ParseError) Error() string {
	if e.Cause != nil {
		return e.Reason + ": " + e.Cause.Error()
	}
	return e.Reason
}

func (e *ParseError) Unwrap() error { return e.Cause }

func refuse(format string, args ...any) *ParseError {
	return &ParseError{Reason: fmt.Sprintf(format, args...)}
}

// Parse parses one XML document strictly: no DTD or entity declarations,
// no processing instructions but the XML declaration, nothing but
// whitespace outside the single root element, no duplicate attributes and
// bounded depth. A leading byte-order mark is skipped. Every refusal is a
// *ParseError.
func Parse(data []byte) (*etree.Element, error) {
	data = bytes.TrimPrefix(data, UTF8BOM)
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, &ParseError{Reason: "not well-formed XML", Cause: err}
	}
	var root *etree.Element
	for i, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if root != nil {
				return nil, refuse("more than one root element")
			}
			root = t
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				return nil, refuse("text outside the root element")
			}
		case *etree.ProcInst:
			if i != 0 || t.Target != "xml" {
				return nil, refuse("processing instruction outside the XML declaration")
			}
		case *etree.Directive:
			return nil, refuse("DTD or entity declaration")
		case *etree.Comment:
			return nil, refuse("comment outside the root element")
		default:
			return nil, refuse("unexpected token outside the root element")
		}
	}
	if root == nil {
		return nil, refuse("no root element")
	}
	if err := checkTree(root, 1); err != nil {
		return nil, err
	}
	return root, nil
}

// checkTree rejects directives, processing instructions, duplicate
// attributes and excessive depth below el.
func checkTree(el *etree.Element, depth int) error {
	if depth > MaxDepth {
		return refuse("elements nested deeper than %d", MaxDepth)
	}
	for i := range el.Attr {
		for j := i + 1; j < len(el.Attr); j++ {
			if el.Attr[i].Space == el.Attr[j].Space && el.Attr[i].Key == el.Attr[j].Key {
				return refuse("duplicate attribute %q", el.Attr[i].Key)
			}
		}
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := checkTree(t, depth+1); err != nil {
				return err
			}
		case *etree.Directive:
			return refuse("DTD or entity declaration")
		case *etree.ProcInst:
			return refuse("processing instruction inside the document")
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
