package entrasaml

import (
	"bytes"
	"errors"
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

// Limits of parseXML. Every input the library reads from the network (the
// ACS, /saml/logout, metadata, onboarding) is parsed with them, so that the
// work done for any document the size limits admit is linear in its size:
// nothing below compares every attribute or ID with every other, and each
// namespace lookup walks a bounded number of attributes. A document over a
// limit is refused (ErrMalformed, or ErrMetadata for metadata) with a reason
// naming the limit. Each is far above what Entra or another IdP sends: a
// response with 5,000 group values has about 5,100 elements, 3 IDs, fewer
// than 10 attributes on any element and fewer than 30 on any element and
// its ancestors together.
const (
	// maxDepth bounds element nesting. A SAML response nests about ten
	// deep; anything far beyond that is an attack on the parser or
	// canonicalizer.
	maxDepth = 48
	// maxElements bounds the elements in one document (20,000 group values
	// in one response, or a metadata aggregate of a few hundred entities).
	maxElements = 50_000
	// maxAttrs bounds the attributes (namespace declarations included) of
	// one element.
	maxAttrs = 64
	// maxScopeAttrs bounds the attributes of an element and its ancestors
	// together: resolving a namespace prefix walks them.
	maxScopeAttrs = 128
	// maxNamespaceDecls bounds the namespace declarations in one document
	// (some IdPs declare two on every AttributeValue).
	maxNamespaceDecls = 20_000
	// maxIDs bounds the ID attributes in one document.
	maxIDs = 4096
	// maxComments bounds the comments in one document (IdPs send none).
	maxComments = 1024
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseXML parses one XML document strictly: no DTD or entity declarations,
// no processing instructions but the XML declaration, nothing but
// whitespace outside the single root element, no duplicate attributes and
// the limits above. Any violation is ErrMalformed (or sentinel, for
// metadata). etree's parse is linear in the input (duplicate attributes are
// preserved, not merged), and the checks after it are too.
func parseXML(data []byte, sentinel error) (*etree.Element, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	doc.ReadSettings.MaxDepth = maxDepth + 1
	if err := doc.ReadFromBytes(data); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, newErr(sentinel, "elements nested deeper than %d (the limit)", maxDepth)
		}
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
	c := treeCheck{sentinel: sentinel}
	if err := c.check(root, 1, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// treeCheck is parseXML's walk over the parsed tree, with its counts.
type treeCheck struct {
	sentinel                         error
	elements, nsDecls, ids, comments int
	seen                             map[etree.Attr]struct{} // reused by dupAttr
}

// check rejects directives, processing instructions, duplicate attributes
// and any limit exceeded at or below el; scopeAttrs is the number of
// attributes on el's ancestors.
func (c *treeCheck) check(el *etree.Element, depth, scopeAttrs int) error {
	if depth > maxDepth {
		return newErr(c.sentinel, "elements nested deeper than %d (the limit)", maxDepth)
	}
	if c.elements++; c.elements > maxElements {
		return newErr(c.sentinel, "more than %d elements (the limit)", maxElements)
	}
	if len(el.Attr) > maxAttrs {
		return newErr(c.sentinel, "an element has more than %d attributes (the limit)", maxAttrs)
	}
	if scopeAttrs += len(el.Attr); scopeAttrs > maxScopeAttrs {
		return newErr(c.sentinel, "an element and its ancestors have more than %d attributes (the limit)", maxScopeAttrs)
	}
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns":
			if c.nsDecls++; c.nsDecls > maxNamespaceDecls {
				return newErr(c.sentinel, "more than %d namespace declarations (the limit)", maxNamespaceDecls)
			}
		case a.Key == "ID":
			if c.ids++; c.ids > maxIDs {
				return newErr(c.sentinel, "more than %d ID attributes (the limit)", maxIDs)
			}
		}
	}
	if k, dup := c.dupAttr(el.Attr); dup {
		return newErr(c.sentinel, "duplicate attribute %q", k)
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := c.check(t, depth+1, scopeAttrs); err != nil {
				return err
			}
		case *etree.Comment:
			if c.comments++; c.comments > maxComments {
				return newErr(c.sentinel, "more than %d comments (the limit)", maxComments)
			}
		case *etree.Directive:
			return newErr(c.sentinel, "DTD or entity declaration")
		case *etree.ProcInst:
			return newErr(c.sentinel, "processing instruction inside the document")
		}
	}
	return nil
}

// dupAttr reports a repeated (prefix, name) among attrs, in time linear in
// len(attrs).
func (c *treeCheck) dupAttr(attrs []etree.Attr) (string, bool) {
	if len(attrs) <= 8 {
		for i := range attrs {
			for j := i + 1; j < len(attrs); j++ {
				if attrs[i].Space == attrs[j].Space && attrs[i].Key == attrs[j].Key {
					return attrs[i].Key, true
				}
			}
		}
		return "", false
	}
	if c.seen == nil {
		c.seen = make(map[etree.Attr]struct{}, maxAttrs)
	}
	defer clear(c.seen)
	for _, a := range attrs {
		k := etree.Attr{Space: a.Space, Key: a.Key}
		if _, ok := c.seen[k]; ok {
			return a.Key, true
		}
		c.seen[k] = struct{}{}
	}
	return "", false
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
