package entrasaml_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml"
)

// decodeAuthnRequest inflates and parses the SAMLRequest of u.
func decodeAuthnRequest(t *testing.T, u *url.URL) *etree.Element {
	return redirectMessage(t, u, "SAMLRequest")
}

func TestAuthnRequestURL(t *testing.T) {
	t.Parallel()
	sp := fixtureSP(t, nil)
	u, id, err := sp.AuthnRequestURL("/orders?page=2")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != fxSSO {
		t.Errorf("redirects to %s, want %s", got, fxSSO)
	}
	q := u.Query()
	if q.Get("RelayState") != "/orders?page=2" {
		t.Errorf("RelayState %q", q.Get("RelayState"))
	}
	if q.Has("Signature") || q.Has("SigAlg") {
		t.Error("unsigned SP sent a signature")
	}
	if !strings.HasPrefix(id, "_") || len(id) < 33 {
		t.Errorf("ID %q: want _ and at least 128 random bits", id)
	}
	req := decodeAuthnRequest(t, u)
	checks := map[string]string{
		"ID":                          id,
		"Version":                     "2.0",
		"Destination":                 fxSSO,
		"AssertionConsumerServiceURL": fxACS,
		"ProtocolBinding":             "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
	}
	if req.Tag != "AuthnRequest" || req.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" {
		t.Fatalf("root is %s in %s", req.Tag, req.NamespaceURI())
	}
	for k, want := range checks {
		if got := req.SelectAttrValue(k, ""); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	ii, err := time.Parse(time.RFC3339Nano, req.SelectAttrValue("IssueInstant", ""))
	if err != nil || !ii.Equal(fxNow) || !strings.HasSuffix(req.SelectAttrValue("IssueInstant", ""), "Z") {
		t.Errorf("IssueInstant %q, want %v in UTC", req.SelectAttrValue("IssueInstant", ""), fxNow)
	}
	iss := req.SelectElement("Issuer")
	if iss == nil || iss.Text() != fxEntityID || iss.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:assertion" {
		t.Errorf("Issuer %v", iss)
	}
	for _, forbidden := range []string{"Subject", "RequestedAuthnContext", "NameIDPolicy", "Scoping"} {
		if req.SelectElement(forbidden) != nil {
			t.Errorf("request carries %s by default", forbidden)
		}
	}
	for _, a := range []string{"ForceAuthn", "IsPassive"} {
		if req.SelectAttr(a) != nil {
			t.Errorf("request carries %s by default", a)
		}
	}

	// IDs are fresh each time.
	_, id2, _ := sp.AuthnRequestURL("")
	if id2 == id {
		t.Error("two requests share an ID")
	}
}

func TestAuthnRequestIDNeverStartsWithDigit(t *testing.T) {
	t.Parallel()
	sp := fixtureSP(t, nil)
	for range 500 {
		_, id, err := sp.AuthnRequestURL("")
		if err != nil {
			t.Fatal(err)
		}
		if c := id[0]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '_' {
			t.Fatalf("ID %q starts with %q (Entra: AADSTS7500529)", id, c)
		}
	}
}

func TestAuthnRequestOptions(t *testing.T) {
	t.Parallel()
	sp := fixtureSP(t, nil)
	u, _, err := sp.AuthnRequestURL("", entrasaml.AuthnOptions{
		ForceAuthn: true, IsPassive: true, NameIDFormat: entrasaml.NameIDFormatPersistent,
		LoginHint: "adele@contoso.example", DomainHint: "contoso.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("login_hint") != "adele@contoso.example" || q.Get("domain_hint") != "contoso.example" || q.Has("RelayState") {
		t.Errorf("query %v", q)
	}
	req := decodeAuthnRequest(t, u)
	if req.SelectAttrValue("ForceAuthn", "") != "true" || req.SelectAttrValue("IsPassive", "") != "true" {
		t.Error("ForceAuthn/IsPassive missing")
	}
	p := req.SelectElement("NameIDPolicy")
	if p == nil || p.SelectAttrValue("Format", "") != entrasaml.NameIDFormatPersistent || p.SelectAttr("SPNameQualifier") != nil {
		t.Errorf("NameIDPolicy %v", p)
	}

	if _, _, err := sp.AuthnRequestURL("", entrasaml.AuthnOptions{NameIDFormat: "urn:x"}); !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("unsupported NameID format: got %v", err)
	}
	if _, _, err := sp.AuthnRequestURL(strings.Repeat("a", 81)); !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("81-byte RelayState: got %v", err)
	}
}

func TestAuthnRequestSigned(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sp := fixtureSP(t, func(c *entrasaml.Config) { c.Key = key })
	u, _, err := sp.AuthnRequestURL("/a b&c", entrasaml.AuthnOptions{LoginHint: "x@y"})
	if err != nil {
		t.Fatal(err)
	}
	raw := u.RawQuery
	// The Redirect binding signs "SAMLRequest=…&RelayState=…&SigAlg=…" as
	// they appear, URL-encoded, in the query string.
	i := strings.Index(raw, "&Signature=")
	if i < 0 || !strings.HasPrefix(raw, "SAMLRequest=") || !strings.Contains(raw[:i], "&RelayState=") || !strings.Contains(raw[:i], "&SigAlg=") {
		t.Fatalf("query %s", raw)
	}
	signed := raw[:i]
	if u.Query().Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Errorf("SigAlg %q", u.Query().Get("SigAlg"))
	}
	sig, err := base64.StdEncoding.DecodeString(u.Query().Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}

	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, err = entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
		Metadata: readTestdata(t, "entra-metadata.xml"), Key: weak, Now: func() time.Time { return fxNow }})
	if !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("1024-bit SP key: got %v", err)
	}
}

func BenchmarkAuthnRequestURL(b *testing.B) {
	sp := fixtureSP(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sp.AuthnRequestURL("/deep/link"); err != nil {
			b.Fatal(err)
		}
	}
}
