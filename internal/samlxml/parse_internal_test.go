package samlxml

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml/internal/xmltest"
)

// treeCounts counts in a parsed document what prescan counts in its bytes.
func treeCounts(doc *etree.Document) xmlCounts {
	var c xmlCounts
	var walk func(toks []etree.Token, depth int)
	walk = func(toks []etree.Token, depth int) {
		for _, tok := range toks {
			switch t := tok.(type) {
			case *etree.Comment:
				c.comments++
			case *etree.Element:
				c.elements++
				c.maxDepth = max(c.maxDepth, depth)
				for _, a := range t.Attr {
					c.attrs++
					switch {
					case a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns":
						c.nsDecls++
					case a.Space == "" && a.Key == "ID":
						c.ids++
					}
				}
				walk(t.Child, depth+1)
			}
		}
	}
	walk(doc.Child, 1)
	return c
}

// checkPrescan: on every well-formed document, prescan counts exactly
// what the parser finds, so its limits hold for what is parsed.
func checkPrescan(t *testing.T, data []byte) {
	t.Helper()
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if doc.ReadFromBytes(data) != nil {
		return
	}
	got, err := prescan(data)
	if err != nil {
		return // over a limit (or a directive)
	}
	got.depth = 0
	if want := treeCounts(doc); got != want {
		t.Fatalf("prescan counts %+v, the parser %+v, in %q", got, want, data)
	}
}

func TestPrescanCounts(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*.xml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.xml"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkPrescan(t, b)
	}
	for _, doc := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><!-- a --><a x = '1>' y="<!--"><b ID="1"/>t<![CDATA[<c d="">]]><?pi e="f"?></a><!-- b -->`,
		`<a xmlns="u" xmlns:p = "v"><p:b p:ID="x" ID="y">&lt;c/&gt;</p:b></a>`,
		"<a\n\tb\n=\n\"1\"\n/>",
	} {
		checkPrescan(t, []byte(doc))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		checkPrescan(t, []byte(xmltest.RandomDoc(r)))
	}
}

func FuzzPrescan(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 10 {
		f.Add([]byte(xmltest.RandomDoc(r)))
	}
	f.Add([]byte(`<a x = '1>' y="<!--"><b ID="1"/><![CDATA[<c d="">]]><?pi e="f"?></a>`))
	f.Fuzz(checkPrescan)
}
