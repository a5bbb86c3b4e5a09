package entrasaml

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Exclusive XML canonicalization without comments (xml-exc-c14n#), for the
// documents parseXML accepts: no DTD, so no default attributes or entity
// references to expand, and no processing instructions inside the root.
// It replaces goxmldsig's etreeutils (NSDetatch stops at 1,000 elements,
// which refused valid responses with more than about 950 group values as
// badly signed, and its per-element context copies and attribute sort are
// not linear). The work is linear in the size of the subtree: namespace
// scopes are one map each, changed and restored on the way down and up.

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// excC14N canonicalizes el as the apex of an enveloped-signature Reference
// or as SignedInfo: it returns a detached copy of el without its child
// token at index drop (the Signature; -1 for none), with comments removed
// and each element's namespace declarations replaced by those exclusive
// c14n renders there, attributes in canonical order; and the copy's
// canonical serialization. prefixList is the InclusiveNamespaces PrefixList
// ("#default" names the default namespace).
func excC14N(el *etree.Element, drop int, prefixList string) (*etree.Element, []byte, error) {
	c := &canonicalizer{
		scope:    make(map[string]string),
		rendered: map[string]string{"": ""},
	}
	for _, p := range strings.Fields(prefixList) {
		if p == "#default" {
			p = ""
		}
		c.inclusive = append(c.inclusive, p)
	}
	// The namespaces in scope at el come from its ancestors, the nearest
	// declaration of each prefix winning.
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if _, err := c.declare(chain[i]); err != nil {
			return nil, nil, err
		}
	}
	cp, err := c.element(el, drop)
	if err != nil {
		return nil, nil, err
	}
	doc := etree.NewDocument()
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
	doc.SetRoot(cp)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, nil, err
	}
	return cp, b, nil
}

type canonicalizer struct {
	scope     map[string]string // prefix ("" = default) → namespace in scope
	rendered  map[string]string // prefix → namespace declared by the output's nearest ancestor
	inclusive []string          // InclusiveNamespaces PrefixList
	undo      []undo
}

// undo restores one map entry when an element is left.
type undo struct {
	m       map[string]string
	prefix  string
	old     string
	present bool
}

func (c *canonicalizer) set(m map[string]string, prefix, ns string) {
	old, present := m[prefix]
	c.undo = append(c.undo, undo{m, prefix, old, present})
	m[prefix] = ns
}

func (c *canonicalizer) restore(mark int) {
	for i := len(c.undo) - 1; i >= mark; i-- {
		u := c.undo[i]
		if u.present {
			u.m[u.prefix] = u.old
		} else {
			delete(u.m, u.prefix)
		}
	}
	c.undo = c.undo[:mark]
}

// declare adds el's namespace declarations to the scope and returns its
// other attributes.
func (c *canonicalizer) declare(el *etree.Element) ([]etree.Attr, error) {
	var attrs []etree.Attr
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			switch {
			case a.Key == "xmlns" || a.Key == "xml" && a.Value != nsXML || a.Key != "xml" && a.Value == nsXML:
				return nil, fmt.Errorf("reserved namespace prefix or name declared (xmlns:%s)", a.Key)
			case a.Value == "":
				return nil, fmt.Errorf("namespace prefix %q undeclared (XML 1.1 only)", a.Key)
			case a.Value == nsXMLNS:
				return nil, errors.New("the xmlns namespace bound to a prefix")
			}
			if a.Key != "xml" {
				c.set(c.scope, a.Key, a.Value)
			}
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == nsXMLNS || a.Value == nsXML {
				return nil, errors.New("a reserved namespace declared as the default")
			}
			c.set(c.scope, "", a.Value)
		default:
			attrs = append(attrs, a)
		}
	}
	return attrs, nil
}

// lookup resolves prefix in the current scope.
func (c *canonicalizer) lookup(prefix string) (string, error) {
	if prefix == "xml" {
		return nsXML, nil
	}
	ns, ok := c.scope[prefix]
	if !ok && prefix != "" {
		return "", fmt.Errorf("undeclared namespace prefix %q", prefix)
	}
	return ns, nil
}

// canonAttr is an attribute with its namespace, for sorting.
type canonAttr struct {
	ns string
	a  etree.Attr
}

// element returns the canonical copy of el, without its child at drop.
func (c *canonicalizer) element(el *etree.Element, drop int) (*etree.Element, error) {
	mark := len(c.undo)
	defer c.restore(mark)
	attrs, err := c.declare(el)
	if err != nil {
		return nil, err
	}

	// Namespace declarations: each prefix visibly utilized by el or its
	// attributes, and each inclusive prefix in scope, unless the output
	// already has it in effect with the same namespace.
	var decls []etree.Attr
	render := func(prefix string) error {
		ns, err := c.lookup(prefix)
		if err != nil {
			return err
		}
		if prefix == "xml" {
			return nil
		}
		if r, ok := c.rendered[prefix]; ok && r == ns {
			return nil
		}
		c.set(c.rendered, prefix, ns)
		if prefix == "" {
			decls = append(decls, etree.Attr{Key: "xmlns", Value: ns})
		} else {
			decls = append(decls, etree.Attr{Space: "xmlns", Key: prefix, Value: ns})
		}
		return nil
	}
	if err := render(el.Space); err != nil {
		return nil, err
	}
	sorted := make([]canonAttr, 0, len(attrs))
	for _, a := range attrs {
		ns := ""
		if a.Space != "" {
			if ns, err = c.lookup(a.Space); err != nil {
				return nil, err
			}
			if err := render(a.Space); err != nil {
				return nil, err
			}
		}
		sorted = append(sorted, canonAttr{ns, a})
	}
	for _, p := range c.inclusive {
		if _, inScope := c.scope[p]; inScope {
			if err := render(p); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(decls, func(x, y etree.Attr) int {
		if x.Space == "" { // the default namespace first
			return -1
		}
		if y.Space == "" {
			return 1
		}
		return strings.Compare(x.Key, y.Key)
	})
	slices.SortFunc(sorted, func(x, y canonAttr) int {
		return cmp.Or(strings.Compare(x.ns, y.ns), strings.Compare(x.a.Key, y.a.Key))
	})
	for i, a := range sorted {
		if i > 0 && a.ns == sorted[i-1].ns && a.a.Key == sorted[i-1].a.Key {
			return nil, fmt.Errorf("attribute {%s}%s appears twice on <%s>", a.ns, a.a.Key, el.Tag)
		}
		decls = append(decls, a.a)
	}

	cp := etree.NewElement(el.Tag)
	cp.Space = el.Space
	cp.Attr = decls
	for i, tok := range el.Child {
		if i == drop {
			if s, ok := tok.(*etree.Element); !ok || !is(s, nsDSig, "Signature") {
				return nil, errors.New("enveloped Signature not found")
			}
			continue
		}
		switch t := tok.(type) {
		case *etree.Element:
			sub, err := c.element(t, -1)
			if err != nil {
				return nil, err
			}
			cp.AddChild(sub)
		case *etree.CharData:
			cp.AddChild(etree.NewText(t.Data))
		case *etree.Comment:
			// dropped: c14n without comments
		default:
			return nil, errors.New("processing instruction or directive inside the signed element")
		}
	}
	if drop >= len(el.Child) {
		return nil, errors.New("enveloped Signature not found")
	}
	return cp, nil
}
