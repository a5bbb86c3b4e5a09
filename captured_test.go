package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// metadataForCert wraps a captured IdP signing certificate (PEM) into the
// smallest IdP metadata New accepts, for captures published with their
// certificate but without the IdP's metadata. The sign-on URL is the
// IdP's usual endpoint; verification does not use it.
func metadataForCert(t *testing.T, entityID, signOnURL, pemFile string) []byte {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, pemFile))
	if block == nil {
		t.Fatalf("%s: no PEM block", pemFile)
	}
	return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + entityID + `">` +
		`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		base64.StdEncoding.EncodeToString(block.Bytes) +
		`</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
		`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + signOnURL + `"/>` +
		`</IDPSSODescriptor></EntityDescriptor>`)
}

// capture is a SAML response that an IdP really sent to someone else's
// SP, published with its signing certificate (testdata/captured, each
// with a .SOURCE note), and the Config of an SP it was addressed to: its
// Audience, its Destination (through ACSPaths: none of them is
// /saml/acs) and a clock inside its validity window.
type capture struct {
	name       string
	response   string // file in testdata/captured
	metadata   func(t *testing.T) []byte
	cfg        entrasaml.Config
	requestIDs []string
	want       entrasaml.Session // the fields checked
	value      string            // a signed value to alter by one byte
}

func captures() []capture {
	return []capture{{
		// Entra, SP-initiated, assertion signed (Entra's default), to a
		// PHP application's ACS.
		name:     "entra-glpi",
		response: "entra-glpi-response.xml",
		metadata: func(t *testing.T) []byte {
			return metadataForCert(t, "https://sts.windows.net/3b530360-95d8-439e-bd69-3a8c331a2358/",
				"https://login.microsoftonline.com/3b530360-95d8-439e-bd69-3a8c331a2358/saml2", "captured/entra-glpi-signing.pem")
		},
		cfg: entrasaml.Config{EntityID: "https://mc.trippie.fun/glpi/", BaseURL: "https://mc.trippie.fun",
			ACSPaths: []string{"/glpi/plugins/phpsaml/front/acs.php"},
			Now:      fixedClock(time.Date(2023, 6, 21, 21, 44, 0, 0, time.UTC))},
		requestIDs: []string{"ONELOGIN_ee5435f1ca13e34e2e0a884287324f9caa2fb98d"},
		want: entrasaml.Session{NameID: "chris.gralike@flevo-scouts.nl", Issuer: "https://sts.windows.net/3b530360-95d8-439e-bd69-3a8c331a2358/",
			InResponseTo: "ONELOGIN_ee5435f1ca13e34e2e0a884287324f9caa2fb98d", TenantID: "3b530360-95d8-439e-bd69-3a8c331a2358",
			ObjectID: "58c25608-50c5-4ff7-bf60-bab58b65ade2", Email: "chris.gralike@flevo-scouts.nl", GivenName: "Chris", Surname: "Gralike"},
		value: ">Gralike<",
	}, {
		// Entra, IdP-initiated ("Test this application"), with the
		// application's own federation metadata as downloaded (signed,
		// with a byte-order mark), to an ACS under a per-customer path.
		name:     "entra-ssoready",
		response: "entra-ssoready-response.xml",
		metadata: func(t *testing.T) []byte { return readTestdata(t, "captured/entra-ssoready-metadata.xml") },
		cfg: entrasaml.Config{EntityID: "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml",
			BaseURL: "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml", ACSPaths: []string{"/acs"},
			AllowIdPInitiated: true, Now: fixedClock(time.Date(2023, 11, 17, 18, 40, 0, 0, time.UTC))},
		want: entrasaml.Session{NameID: "ulysse.carion_codomaindata.com#EXT#@ulyssecarioncodomaindata.onmicrosoft.com",
			Issuer: "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/", TenantID: "a9054a0f-2011-4e31-b3ac-fd8c354146ec",
			ObjectID: "74a35d48-1914-4115-82f1-1b8a01449f3d", Email: "ulysse.carion@codomaindata.com", GivenName: "Ulysse", Surname: "Carion"},
		value: "#EXT#",
	}, {
		// AD FS 2016-style, SP-initiated, assertion signed, to an ACS
		// path with a per-customer suffix.
		name:     "adfs-gosaml2",
		response: "adfs-gosaml2-response.xml",
		metadata: func(t *testing.T) []byte {
			return metadataForCert(t, "http://fs.spstest2.com/adfs/services/trust", "https://fs.spstest2.com/adfs/ls/", "captured/adfs-gosaml2-signing.pem")
		},
		cfg: entrasaml.Config{EntityID: "https://saml.test.nope/session/sso/saml/spentityid/dknhyszjl7", BaseURL: "https://saml.test.nope",
			ACSPaths: []string{"/session/sso/saml/acs/dknhyszjl7"}, Now: fixedClock(time.Date(2017, 9, 21, 23, 28, 0, 0, time.UTC))},
		requestIDs: []string{"_5988bf45-1cc8-4228-b3e8-1aa8590e63d3"},
		want: entrasaml.Session{NameID: "paul@spstest2.com", Issuer: "http://fs.spstest2.com/adfs/services/trust",
			InResponseTo: "_5988bf45-1cc8-4228-b3e8-1aa8590e63d3", GivenName: "paul", Surname: "fraley"},
		value: ">paul@spstest2.com<",
	}}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// Real captured responses verify into Sessions with a Config that matches
// their Audience and Destination; altered by one byte in a signed value
// or in the signature, addressed elsewhere, or out of their window, they
// fail.
func TestCapturedResponses(t *testing.T) {
	t.Parallel()
	for _, c := range captures() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			raw := readTestdata(t, "captured/"+c.response)
			newCaptureSP := func(mod func(*entrasaml.Config)) *entrasaml.SP {
				cfg := c.cfg
				cfg.Metadata = c.metadata(t)
				return newSP(t, cfg, mod)
			}
			verify := func(sp *entrasaml.SP, xml []byte) (*entrasaml.Session, error) {
				return sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(xml), c.requestIDs...)
			}

			s, err := verify(newCaptureSP(nil), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := entrasaml.Session{NameID: s.NameID, Issuer: s.Issuer, InResponseTo: s.InResponseTo, TenantID: s.TenantID,
				ObjectID: s.ObjectID, Email: s.Email, GivenName: s.GivenName, Surname: s.Surname}
			if got.NameID != c.want.NameID || got.Issuer != c.want.Issuer || got.InResponseTo != c.want.InResponseTo ||
				got.TenantID != c.want.TenantID || got.ObjectID != c.want.ObjectID || got.Email != c.want.Email ||
				got.GivenName != c.want.GivenName || got.Surname != c.want.Surname {
				t.Errorf("Session:\n got %+v\nwant %+v", got, c.want)
			}
			if s.AssertionID == "" || s.AuthnInstant.IsZero() || s.ExpiresAt.IsZero() {
				t.Errorf("Session: %+v", s)
			}

			if !bytes.Contains(raw, []byte(c.value)) {
				t.Fatalf("%q is not in the response", c.value)
			}
			sigStart := bytes.Index(raw, []byte("SignatureValue>")) + len("SignatureValue>") + 10
			refused := []struct {
				name string
				xml  []byte
				mod  func(*entrasaml.Config)
				want error
			}{
				{"one byte changed in a signed value", alterByte(raw, bytes.Index(raw, []byte(c.value))+2), nil, entrasaml.ErrInvalidSignature},
				{"one byte changed in the signature", alterByte(raw, sigStart), nil, entrasaml.ErrInvalidSignature},
				{"replayed", raw, nil, entrasaml.ErrReplay},
				{"at the default ACS path", raw, func(cfg *entrasaml.Config) { cfg.ACSPaths = nil }, entrasaml.ErrDestinationMismatch},
				{"another audience", raw, func(cfg *entrasaml.Config) { cfg.EntityID = "https://other.example/saml" }, entrasaml.ErrAudienceMismatch},
				{"a day later", raw, func(cfg *entrasaml.Config) { cfg.Now = fixedClock(c.cfg.Now().Add(24 * time.Hour)) }, entrasaml.ErrExpired},
			}
			sp := newCaptureSP(nil)
			if _, err := verify(sp, raw); err != nil {
				t.Fatal(err)
			}
			for _, tt := range refused {
				target := sp
				if tt.mod != nil {
					target = newCaptureSP(tt.mod)
				}
				s, err := verify(target, tt.xml)
				if s != nil || !errors.Is(err, tt.want) {
					t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
				}
			}
		})
	}
}

// alterByte returns a copy of b with the byte at i replaced by another
// letter or digit (so the XML stays well-formed and base64 stays base64).
func alterByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	switch {
	case out[i] == 'A':
		out[i] = 'B'
	case strings.IndexByte("0123456789", out[i]) >= 0:
		out[i] = 'A' + out[i] - '0'
	default:
		out[i] = 'A'
	}
	return out
}
