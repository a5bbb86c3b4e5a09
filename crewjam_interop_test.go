package entrasaml_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// This file checks interoperability with crewjam/saml, the peer we did not
// write: its IdentityProvider, run in process behind httptest, reads our SP
// metadata and AuthnRequest and signs (and encrypts) responses that our SP
// verifies; its xmlenc encrypts assertions that our SP decrypts. It uses
// the real clock on both sides (crewjam's package-level clock globals are
// never touched, so that parallel tests are unaffected).

// interopKeyPair returns an RSA-2048 key and a self-signed certificate.
func interopKeyPair(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key := interopMust[*rsa.PrivateKey](t)(rsa.GenerateKey(rand.Reader, 2048))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der := interopMust[[]byte](t)(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
	return key, interopMust[*x509.Certificate](t)(x509.ParseCertificate(der))
}

// interopMust(t)(f()) is f's result, or t.Fatal with its error.
func interopMust[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// interopSPs is crewjam's ServiceProviderProvider: the SPs registered with
// the IdP, by entity ID.
type interopSPs map[string]*saml.EntityDescriptor

func (m interopSPs) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if ed, ok := m[id]; ok {
		return ed, nil
	}
	return nil, os.ErrNotExist
}

// interopUser is crewjam's SessionProvider: the user is always signed in.
type interopUser struct{ s saml.Session }

func (u interopUser) GetSession(http.ResponseWriter, *http.Request, *saml.IdpAuthnRequest) *saml.Session {
	s := u.s
	return &s
}

var (
	interopFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	interopFormInput  = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)"`)
)

func TestInteropCrewjamIdP(t *testing.T) {
	t.Parallel()
	idpKey, idpCert := interopKeyPair(t, "crewjam-idp")
	spKey, spCert := interopKeyPair(t, "entrasaml-sp")

	const (
		spEntityID = "https://acme.vendor.example/saml"
		objectID   = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	)
	user := saml.Session{
		CreateTime:     time.Now().Add(-time.Minute),
		Index:          "idx-42",
		NameID:         "alice@example.com",
		NameIDFormat:   entrasaml.NameIDFormatEmail,
		UserName:       "alice",
		UserEmail:      "alice@example.com",
		UserCommonName: "Alice Liddell",
		UserGivenName:  "Alice",
		UserSurname:    "Liddell",
		Groups:         []string{"staff", "admins"},
		CustomAttributes: []saml.Attribute{{
			Name:   entratest.ClaimObjectID,
			Values: []saml.AttributeValue{{Type: "xs:string", Value: objectID}},
		}},
	}

	for _, tc := range []struct {
		name      string
		sigMethod string // crewjam's IdentityProvider.SignatureMethod; "" is its default
		sha1      bool   // Config.AllowSHA1
		signReq   bool   // our AuthnRequests signed (Config.Key), and required by crewjam
		wantAlg   string // the SignatureMethod crewjam is expected to use
		wantErr   error  // what Verify must return; nil: success
	}{
		{name: "defaults", wantAlg: dsig.RSASHA256SignatureMethod},
		{name: "rsa-sha512", sigMethod: dsig.RSASHA512SignatureMethod, wantAlg: dsig.RSASHA512SignatureMethod},
		{name: "signed-authn-request", signReq: true, wantAlg: dsig.RSASHA256SignatureMethod},
		{name: "rsa-sha1-refused", sigMethod: dsig.RSASHA1SignatureMethod, wantAlg: dsig.RSASHA1SignatureMethod, wantErr: entrasaml.ErrInvalidSignature},
		{name: "rsa-sha1-allowed", sigMethod: dsig.RSASHA1SignatureMethod, sha1: true, wantAlg: dsig.RSASHA1SignatureMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			// crewjam's IdP, configured before its server starts.
			srv, idp := crewjamIdP(t, idpKey, idpCert, user)
			idp.SignatureMethod, idp.WantAuthnRequestsSigned, idp.RejectSHA1Signatures = tc.sigMethod, tc.signReq, true
			metadataURL, ssoURL := idp.MetadataURL, idp.SSOURL
			idpMetadata := interopMust[[]byte](t)(xml.Marshal(idp.Metadata()))
			md, err := entrasaml.ParseMetadata(idpMetadata)
			if err != nil {
				t.Fatalf("ParseMetadata(crewjam metadata): %v\n%s", err, idpMetadata)
			}
			if md.EntityID != metadataURL.String() || md.SignOnURL != ssoURL.String() || len(md.Certificates) != 1 || md.TenantID != "" {
				t.Fatalf("ParseMetadata = %+v", md)
			}

			cfg := entrasaml.Config{EntityID: spEntityID, BaseURL: "https://acme.vendor.example", Metadata: idpMetadata, AllowSHA1: tc.sha1}
			if tc.signReq {
				cfg.Key, cfg.Certificate = spKey, spCert
			}
			sp := interopMust[*entrasaml.SP](t)(entrasaml.New(ctx, cfg))

			// Register our SP with crewjam: one HTTP-POST ACS, no encryption key.
			spSSO := saml.SPSSODescriptor{
				SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
				}},
				AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: sp.ACSURL(), Index: 1}},
			}
			if tc.signReq {
				signed := true
				spSSO.AuthnRequestsSigned = &signed
				spSSO.KeyDescriptors = []saml.KeyDescriptor{{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
					X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(spCert.Raw)}},
				}}}}
			}
			idp.ServiceProviderProvider = interopSPs{spEntityID: {EntityID: spEntityID, SPSSODescriptors: []saml.SPSSODescriptor{spSSO}}}
			srv.Config.Handler = idp.Handler()
			srv.Start()

			// SP-initiated sign-in: the browser follows our redirect to crewjam.
			samlResponse, requestID := crewjamSignIn(t, srv, sp, "/after")

			// Both the Response and the Assertion are signed, with the
			// expected algorithm, exclusive c14n and enveloped-signature.
			doc := string(interopMust[[]byte](t)(base64.StdEncoding.DecodeString(samlResponse)))
			excC14N := `Algorithm="` + string(dsig.CanonicalXML10ExclusiveAlgorithmId) + `"`
			for _, want := range []string{
				`<ds:SignatureMethod Algorithm="` + tc.wantAlg + `"`,
				`<ds:CanonicalizationMethod ` + excC14N,
				`<ds:Transform Algorithm="` + dsig.EnvelopedSignatureAltorithmId.String() + `"/><ds:Transform ` + excC14N,
			} {
				if n := strings.Count(doc, want); n != 2 {
					t.Errorf("%d occurrences of %s in the response, want 2 (Response and Assertion):\n%s", n, want, doc)
				}
			}
			if strings.Contains(doc, "EncryptedAssertion") {
				t.Fatalf("crewjam encrypted the assertion:\n%s", doc)
			}

			// A request ID that is not this response's is refused (and does
			// not use up the assertion).
			if _, err := sp.Verify(ctx, samlResponse, "_0123456789abcdef0123456789abcdef"); tc.wantErr == nil && !errors.Is(err, entrasaml.ErrRequestIDMismatch) {
				t.Errorf("Verify with another request ID: %v, want ErrRequestIDMismatch", err)
			}

			s, err := sp.Verify(ctx, samlResponse, requestID)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Verify: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, doc)
			}
			if s.NameID != user.NameID || s.NameIDFormat != user.NameIDFormat || s.Issuer != metadataURL.String() ||
				s.SessionIndex != user.Index || s.AuthnInstant.Sub(user.CreateTime).Abs() > time.Second {
				t.Errorf("Session = %+v", s)
			}
			for name, want := range map[string][]string{
				"urn:oid:0.9.2342.19200300.100.1.1": {"alice"},             // uid
				"urn:oid:0.9.2342.19200300.100.1.3": {"alice@example.com"}, // mail
				"urn:oid:2.5.4.42":                  {"Alice"},             // givenName
				"urn:oid:2.5.4.4":                   {"Liddell"},           // sn
				"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":  {"staff", "admins"},   // eduPersonAffiliation (Groups)
				entratest.ClaimObjectID:             {objectID},
			} {
				if got := s.Attributes[name]; !slices.Equal(got, want) {
					t.Errorf("Attributes[%s] = %q, want %q", name, got, want)
				}
			}
			// mail, givenName and sn fill the typed fields (the Session doc's
			// table); an affiliation is not a group.
			if s.ObjectID != objectID || s.Email != "alice@example.com" || s.GivenName != "Alice" || s.Surname != "Liddell" || len(s.Groups) != 0 {
				t.Errorf("typed claims: ObjectID %q, Email %q, GivenName %q, Surname %q, Groups %q", s.ObjectID, s.Email, s.GivenName, s.Surname, s.Groups)
			}

			if _, err := sp.Verify(ctx, samlResponse, requestID); !errors.Is(err, entrasaml.ErrReplay) {
				t.Errorf("replayed response: %v, want ErrReplay", err)
			}
		})
	}
}

// TestInteropCrewjamIdPEncrypted: crewjam/saml's IdentityProvider reads our
// SP metadata, picks its encryption certificate and algorithms, encrypts
// the signed assertion and signs the Response; Verify decrypts it. Helpers
// are interop_test.go's.
func TestInteropCrewjamIdPEncrypted(t *testing.T) {
	t.Parallel()
	idpKey, idpCert := interopKeyPair(t, "crewjam-idp")
	encKey, encCert := interopKeyPair(t, "entrasaml-sp-encryption")
	const spEntityID = "https://acme.vendor.example/saml"
	user := saml.Session{CreateTime: time.Now().Add(-time.Minute), Index: "idx-7", NameID: "alice@example.com", NameIDFormat: entrasaml.NameIDFormatEmail}

	for _, tc := range []struct {
		name       string
		algorithms bool   // register our metadata's EncryptionMethods with crewjam
		want       string // the block algorithm crewjam is expected to use
	}{
		{name: "metadata-algorithms", algorithms: true, want: "http://www.w3.org/2009/xmlenc11#aes256-gcm"},
		{name: "crewjam-default", want: "http://www.w3.org/2001/04/xmlenc#aes128-cbc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv, idp := crewjamIdP(t, idpKey, idpCert, user)
			idpMetadata := interopMust[[]byte](t)(xml.Marshal(idp.Metadata()))
			sp := interopMust[*entrasaml.SP](t)(entrasaml.New(ctx, entrasaml.Config{
				EntityID: spEntityID, BaseURL: "https://acme.vendor.example", Metadata: idpMetadata,
				DecryptionKeys: []entrasaml.DecryptionKey{{Key: encKey, Certificate: encCert}},
			}))

			// crewjam learns our encryption certificate from our SP metadata.
			var ed saml.EntityDescriptor
			if err := xml.Unmarshal(sp.SPMetadata(), &ed); err != nil {
				t.Fatalf("our SP metadata: %v\n%s", err, sp.SPMetadata())
			}
			if len(ed.SPSSODescriptors) != 1 || len(ed.SPSSODescriptors[0].KeyDescriptors) != 1 {
				t.Fatalf("our SP metadata: %+v", ed)
			}
			if !tc.algorithms {
				ed.SPSSODescriptors[0].KeyDescriptors[0].EncryptionMethods = nil
			}
			idp.ServiceProviderProvider = interopSPs{spEntityID: &ed}
			srv.Config.Handler = idp.Handler()
			srv.Start()

			samlResponse, requestID := crewjamSignIn(t, srv, sp, "/")
			doc := string(interopMust[[]byte](t)(base64.StdEncoding.DecodeString(samlResponse)))
			if !strings.Contains(doc, "EncryptedAssertion") || strings.Contains(doc, user.NameID) ||
				!strings.Contains(doc, `Algorithm="`+tc.want+`"`) {
				t.Fatalf("crewjam did not encrypt with %s:\n%s", tc.want, doc)
			}
			s, err := sp.Verify(ctx, samlResponse, requestID)
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, doc)
			}
			if s.NameID != user.NameID || s.SessionIndex != user.Index {
				t.Errorf("Session = %+v", s)
			}
		})
	}
}

// TestDecryptCrewjam: assertions encrypted by crewjam's xmlenc decrypt,
// with a SHA-256 OAEP digest and each block cipher.
func TestDecryptCrewjam(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	assertion := signedAssertion(t)
	for _, bc := range []xmlenc.BlockCipher{xmlenc.AES128GCM, xmlenc.AES256GCM, xmlenc.AES128CBC, xmlenc.AES256CBC} {
		t.Run(bc.Algorithm(), func(t *testing.T) {
			t.Parallel()
			sp := newTestSP(t, idp, func(c *entrasaml.Config) {
				withDecryption(curKey(t))(c)
				c.AllowUnsignedCBC = true
			})
			s, err := sp.Verify(context.Background(), crewjamEncrypted(t, assertion, bc), fxRequestID)
			if err != nil {
				t.Fatal(err)
			}
			if s.NameID != adele().UPN {
				t.Errorf("NameID %q", s.NameID)
			}
		})
	}
}

// crewjamEncrypted returns a Response (unsigned) whose EncryptedAssertion
// holds plaintext encrypted by crewjam's xmlenc, an implementation we did
// not write, to the SP's current key with method.
func crewjamEncrypted(t *testing.T, plaintext []byte, method xmlenc.BlockCipher) string {
	t.Helper()
	cur, _, _ := spEncKeys(t)
	e := xmlenc.OAEP() // rsa-oaep-mgf1p with a SHA-256 digest, MGF1-SHA1
	e.BlockCipher = method
	// A copy: crewjam pads the plaintext in place (append into its spare capacity).
	ed, err := e.Encrypt(cur.Certificate, bytes.Clone(plaintext), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	resp.CreateAttr("ID", "_r")
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", fxNow.Format(time.RFC3339))
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	ea := resp.CreateElement("EncryptedAssertion")
	ea.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:assertion")
	ea.AddChild(ed)
	return encWrite(t, doc)
}

// crewjamSignIn runs an SP-initiated sign-in through crewjam's IdP at srv:
// the browser follows sp's redirect there and gets the auto-submitting form
// back, which must post to sp's ACS URL with relayState. It returns the
// SAMLResponse and the request ID to verify it with.
func crewjamSignIn(t *testing.T, srv *httptest.Server, sp *entrasaml.SP, relayState string) (samlResponse, requestID string) {
	t.Helper()
	authnURL, requestID, err := sp.AuthnRequestURL(relayState)
	if err != nil {
		t.Fatal(err)
	}
	res := interopMust[*http.Response](t)(srv.Client().Get(authnURL.String()))
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("crewjam SSO: HTTP %d, %v\n%s", res.StatusCode, err, body)
	}
	action := interopFormAction.FindSubmatch(body)
	if action == nil || html.UnescapeString(string(action[1])) != sp.ACSURL() {
		t.Fatalf("form action is not our ACS URL %s:\n%s", sp.ACSURL(), body)
	}
	form := map[string]string{}
	for _, m := range interopFormInput.FindAllSubmatch(body, -1) {
		form[string(m[1])] = html.UnescapeString(string(m[2]))
	}
	if form["SAMLResponse"] == "" || form["RelayState"] != relayState {
		t.Fatalf("form fields = %q\n%s", form, body)
	}
	return form["SAMLResponse"], requestID
}

// crewjamIdP returns crewjam's IdentityProvider for user, signing with key
// and cert, and the unstarted httptest server it is to run on (its URLs
// are the server's): set its Handler and Start it once configured.
func crewjamIdP(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, user saml.Session) (*httptest.Server, *saml.IdentityProvider) {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	metadataURL, _ := url.Parse(base + "/metadata")
	ssoURL, _ := url.Parse(base + "/sso")
	return srv, &saml.IdentityProvider{
		Key: key, Certificate: cert, MetadataURL: *metadataURL, SSOURL: *ssoURL,
		SessionProvider: interopUser{user},
		// crewjam's DefaultOnError needs a Logger; show its reason instead.
		OnError: func(w http.ResponseWriter, _ *http.Request, status int, err error) {
			http.Error(w, err.Error(), status)
		},
	}
}
