package samlxml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// ParseError says why Parse refused a document. Reason names the rule or
// the limit, never the document's content; Cause is the XML decoder's
// error, if any.
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

// Limits of Parse. Every input the library reads from the network (the
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
	// maxElements bounds the elements in one document (some 29,000 group values
	// in one response; Entra metadata has about 100).
	maxElements = 30_000
	// maxAttrs bounds the attributes (namespace declarations included) of
	// one element.
	maxAttrs = 64
	// maxTotalAttrs bounds the attributes in one document: attributes are
	// the densest work for the parser (Entra sends about 30 in a
	// response; IdPs that type every AttributeValue three per value, so
	// at most about 5,400 such values, some 1 MB: twice the default
	// MaxResponseSize).
	maxTotalAttrs = 16_384
	// maxScopeAttrs bounds the attributes of an element and its ancestors
	// together: resolving a namespace prefix walks them.
	maxScopeAttrs = 128
	// maxNamespaceDecls bounds the namespace declarations in one document
	// (some IdPs declare two on every AttributeValue).
	maxNamespaceDecls = 12_288
	// maxIDs bounds the ID attributes in one document.
	maxIDs = 4096
	// maxComments bounds the comments in one document (IdPs send none).
	maxComments = 1024
)

// Parse parses one XML document strictly: no DTD or entity declarations,
// no processing instructions but the XML declaration, nothing but
// whitespace outside the single root element, no duplicate attributes, no
// literal tab or line break in an attribute value (XML reads it as a space,
// the parser does not), no encoding but UTF-8 declared, and the limits
// above. Every refusal is a *ParseError whose Reason names the rule or the
// limit. The counting limits are enforced by prescan, before etree builds
// anything; etree's parse is linear in the input (duplicate
// attributes are preserved, not merged), and the checks after it are too.
func Parse(data []byte) (*etree.Element, error) {
	data = bytes.TrimPrefix(data, UTF8BOM)
	if _, err := prescan(data); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	doc.ReadSettings.MaxDepth = maxDepth + 1
	if err := doc.ReadFromBytes(data); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, refuse("elements nested deeper than %d (the limit)", maxDepth)
		}
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
			// The parser reads every document as UTF-8 whatever it
			// declares; a signer would have read another encoding.
			if enc, ok := xmlDeclEncoding(t.Inst); ok && !strings.EqualFold(enc, "UTF-8") {
				return nil, refuse("the XML declaration names an encoding other than UTF-8")
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
	var c treeCheck
	if err := c.check(root, 1, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// treeCheck is Parse's walk over the parsed tree.
type treeCheck struct {
	seen map[attrName]struct{} // reused by dupAttr
}

// check rejects directives, processing instructions, duplicate
// attributes, excessive depth and attributes in scope at or below el
// (prescan has checked the other limits); scopeAttrs is the number of
// attributes on el's ancestors.
func (c *treeCheck) check(el *etree.Element, depth, scopeAttrs int) error {
	if depth > maxDepth {
		return refuse("elements nested deeper than %d (the limit)", maxDepth)
	}
	if scopeAttrs += len(el.Attr); scopeAttrs > maxScopeAttrs {
		return refuse("an element and its ancestors have more than %d attributes (the limit)", maxScopeAttrs)
	}
	if k, dup := c.dupAttr(el.Attr); dup {
		return refuse("duplicate attribute %q", k)
	}
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := c.check(t, depth+1, scopeAttrs); err != nil {
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

// dupAttr reports a repeated (prefix, name) among attrs, in time linear in
// len(attrs).
func (c *treeCheck) dupAttr(attrs []etree.Attr) (string, bool) {
	if len(attrs) <= 16 {
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
		c.seen = make(map[attrName]struct{}, maxAttrs)
	}
	defer clear(c.seen)
	for _, a := range attrs {
		k := attrName{a.Space, a.Key}
		if _, ok := c.seen[k]; ok {
			return a.Key, true
		}
		c.seen[k] = struct{}{}
	}
	return "", false
}

type attrName struct{ space, key string }

// prescan enforces the counting limits on data in one pass over its bytes,
// before the parser allocates anything, so that a document over a limit
// costs no more than reading it. It lexes just enough XML to count start
// tags, attributes (by their '=' outside quoted values), namespace
// declarations, ID attributes, comments and nesting in a well-formed
// document; what is not well-formed it leaves to the parser.
func prescan(data []byte) (xmlCounts, error) {
	var c xmlCounts
	err := c.scan(data)
	return c, err
}

// xmlCounts is what prescan counts (maxDepth: the deepest nesting).
type xmlCounts struct {
	elements, attrs, nsDecls, ids, comments, depth, maxDepth int
}

func (x *xmlCounts) scan(data []byte) error {
	n := len(data)
	for i := 0; i < n; {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		if i >= n {
			break
		}
		switch data[i] {
		case '/':
			x.depth--
			k := bytes.IndexByte(data[i:], '>')
			if k < 0 {
				return nil
			}
			i += k + 1
			continue
		case '?':
			k := bytes.Index(data[i:], []byte("?>"))
			if k < 0 {
				return nil
			}
			i += k + 2
			continue
		case '!':
			switch {
			case bytes.HasPrefix(data[i:], []byte("!--")):
				if x.comments++; x.comments > maxComments {
					return refuse("more than %d comments (the limit)", maxComments)
				}
				k := bytes.Index(data[i+3:], []byte("-->"))
				if k < 0 {
					return nil
				}
				i += 3 + k + 3
			case bytes.HasPrefix(data[i:], []byte("![CDATA[")):
				k := bytes.Index(data[i+8:], []byte("]]>"))
				if k < 0 {
					return nil
				}
				i += 8 + k + 3
			default:
				return refuse("DTD or entity declaration")
			}
			continue
		}
		// A start tag.
		if x.elements++; x.elements > maxElements {
			return refuse("more than %d elements (the limit)", maxElements)
		}
		if x.depth++; x.depth > x.maxDepth {
			x.maxDepth = x.depth
		}
		if x.depth > maxDepth {
			return refuse("elements nested deeper than %d (the limit)", maxDepth)
		}
		own, from := 0, i // from: where the current attribute's name may start
	tag:
		for i < n {
			switch c := data[i]; c {
			case '"', '\'':
				k := bytes.IndexByte(data[i+1:], c)
				if k < 0 {
					return nil
				}
				// XML reads a literal tab or line break in an attribute
				// value as a space (attribute-value normalization, which
				// the parser does not do): refused, so that no value
				// differs from what an XML-DSig signer canonicalized.
				if bytes.ContainsAny(data[i+1:i+1+k], "\t\n\r") {
					return refuse("a literal tab or line break in an attribute value (write it as a character reference)")
				}
				i += k + 2
				from = i
			case '=':
				if own++; own > maxAttrs {
					return refuse("an element has more than %d attributes (the limit)", maxAttrs)
				}
				if x.attrs++; x.attrs > maxTotalAttrs {
					return refuse("more than %d attributes (the limit)", maxTotalAttrs)
				}
				// The attribute's name: back over spaces, then the name,
				// never before the end of the previous attribute (so the
				// bytes of a tag are walked back at most once).
				e := i
				for e > from && isSpaceByte(data[e-1]) {
					e--
				}
				s := e
				for s > from && !isSpaceByte(data[s-1]) {
					s--
				}
				from = i + 1
				switch name := data[s:e]; {
				case string(name) == "xmlns" || len(name) > 6 && bytes.HasPrefix(name, []byte("xmlns:")):
					if x.nsDecls++; x.nsDecls > maxNamespaceDecls {
						return refuse("more than %d namespace declarations (the limit)", maxNamespaceDecls)
					}
				case string(name) == "ID":
					if x.ids++; x.ids > maxIDs {
						return refuse("more than %d ID attributes (the limit)", maxIDs)
					}
				}
				i++
			case '>':
				if data[i-1] == '/' {
					x.depth--
				}
				i++
				break tag
			default:
				i++
			}
		}
	}
	return nil
}

// xmlDeclEncoding returns the encoding named in the XML declaration's
// content inst, ok=false when it names none; a malformed one is "".
func xmlDeclEncoding(inst string) (enc string, ok bool) {
	i := strings.Index(inst, "encoding")
	if i < 0 {
		return "", false
	}
	s := strings.TrimLeft(inst[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(s, "=") {
		return "", true
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	if s == "" || s[0] != '"' && s[0] != '\'' {
		return "", true
	}
	j := strings.IndexByte(s[1:], s[0])
	if j < 0 {
		return "", true
	}
	return s[1 : 1+j], true
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

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
