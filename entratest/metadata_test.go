package entratest_test

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml/entratest"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	k1, k2 := newTestKey(t), newTestKey(t)
	idp, err := entratest.New(entratest.Options{
		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		AppID:    "00000000-1111-2222-3333-444444444444",
		LoginURL: "https://login.microsoftonline.us/",
		Key:      k1,
		Now:      testNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	md := idp.Metadata()
	if !bytes.HasPrefix(md, []byte(bom+`<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_`)) {
		t.Fatalf("metadata starts with %q", md[:min(len(md), 80)])
	}
	checkMetadata(t, idp, md, []*entratest.Key{k1}, k1)

	idp.AddKey(k2)
	checkMetadata(t, idp, idp.Metadata(), []*entratest.Key{k1, k2}, k1)
	idp.UseKey(k2)
	checkMetadata(t, idp, idp.Metadata(), []*entratest.Key{k1, k2}, k2)
	idp.RemoveKey(k1)
	checkMetadata(t, idp, idp.Metadata(), []*entratest.Key{k2}, k2)
}

// checkMetadata checks Entra's metadata shape: signature first, two
// WS-Federation role descriptors, then the IDPSSODescriptor, each with one
// KeyDescriptor per published key.
func checkMetadata(t *testing.T, idp *entratest.IdP, md []byte, published []*entratest.Key, signing *entratest.Key) {
	t.Helper()
	ed := parse(t, md)
	if ed.Tag != "EntityDescriptor" || ed.NamespaceURI() != nsMetadata || ed.Space != "" {
		t.Fatalf("root %s:%s in %q", ed.Space, ed.Tag, ed.NamespaceURI())
	}
	if got := ed.SelectAttrValue("entityID", ""); got != idp.EntityID() || !strings.HasSuffix(got, "/") {
		t.Errorf("entityID %q", got)
	}
	if ed.SelectAttr("validUntil") != nil {
		t.Error("validUntil present")
	}
	if names := childNames(ed); !slices.Equal(names, []string{"Signature", "RoleDescriptor", "RoleDescriptor", "IDPSSODescriptor"}) {
		t.Errorf("children %v", names)
	}
	if err := validate(ed, signing.Certificate); err != nil {
		t.Errorf("metadata signature: %v", err)
	}
	want := make([]string, len(published))
	for i, k := range published {
		want[i] = base64.StdEncoding.EncodeToString(k.Certificate.Raw)
	}
	types := []string{}
	for _, role := range ed.ChildElements()[1:] {
		if role.Tag == "RoleDescriptor" {
			types = append(types, role.SelectAttrValue("xsi:type", ""))
		}
		var got []string
		for _, kd := range role.ChildElements() {
			if kd.Tag != "KeyDescriptor" {
				continue
			}
			if kd.SelectAttrValue("use", "") != "signing" {
				t.Errorf("%s: KeyDescriptor use=%q", role.Tag, kd.SelectAttrValue("use", ""))
			}
			got = append(got, path(kd, nsDSig, "KeyInfo", nsDSig, "X509Data", nsDSig, "X509Certificate").Text())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d key descriptors, want %d in order", role.Tag, len(got), len(want))
		}
	}
	if !slices.Equal(types, []string{"fed:SecurityTokenServiceType", "fed:ApplicationServiceType"}) {
		t.Errorf("role descriptor types %v", types)
	}

	sso := child(ed, nsMetadata, "IDPSSODescriptor")
	if sso.SelectAttrValue("protocolSupportEnumeration", "") != nsProtocol {
		t.Error("IDPSSODescriptor protocolSupportEnumeration")
	}
	var services []string
	for _, s := range sso.ChildElements() {
		if s.Tag != "KeyDescriptor" {
			services = append(services, s.Tag+" "+s.SelectAttrValue("Binding", "")+" "+s.SelectAttrValue("Location", ""))
		}
	}
	loc := idp.SignOnURL()
	wantServices := []string{
		"SingleLogoutService urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect " + loc,
		"SingleSignOnService urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect " + loc,
		"SingleSignOnService urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST " + loc,
	}
	if !slices.Equal(services, wantServices) {
		t.Errorf("services\n got %q\nwant %q", services, wantServices)
	}
	// The WS-Federation endpoints carry the tenant's wsfed address.
	var addrs []string
	for _, el := range ed.FindElements("//wsa:Address") {
		addrs = append(addrs, el.Text())
	}
	if len(addrs) != 5 || addrs[0] != idp.LoginURL()+"/"+idp.TenantID()+"/wsfed" || addrs[2] != idp.EntityID() {
		t.Errorf("WS-Federation addresses %q", addrs)
	}
	if n := len(ed.FindElements("//auth:ClaimType")); n < 5 {
		t.Errorf("%d claim types offered", n)
	}
}

func TestMetadataTamperDetected(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	idp := newTestIdP(t, key)
	md := idp.Metadata()
	tampered := bytes.Replace(md, []byte("/saml2"), []byte("/evil2"), 1)
	if err := validate(parse(t, tampered), key.Certificate); err == nil {
		t.Error("tampered metadata verifies")
	}
	// etree (through encoding/xml) skips the byte-order mark itself.
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(md); err != nil {
		t.Errorf("parse with BOM: %v", err)
	}
}
