package entratest_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml/entratest"
)

// redirectQuery encodes an AuthnRequest as the HTTP-Redirect binding does.
func redirectQuery(t *testing.T, req, relayState string) url.Values {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return q
}

func TestParseAuthnRequest(t *testing.T) {
	t.Parallel()
	q := redirectQuery(t, authnRequest("_abc", "https://sp.example/saml", "https://sp.example/saml/acs", ` Destination="https://login.example/t/saml2"`), "/next?a=1")
	got, err := entratest.ParseAuthnRequest(q)
	if err != nil {
		t.Fatal(err)
	}
	want := entratest.AuthnRequest{ID: "_abc", Issuer: "https://sp.example/saml", ACSURL: "https://sp.example/saml/acs",
		Destination: "https://login.example/t/saml2", RelayState: "/next?a=1"}
	if *got != want {
		t.Fatalf("got %+v\nwant %+v", *got, want)
	}
	r := got.Response(entratest.User{UPN: "u@x.example"})
	if r.ACSURL != want.ACSURL || r.Audience != want.Issuer || r.InResponseTo != "_abc" || r.User.UPN != "u@x.example" {
		t.Errorf("Response() = %+v", r)
	}

	// Identifiers that are not URIs come back as spn:<identifier>.
	got, err = entratest.ParseAuthnRequest(redirectQuery(t, authnRequest("_x", "my-app", "https://sp.example/acs", ""), ""))
	if err != nil || got.Audience() != "spn:my-app" || got.RelayState != "" || got.Destination != "" {
		t.Errorf("got %+v, %v; Audience %q", got, err, got.Audience())
	}
}

func TestParseAuthnRequestRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		q    url.Values
		code string
	}{
		{"no SAMLRequest", url.Values{}, "AADSTS750054"},
		{"not base64", url.Values{"SAMLRequest": {"%%%"}}, "AADSTS750036"},
		{"not deflated", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte("<x/>"))}}, "AADSTS750036"},
		{"digit-leading ID", redirectQuery(t, authnRequest("1x", "https://sp.example", "https://sp.example/acs", ""), ""), "AADSTS7500529"},
		{"no Issuer", redirectQuery(t, authnRequest("_x", "", "https://sp.example/acs", ""), ""), "AADSTS700016"},
		{"no ACS URL", redirectQuery(t, authnRequest("_x", "https://sp.example", "", ""), ""), "AADSTS50011"},
		{"logout request", redirectQuery(t, `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l"/>`, ""), "AADSTS750036"},
	} {
		got, err := entratest.ParseAuthnRequest(c.q)
		if err == nil || got != nil || !strings.HasPrefix(err.Error(), c.code+":") {
			t.Errorf("%s: got %+v, %v; want an error starting with %s", c.name, got, err, c.code)
		}
	}
}
