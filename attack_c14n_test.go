package entrasaml_test

import (
	"testing"

	"github.com/entrasaml/entrasaml"
)

// TestAttackParserDisagreesWithSigner: changes that leave every value as
// Go's XML parser reads it, so that a canonicalizer fed by it digests the
// same bytes, but that change the document for a standard XML processor:
// xmlsec1 refuses each of them (testdata/attacks/gen.sh checks that), and
// so must we. charref-whitespace.xml (xmlsec1-signed) has tab, line feed
// and carriage return references in a signed attribute value and a
// non-ASCII display name.
func TestAttackParserDisagreesWithSigner(t *testing.T) {
	t.Parallel()
	const base = "attacks/charref-whitespace.xml"
	s := atkAccepted(t, fixtureSP(t, nil), fixtureB64(t, base))
	if s.DisplayName != "Adèle Vance" {
		t.Fatalf("baseline DisplayName = %q", s.DisplayName)
	}
	utf8Decl := atkForge(t, base, nil, "<samlp:Response ", `<?xml version="1.0" encoding="UTF-8"?><samlp:Response `)
	atkAccepted(t, fixtureSP(t, nil), atkB64(utf8Decl))

	mal := entrasaml.ErrMalformed
	decl := func(enc string) []string {
		return []string{"<samlp:Response ", `<?xml version="1.0" encoding="` + enc + `"?><samlp:Response `}
	}
	runAttacks(t, []attackCase{
		// XML reads a literal tab or line break in an attribute value as a
		// space; Go's parser keeps it, equal to the signed reference.
		{name: "literal tab for &#9; in a signed attribute", base: base, subst: []string{"&#9;", "\t"}, want: mal},
		{name: "literal line feed for &#10; in a signed attribute", base: base, subst: []string{"&#10;", "\n"}, want: mal},
		{name: "literal carriage return for &#13; in a signed attribute", base: base, subst: []string{"&#13;", "\r"}, want: mal},
		{name: "literal CR LF for &#10; in a signed attribute", base: base, subst: []string{"&#10;", "\r\n"}, want: mal},
		{name: "literal tab in an unsigned Response attribute", base: base, subst: []string{`Version="2.0"`, "Version=\"2.0\"\tx=\"a\tb\""}, want: mal},
		// Go's parser reads every document as UTF-8; xmlsec1 reads Adèle
		// as Latin-1 (two characters) and refuses the digest.
		{name: "XML declaration: ISO-8859-1", base: base, subst: decl("ISO-8859-1"), want: mal},
		{name: "XML declaration: UTF-16", base: base, subst: decl("UTF-16"), want: mal},
		{name: "XML declaration: US-ASCII", base: base, subst: decl("US-ASCII"), want: mal},
		{name: "XML declaration: malformed encoding", base: base, subst: []string{"<samlp:Response ", `<?xml version="1.0" encoding=UTF-8?><samlp:Response `}, want: mal},
	})
}
