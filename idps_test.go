package entrasaml_test

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// Other IdPs: testdata/idps/<idp>/metadata.xml is each one's real metadata
// (see its SOURCE for where it comes from and its quirks), and
// response.xml a response in its shape signed by xmlsec1 with the test key
// idp-a (testdata/idps/gen.sh).

var x509CertRE = regexp.MustCompile(`(<(?:\w+:)?X509Certificate>)[^<]*(</(?:\w+:)?X509Certificate>)`)

// withTestKey returns an IdP's real metadata with the test certificate
// idp-a in place of each certificate, so that the xmlsec1 responses
// verify against the IdP's own metadata shape.
func withTestKey(t *testing.T, md []byte) []byte {
	t.Helper()
	pem := string(readTestdata(t, "keys/idp-a.crt"))
	var b64 strings.Builder
	for _, line := range strings.Split(pem, "\n") {
		if !strings.HasPrefix(line, "-----") {
			b64.WriteString(strings.TrimSpace(line))
		}
	}
	out := x509CertRE.ReplaceAllString(string(md), "${1}"+b64.String()+"${2}")
	return []byte(out)
}

func TestOtherIdPMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		idp, entityID, signOn, logout string
		signOnPOST                    string // an HTTP-POST sign-on URL only
		expired                       bool   // its real certificate has expired
	}{
		{idp: "okta", entityID: "http://www.okta.com/exkdoocxa1VmjpXmX697",
			signOn: "https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml"},
		{idp: "google", entityID: "https://accounts.google.com/o/saml2?idpid=C029op2ga",
			signOn: "https://accounts.google.com/o/saml2/idp?idpid=C029op2ga"},
		{idp: "adfs", entityID: "http://www.example.com/adfs/services/trust",
			signOn: "https://www.example.com/adfs/ls/", logout: "https://www.example.com/adfs/ls/", expired: true},
		{idp: "keycloak", entityID: "http://localhost:8085/realms/master",
			signOn: "http://localhost:8085/realms/master/protocol/saml", logout: "http://localhost:8085/realms/master/protocol/saml"},
		{idp: "pingone", entityID: "https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6",
			signOn:  "https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6/saml20/idp/sso",
			logout:  "https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6/saml20/idp/slo",
			expired: true},
		{idp: "onelogin", entityID: "https://app.onelogin.com/saml/metadata/503983",
			signOnPOST: "https://app.onelogin.com/trust/saml2/http-post/sso/503983", expired: true},
		{idp: "jumpcloud", entityID: "IdP Entity ID", signOnPOST: "https://sso.jumpcloud.com/saml2/ucariontest"},
	}
	for _, tt := range tests {
		t.Run(tt.idp, func(t *testing.T) {
			t.Parallel()
			data := readTestdata(t, "idps/"+tt.idp+"/metadata.xml")
			md, err := entrasaml.ParseMetadata(data)
			if err != nil {
				t.Fatalf("ParseMetadata: %v", err)
			}
			if md.EntityID != tt.entityID || md.SignOnURL != tt.signOn || md.LogoutURL != tt.logout || md.TenantID != "" ||
				(tt.signOnPOST != "" && md.SignOnPOSTURL != tt.signOnPOST) {
				t.Errorf("got entity %q sign-on %q (POST %q) logout %q tenant %q", md.EntityID, md.SignOnURL, md.SignOnPOSTURL, md.LogoutURL, md.TenantID)
			}
			if len(md.Certificates) != 1 {
				t.Errorf("%d signing certificates, want 1 (encryption keys skipped)", len(md.Certificates))
			}
			// Judged by a clock, an expired certificate is refused.
			_, err = entrasaml.ParseMetadata(data, entrasaml.CheckExpiry(fxNow))
			if tt.expired != errors.Is(err, entrasaml.ErrMetadata) {
				t.Errorf("ParseMetadata at %s = %v, want expired %v", fxNow, err, tt.expired)
			}
		})
	}
}

func TestOtherIdPResponses(t *testing.T) {
	t.Parallel()
	const email = "megan.bowen@contoso.example"
	tests := []struct {
		idp     string
		want    entrasaml.Session // the fields compared below
		roles   []string          // Attributes["Role"]
		signed2 bool              // Response and Assertion both signed
	}{
		{idp: "okta", signed2: true, want: entrasaml.Session{NameID: email, Issuer: "http://www.okta.com/exkdoocxa1VmjpXmX697",
			Email: email, GivenName: "Megan", Surname: "Bowen", Groups: []string{"Everyone", "Engineering"}}},
		{idp: "google", want: entrasaml.Session{NameID: email, Issuer: "https://accounts.google.com/o/saml2?idpid=C029op2ga",
			Email: email, Groups: []string{"engineering@contoso.example"}}},
		{idp: "adfs", want: entrasaml.Session{NameID: email, Issuer: "http://www.example.com/adfs/services/trust",
			Email: email, Name: "megan.bowen@corp.contoso.example", GivenName: "Megan", Surname: "Bowen",
			Groups: []string{"Domain Users", "Engineering"}}},
		{idp: "keycloak", roles: []string{"offline_access", "uma_authorization"},
			want: entrasaml.Session{NameID: "G-5f3c1a9e-7d2b-4e8f-a6c0-1b3d5e7f9a2c", Issuer: "http://localhost:8085/realms/master",
				Email: email, GivenName: "Megan", Surname: "Bowen"}},
		{idp: "pingone", want: entrasaml.Session{NameID: "9e34fa21-4e8f-4dee-b565-648dbcf25eff",
			Issuer: "https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6",
			Email:  email, GivenName: "Megan", Surname: "Bowen", Groups: []string{"cn=Engineering,ou=Groups,dc=contoso,dc=example"}}},
		{idp: "onelogin", signed2: true, want: entrasaml.Session{NameID: email, Issuer: "https://app.onelogin.com/saml/metadata/503983",
			Email: email, GivenName: "Megan", Surname: "Bowen", Groups: []string{"Engineering"}}},
		{idp: "jumpcloud", want: entrasaml.Session{NameID: email, Issuer: "IdP Entity ID",
			Email: email, GivenName: "Megan", Surname: "Bowen", Groups: []string{"Engineering"}}},
	}
	for _, tt := range tests {
		t.Run(tt.idp, func(t *testing.T) {
			t.Parallel()
			sp := newSP(t, entrasaml.Config{
				EntityID: fxEntityID,
				BaseURL:  fxBaseURL,
				Metadata: withTestKey(t, readTestdata(t, "idps/"+tt.idp+"/metadata.xml")),
				Now:      func() time.Time { return fxNow },
			}, nil)
			xml := string(readTestdata(t, "idps/"+tt.idp+"/response.xml"))
			s, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString([]byte(xml)), fxRequestID)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := entrasaml.Session{NameID: s.NameID, Issuer: s.Issuer, Email: s.Email, Name: s.Name,
				GivenName: s.GivenName, Surname: s.Surname, DisplayName: s.DisplayName, Groups: s.Groups}
			if !sessionFieldsEqual(got, tt.want) {
				t.Errorf("session\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.roles != nil && strings.Join(s.Attributes["Role"], ",") != strings.Join(tt.roles, ",") {
				t.Errorf("Role attribute %q, want %q", s.Attributes["Role"], tt.roles)
			}
			if s.TenantID != "" || s.ObjectID != "" || len(s.Roles) != 0 {
				t.Errorf("Entra-only fields filled: tenant %q object %q roles %q", s.TenantID, s.ObjectID, s.Roles)
			}

			// A tampered copy fails: another user's email inside the signed
			// assertion, and (when both are signed) inside the Response only.
			tampered := strings.Replace(xml, ">"+email+"<", ">mallory@contoso.example<", 1)
			if tampered == xml {
				tampered = strings.Replace(xml, "Megan", "Mallory", 1)
			}
			if _, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString([]byte(tampered)), fxRequestID); !errors.Is(err, entrasaml.ErrInvalidSignature) {
				t.Errorf("tampered response: %v, want ErrInvalidSignature", err)
			}
			if tt.signed2 {
				dest := strings.Replace(xml, `Destination="`+fxACS+`"`, `Destination="`+fxACS+`/"`, 1)
				if _, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString([]byte(dest)), fxRequestID); !errors.Is(err, entrasaml.ErrInvalidSignature) {
					t.Errorf("Response with a changed Destination: %v, want ErrInvalidSignature", err)
				}
			}
		})
	}
}

func sessionFieldsEqual(a, b entrasaml.Session) bool {
	return a.NameID == b.NameID && a.Issuer == b.Issuer && a.Email == b.Email && a.Name == b.Name &&
		a.GivenName == b.GivenName && a.Surname == b.Surname && a.DisplayName == b.DisplayName &&
		strings.Join(a.Groups, "\x00") == strings.Join(b.Groups, "\x00")
}
