package entrasaml

import (
	"bytes"
	"encoding/base64"
	"strconv"
)

// SPMetadata returns the SP's own SAML metadata (not the IdP's: that is
// [SP.IdPMetadata]), for an administrator to upload
// in the Entra application's "Basic SAML Configuration" (Upload metadata
// file): the EntityID, every ACS URL (HTTP-POST; index 0, the default,
// isDefault), the logout URL (HTTP-Redirect),
// when Config.Certificate is set the signing certificate, and when
// Config.DecryptionKeys is set the first key's certificate for encryption.
func (sp *SP) SPMetadata() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="`)
	xmlEscape(&b, sp.entityID)
	b.WriteString(`">` + "\n" + `  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`)
	if sp.key != nil {
		b.WriteString(` AuthnRequestsSigned="true"`)
	}
	b.WriteString(` WantAssertionsSigned="true">` + "\n")
	if sp.cert != nil {
		b.WriteString(`    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>`)
		b.WriteString(base64.StdEncoding.EncodeToString(sp.cert.Raw))
		b.WriteString(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` + "\n")
	}
	if len(sp.decryptKeys) > 0 {
		// Token encryption: the certificate to upload in Entra, and the
		// algorithms we prefer (Entra itself picks AES-256-CBC with RSA-OAEP).
		b.WriteString(`    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>`)
		b.WriteString(base64.StdEncoding.EncodeToString(sp.decryptKeys[0].Certificate.Raw))
		b.WriteString(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`)
		for _, alg := range []string{algAES256GCM, algAES256CBC, algRSAOAEPMGF1P} {
			b.WriteString(`<md:EncryptionMethod Algorithm="` + alg + `"/>`)
		}
		b.WriteString(`</md:KeyDescriptor>` + "\n")
	}
	b.WriteString(`    <md:SingleLogoutService Binding="` + bindingRedirect + `" Location="`)
	xmlEscape(&b, sp.logoutURL)
	b.WriteString(`"/>` + "\n")
	for i, acs := range sp.acsURLs {
		b.WriteString(`    <md:AssertionConsumerService Binding="` + bindingPOST + `" Location="`)
		xmlEscape(&b, acs)
		b.WriteString(`" index="` + strconv.Itoa(i) + `"`)
		if i == 0 {
			b.WriteString(` isDefault="true"`)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n")
	return b.Bytes()
}
