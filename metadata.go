package entrasaml

import (
	"crypto/sha256"
	"crypto/x509"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml/internal/idpmeta"
	"github.com/entrasaml/entrasaml/internal/samlxml"
)

// IdPMetadata is what the SP needs from the identity provider's SAML
// metadata: Entra's Federation Metadata XML, or any SAML 2.0 IdP's.
type IdPMetadata struct {
	// EntityID is the IdP's entity ID, the Issuer of its responses. For
	// Entra: "https://sts.windows.net/<tenant-id>/".
	EntityID string
	// TenantID is the Entra tenant ID taken from EntityID, or "" when the
	// metadata is not Entra's.
	TenantID string
	// SignOnURL is the SingleSignOnService location for the HTTP-Redirect
	// binding, where AuthnRequests go. For Entra:
	// "https://login.microsoftonline.com/<tenant-id>/saml2".
	SignOnURL string
	// SignOnPOSTURL is the SingleSignOnService location for the HTTP-POST
	// binding, or "". It is used only when SignOnURL is "": some IdPs list
	// no HTTP-Redirect sign-on URL (JumpCloud unless "Declare Redirect
	// Endpoint" is ticked, older OneLogin exports). [SP.StartSignIn] then
	// posts the AuthnRequest there from an auto-submitting form, and
	// [SP.AuthnRequestURL], which builds a redirect, fails with ErrConfig.
	SignOnPOSTURL string
	// LogoutURL is the SingleLogoutService location for the HTTP-Redirect
	// binding, or "" when the IdP lists none.
	LogoutURL string
	// Certificates are the IdP's signing certificates, in document order.
	// All of them are trusted: during a key rollover Entra lists several.
	// Certificate.NotAfter is each one's expiry.
	Certificates []*x509.Certificate
	// ValidUntil is the metadata's validUntil, or zero (Entra sets none).
	ValidUntil time.Time
}

// EntraMetadataURL returns the app-specific federation metadata URL of an
// Entra enterprise application:
// https://login.microsoftonline.com/<tenantID>/federationmetadata/2007-06/federationmetadata.xml?appid=<appID>.
// Use it, not the tenant-level document: only the app-specific one carries
// the application's own SAML signing certificate. When tenantID or appID is
// empty it returns "" (never the tenant-level URL), which [New] refuses with
// ErrConfig when Metadata is empty too.
func EntraMetadataURL(tenantID, appID string) string {
	if tenantID == "" || appID == "" {
		return ""
	}
	return "https://login.microsoftonline.com/" + url.PathEscape(tenantID) +
		"/federationmetadata/2007-06/federationmetadata.xml?appid=" + url.QueryEscape(appID)
}

// MetadataOption adjusts [ParseMetadata].
type MetadataOption func(*metadataOptions)

type metadataOptions struct{ now time.Time }

// CheckExpiry makes [ParseMetadata] judge the metadata's validUntil and
// its certificates' validity at now. Without it nothing is judged by time:
// the package reads no clock of its own ([New] judges by Config.Now).
func CheckExpiry(now time.Time) MetadataOption {
	return func(o *metadataOptions) { o.now = now }
}

// ParseMetadata parses IdP metadata: Entra's Federation Metadata XML (a
// byte-order mark, a document signature, WS-Federation RoleDescriptors before
// the IDPSSODescriptor, several signing certificates during rollover) or an
// ordinary SAML 2.0 IdP's EntityDescriptor, bare or in an EntitiesDescriptor
// that holds exactly one IdP.
//
// It does not verify the document's own signature: Entra signs metadata with
// the same certificate it lists, which proves nothing unless that
// certificate is pinned. Fetch metadata over HTTPS from Entra, or pin its
// signer with Config.MetadataSigners.
//
// Errors match ErrMetadata and say what an administrator should do: a
// document over MaxMetadataSize, an HTML page instead of XML (a wrong URL),
// SP metadata instead of the IdP's, no HTTP-Redirect sign-on URL, no usable
// signing certificate (RSA of at least 2048 bits), and, with [CheckExpiry]
// only, metadata past its validUntil or every signing certificate expired.
// The error is the first of these; onboarding reports them all. The XML is
// held to the same limits as a response (see [SP.Verify]: elements,
// attributes, namespace declarations, IDs, comments, depth), each refusal
// naming its limit, so parsing costs time linear in len(data).
func ParseMetadata(data []byte, opts ...MetadataOption) (*IdPMetadata, error) {
	var o metadataOptions
	for _, opt := range opts {
		opt(&o)
	}
	doc, err := readMetadata(data, o.now, nil, false)
	if err != nil {
		return nil, err
	}
	return idpMetadataOf(doc), nil
}

// readMetadata parses data once and reads it with the one metadata reader
// (package idpmeta), after checking the document's own signature when pins
// is not empty. It fails with the first fatal finding, as ErrMetadata.
func readMetadata(data []byte, now time.Time, pins [][32]byte, allowSHA1 bool) (*idpmeta.Document, error) {
	root, f := idpmeta.Parse(data)
	if f != nil {
		return nil, newErr(ErrMetadata, "%s", f.Reason)
	}
	if len(pins) > 0 && !strings.EqualFold(root.Tag, "html") {
		var err error
		if root, err = verifyMetadataSignature(root, pins, now, allowSHA1); err != nil {
			return nil, err
		}
	}
	doc, findings := idpmeta.Read(root, now)
	if f := idpmeta.FirstFatal(findings); f != nil {
		return nil, newErr(ErrMetadata, "%s", f.Reason)
	}
	return doc, nil
}

func idpMetadataOf(doc *idpmeta.Document) *IdPMetadata {
	return &IdPMetadata{EntityID: doc.EntityID, TenantID: doc.TenantID, SignOnURL: doc.SignOnURL, SignOnPOSTURL: doc.SignOnPOSTURL, LogoutURL: doc.LogoutURL,
		Certificates: doc.Certificates, ValidUntil: doc.ValidUntil}
}

// verifyMetadataSignature checks the enveloped signature of the metadata
// root against the pinned certificate fingerprints and returns the signed
// content. The certificate comes from the signature's KeyInfo (Entra puts
// its signing certificate there); trust comes only from the pin.
func verifyMetadataSignature(root *etree.Element, pins [][32]byte, now time.Time, allowSHA1 bool) (*etree.Element, error) {
	sigs := children(root, nsDSig, "Signature")
	if len(sigs) != 1 {
		return nil, newErr(ErrMetadata, "the metadata is not signed, but Config.MetadataSigners pins its signer")
	}
	sig := sigs[0]
	var cert *x509.Certificate
	if ki, _ := child(sig, nsDSig, "KeyInfo"); ki != nil {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				t, _ := text(xc)
				der, err := decodeBase64Loose(t)
				if err != nil {
					continue
				}
				fp := sha256.Sum256(der)
				for _, p := range pins {
					if p == fp {
						cert, _ = x509.ParseCertificate(der)
					}
				}
			}
		}
	}
	if cert == nil || !usableKey(cert) || !validAt(cert, now) {
		return nil, newErr(ErrMetadata, "the metadata is not signed by a current certificate pinned in Config.MetadataSigners")
	}
	id := attrValue(root, "ID")
	if id == "" {
		return nil, newErr(ErrMetadata, "the signed metadata root has no ID")
	}
	signed, err := verifyEnveloped(root, sig, id, []*x509.Certificate{cert}, allowSHA1)
	if err != nil {
		// Only ErrMetadata: the reason says why the signature failed.
		return nil, newErr(ErrMetadata, "the metadata signature does not verify: %s", reasonOf(err))
	}
	return signed, nil
}

// parseFingerprint parses a certificate's SHA-256 fingerprint written in
// hex, with or without colons or spaces, for Config.MetadataSigners.
func parseFingerprint(s string) ([32]byte, error) {
	fp, ok := idpmeta.ParseFingerprint(s)
	if !ok {
		return fp, newErr(ErrConfig, "%q is not a SHA-256 fingerprint (64 hex digits)", s)
	}
	return fp, nil
}

// minRSABits is the smallest RSA key accepted for IdP signatures.
const minRSABits = idpmeta.MinRSABits

// usableKey reports whether c has an RSA key of at least minRSABits.
func usableKey(c *x509.Certificate) bool { return idpmeta.UsableKey(c) }

// decodeBase64Loose decodes base64 that may be wrapped or indented, as
// certificates in XML often are.
func decodeBase64Loose(s string) ([]byte, error) { return samlxml.DecodeBase64(s) }

func isHTTPURL(s string) bool { return idpmeta.IsHTTPURL(s) }
