package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
)

// Adversarial shapes that cost time quadratic in their size before
// parseXML's limits (11-16 s of CPU for one unsigned 380 KB response with
// 56,000 attributes on one element). Each must be refused by a limit named
// in the reason, before any signature is looked at. The benchmarks in
// bench/ (BenchmarkWorst) show that what the limits admit costs linear time.

// shape is an adversarial document body of n repetitions, and the limit
// that refuses it.
type shape struct {
	name  string
	n     int                // repetitions that exceed the limit
	attrs func(n int) string // attributes of the root element
	body  func(n int) string // content of the root element
	limit string             // in the refusal's reason
	small int                // repetitions that fit in the logout URL's 64 KiB and exceed the limit; 0: none do
}

func repeat(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return b.String()
}

var shapes = []shape{
	{name: "many attributes on one element", n: 30_000, small: 65, limit: "more than 64 attributes",
		attrs: func(n int) string { return repeat(n, func(i int) string { return fmt.Sprintf(` a%d=""`, i) }) }},
	{name: "many attributes in scope", n: 3, small: 3, limit: "ancestors have more than 128 attributes",
		body: func(n int) string {
			return repeat(n, func(i int) string {
				return "<x" + repeat(60, func(j int) string { return fmt.Sprintf(` a%d=""`, j) }) + ">"
			}) + repeat(n, func(int) string { return "</x>" })
		}},
	{name: "many IDs", n: 20_000, small: 4097, limit: "more than 4096 ID attributes",
		body: func(n int) string { return repeat(n, func(i int) string { return fmt.Sprintf(`<x ID="_%d"/>`, i) }) }},
	{name: "many attributes", n: 257, limit: "more than 16384 attributes",
		body: func(n int) string {
			return repeat(n, func(i int) string {
				return "<x" + repeat(64, func(j int) string { return fmt.Sprintf(` a%d=""`, j) }) + "/>"
			})
		}},
	{name: "many namespace declarations", n: 12_289, limit: "more than 12288 namespace declarations",
		body: func(n int) string { return repeat(n, func(i int) string { return `<x xmlns:p="u"/>` }) }},
	{name: "many namespace declarations on one element", n: 65, small: 65, limit: "more than 64 attributes",
		attrs: func(n int) string { return repeat(n, func(i int) string { return fmt.Sprintf(` xmlns:p%d="u"`, i) }) }},
	{name: "many elements", n: 30_001, limit: "more than 30000 elements",
		body: func(n int) string { return repeat(n, func(int) string { return "<x/>" }) }},
	{name: "many Signature elements", n: 12_000, limit: "more than 4096 ID attributes",
		body: func(n int) string {
			return repeat(n, func(i int) string { return fmt.Sprintf(`<ds:Signature ID="_%d"/>`, i) })
		}},
	{name: "deep nesting", n: 30_000, small: 5000, limit: "nested deeper than 48",
		body: func(n int) string {
			return repeat(n, func(int) string { return "<x>" }) + repeat(n, func(int) string { return "</x>" })
		}},
	{name: "long text split by comments", n: 40_000, small: 1025, limit: "more than 1024 comments",
		body: func(n int) string { return "<x>" + repeat(n, func(int) string { return "t<!---->" }) + "</x>" }},
}

// shapeDoc returns shape s with n repetitions inside root, a SAML element
// named root ("samlp:Response", "samlp:LogoutRequest", "md:EntityDescriptor").
func shapeDoc(s shape, n int, root string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%s xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_r" Version="2.0" IssueInstant="2026-11-20T10:00:00Z" entityID="https://idp.example/"`, root)
	if s.attrs != nil {
		b.WriteString(s.attrs(n))
	}
	b.WriteString(`><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`)
	if s.body != nil {
		b.WriteString(s.body(n))
	}
	fmt.Fprintf(&b, "</%s>", root)
	return b.Bytes()
}

func checkLimit(t *testing.T, err, sentinel error, limit string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want %v", err, sentinel)
	}
	if !strings.Contains(err.Error(), limit) {
		t.Fatalf("the reason %q does not name the limit (%q)", err, limit)
	}
}

func TestLimitsVerify(t *testing.T) {
	t.Parallel()
	sp := fixtureSP(t, nil)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			b64 := base64.StdEncoding.EncodeToString(shapeDoc(s, s.n, "samlp:Response"))
			if len(b64) > entrasaml.DefaultMaxResponseSize {
				t.Fatalf("%d bytes: over the size limit, so it tests nothing", len(b64))
			}
			_, err := sp.Verify(context.Background(), b64, fxRequestID)
			checkLimit(t, err, entrasaml.ErrMalformed, s.limit)
		})
	}
}

func TestLimitsMetadata(t *testing.T) {
	t.Parallel()
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			doc := shapeDoc(s, s.n, "md:EntityDescriptor")
			_, err := entrasaml.ParseMetadata(doc)
			checkLimit(t, err, entrasaml.ErrMetadata, s.limit)

			rep := onboard.Check(context.Background(), onboard.Input{Metadata: doc, Now: func() time.Time { return fxNow }})
			if rep.Ready || len(rep.Problems) == 0 || rep.Problems[0].Code != onboard.ProblemInvalidMetadata ||
				!strings.Contains(rep.Problems[0].Message, s.limit) {
				t.Fatalf("Onboard: ready=%v problems=%+v, want %s naming %q", rep.Ready, rep.Problems, onboard.ProblemInvalidMetadata, s.limit)
			}
		})
	}
}

// TestLimitsLogout sends the shapes that fit in 64 KiB to /saml/logout, as
// a LogoutRequest and a LogoutResponse: refused as malformed, the reason
// (logged) naming the limit.
func TestLimitsLogout(t *testing.T) {
	t.Parallel()
	for _, s := range shapes {
		if s.small == 0 {
			continue
		}
		for _, param := range []string{"SAMLRequest", "SAMLResponse"} {
			t.Run(s.name+"/"+param, func(t *testing.T) {
				t.Parallel()
				var log bytes.Buffer
				sp := fixtureSP(t, func(c *entrasaml.Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
				root := map[string]string{"SAMLRequest": "samlp:LogoutRequest", "SAMLResponse": "samlp:LogoutResponse"}[param]
				doc := shapeDoc(s, s.small, root)
				if len(doc) > 64<<10 {
					t.Fatalf("%d bytes inflated: over the logout limit, so it tests nothing", len(doc))
				}
				u := idpRedirect(t, fxBaseURL+"/saml/logout", param, string(doc), "", nil)
				rec := httptest.NewRecorder()
				sp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
				if rec.Code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", rec.Code)
				}
				if !strings.Contains(log.String(), "malformed") || !strings.Contains(log.String(), s.limit) {
					t.Fatalf("the log does not name the limit %q: %s", s.limit, log.String())
				}
			})
		}
	}
}
