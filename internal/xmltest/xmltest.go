// Package xmltest holds what the XML tests of several packages share: a
// generator of random, well-formed documents for differential tests and
// fuzz seeds. Only tests import it.
package xmltest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// RandomDoc builds a document from a small vocabulary of prefixes,
// namespaces, attributes, text and comments.
func RandomDoc(r *rand.Rand) string {
	prefixes := []string{"", "a", "b", "c"}
	nss := []string{"urn:x", "urn:y", "urn:z"}
	texts := []string{"t", " ", "a&amp;b", "&lt;&gt;", "x\r\ny", "&#xD;", "\"'", "&#9;"}
	var b strings.Builder
	var el func(depth int, declared map[string]bool)
	el = func(depth int, declared map[string]bool) {
		decl := map[string]bool{}
		for k := range declared {
			decl[k] = true
		}
		var attrs []string
		for _, p := range prefixes[1:] {
			if r.IntN(4) == 0 {
				attrs = append(attrs, fmt.Sprintf(`xmlns:%s="%s"`, p, nss[r.IntN(len(nss))]))
				decl[p] = true
			}
		}
		if r.IntN(4) == 0 {
			attrs = append(attrs, fmt.Sprintf(`xmlns="%s"`, nss[r.IntN(len(nss))]))
		}
		var usable []string
		for _, p := range prefixes[1:] {
			if decl[p] {
				usable = append(usable, p)
			}
		}
		name := "e"
		if len(usable) > 0 && r.IntN(2) == 0 {
			name = usable[r.IntN(len(usable))] + ":e"
		}
		for i, k := range []string{"z", "id", "A"} {
			if r.IntN(2) == 0 {
				attrs = append(attrs, fmt.Sprintf(`%s="v%d&amp;&lt;&#9;&#xA;&quot;%d"`, k, i, r.IntN(9)))
			}
		}
		if len(usable) > 0 && r.IntN(2) == 0 {
			attrs = append(attrs, fmt.Sprintf(`%s:q="1"`, usable[r.IntN(len(usable))]))
		}
		r.Shuffle(len(attrs), func(i, j int) { attrs[i], attrs[j] = attrs[j], attrs[i] })
		fmt.Fprintf(&b, "<%s", name)
		for _, a := range attrs {
			b.WriteString(" " + a)
		}
		b.WriteString(">")
		for n := r.IntN(4); n > 0; n-- {
			switch {
			case depth < 4 && r.IntN(2) == 0:
				el(depth+1, decl)
			case r.IntN(4) == 0:
				b.WriteString("<!-- c -->")
			case r.IntN(6) == 0:
				b.WriteString("<![CDATA[<&>]]>")
			default:
				b.WriteString(texts[r.IntN(len(texts))])
			}
		}
		fmt.Fprintf(&b, "</%s>", name)
	}
	el(0, map[string]bool{})
	return b.String()
}
