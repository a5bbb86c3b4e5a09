package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/internal/tooltest"
)

// Large valid responses: goxmldsig's canonicalizer refused more than about
// 950 attribute values as a bad signature ("traversal limit reached").
// Every valid response the default size limit admits must verify.

func manyGroups(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x0b7cc495+i*7919, i&0xffff, i&0xfff, i&0xfff, i*104729)
	}
	return g
}

func TestVerifyManyGroupsEntratest(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	sp := newTestSP(t, idp, nil)
	for _, mode := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse, entratest.SignBoth} {
		for _, n := range []int{951, 1000, 5000} {
			t.Run(fmt.Sprintf("%v/%d", mode, n), func(t *testing.T) {
				r := goodResponse()
				r.User.Groups = manyGroups(n)
				r.Sign = mode
				b64, err := idp.Response(r)
				if err != nil {
					t.Fatal(err)
				}
				if len(b64) > entrasaml.DefaultMaxResponseSize {
					t.Fatalf("the response is %d bytes, over the default limit", len(b64))
				}
				s, err := sp.Verify(context.Background(), b64, fxRequestID)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if len(s.Groups) != n {
					t.Fatalf("%d groups, want %d", len(s.Groups), n)
				}
			})
		}
	}
}

// TestVerifyManyGroupsXMLSec1 signs a 5,000-value response with xmlsec1
// (libxml2's canonicalization, independent of ours) with the fixture's key
// (idp-b), some values carrying namespace declarations of their own as other
// IdPs send them, and verifies it.
func TestVerifyManyGroupsXMLSec1(t *testing.T) {
	t.Parallel()
	bin := tooltest.XMLSec1().Need(t)
	tpl := readTestdata(t, "response-signed.xml") // the Response is signed
	tpl = regexp.MustCompile(`<DigestValue>[^<]*</DigestValue>`).ReplaceAll(tpl, []byte("<DigestValue></DigestValue>"))
	tpl = regexp.MustCompile(`<SignatureValue>[^<]*</SignatureValue>`).ReplaceAll(tpl, []byte("<SignatureValue></SignatureValue>"))
	const groupsAttr = `<Attribute Name="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups">`
	var values bytes.Buffer
	for i, g := range manyGroups(5000) {
		if i%50 == 0 {
			fmt.Fprintf(&values, `<AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">%s</AttributeValue>`, g)
		} else {
			fmt.Fprintf(&values, `<AttributeValue>%s</AttributeValue>`, g)
		}
	}
	i := bytes.Index(tpl, []byte(groupsAttr))
	if i < 0 {
		t.Fatal("no groups attribute in the fixture")
	}
	i += len(groupsAttr)
	doc := append(append(append([]byte{}, tpl[:i]...), values.Bytes()...), tpl[i:]...)

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join("testdata", "keys")
	cmd := exec.Command(bin, "--sign", "--insecure",
		"--privkey-pem", filepath.Join(keys, "idp-b.key")+","+filepath.Join(keys, "idp-b.crt"),
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--output", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1: %v\n%s", err, b)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(signed)
	if len(b64) > entrasaml.DefaultMaxResponseSize {
		t.Fatalf("the response is %d bytes, over the default limit", len(b64))
	}
	sp := fixtureSP(t, nil)
	s, err := sp.Verify(context.Background(), b64, fxRequestID)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(s.Groups) != 5003 {
		t.Fatalf("%d groups, want 5003", len(s.Groups))
	}
	// The same document altered in one value after signing is refused.
	bad := bytes.Replace(signed, []byte(manyGroups(5000)[4999]), []byte(manyGroups(5001)[5000]), 1)
	if _, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(bad), fxRequestID); !errors.Is(err, entrasaml.ErrInvalidSignature) {
		t.Fatalf("altered after signing: got %v, want ErrInvalidSignature", err)
	}
}
