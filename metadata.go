package entrasaml

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
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
// the application's own SAML signing certificate. With appID "" it returns
// the tenant-level URL.
func EntraMetadataURL(tenantID, appID string) string {
	u := "https://login.microsoftonline.com/" + url.PathEscape(tenantID) +
		"/federationmetadata/2007-06/federationmetadata.xml"
	if appID != "" {
		u += "?appid=" + url.QueryEscape(appID)
	}
	return u
}

// minRSABits is the smallest RSA key accepted for IdP signatures.
const minRSABits = 2048

var entraIssuer = regexp.MustCompile(`^https://sts\.(?:windows\.net|chinacloudapi\.cn)/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/$`)

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
// Errors match ErrMetadata and say what an administrator should do: an HTML
// page instead of XML (a wrong URL), SP metadata instead of the IdP's, no
// HTTP-Redirect sign-on URL, no usable signing certificate (RSA of at least
// 2048 bits), or every signing certificate expired (judged by time.Now;
// [New] judges by Config.Now). The XML is held to the same limits as a
// response (see [SP.Verify]: elements, attributes, namespace declarations,
// IDs, comments, depth), each refusal naming its limit, so parsing costs
// time linear in len(data).
func ParseMetadata(data []byte) (*IdPMetadata, error) {
	return parseMetadata(data, time.Now())
}

func parseMetadata(data []byte, now time.Time) (*IdPMetadata, error) {
	return parsePinnedMetadata(data, now, nil, false)
}

// parsePinnedMetadata is parseMetadata that, when pins is not empty,
// requires the document's own enveloped signature to verify with a
// certificate whose SHA-256 fingerprint is pinned, and then reads only
// what that signature covers.
func parsePinnedMetadata(data []byte, now time.Time, pins [][32]byte, allowSHA1 bool) (*IdPMetadata, error) {
	if looksLikeHTML(data) {
		return nil, newErr(ErrMetadata, "this is an HTML page, not federation metadata: check the URL "+
			"(Entra's app federation metadata URL ends in federationmetadata.xml?appid=<application id>)")
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n"); len(t) == 0 || t[0] != '<' {
		return nil, newErr(ErrMetadata, "this is not XML: give the Federation Metadata XML document (or its URL)")
	}
	root, err := parseXML(data, ErrMetadata)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(root.Tag, "html") {
		return nil, newErr(ErrMetadata, "this is an HTML page, not federation metadata: check the URL")
	}
	if len(pins) > 0 {
		if root, err = verifyMetadataSignature(root, pins, now, allowSHA1); err != nil {
			return nil, err
		}
	}
	idps, sps, err := entities(root)
	if err != nil {
		return nil, err
	}
	switch {
	case len(idps) == 0 && len(sps) > 0:
		return nil, newErr(ErrMetadata, "this is service-provider (SP) metadata, not the identity provider's: "+
			"download the Federation Metadata XML from the Entra application's \"Single sign-on\" page")
	case len(idps) == 0:
		return nil, newErr(ErrMetadata, "no IDPSSODescriptor for SAML 2.0 in the metadata")
	case len(idps) > 1:
		return nil, newErr(ErrMetadata, "the metadata describes %d identity providers; give the one to trust", len(idps))
	}
	return parseIdP(idps[0], now)
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
		return nil, wrapErr(ErrMetadata, err, "the metadata signature does not verify")
	}
	return signed, nil
}

// ParseFingerprint parses a certificate's SHA-256 fingerprint written in
// hex, with or without colons or spaces (as openssl and the Entra portal
// show them), for Config.MetadataSigners.
func ParseFingerprint(s string) ([32]byte, error) {
	var fp [32]byte
	h := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(fp) {
		return fp, newErr(ErrConfig, "%q is not a SHA-256 fingerprint (64 hex digits)", s)
	}
	copy(fp[:], b)
	return fp, nil
}

func looksLikeHTML(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	if len(data) > 256 {
		data = data[:256]
	}
	lower := bytes.ToLower(data)
	return bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))
}

// entities returns the SAML 2.0 IDPSSODescriptors of a metadata document
// and the EntityDescriptors that only describe a service provider.
func entities(root *etree.Element) (idps, sps []*etree.Element, err error) {
	switch {
	case is(root, nsMetadata, "EntityDescriptor"):
		collectEntities(root, &idps, &sps)
	case is(root, nsMetadata, "EntitiesDescriptor"):
		err = walkEntities(root, &idps, &sps, 0)
	default:
		err = newErr(ErrMetadata, "not SAML metadata: the root element is %q, want EntityDescriptor", root.Tag)
	}
	return idps, sps, err
}

func walkEntities(el *etree.Element, idps, sps *[]*etree.Element, depth int) error {
	if depth > 8 {
		return newErr(ErrMetadata, "EntitiesDescriptor nested too deep")
	}
	for _, c := range el.ChildElements() {
		switch {
		case is(c, nsMetadata, "EntityDescriptor"):
			collectEntities(c, idps, sps)
		case is(c, nsMetadata, "EntitiesDescriptor"):
			if err := walkEntities(c, idps, sps, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// collectEntities adds ed's SAML 2.0 IDPSSODescriptor (if any) to idps, and
// ed to sps when it only describes a service provider.
func collectEntities(ed *etree.Element, idps, sps *[]*etree.Element) {
	for _, d := range children(ed, nsMetadata, "IDPSSODescriptor") {
		if supportsSAML2(d) {
			*idps = append(*idps, d)
			return
		}
	}
	if len(children(ed, nsMetadata, "SPSSODescriptor")) > 0 {
		*sps = append(*sps, ed)
	}
}

func supportsSAML2(d *etree.Element) bool {
	return strings.Contains(" "+attrValue(d, "protocolSupportEnumeration")+" ", " "+nsProtocol+" ")
}

func parseIdP(d *etree.Element, now time.Time) (*IdPMetadata, error) {
	ed := d.Parent()
	md := &IdPMetadata{EntityID: attrValue(ed, "entityID")}
	if md.EntityID == "" {
		return nil, newErr(ErrMetadata, "EntityDescriptor has no entityID")
	}
	if m := entraIssuer.FindStringSubmatch(md.EntityID); m != nil {
		md.TenantID = strings.ToLower(m[1])
	}
	if v, ok := attr(ed, "validUntil"); ok {
		t, ok := parseTime(v)
		if !ok {
			return nil, newErr(ErrMetadata, "validUntil %q is not a valid time", v)
		}
		md.ValidUntil = t
		if !now.Before(t) {
			return nil, newErr(ErrMetadata, "the metadata expired at %s (validUntil); download it again", t.Format(time.RFC3339))
		}
	}

	for _, s := range children(d, nsMetadata, "SingleSignOnService") {
		if attrValue(s, "Binding") == bindingRedirect && md.SignOnURL == "" {
			md.SignOnURL = attrValue(s, "Location")
		}
	}
	if md.SignOnURL == "" {
		return nil, newErr(ErrMetadata, "no SingleSignOnService with the HTTP-Redirect binding")
	}
	if !isHTTPURL(md.SignOnURL) {
		return nil, newErr(ErrMetadata, "the sign-on URL %q is not an absolute http(s) URL", md.SignOnURL)
	}
	for _, s := range children(d, nsMetadata, "SingleLogoutService") {
		if attrValue(s, "Binding") == bindingRedirect && md.LogoutURL == "" {
			md.LogoutURL = attrValue(s, "Location")
		}
	}
	if md.LogoutURL != "" && !isHTTPURL(md.LogoutURL) {
		return nil, newErr(ErrMetadata, "the logout URL %q is not an absolute http(s) URL", md.LogoutURL)
	}

	for _, kd := range children(d, nsMetadata, "KeyDescriptor") {
		if use := attrValue(kd, "use"); use != "" && use != "signing" {
			continue
		}
		certs, err := keyDescriptorCerts(kd)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if !containsCert(md.Certificates, c) {
				md.Certificates = append(md.Certificates, c)
			}
		}
	}
	if len(md.Certificates) == 0 {
		return nil, newErr(ErrMetadata, "no signing certificate in the IDPSSODescriptor")
	}
	if err := checkCertificates(md.Certificates, now); err != nil {
		return nil, err
	}
	return md, nil
}

func keyDescriptorCerts(kd *etree.Element) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, ki := range children(kd, nsDSig, "KeyInfo") {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				s, _ := text(xc)
				der, err := decodeBase64Loose(s)
				if err != nil {
					return nil, wrapErr(ErrMetadata, err, "a signing certificate is not valid base64")
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, wrapErr(ErrMetadata, err, "a signing certificate cannot be parsed")
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// checkCertificates fails when no certificate is usable now: every one is
// expired (or not yet valid), or none is an RSA key of at least 2048 bits.
func checkCertificates(certs []*x509.Certificate, now time.Time) error {
	strong, current := 0, 0
	for _, c := range certs {
		if usableKey(c) {
			strong++
			if !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
				current++
			}
		}
	}
	switch {
	case strong == 0:
		return newErr(ErrMetadata, "no signing certificate has an RSA key of at least %d bits", minRSABits)
	case current == 0:
		return newErr(ErrMetadata, "every signing certificate has expired (or is not yet valid): "+
			"the Entra application needs a new, active SAML signing certificate; then download the metadata again")
	}
	return nil
}

func usableKey(c *x509.Certificate) bool {
	k, ok := c.PublicKey.(*rsa.PublicKey)
	return ok && k.N.BitLen() >= minRSABits
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// decodeBase64Loose decodes base64 that may be wrapped or indented, as
// certificates in XML often are.
func decodeBase64Loose(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
