package entrasaml_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/entrasaml/entrasaml"
)

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
			srv := httptest.NewUnstartedServer(nil)
			t.Cleanup(srv.Close)
			base := "http://" + srv.Listener.Addr().String()
			metadataURL, _ := url.Parse(base + "/metadata")
			ssoURL, _ := url.Parse(base + "/sso")
			idp := &saml.IdentityProvider{
				Key: idpKey, Certificate: idpCert, MetadataURL: *metadataURL, SSOURL: *ssoURL,
				SessionProvider: interopUser{user},
				OnError: func(w http.ResponseWriter, _ *http.Request, status int, err error) {
					http.Error(w, err.Error(), status)
				},
			}
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

			authnURL, requestID, err := sp.AuthnRequestURL("/")
			if err != nil {
				t.Fatal(err)
			}
			res := interopMust[*http.Response](t)(srv.Client().Get(authnURL.String()))
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("crewjam SSO: HTTP %d, %v\n%s", res.StatusCode, err, body)
			}
			var samlResponse string
			for _, m := range interopFormInput.FindAllSubmatch(body, -1) {
				if string(m[1]) == "SAMLResponse" {
					samlResponse = html.UnescapeString(string(m[2]))
				}
			}
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
