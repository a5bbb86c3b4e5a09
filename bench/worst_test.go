package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/onboard"
)

// Worst-case inputs: unsigned SAMLResponse values that anyone can POST to
// the ACS, each of a shape that cost time quadratic in its size before the
// parser's limits, made as large as the defaults accept (the value just
// under DefaultMaxResponseSize, every limit just not exceeded), so that
// Verify parses all of it before it refuses it. The valid response with 150
// groups is the yardstick: BenchmarkWorst reports each input's cost per KB
// of the POSTed value, and no worst-case input may cost more than 3x what
// the valid one costs per KB.

// worstBudget is the XML size that fills the default limit once encoded.
const worstBudget = entrasaml.DefaultMaxResponseSize/4*3 - 1024

// worstShapes are the adversarial bodies: each writes elements (as many
// as fit) into the Response envelope b.
var worstShapes = []struct {
	name string
	fill func(b *bytes.Buffer, budget int)
}{
	// 64 attributes (the per-element limit) on elements, 16,384 in all
	// (the limit, less the envelope's), each seen by the duplicate check.
	{"attributes", func(b *bytes.Buffer, budget int) {
		for i := 0; i < 16_384/64-1 && b.Len() < budget-400; i++ {
			b.WriteString("<x")
			for j := range 64 {
				fmt.Fprintf(b, " a%d=\"\"", j)
			}
			b.WriteString("/>")
		}
		fillText(b, budget)
	}},
	// 4,096 IDs (the limit), each checked for uniqueness, and filler.
	{"ids", func(b *bytes.Buffer, budget int) {
		for i := range 4096 - 1 {
			fmt.Fprintf(b, `<x ID="_%080d"/>`, i)
		}
		fillElements(b, budget, 30_000-4096-8)
		fillText(b, budget)
	}},
	// 12,288 namespace declarations (the limit), one per element.
	{"namespace-decls", func(b *bytes.Buffer, budget int) {
		for i := 0; i < 12_288-8 && b.Len() < budget-40; i++ {
			fmt.Fprintf(b, `<p:x xmlns:p="urn:%d"/>`, i%10)
		}
		fillText(b, budget)
	}},
	// 128 attributes in scope (the limit) before elements named Signature
	// in a prefix declared farthest up: each namespace lookup walks them.
	{"signatures-in-scope", func(b *bytes.Buffer, budget int) {
		b.WriteString(`<x xmlns:p="http://www.w3.org/2000/09/xmldsig#"`)
		for j := range 55 {
			fmt.Fprintf(b, ` a%d=""`, j)
		}
		b.WriteString("><x")
		for j := range 64 {
			fmt.Fprintf(b, ` a%d=""`, j)
		}
		b.WriteString(">")
		for i := 0; i < 30_000-8 && b.Len() < budget-30; i++ {
			b.WriteString("<p:Signature/>")
		}
		b.WriteString("</x></x>")
		fillText(b, budget)
	}},
	// 30,000 elements (the limit, less the envelope's).
	{"elements", func(b *bytes.Buffer, budget int) {
		fillElements(b, budget, 30_000-8)
		fillText(b, budget)
	}},
	// Nesting 46 deep below the Response (the limit is 48), over and over.
	{"deep-nesting", func(b *bytes.Buffer, budget int) {
		open, end := strings.Repeat("<x>", 46), strings.Repeat("</x>", 46)
		for n := 0; b.Len() < budget-len(open)-len(end) && n < 30_000/46-1; n++ {
			b.WriteString(open + end)
		}
		fillText(b, budget)
	}},
	// One text node filling the input.
	{"long-text", fillText},
	// Text split by 1,024 comments (the limit).
	{"text-comments", func(b *bytes.Buffer, budget int) {
		b.WriteString("<x>")
		for range 1024 {
			b.WriteString("t<!---->")
		}
		b.WriteString("</x>")
		fillText(b, budget)
	}},
}

// fillElements appends up to n empty elements within the budget.
func fillElements(b *bytes.Buffer, budget, n int) {
	for i := 0; i < n && b.Len() < budget-4; i++ {
		b.WriteString("<x/>")
	}
}

// fillText fills the budget with character data.
func fillText(b *bytes.Buffer, budget int) {
	if n := budget - b.Len() - 7; n > 0 {
		b.WriteString("<x>" + strings.Repeat("a", n) + "</x>")
	}
}

// worstInput returns the named shape in an unsigned Response, base64.
func worstInput(fill func(*bytes.Buffer, int)) string {
	var b bytes.Buffer
	b.WriteString(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" Destination="` + spACSURL + `">` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`)
	fill(&b, worstBudget)
	b.WriteString(`</samlp:Response>`)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// reportPerKB reports the cost per KB of the POSTed value.
func reportPerKB(b *testing.B, size int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(size)/1024), "ns/KB")
	b.ReportMetric(float64(size), "B/input")
}

// BenchmarkWorst verifies the valid 150-group response and each worst-case
// input; compare their ns/KB.
func BenchmarkWorst(b *testing.B) {
	ctx := context.Background()
	b.Run("valid-groups150", func(b *testing.B) {
		w := setup(b)
		in := w.inputs(b)[inGroups150].b64
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.entra.Verify(ctx, in, requestID); err != nil {
				b.Fatal(err)
			}
		}
		reportPerKB(b, len(in))
	})
	for _, s := range worstShapes {
		b.Run(s.name, func(b *testing.B) {
			w := setup(b)
			in := worstInput(s.fill)
			_, err := w.entra.Verify(ctx, in, requestID)
			var e *entrasaml.Error
			if err == nil || errors.As(err, &e) && e.TooLarge() ||
				strings.Contains(err.Error(), "(the limit)") || strings.Contains(err.Error(), "well-formed") {
				// Refused by a limit, the input would not show what the
				// defaults accept: it must parse.
				b.Fatalf("%s (%d bytes): %v, want a refusal after parsing", s.name, len(in), err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.entra.Verify(ctx, in, requestID)
			}
			reportPerKB(b, len(in))
		})
	}
}

// BenchmarkWorstMetadata parses Entra's federation metadata and each
// worst-case shape in an EntityDescriptor just under MaxMetadataSize, with
// ParseMetadata and Onboard; compare their ns/KB.
func BenchmarkWorstMetadata(b *testing.B) {
	ctx := context.Background()
	for _, f := range []string{"ParseMetadata", "Onboard"} {
		parse := func(doc []byte) bool {
			if f == "ParseMetadata" {
				_, err := entrasaml.ParseMetadata(doc)
				return err == nil
			}
			return onboard.Check(ctx, onboard.Input{Metadata: doc}).Ready
		}
		b.Run(f+"/valid-entra", func(b *testing.B) {
			w := setup(b)
			if !parse(w.metadata) {
				b.Fatal("the Entra metadata is refused")
			}
			b.ReportAllocs()
			for b.Loop() {
				parse(w.metadata)
			}
			reportPerKB(b, len(w.metadata))
		})
		for _, s := range worstShapes {
			b.Run(f+"/"+s.name, func(b *testing.B) {
				var d bytes.Buffer
				d.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_m" entityID="https://idp.example/">`)
				s.fill(&d, entrasaml.MaxMetadataSize-1024)
				d.WriteString(`</md:EntityDescriptor>`)
				doc := d.Bytes()
				if _, err := entrasaml.ParseMetadata(doc); err == nil || strings.Contains(err.Error(), "(the limit)") {
					b.Fatalf("%s (%d bytes): %v, want a refusal after parsing", s.name, len(doc), err)
				}
				b.ReportAllocs()
				for b.Loop() {
					parse(doc)
				}
				reportPerKB(b, len(doc))
			})
		}
	}
}

// response returns a valid response for u, signed now, base64.
func (w *world) response(u entratest.User) string {
	r, err := w.idp.Response(entratest.Response{ACSURL: spACSURL, Audience: spEntityID, InResponseTo: requestID, User: u})
	if err != nil {
		panic(err)
	}
	return r
}

// BenchmarkVerifyGroups verifies valid responses with 150, 1,500 and 5,000
// groups: the cost per group value stays flat (linear verification).
func BenchmarkVerifyGroups(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{150, 1500, 5000} {
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			w := setup(b)
			r := w.response(entraUser(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.entra.Verify(ctx, r, requestID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/group")
			reportPerKB(b, len(r))
		})
	}
}
