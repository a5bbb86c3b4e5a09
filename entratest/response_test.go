package entratest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/entrasaml/entrasaml/entratest"
)

func TestSignModes(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	for _, mode := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse, entratest.SignBoth, entratest.SignNone} {
		for _, sha1 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/sha1=%v", mode, sha1), func(t *testing.T) {
				t.Parallel()
				b, err := idp.ResponseXML(entratest.Response{
					ACSURL:   "https://sp.example/saml/acs",
					Audience: "https://sp.example/saml",
					User:     entratest.User{UPN: "adele@contoso.example"},
					Sign:     mode,
					SHA1:     sha1,
				})
				if err != nil {
					t.Fatal(err)
				}
				resp := parse(t, b) // a fresh document, as an SP sees it
				assertion := child(resp, nsAssertion, "Assertion")
				if assertion == nil {
					t.Fatal("no Assertion")
				}
				wantResp := mode == entratest.SignResponse || mode == entratest.SignBoth
				wantAssertion := mode == entratest.SignAssertion || mode == entratest.SignBoth
				checkSigned(t, "Response", resp, wantResp, sha1, key)
				checkSigned(t, "Assertion", assertion, wantAssertion, sha1, key)
			})
		}
	}
}

// checkSigned checks that el carries (or not) a valid enveloped signature
// by key, placed right after its Issuer, with Entra's algorithms.
func checkSigned(t *testing.T, name string, el *etree.Element, want, sha1 bool, key *entratest.Key) {
	t.Helper()
	sig := child(el, nsDSig, "Signature")
	if !want {
		if sig != nil {
			t.Errorf("%s: unexpected Signature", name)
		}
		if err := validate(el, key.Certificate); !errors.Is(err, dsig.ErrMissingSignature) {
			t.Errorf("%s: validate unsigned element: %v, want ErrMissingSignature", name, err)
		}
		return
	}
	if sig == nil {
		t.Fatalf("%s: no Signature", name)
	}
	if err := validate(el, key.Certificate); err != nil {
		t.Fatalf("%s: signature does not verify: %v", name, err)
	}
	if names := childNames(el); len(names) < 2 || names[0] != "Issuer" || names[1] != "Signature" {
		t.Errorf("%s: children %v, want Issuer then Signature first", name, names)
	}
	if sig.Space != "" || sig.SelectAttrValue("xmlns", "") != nsDSig {
		t.Errorf("%s: Signature not in the default dsig namespace: %q %v", name, sig.Space, sig.Attr)
	}
	method, digest := "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"
	if sha1 {
		method, digest = "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"
	}
	si := child(sig, nsDSig, "SignedInfo")
	ref := child(si, nsDSig, "Reference")
	got := map[string]string{
		"c14n":      path(si, nsDSig, "CanonicalizationMethod").SelectAttrValue("Algorithm", ""),
		"method":    path(si, nsDSig, "SignatureMethod").SelectAttrValue("Algorithm", ""),
		"digest":    path(ref, nsDSig, "DigestMethod").SelectAttrValue("Algorithm", ""),
		"uri":       ref.SelectAttrValue("URI", ""),
		"keyinfo":   strings.TrimSpace(path(sig, nsDSig, "KeyInfo", nsDSig, "X509Data", nsDSig, "X509Certificate").Text()),
		"transform": "",
	}
	for _, tr := range path(ref, nsDSig, "Transforms").ChildElements() {
		got["transform"] += tr.SelectAttrValue("Algorithm", "") + " "
	}
	want2 := map[string]string{
		"c14n":      "http://www.w3.org/2001/10/xml-exc-c14n#",
		"method":    method,
		"digest":    digest,
		"uri":       "#" + el.SelectAttrValue("ID", ""),
		"keyinfo":   base64.StdEncoding.EncodeToString(key.Certificate.Raw),
		"transform": "http://www.w3.org/2000/09/xmldsig#enveloped-signature http://www.w3.org/2001/10/xml-exc-c14n# ",
	}
	for k, v := range want2 {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", name, k, got[k], v)
		}
	}
}

func TestResponseShape(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, newTestKey(t))
	user := entratest.User{
		ObjectID:    "0b5e3a7c-1111-4c1e-9d1a-5f1b2c3d4e5f",
		UPN:         "AdeleV@contoso.onmicrosoft.com",
		Email:       "adele.vance@contoso.example",
		GivenName:   "Adele",
		Surname:     "Vance",
		DisplayName: "Adele Vance",
		Groups:      []string{"g1", "", "g2"},
		Roles:       []string{"Admin"},
	}
	b, err := idp.ResponseXML(entratest.Response{
		ACSURL:       "https://sp.example/saml/acs",
		Audience:     "https://sp.example/saml",
		InResponseTo: "id-123",
		User:         user,
		Attributes:   []entratest.Attribute{{Name: "extra", Values: []string{"x", "y"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(`<samlp:Response ID="_`)) {
		t.Errorf("document does not start with <samlp:Response ID=\"_: %.60s", b)
	}
	resp := parse(t, b)
	if resp.Space != "samlp" || resp.NamespaceURI() != nsProtocol {
		t.Errorf("Response prefix %q namespace %q", resp.Space, resp.NamespaceURI())
	}
	var keys []string
	for _, a := range resp.Attr {
		keys = append(keys, a.FullKey())
	}
	if want := []string{"ID", "Version", "IssueInstant", "Destination", "InResponseTo", "xmlns:samlp"}; !slices.Equal(keys, want) {
		t.Errorf("Response attributes %v, want %v", keys, want)
	}
	if names := childNames(resp); !slices.Equal(names, []string{"Issuer", "Status", "Assertion"}) {
		t.Errorf("Response children %v", names)
	}
	iss := child(resp, nsAssertion, "Issuer")
	if iss == nil || iss.Space != "" || iss.Text() != idp.EntityID() {
		t.Errorf("Response Issuer wrong: %v", iss)
	}
	if v := path(resp, nsProtocol, "Status", nsProtocol, "StatusCode").SelectAttrValue("Value", ""); v != entratest.StatusSuccess {
		t.Errorf("StatusCode %q", v)
	}
	a := child(resp, nsAssertion, "Assertion")
	if a.Space != "" || a.SelectAttrValue("xmlns", "") != nsAssertion {
		t.Errorf("Assertion is not unprefixed in the default namespace")
	}
	if names := childNames(a); !slices.Equal(names, []string{"Issuer", "Signature", "Subject", "Conditions", "AttributeStatement", "AuthnStatement"}) {
		t.Errorf("Assertion children %v", names)
	}
	scd := path(a, nsAssertion, "Subject", nsAssertion, "SubjectConfirmation", nsAssertion, "SubjectConfirmationData")
	cond := child(a, nsAssertion, "Conditions")
	authn := child(a, nsAssertion, "AuthnStatement")
	for _, c := range []struct {
		el          *etree.Element
		attr, value string
	}{
		{resp, "IssueInstant", "2026-11-28T12:00:00.123Z"},
		{resp, "Destination", "https://sp.example/saml/acs"},
		{resp, "InResponseTo", "id-123"},
		{a, "IssueInstant", "2026-11-28T12:00:00.123Z"},
		{path(a, nsAssertion, "Subject", nsAssertion, "NameID"), "Format", entratest.NameIDEmail},
		{path(a, nsAssertion, "Subject", nsAssertion, "SubjectConfirmation"), "Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer"},
		{scd, "InResponseTo", "id-123"},
		{scd, "NotOnOrAfter", "2026-11-28T12:05:00.123Z"},
		{scd, "Recipient", "https://sp.example/saml/acs"},
		{cond, "NotBefore", "2026-11-28T12:00:00.123Z"},
		{cond, "NotOnOrAfter", "2026-11-28T13:00:00.123Z"},
		{authn, "AuthnInstant", "2026-11-28T11:59:00.123Z"},
		{authn, "SessionNotOnOrAfter", ""},
	} {
		if got := c.el.SelectAttrValue(c.attr, ""); got != c.value {
			t.Errorf("%s/@%s = %q, want %q", c.el.Tag, c.attr, got, c.value)
		}
	}
	guidRE := regexp.MustCompile(`^_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, id := range []string{resp.SelectAttrValue("ID", ""), a.SelectAttrValue("ID", ""), authn.SelectAttrValue("SessionIndex", "")} {
		if !guidRE.MatchString(id) {
			t.Errorf("id %q is not _<guid>", id)
		}
	}
	if got := path(a, nsAssertion, "Subject", nsAssertion, "NameID").Text(); got != user.UPN {
		t.Errorf("NameID %q, want the UPN", got)
	}
	if got := path(cond, nsAssertion, "AudienceRestriction", nsAssertion, "Audience").Text(); got != "https://sp.example/saml" {
		t.Errorf("Audience %q", got)
	}
	if got := path(authn, nsAssertion, "AuthnContext", nsAssertion, "AuthnContextClassRef").Text(); got != entratest.AuthnContextPassword {
		t.Errorf("AuthnContextClassRef %q", got)
	}

	var names []string
	for _, at := range child(a, nsAssertion, "AttributeStatement").ChildElements() {
		names = append(names, at.SelectAttrValue("Name", ""))
		if at.SelectAttr("NameFormat") != nil {
			t.Errorf("attribute %s has a NameFormat", at.SelectAttrValue("Name", ""))
		}
	}
	wantNames := []string{
		entratest.ClaimTenantID, entratest.ClaimObjectID, entratest.ClaimDisplayName, entratest.ClaimIdentityProvider,
		entratest.ClaimAuthnMethods, entratest.ClaimGivenName, entratest.ClaimSurname, entratest.ClaimEmail,
		entratest.ClaimName, entratest.ClaimGroups, entratest.ClaimRole, "extra",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("attribute names\n got %q\nwant %q", names, wantNames)
	}
	for name, want := range map[string][]string{
		entratest.ClaimTenantID:         {idp.TenantID()},
		entratest.ClaimObjectID:         {user.ObjectID},
		entratest.ClaimIdentityProvider: {idp.EntityID()},
		entratest.ClaimAuthnMethods:     {entratest.AuthnMethodPassword},
		entratest.ClaimName:             {user.UPN},
		entratest.ClaimEmail:            {user.Email},
		entratest.ClaimGroups:           {"g1", "g2"},
		entratest.ClaimRole:             {"Admin"},
		"extra":                         {"x", "y"},
	} {
		if got, _ := attrValues(a, name); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestResponseOverrides(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, newTestKey(t))
	issued := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := idp.ResponseXML(entratest.Response{
		ACSURL:               "https://sp.example/acs",
		Audience:             "spn:my-app",
		User:                 entratest.User{ObjectID: "oid", Email: "e@x.example", GroupsOverage: true, Groups: []string{"g"}, AuthMethods: []string{}},
		Destination:          "-",
		Recipient:            "https://other.example/acs",
		Issuer:               "https://evil.example/",
		IssueInstant:         issued,
		SessionNotOnOrAfter:  issued.Add(8 * time.Hour),
		NameIDFormat:         entratest.NameIDPersistent,
		SessionIndex:         "_s",
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
		ResponseID:           "_r",
		AssertionID:          "_a",
	})
	if err != nil {
		t.Fatal(err)
	}
	resp := parse(t, b)
	a := child(resp, nsAssertion, "Assertion")
	scd := path(a, nsAssertion, "Subject", nsAssertion, "SubjectConfirmation", nsAssertion, "SubjectConfirmationData")
	for _, c := range []struct {
		got, want string
	}{
		{resp.SelectAttrValue("ID", ""), "_r"},
		{a.SelectAttrValue("ID", ""), "_a"},
		{resp.SelectAttrValue("IssueInstant", ""), "2030-01-02T03:04:05.000Z"},
		{fmt.Sprint(resp.SelectAttr("Destination") == nil), "true"},
		{fmt.Sprint(resp.SelectAttr("InResponseTo") == nil), "true"},
		{fmt.Sprint(scd.SelectAttr("InResponseTo") == nil), "true"},
		{scd.SelectAttrValue("Recipient", ""), "https://other.example/acs"},
		{child(resp, nsAssertion, "Issuer").Text(), "https://evil.example/"},
		{child(a, nsAssertion, "Issuer").Text(), "https://evil.example/"},
		{path(a, nsAssertion, "Subject", nsAssertion, "NameID").Text(), "e@x.example"},
		{path(a, nsAssertion, "Subject", nsAssertion, "NameID").SelectAttrValue("Format", ""), entratest.NameIDPersistent},
		{child(a, nsAssertion, "AuthnStatement").SelectAttrValue("SessionNotOnOrAfter", ""), "2030-01-02T11:04:05.000Z"},
		{child(a, nsAssertion, "AuthnStatement").SelectAttrValue("SessionIndex", ""), "_s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if _, ok := attrValues(a, entratest.ClaimGroups); ok {
		t.Error("groups sent despite overage")
	}
	if _, ok := attrValues(a, entratest.ClaimAuthnMethods); ok {
		t.Error("authnmethodsreferences sent for an empty AuthMethods")
	}
	want := "https://graph.windows.net/" + idp.TenantID() + "/users/oid/getMemberObjects"
	if got, _ := attrValues(a, entratest.ClaimGroupsLink); !slices.Equal(got, []string{want}) {
		t.Errorf("groups.link = %q, want %q", got, want)
	}
}

func TestResponseEscaping(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	nasty := `a<b&c"d'e>f]]>g` + "\r\n\tz"
	for _, mode := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse} {
		b, err := idp.ResponseXML(entratest.Response{
			ACSURL:       "https://sp.example/acs?a=1&b=\"2\"",
			Audience:     "https://sp.example/<saml>",
			InResponseTo: `id"<&`,
			User:         entratest.User{UPN: "u@x.example", DisplayName: nasty},
			Attributes:   []entratest.Attribute{{Name: nasty, Values: []string{nasty}}},
			Sign:         mode,
		})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("<b&c")) || bytes.Contains(b, []byte(`a=1&b`)) {
			t.Fatalf("unescaped value in %s", b)
		}
		resp := parse(t, b)
		a := child(resp, nsAssertion, "Assertion")
		el := a
		if mode == entratest.SignResponse {
			el = resp
		}
		if err := validate(el, key.Certificate); err != nil {
			t.Errorf("%v: signature does not verify: %v", mode, err)
		}
		if got, _ := attrValues(a, entratest.ClaimDisplayName); !slices.Equal(got, []string{nasty}) {
			t.Errorf("displayname round trip: %q", got)
		}
		if got, _ := attrValues(a, nasty); !slices.Equal(got, []string{nasty}) {
			t.Errorf("attribute name round trip: %q", got)
		}
		if got := resp.SelectAttrValue("Destination", ""); got != "https://sp.example/acs?a=1&b=\"2\"" {
			t.Errorf("Destination round trip: %q", got)
		}
		if got := resp.SelectAttrValue("InResponseTo", ""); got != `id"<&` {
			t.Errorf("InResponseTo round trip: %q", got)
		}
	}
}

func TestResponseTamperDetected(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	b, err := idp.ResponseXML(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "https://sp.example", User: entratest.User{UPN: "adele@x.example"}})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(b, []byte("adele@x.example"), []byte("admin@x.example"), 1)
	a := child(parse(t, tampered), nsAssertion, "Assertion")
	if err := validate(a, key.Certificate); err == nil {
		t.Error("tampered assertion verifies")
	}
}

func TestResponseForeignKey(t *testing.T) {
	t.Parallel()
	key, foreign := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, key)
	s, err := idp.Response(entratest.Response{ACSURL: "https://sp.example/acs", Audience: "https://sp.example", User: entratest.User{UPN: "u@x.example"}, Key: foreign})
	if err != nil {
		t.Fatal(err)
	}
	a := child(parse(t, decodeB64(t, s)), nsAssertion, "Assertion")
	if err := validate(a, foreign.Certificate); err != nil {
		t.Errorf("foreign-key signature does not verify with the foreign cert: %v", err)
	}
	if err := validate(a, key.Certificate); err == nil {
		t.Error("foreign-key signature verifies with the IdP cert")
	}
}

func TestResponseErrors(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	ok := entratest.Response{ACSURL: "https://sp.example/acs", Audience: "https://sp.example", User: entratest.User{UPN: "u@x.example"}}
	for name, edit := range map[string]func(*entratest.Response){
		"no ACSURL":     func(r *entratest.Response) { r.ACSURL = "" },
		"no Audience":   func(r *entratest.Response) { r.Audience = "" },
		"no NameID":     func(r *entratest.Response) { r.User.UPN = "" },
		"bad sign mode": func(r *entratest.Response) { r.Sign = entratest.SignMode(9) },
		"key no cert":   func(r *entratest.Response) { r.Key = &entratest.Key{PrivateKey: key.PrivateKey} },
		"NUL in claim":  func(r *entratest.Response) { r.User.DisplayName = "a\x00b" },
		"bad UTF-8": func(r *entratest.Response) {
			r.Attributes = []entratest.Attribute{{Name: "x", Values: []string{"\xff"}}}
		},
		"control in ACS": func(r *entratest.Response) { r.ACSURL = "https://sp.example/\x01" },
	} {
		r := ok
		edit(&r)
		if _, err := idp.Response(r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := idp.Response(ok); err != nil {
		t.Errorf("baseline: %v", err)
	}
}

func TestErrorResponse(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t, newTestKey(t))
	msg := "AADSTS50105: Your administrator has configured the application <app> to block users & \"guests\"."
	s, err := idp.ErrorResponse("https://sp.example/acs", "id-9", entratest.StatusRequester, "urn:oasis:names:tc:SAML:2.0:status:RequestDenied", msg)
	if err != nil {
		t.Fatal(err)
	}
	resp := parse(t, decodeB64(t, s))
	if names := childNames(resp); !slices.Equal(names, []string{"Issuer", "Status"}) {
		t.Errorf("children %v, want Issuer Status (no Signature, no Assertion)", names)
	}
	if resp.SelectAttrValue("InResponseTo", "") != "id-9" || resp.SelectAttrValue("Destination", "") != "https://sp.example/acs" {
		t.Errorf("attributes %v", resp.Attr)
	}
	top := path(resp, nsProtocol, "Status", nsProtocol, "StatusCode")
	if top.SelectAttrValue("Value", "") != entratest.StatusRequester {
		t.Errorf("top status %q", top.SelectAttrValue("Value", ""))
	}
	if sub := child(top, nsProtocol, "StatusCode"); sub == nil || sub.SelectAttrValue("Value", "") != "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" {
		t.Errorf("second-level status missing")
	}
	if got := path(resp, nsProtocol, "Status", nsProtocol, "StatusMessage").Text(); got != msg {
		t.Errorf("StatusMessage %q", got)
	}

	s, err = idp.ErrorResponse("", "", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	resp = parse(t, decodeB64(t, s))
	top = path(resp, nsProtocol, "Status", nsProtocol, "StatusCode")
	if resp.SelectAttr("InResponseTo") != nil || resp.SelectAttr("Destination") != nil ||
		top.SelectAttrValue("Value", "") != entratest.StatusRequester || len(top.ChildElements()) != 0 ||
		child(child(resp, nsProtocol, "Status"), nsProtocol, "StatusMessage") != nil {
		t.Errorf("minimal error response wrong: %s", decodeB64(t, s))
	}
}
