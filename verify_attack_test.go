package entrasaml_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/entrasaml/entrasaml"
)

// Attack tests: every row forges a SAMLResponse from an xmlsec1-signed
// fixture and must be refused with one sentinel and no session. Rows with
// naive set are also checked to fool a verifier that checks signatures but
// not the document's structure (naiveAccepts), so that they test an attack
// and not a broken forgery. TestAttackBaselines checks that the unmodified
// fixtures, and the same documents after an etree round trip, verify.

const (
	atkAssertionSigned = "response-assertion-signed.xml" // assertion signed by idp-a
	atkResponseSigned  = "response-signed.xml"           // only the Response signed, by idp-b
	atkBothSigned      = "response-both-signed.xml"
	atkForeign         = "response-foreign-key.xml" // signed by a key not in the metadata
	atkAdele           = "adele.vance@contoso.example"
	atkEvilNameID      = "attacker@evil.example"
)

// attackCase is one forged response and the sentinel Verify must return.
type attackCase struct {
	name  string
	base  string                    // fixture under testdata/
	edit  func(root *etree.Element) // etree changes to base (nil: none, no round trip)
	subst []string                  // then old, new pairs, each replaced once (old must occur)
	form  func(t *testing.T) string // the SAMLResponse value, instead of base
	cfg   func(*entrasaml.Config)
	want  error
	naive string // if set, naiveAccepts the document, which holds this NameID
}

func runAttacks(t *testing.T, rows []attackCase) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			var form string
			if r.form != nil {
				form = r.form(t)
			} else {
				doc := atkForge(t, r.base, r.edit, r.subst...)
				if r.naive != "" {
					if !naiveAccepts(t, doc) || !bytes.Contains(doc, []byte(">"+r.naive+"</NameID>")) {
						t.Fatalf("dishonest row: a signature-only verifier would not accept NameID %s", r.naive)
					}
				}
				form = base64.StdEncoding.EncodeToString(doc)
			}
			atkRefused(t, fixtureSP(t, r.cfg), form, r.want)
		})
	}
}

// atkRefused checks that Verify returns no session and an *entrasaml.Error
// whose sentinel is want.
func atkRefused(t *testing.T, sp *entrasaml.SP, form string, want error) *entrasaml.Error {
	t.Helper()
	s, err := sp.Verify(context.Background(), form, fxRequestID)
	if s != nil {
		t.Errorf("attack accepted: session for %q (err %v)", s.NameID, err)
	}
	t.Logf("refused %s: %v", t.Name(), err)
	var e *entrasaml.Error
	if !errors.Is(err, want) || !errors.As(err, &e) || e.Err != want {
		t.Fatalf("err = %v, want %v", err, want)
	}
	return e
}

// atkAccepted verifies form and returns the session.
func atkAccepted(t *testing.T, sp *entrasaml.SP, form string) *entrasaml.Session {
	t.Helper()
	s, err := sp.Verify(context.Background(), form, fxRequestID)
	if err != nil || s == nil {
		t.Fatalf("Verify: %v", err)
	}
	return s
}

// atkForge reads a fixture, applies edit (after an etree parse) and the subst
// pairs (each must occur; the first occurrence is replaced).
func atkForge(t testing.TB, base string, edit func(*etree.Element), subst ...string) []byte {
	t.Helper()
	b := readTestdata(t, base)
	if edit != nil {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		edit(doc.Root())
		var err error
		if b, err = doc.WriteToBytes(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i+1 < len(subst); i += 2 {
		if !bytes.Contains(b, []byte(subst[i])) {
			t.Fatalf("%s: %q not found", base, subst[i])
		}
		b = bytes.Replace(b, []byte(subst[i]), []byte(subst[i+1]), 1)
	}
	return b
}

func atkB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// atkFind returns the first element matching the etree path, or panics.
func atkFind(el *etree.Element, path string) *etree.Element {
	if e := el.FindElement(path); e != nil {
		return e
	}
	panic("attack test: no element " + path + " in <" + el.Tag + ">")
}

func atkRemove(el *etree.Element) { el.Parent().RemoveChild(el) }

func atkInsertBefore(ref, el *etree.Element) { ref.Parent().InsertChildAt(ref.Index(), el) }

// atkUnsigned returns a copy of el without its ds:Signature child.
func atkUnsigned(el *etree.Element) *etree.Element {
	c := el.Copy()
	if s := c.SelectElement("Signature"); s != nil {
		c.RemoveChild(s)
	}
	return c
}

// atkEvilCopy returns an unsigned copy of el naming the attacker, with ID id
// (el's own ID when id is "").
func atkEvilCopy(el *etree.Element, id string) *etree.Element {
	c := atkUnsigned(el)
	if id != "" {
		c.CreateAttr("ID", id)
	}
	atkSetNameID(c, atkEvilNameID)
	return c
}

// atkSetNameID sets the NameID of el, an Assertion or a Response.
func atkSetNameID(el *etree.Element, v string) {
	p := "Subject/NameID"
	if el.Tag == "Response" {
		p = "Assertion/" + p
	}
	atkFind(el, p).SetText(v)
}

// atkIdPCerts are the metadata's signing certificates (idp-a, idp-b).
func atkIdPCerts(t testing.TB) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, n := range []string{"idp-a", "idp-b"} {
		blk, _ := pem.Decode(readTestdata(t, "keys/"+n+".crt"))
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// naiveAccepts emulates the verifiers that signature wrapping fools: some
// ds:Signature anywhere has a SignedInfo that verifies (RSA-SHA256, an IdP
// certificate) and some element whose ID attribute (in any namespace)
// matches its Reference digests, exclusive c14n, to its DigestValue (the
// Signature removed when inside it). Structure, DTDs and placement are not
// checked.
func naiveAccepts(t testing.TB, doc []byte) bool {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return false
	}
	certs := atkIdPCerts(t)
	for _, sig := range d.FindElements("//Signature") {
		si, sv := sig.SelectElement("SignedInfo"), sig.SelectElement("SignatureValue")
		if si == nil || sv == nil || si.FindElement("Reference/DigestValue") == nil {
			continue
		}
		ref := si.FindElement("Reference")
		raw, _ := base64.StdEncoding.DecodeString(sv.Text())
		ok := false
		for _, c := range certs {
			ok = ok || c.CheckSignature(x509.SHA256WithRSA, atkCanon(t, si), raw) == nil
		}
		id := strings.TrimPrefix(ref.SelectAttrValue("URI", ""), "#")
		if !ok || id == "" {
			continue
		}
		want, _ := base64.StdEncoding.DecodeString(ref.FindElement("DigestValue").Text())
		for _, el := range d.FindElements("//*[@ID='" + id + "']") {
			if bytes.Equal(atkDigestWithout(t, el, sig), want) {
				return true
			}
		}
	}
	return false
}

// atkDigestWithout is the SHA-256 of el's exclusive c14n, sig removed if el holds it.
func atkDigestWithout(t testing.TB, el, sig *etree.Element) []byte {
	for p := sig.Parent(); p != nil; p = p.Parent() {
		if p == el {
			parent, i := sig.Parent(), sig.Index()
			parent.RemoveChildAt(i)
			defer parent.InsertChildAt(i, sig)
			break
		}
	}
	h := sha256.Sum256(atkCanon(t, el))
	return h[:]
}

func atkCanon(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(det)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttackBaselines proves the setup the attack rows rely on: the
// fixtures verify as they are and after an etree round trip, naiveAccepts
// accepts them and refuses them once tampered with.
func TestAttackBaselines(t *testing.T) {
	t.Parallel()
	tenant := func(c *entrasaml.Config) { c.Metadata = readTestdata(t, "entra-metadata-tenant.xml") }
	sha1 := func(c *entrasaml.Config) { c.AllowSHA1 = true }
	for _, tc := range []struct {
		base  string
		cfg   func(*entrasaml.Config)
		naive bool // check naiveAccepts (RSA-SHA256, IdP keys) on it
	}{
		{atkAssertionSigned, nil, true},
		{atkResponseSigned, nil, true},
		{atkBothSigned, nil, true},
		{"response-sha1.xml", sha1, false},
		{atkForeign, tenant, false}, // its signature is good: the key is just not the app's
		{"attacks/nameid-suffix.xml", nil, false},
	} {
		t.Run(tc.base, func(t *testing.T) {
			t.Parallel()
			s := atkAccepted(t, fixtureSP(t, tc.cfg), fixtureB64(t, tc.base))
			if !strings.HasPrefix(s.NameID, atkAdele) {
				t.Errorf("NameID = %q", s.NameID)
			}
			doc := atkForge(t, tc.base, func(*etree.Element) {})
			atkAccepted(t, fixtureSP(t, tc.cfg), atkB64(doc))
			if tc.naive {
				if !naiveAccepts(t, doc) {
					t.Error("naiveAccepts refuses the genuine fixture")
				}
				if naiveAccepts(t, atkForge(t, tc.base, nil, ">"+atkAdele+"<", ">"+atkEvilNameID+"<")) {
					t.Error("naiveAccepts accepts a tampered NameID")
				}
			}
		})
	}
	// The signed attack fixtures that goxmldsig implements: without the
	// signature policy, they would verify.
	for _, f := range []string{"c14n-method-inclusive", "c14n-method-with-comments", "c14n-transform-inclusive",
		"c14n-transform-with-comments", "rsa-sha1", "digest-sha1", "two-references", "same-reference-twice", "ref-response", "response-ref-empty"} {
		doc := readTestdata(t, "attacks/"+f+".xml")
		if err := goxmldsigVerifies(t, doc, strings.Contains(f, "response")); err != nil {
			t.Errorf("%s: goxmldsig: %v", f, err)
		}
		if strings.HasPrefix(f, "rsa-") || strings.HasPrefix(f, "digest-") {
			atkAccepted(t, fixtureSP(t, sha1), atkB64(doc))
		}
	}
	// KeyInfo only picks among the metadata's keys: without it, they are tried.
	noKeyInfo := atkForge(t, atkAssertionSigned, func(r *etree.Element) { atkRemove(atkFind(r, "Assertion/Signature/KeyInfo")) })
	atkAccepted(t, fixtureSP(t, nil), atkB64(noKeyInfo))
}

// goxmldsigVerifies validates the Assertion's (or the Response's)
// signature with goxmldsig alone, against the metadata's certificates.
func goxmldsigVerifies(t testing.TB, doc []byte, response bool) error {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return err
	}
	el := d.Root()
	if !response {
		el = atkFind(el, "Assertion")
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return err
	}
	if el, err = etreeutils.NSDetatch(ctx, el); err != nil {
		return err
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: atkIdPCerts(t)})
	vc.IdAttribute = "ID"
	vc.Clock = dsig.NewFakeClockAt(fxNow)
	_, err = vc.Validate(el)
	return err
}

// atkFlip replaces the 10th character of the base64 text at path with a, or
// with b when it is a already.
func atkFlip(path string, a, b byte) func(*etree.Element) {
	return func(r *etree.Element) {
		el := atkFind(r, path)
		v := []byte(el.Text())
		if v[10] == a {
			a = b
		}
		v[10] = a
		el.SetText(string(v))
	}
}

// atkSwapAlg replaces an Algorithm URI in the first signature.
func atkSwapAlg(from, to string) []string {
	return []string{`Algorithm="` + from + `"`, `Algorithm="` + to + `"`}
}

const (
	atkDS        = "http://www.w3.org/2000/09/xmldsig#"
	atkExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	atkEnveloped = atkDS + "enveloped-signature"
	atkRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
)

func TestAttackSignature(t *testing.T) {
	t.Parallel()
	inv, unk := entrasaml.ErrInvalidSignature, entrasaml.ErrUnknownSigner
	certB64 := func(name string) string {
		blk, _ := pem.Decode(readTestdata(t, "keys/"+name+".crt"))
		return base64.StdEncoding.EncodeToString(blk.Bytes)
	}
	withCert := func(name string) func(*etree.Element) {
		return func(r *etree.Element) { atkFind(r, ".//X509Certificate").SetText(certB64(name)) }
	}
	noSHA1 := func(c *entrasaml.Config) { c.AllowSHA1 = false }
	rows := []attackCase{
		// Stripped or damaged signatures.
		{name: "unsigned: assertion Signature removed", base: atkAssertionSigned, edit: func(r *etree.Element) { atkRemove(atkFind(r, "Assertion/Signature")) }, want: inv},
		{name: "unsigned: Response Signature removed", base: atkResponseSigned, edit: func(r *etree.Element) { atkRemove(atkFind(r, "Signature")) }, want: inv},
		{name: "unsigned: both Signatures removed", base: atkBothSigned, edit: func(r *etree.Element) {
			atkRemove(atkFind(r, "Signature"))
			atkRemove(atkFind(r, "Assertion/Signature"))
		}, want: inv},
		{name: "both-signed: assertion Signature removed", base: atkBothSigned, edit: func(r *etree.Element) { atkRemove(atkFind(r, "Assertion/Signature")) }, want: inv},
		{name: "SignatureValue removed", base: atkAssertionSigned, edit: func(r *etree.Element) { atkRemove(atkFind(r, ".//SignatureValue")) }, want: inv},
		{name: "SignedInfo removed", base: atkAssertionSigned, edit: func(r *etree.Element) { atkRemove(atkFind(r, ".//SignedInfo")) }, want: inv},
		{name: "SignatureValue emptied", base: atkAssertionSigned, edit: func(r *etree.Element) { atkFind(r, ".//SignatureValue").SetText("") }, want: inv},
		{name: "DigestValue emptied", base: atkAssertionSigned, edit: func(r *etree.Element) { atkFind(r, ".//DigestValue").SetText("") }, want: inv},
		{name: "DigestValue modified", base: atkAssertionSigned, edit: atkFlip(".//DigestValue", 'A', 'B'), want: inv},
		{name: "SignatureValue bits flipped", base: atkAssertionSigned, edit: atkFlip(".//SignatureValue", 'A', 'B'), want: inv},
		{name: "SignatureValue not base64", base: atkAssertionSigned, edit: atkFlip(".//SignatureValue", '!', '!'), want: inv},
		{name: "two Signatures on the assertion", base: atkAssertionSigned, edit: func(r *etree.Element) {
			s := atkFind(r, "Assertion/Signature")
			atkInsertBefore(s, s.Copy())
		}, want: inv},

		// Keys: only the metadata's, whatever KeyInfo says.
		{name: "foreign key, its certificate in KeyInfo", base: atkForeign, want: unk},
		{name: "foreign key, KeyInfo certificate swapped for idp-a", base: atkForeign, edit: withCert("idp-a"), want: inv},
		{name: "foreign key, KeyInfo removed", base: atkForeign, edit: func(r *etree.Element) { atkRemove(atkFind(r, ".//KeyInfo")) }, want: inv},
		{name: "foreign key, KeyInfo certificate not base64", base: atkForeign, edit: func(r *etree.Element) { atkFind(r, ".//X509Certificate").SetText("%%%") }, want: unk},
		{name: "idp-a signature, KeyInfo names idp-b", base: atkAssertionSigned, edit: withCert("idp-b"), want: inv},

		// Algorithms, canonicalization and transforms.
		{name: "HMAC-SHA1 SignatureMethod", base: atkAssertionSigned, subst: atkSwapAlg(atkRSASHA256, atkDS+"hmac-sha1"), want: inv},
		{name: "HMAC-SHA256 SignatureMethod", base: atkAssertionSigned, subst: atkSwapAlg(atkRSASHA256, "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"), want: inv},
		{name: "HMAC-SHA256 keyed with the IdP certificate (xmlsec1-signed, attacker NameID)", base: "attacks/hmac-sha256.xml", want: inv},
		{name: "RSA-SHA1 with AllowSHA1 false", base: "response-sha1.xml", cfg: noSHA1, want: inv},
		{name: "MD5 DigestMethod", base: atkAssertionSigned, subst: atkSwapAlg("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#md5"), want: inv},
		{name: "exc-c14n WithComments CanonicalizationMethod", base: atkAssertionSigned, subst: atkSwapAlg(atkExcC14N, atkExcC14N+"WithComments"), want: inv},
		{name: "exc-c14n WithComments transform", base: atkAssertionSigned, subst: []string{`"/><Transform Algorithm="` + atkExcC14N + `"`, `"/><Transform Algorithm="` + atkExcC14N + `WithComments"`}, want: inv},
		{name: "exc-c14n WithComments CanonicalizationMethod (xmlsec1-signed)", base: "attacks/c14n-method-with-comments.xml", want: inv},
		{name: "exc-c14n WithComments transform (xmlsec1-signed)", base: "attacks/c14n-transform-with-comments.xml", want: inv},
		{name: "inclusive c14n CanonicalizationMethod (xmlsec1-signed)", base: "attacks/c14n-method-inclusive.xml", want: inv},
		{name: "inclusive c14n transform (xmlsec1-signed)", base: "attacks/c14n-transform-inclusive.xml", want: inv},
		{name: "RSA-SHA1 over a SHA-256 digest (xmlsec1-signed)", base: "attacks/rsa-sha1.xml", want: inv},
		{name: "SHA-1 digest under RSA-SHA256 (xmlsec1-signed)", base: "attacks/digest-sha1.xml", want: inv},
		{name: "XSLT transform, attacker NameID (xmlsec1-verified)", base: "attacks/xslt-transform.xml", want: inv},
		{name: "XPath transform, attacker NameID (xmlsec1-verified)", base: "attacks/xpath-transform.xml", want: inv},
		{name: "XPath transform", base: atkAssertionSigned, subst: atkSwapAlg(atkEnveloped, "http://www.w3.org/TR/1999/REC-xpath-19991116"), want: inv},
		{name: "extra transform (xmlsec1-signed)", base: "attacks/extra-transform.xml", want: inv},
		{name: "enveloped-signature transform only", base: atkAssertionSigned, subst: []string{`<Transform Algorithm="` + atkExcC14N + `"/>`, ""}, want: inv},
		{name: "exc-c14n transform only", base: atkAssertionSigned, subst: []string{`<Transform Algorithm="` + atkEnveloped + `"/>`, ""}, want: inv},
		{name: "second Reference, to the Response (xmlsec1-signed)", base: "attacks/two-references.xml", want: inv},
		{name: "second Reference, to the Assertion again (xmlsec1-signed)", base: "attacks/same-reference-twice.xml", want: inv},
		{name: "Reference to the Response ID (xmlsec1-signed)", base: "attacks/ref-response.xml", want: inv, naive: atkAdele},
		{name: `Reference URI "" (xmlsec1-signed)`, base: "attacks/ref-empty.xml", want: inv},
		{name: `Response Reference URI "" (xmlsec1-signed)`, base: "attacks/response-ref-empty.xml", want: inv},
		{name: "Reference URI edited to the Response ID", base: atkAssertionSigned, edit: func(r *etree.Element) {
			atkFind(r, ".//Reference").CreateAttr("URI", "#"+r.SelectAttrValue("ID", ""))
		}, want: inv},
		{name: "Object in the Signature", base: atkAssertionSigned, edit: func(r *etree.Element) { atkFind(r, "Assertion/Signature").CreateElement("Object") }, want: inv, naive: atkAdele},

		// Placement.
		{name: "assertion Signature moved under the Response", base: atkAssertionSigned, edit: func(r *etree.Element) {
			s := atkFind(r, "Assertion/Signature")
			atkRemove(s)
			atkInsertBefore(atkFind(r, "samlp:Status"), s)
		}, want: inv, naive: atkAdele},
		{name: "assertion Signature moved into Status", base: atkAssertionSigned, edit: func(r *etree.Element) {
			s := atkFind(r, "Assertion/Signature")
			atkRemove(s)
			atkFind(r, "samlp:Status").AddChild(s)
		}, want: inv, naive: atkAdele},
		{name: "copy of the assertion Signature in StatusDetail", base: atkAssertionSigned, edit: func(r *etree.Element) {
			atkFind(r, "samlp:Status").CreateElement("samlp:StatusDetail").AddChild(atkFind(r, "Assertion/Signature").Copy())
		}, want: inv, naive: atkAdele},
		{name: "Response Signature moved under the Assertion", base: atkResponseSigned, edit: func(r *etree.Element) {
			s := atkFind(r, "Signature")
			atkRemove(s)
			atkInsertBefore(atkFind(r, "Assertion/Subject"), s)
		}, want: inv, naive: atkAdele},
	}
	runAttacks(t, rows)
}

func TestAttackTampering(t *testing.T) {
	t.Parallel()
	inv := entrasaml.ErrInvalidSignature
	group := "<AttributeValue>d7088b56-da9e-4ae4-8aec-d8cae542a2da</AttributeValue>"
	extraGroup := group + "<AttributeValue>00000000-0000-0000-0000-00000000beef</AttributeValue>"
	email := "emailaddress\"><AttributeValue>" + atkAdele
	var rows []attackCase
	for _, base := range []string{atkAssertionSigned, atkResponseSigned, atkBothSigned} {
		for _, tc := range []struct{ name, old, new string }{
			{"NameID", ">" + atkAdele + "</NameID>", ">" + atkEvilNameID + "</NameID>"},
			{"NameID entity &amp; injected", ">adele.vance@", ">adele.vance&amp;@"},
			{"Audience", ">https://acme.vendor.example/saml</Audience>", ">https://evil.example/saml</Audience>"},
			{"Recipient", `Recipient="https://acme.vendor.example/saml/acs"`, `Recipient="https://evil.example/saml/acs"`},
			{"Conditions NotOnOrAfter", `NotOnOrAfter="2026-11-20T11:10:00.123Z"`, `NotOnOrAfter="2036-11-20T11:10:00.123Z"`},
			{"SubjectConfirmationData NotOnOrAfter", `NotOnOrAfter="2026-11-20T10:05:00.123Z"`, `NotOnOrAfter="2036-11-20T10:05:00.123Z"`},
			{"email claim", email, "emailaddress\"><AttributeValue>" + atkEvilNameID},
			{"group added", group, extraGroup},
			{"group removed", group, ""},
			{"role value", "<AttributeValue>Reader</AttributeValue>", "<AttributeValue>Owner</AttributeValue>"},
			{"assertion IssueInstant", `IssueInstant="2026-11-20T10:00:00.123Z" Version="2.0">`, `IssueInstant="2026-11-20T10:00:01.123Z" Version="2.0">`},
		} {
			rows = append(rows, attackCase{name: base + ": " + tc.name, base: base, subst: []string{tc.old, tc.new}, want: inv})
		}
	}
	// Covered by the Response signature only.
	rows = append(rows,
		attackCase{name: "response-signed: Destination", base: atkResponseSigned, subst: []string{`Destination="https://acme.vendor.example/saml/acs"`, `Destination="https://acme.vendor.example/saml/acs/"`}, want: inv},
		attackCase{name: "response-signed: InResponseTo", base: atkResponseSigned, subst: []string{`InResponseTo="_a7f3`, `InResponseTo="_b7f3`}, want: inv},
	)
	runAttacks(t, rows)
}

// TestAttackUnsolicitedMadeSolicited: with only the assertion signed, the
// Response's InResponseTo is not covered by any signature. Adding one to an
// IdP-initiated response (its signed SubjectConfirmationData has none) must
// not turn it into an answer to the browser's request.
func TestAttackUnsolicitedMadeSolicited(t *testing.T) {
	t.Parallel()
	doc := atkForge(t, "response-unsolicited.xml", nil, ` Destination=`, ` InResponseTo="`+fxRequestID+`" Destination=`)
	atkRefused(t, fixtureSP(t, nil), fixtureB64(t, "response-unsolicited.xml"), entrasaml.ErrUnsolicited) // baseline
	s, err := fixtureSP(t, nil).Verify(context.Background(), atkB64(doc), fxRequestID)
	if err == nil {
		t.Fatalf("an unsigned Response InResponseTo made an IdP-initiated assertion solicited; session for %q", s.NameID)
	}
	if !errors.Is(err, entrasaml.ErrUnsolicited) && !errors.Is(err, entrasaml.ErrRequestIDMismatch) {
		t.Fatalf("err = %v", err)
	}
}
