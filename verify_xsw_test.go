package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Signature wrapping, named as SAML Raider does (XSW1-8), and its cousins.
// Each row with naive set fools naiveAccepts with the attacker's NameID.
func TestAttackXSW(t *testing.T) {
	t.Parallel()
	inv := entrasaml.ErrInvalidSignature
	const evilID = "_e0e0e0e0-0000-4000-8000-000000000bad"
	// evilRoot turns the Response into the attacker's (new IDs, so that
	// no ID is duplicated), after f placed the original's clean copy.
	evilRoot := func(f func(r, orig *etree.Element)) func(*etree.Element) {
		return func(r *etree.Element) {
			f(r, atkUnsigned(r))
			r.CreateAttr("ID", evilID)
			atkFind(r, "Assertion").CreateAttr("ID", evilID+"a")
			atkSetNameID(r, atkEvilNameID)
		}
	}
	rows := []attackCase{
		{name: "XSW1: clean copy of the signed Response inside its Signature, evil Response around", base: atkResponseSigned,
			edit: evilRoot(func(r, orig *etree.Element) { atkFind(r, "Signature").AddChild(orig) }), want: inv, naive: atkEvilNameID},
		{name: "XSW2: clean copy of the signed Response before its detached Signature", base: atkResponseSigned,
			edit: evilRoot(func(r, orig *etree.Element) { atkInsertBefore(atkFind(r, "Signature"), orig) }), want: inv, naive: atkEvilNameID},
		{name: "XSW1 variant: evil Response, the signed one appended as its last child", base: atkResponseSigned, edit: func(r *etree.Element) {
			orig := r.Copy()
			atkRemove(atkFind(r, "Signature"))
			evilRoot(func(r, _ *etree.Element) { r.AddChild(orig) })(r)
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW3: evil Assertion before the signed one", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkInsertBefore(a, atkEvilCopy(a, evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW4: evil Assertion wrapping the signed one", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			e := atkEvilCopy(a, evilID)
			atkInsertBefore(a, e)
			atkRemove(a)
			e.AddChild(a)
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW5: evil values in the signed Assertion, clean copy appended to the Response", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			r.AddChild(atkUnsigned(a))
			a.CreateAttr("ID", evilID)
			atkSetNameID(a, atkEvilNameID)
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW6: evil values in the signed Assertion, clean copy inside its Signature", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkFind(a, "Signature").AddChild(atkUnsigned(a))
			a.CreateAttr("ID", evilID)
			atkSetNameID(a, atkEvilNameID)
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW7: signed Assertion in Extensions, evil Assertion in its place", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			ext := etree.NewElement("samlp:Extensions")
			atkInsertBefore(atkFind(r, "samlp:Status"), ext)
			atkInsertBefore(a, atkEvilCopy(a, evilID))
			atkRemove(a)
			ext.AddChild(a)
		}, want: inv, naive: atkEvilNameID},
		{name: "XSW8: evil values in the signed Assertion, clean copy in an Object of its Signature", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkFind(a, "Signature").CreateElement("Object").AddChild(atkUnsigned(a))
			a.CreateAttr("ID", evilID)
			atkSetNameID(a, atkEvilNameID)
		}, want: inv, naive: atkEvilNameID},

		// More places for a second, forged Assertion.
		{name: "evil Assertion after the signed one", base: atkAssertionSigned, edit: func(r *etree.Element) {
			r.AddChild(atkEvilCopy(atkFind(r, "Assertion"), evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "evil Assertion inside the signed one's Advice", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkInsertBefore(atkFind(a, "Conditions"), etree.NewElement("Advice"))
			atkFind(a, "Advice").AddChild(atkEvilCopy(a, evilID))
		}, want: inv},
		{name: "evil Assertion in the assertion Signature's KeyInfo", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkFind(a, "Signature/KeyInfo").AddChild(atkEvilCopy(a, evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "evil Assertion in StatusDetail", base: atkAssertionSigned, edit: func(r *etree.Element) {
			atkFind(r, "samlp:Status").CreateElement("samlp:StatusDetail").AddChild(atkEvilCopy(atkFind(r, "Assertion"), evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "signed Assertion moved into Extensions, none at the top", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkRemove(a)
			r.CreateElement("samlp:Extensions").AddChild(a)
		}, want: inv, naive: atkAdele},
		{name: "response-signed: evil Assertion in an Object of the Response Signature", base: atkResponseSigned, edit: func(r *etree.Element) {
			atkFind(r, "Signature").CreateElement("Object").AddChild(atkEvilCopy(atkFind(r, "Assertion"), evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "response-signed: evil Assertion appended to the signed Response", base: atkResponseSigned, edit: func(r *etree.Element) {
			r.AddChild(atkEvilCopy(atkFind(r, "Assertion"), evilID))
		}, want: inv},
		{name: "both-signed: evil Assertion in an Object of the Response Signature", base: atkBothSigned, edit: func(r *etree.Element) {
			atkFind(r, "Signature").CreateElement("Object").AddChild(atkEvilCopy(atkFind(r, "Assertion"), evilID))
		}, want: inv, naive: atkEvilNameID},
		{name: "EncryptedAssertion beside the signed Assertion", base: atkAssertionSigned, edit: func(r *etree.Element) {
			r.CreateElement("EncryptedAssertion").CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:assertion")
		}, want: inv, naive: atkAdele}, // an encrypted and a plain assertion together: decrypt.go

		// IDs: unique and unqualified.
		{name: "evil Assertion with the signed Assertion's ID, before it", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			atkInsertBefore(a, atkEvilCopy(a, ""))
		}, want: inv, naive: atkEvilNameID},
		{name: "Status with the signed Assertion's ID", base: atkAssertionSigned, edit: func(r *etree.Element) {
			atkFind(r, "samlp:Status").CreateAttr("ID", atkFind(r, "Assertion").SelectAttrValue("ID", ""))
		}, want: inv, naive: atkAdele},
		{name: "unsigned Response with the signed Assertion's ID", base: atkAssertionSigned, edit: func(r *etree.Element) {
			r.CreateAttr("ID", atkFind(r, "Assertion").SelectAttrValue("ID", ""))
		}, want: inv, naive: atkAdele},
		{name: "evil Assertion with the signed ID as x:ID, before it", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			e := atkEvilCopy(a, "")
			e.RemoveAttr("ID")
			e.CreateAttr("xmlns:x", "urn:x")
			e.CreateAttr("x:ID", a.SelectAttrValue("ID", ""))
			atkInsertBefore(a, e)
		}, want: inv, naive: atkEvilNameID},
		{name: "signed Assertion: its ID moved to x:ID, evil unqualified ID", base: atkAssertionSigned, edit: func(r *etree.Element) {
			a := atkFind(r, "Assertion")
			a.CreateAttr("xmlns:x", "urn:x")
			a.CreateAttr("x:ID", a.SelectAttrValue("ID", ""))
			a.CreateAttr("ID", evilID)
		}, want: inv},
		{name: "unsigned Response with a namespace-qualified ID", base: atkAssertionSigned, edit: func(r *etree.Element) {
			r.CreateAttr("xmlns:x", "urn:x")
			r.CreateAttr("x:ID", evilID)
		}, want: inv, naive: atkAdele},
	}
	runAttacks(t, rows)
}

// TestAttackParser: DTDs, entities, trailing content, processing
// instructions and depth. Rows with naive set carry an intact signature.
func TestAttackParser(t *testing.T) {
	t.Parallel()
	mal := entrasaml.ErrMalformed
	const open = "<samlp:Response"
	lol := `<!DOCTYPE samlp:Response [<!ENTITY lol0 "lol">`
	for i := 1; i <= 9; i++ {
		lol += fmt.Sprintf(`<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	lol += "]>"
	xxeFile := `<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`
	xxeHTTP := `<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "http://127.0.0.1:1/">]>`
	// dtd prepends a DTD and, with entity, references it in the Response's
	// (unsigned) Issuer.
	dtd := func(decl, entity string) []string {
		const issuer = `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">`
		if entity == "" {
			return []string{open, decl + open}
		}
		return []string{open, decl + open, issuer, issuer + "&" + entity + ";"}
	}
	evilResp := string(atkForge(t, atkAssertionSigned, func(r *etree.Element) {
		atkRemove(atkFind(r, "Assertion/Signature"))
		atkSetNameID(r, atkEvilNameID)
	}))
	deep := strings.Repeat("<x>", 1000) + strings.Repeat("</x>", 1000)
	end := "</samlp:Response>"
	rows := []attackCase{
		{name: "billion laughs declared", base: atkAssertionSigned, subst: dtd(lol, ""), want: mal, naive: atkAdele},
		{name: "billion laughs expanded in the Response Issuer", base: atkAssertionSigned, subst: dtd(lol, "lol9"), want: mal},
		{name: "XXE file:///etc/passwd declared", base: atkAssertionSigned, subst: dtd(xxeFile, ""), want: mal, naive: atkAdele},
		{name: "XXE file:///etc/passwd used", base: atkAssertionSigned, subst: dtd(xxeFile, "xxe"), want: mal},
		{name: "XXE http://127.0.0.1:1/ declared", base: atkAssertionSigned, subst: dtd(xxeHTTP, ""), want: mal, naive: atkAdele},
		{name: "XXE http://127.0.0.1:1/ used", base: atkAssertionSigned, subst: dtd(xxeHTTP, "xxe"), want: mal},
		{name: "DOCTYPE alone", base: atkAssertionSigned, subst: dtd("<!DOCTYPE samlp:Response>", ""), want: mal, naive: atkAdele},
		{name: "XML declaration then DOCTYPE", base: atkAssertionSigned, subst: dtd(`<?xml version="1.0"?><!DOCTYPE samlp:Response>`, ""), want: mal, naive: atkAdele},
		{name: "second root element: an evil Response", base: atkAssertionSigned, subst: []string{end, end + evilResp}, want: mal, naive: atkEvilNameID},
		{name: "trailing text", base: atkAssertionSigned, subst: []string{end, end + "x"}, want: mal, naive: atkAdele},
		{name: "trailing comment", base: atkAssertionSigned, subst: []string{end, end + "<!-- x -->"}, want: mal, naive: atkAdele},
		{name: "leading comment", base: atkAssertionSigned, subst: []string{open, "<!-- x -->" + open}, want: mal, naive: atkAdele},
		{name: "processing instruction before the root", base: atkAssertionSigned, subst: []string{open, `<?xml-stylesheet href="x"?>` + open}, want: mal, naive: atkAdele},
		{name: "processing instruction in the unsigned Response", base: atkAssertionSigned, subst: []string{"<samlp:Status>", "<?evil x?><samlp:Status>"}, want: mal, naive: atkAdele},
		{name: "processing instruction in the NameID", base: atkAssertionSigned, subst: []string{"@contoso", "@<?evil x?>contoso"}, want: mal},
		{name: "1000 nested elements in Extensions", base: atkAssertionSigned, subst: []string{"<samlp:Status>", "<samlp:Extensions>" + deep + "</samlp:Extensions><samlp:Status>"}, want: mal, naive: atkAdele},
		{name: "duplicate attribute on the Response", base: atkAssertionSigned, subst: []string{` Version="2.0"`, ` Version="2.0" Version="2.0"`}, want: mal},
		{name: "not XML", form: func(*testing.T) string { return atkB64([]byte("<html>")) }, want: mal},
	}
	runAttacks(t, rows)
}

// TestAttackEncoding: the SAMLResponse value itself.
func TestAttackEncoding(t *testing.T) {
	t.Parallel()
	mal := entrasaml.ErrMalformed
	// doc is the fixture padded with trailing spaces to a length ≡ n (mod 3).
	doc := func(t *testing.T, n int) []byte {
		b := readTestdata(t, atkAssertionSigned)
		for len(b)%3 != n {
			b = append(b, ' ')
		}
		atkAccepted(t, fixtureSP(t, nil), atkB64(b)) // honest: correctly encoded, it verifies
		return b
	}
	enc := base64.StdEncoding
	rows := []attackCase{
		{name: "empty", form: func(*testing.T) string { return "" }, want: mal},
		{name: "space inside", form: func(t *testing.T) string { s := atkB64(doc(t, 0)); return s[:100] + " " + s[100:] }, want: mal},
		{name: "tab inside", form: func(t *testing.T) string { s := atkB64(doc(t, 0)); return s[:100] + "\t" + s[100:] }, want: mal},
		{name: "URL-safe alphabet", form: func(t *testing.T) string {
			b := doc(t, 0)
			if !strings.ContainsAny(atkB64(b), "+/") {
				t.Fatal("no + or / to differ from the URL-safe alphabet")
			}
			return base64.URLEncoding.EncodeToString(b)
		}, want: mal},
		{name: "padding missing", form: func(t *testing.T) string { return base64.RawStdEncoding.EncodeToString(doc(t, 1)) }, want: mal},
		{name: "padding doubled", form: func(t *testing.T) string { return atkB64(doc(t, 2)) + "=" }, want: mal},
		{name: "data after padding", form: func(t *testing.T) string { return atkB64(doc(t, 1)) + "AAAA" }, want: mal},
		{name: "non-canonical padding bits", form: func(t *testing.T) string {
			s := atkB64(doc(t, 1)) // ends in "X==": X's low 4 bits are padding, zero
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			s = s[:len(s)-3] + string(alphabet[strings.IndexByte(alphabet, s[len(s)-3])|1]) + "=="
			if _, err := enc.DecodeString(s); err != nil { // honest: only Strict refuses it
				t.Fatal(err)
			}
			return s
		}, want: mal},
		{name: "character outside the alphabet", form: func(t *testing.T) string { s := atkB64(doc(t, 0)); return s[:100] + "*" + s[101:] }, want: mal},
		{name: "base64 twice", form: func(t *testing.T) string { return atkB64([]byte(atkB64(doc(t, 0)))) }, want: mal},
	}
	runAttacks(t, rows)
}

// TestAttackOversized: MaxResponseSize bounds the base64 value; the error
// says TooLarge, so an HTTP layer can answer 413.
func TestAttackOversized(t *testing.T) {
	t.Parallel()
	tooLarge := func(t *testing.T, sp *entrasaml.SP, form string) {
		t.Helper()
		_, err := sp.Verify(context.Background(), form, fxRequestID)
		var e *entrasaml.Error
		if !errors.As(err, &e) || !e.TooLarge() {
			t.Errorf("TooLarge() = false for %v", err)
		}
		atkRefused(t, sp, form, entrasaml.ErrMalformed)
	}
	t.Run("default limit", func(t *testing.T) {
		t.Parallel()
		// A valid response padded with trailing whitespace (allowed after
		// the root) to exactly the limit verifies; one byte more is refused.
		pad := func(n int) string {
			b := readTestdata(t, atkAssertionSigned)
			return atkB64(append(b, bytes.Repeat([]byte{' '}, n-len(b))...))
		}
		max := entrasaml.DefaultMaxResponseSize
		atkAccepted(t, fixtureSP(t, nil), pad(max/4*3))
		form := pad(max/4*3 + 1)
		if len(form) != max+4 {
			t.Fatalf("len = %d", len(form))
		}
		tooLarge(t, fixtureSP(t, nil), form)
	})
	t.Run("configured limit", func(t *testing.T) {
		t.Parallel()
		form := fixtureB64(t, atkAssertionSigned)
		atkAccepted(t, fixtureSP(t, func(c *entrasaml.Config) { c.MaxResponseSize = len(form) }), form)
		tooLarge(t, fixtureSP(t, func(c *entrasaml.Config) { c.MaxResponseSize = len(form) - 1 }), form)
	})
}

// TestAttackCommentInjection: comments, character references and CDATA
// inside signed text do not change its canonical form, so the signature
// still verifies; the session must hold the whole value, never the part
// before the comment (the 2018 SAML comment-injection bugs).
func TestAttackCommentInjection(t *testing.T) {
	t.Parallel()
	const suffixed = atkAdele + ".evil.example" // the user nameid-suffix.xml was signed for
	nameID := func(v string) []string { return []string{">" + atkAdele + "</NameID>", ">" + v + "</NameID>"} }
	email := func(v string) []string {
		return []string{`emailaddress"><AttributeValue>` + atkAdele + "<", `emailaddress"><AttributeValue>` + v + "<"}
	}
	const nid, mail = ".//NameID", ".//Attribute[@Name='" + entratest.ClaimEmail + "']/AttributeValue"
	for _, tc := range []struct {
		name, base    string
		subst         []string
		nameID, email string
		path, cut     string // a reader of path's first text node sees only cut
	}{
		{"NameID comment", atkAssertionSigned, nameID("adele.vance@contoso<!-- x -->.example"), atkAdele, atkAdele, nid, "adele.vance@contoso"},
		{"NameID empty comments", atkAssertionSigned, nameID("adele<!---->.vance@contoso.example<!---->"), atkAdele, atkAdele, nid, "adele"},
		{"NameID character references", atkAssertionSigned, nameID("adele&#x2e;vance&#64;contoso.example"), atkAdele, atkAdele, "", ""},
		{"NameID CDATA", atkAssertionSigned, nameID("adele.vance@<![CDATA[contoso]]>.example"), atkAdele, atkAdele, nid, "adele.vance@"},
		{"email comment", atkAssertionSigned, email("adele.vance@contoso<!---->.example"), atkAdele, atkAdele, mail, "adele.vance@contoso"},
		{"group comment", atkAssertionSigned, []string{">d7088b56-da9e", ">d7088b56<!---->-da9e"}, atkAdele, atkAdele,
			".//Attribute[@Name='" + entratest.ClaimGroups + "']/AttributeValue[3]", "d7088b56"},
		{"response-signed NameID comment", atkResponseSigned, nameID("adele.vance@contoso<!---->.example"), atkAdele, atkAdele, nid, "adele.vance@contoso"},
		{"both-signed NameID comment", atkBothSigned, nameID("adele.vance@contoso<!---->.example"), atkAdele, atkAdele, nid, "adele.vance@contoso"},
		// The real attack: a correctly signed account whose name extends
		// the victim's, cut by a comment where a naive reader stops.
		{"suffixed account, NameID and email cut by comments", "attacks/nameid-suffix.xml",
			[]string{">" + suffixed + "</NameID>", ">" + atkAdele + "<!---->.evil.example</NameID>",
				`emailaddress"><AttributeValue>` + suffixed, `emailaddress"><AttributeValue>` + atkAdele + "<!---->.evil.example"},
			suffixed, suffixed, nid, atkAdele},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := atkForge(t, tc.base, nil, tc.subst...)
			if tc.path != "" {
				d := etree.NewDocument()
				if err := d.ReadFromBytes(doc); err != nil {
					t.Fatal(err)
				}
				if first := atkFind(d.Root(), tc.path).Child[0].(*etree.CharData).Data; first != tc.cut {
					t.Fatalf("first text node %q, want %q", first, tc.cut)
				}
			}
			s := atkAccepted(t, fixtureSP(t, nil), atkB64(doc))
			if s.NameID != tc.nameID || s.Email != tc.email {
				t.Errorf("NameID %q, Email %q; want %q, %q", s.NameID, s.Email, tc.nameID, tc.email)
			}
			if !s.HasGroup("d7088b56-da9e-4ae4-8aec-d8cae542a2da") || len(s.Groups) != 3 {
				t.Errorf("groups %v", s.Groups)
			}
		})
	}
}
