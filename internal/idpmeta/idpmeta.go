// Package idpmeta is the one reader of identity-provider metadata. The
// root package's ParseMetadata and New and package onboard all read a
// document through it: it parses once and returns what the document says
// plus every finding, each with a code. ParseMetadata and New refuse on
// the first fatal finding; onboarding reports them all.
//
// Reading is in two steps so that a caller can check the document's own
// signature in between: [Sniff] looks at the bytes before they are parsed,
// [Read] reads the parsed (or signed) root element.
package idpmeta

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml/internal/samlxml"
)

// MaxSize is the largest metadata document read, in bytes.
const MaxSize = 4 << 20

// MinRSABits is the smallest RSA key accepted for IdP signatures.
const MinRSABits = 2048

// ExpiryWarning is how long before its NotAfter a signing certificate is
// reported as expiring.
const ExpiryWarning = 30 * 24 * time.Hour

// Code says what a [Finding] is about, for programs; the values are
// onboarding's problem codes.
type Code string

// Finding codes.
const (
	HTMLPage            Code = "html_page"            // a web page, not metadata
	NotXML              Code = "not_xml"              // not XML at all
	Malformed           Code = "malformed"            // XML that the strict parser refuses
	Invalid             Code = "invalid_metadata"     // XML, but not usable IdP metadata
	SPMetadata          Code = "sp_metadata"          // service-provider metadata
	WeakKey             Code = "weak_key"             // not an RSA key of at least MinRSABits
	CertificateExpired  Code = "certificate_expired"  // expired or not yet valid
	CertificateExpiring Code = "certificate_expiring" // expires within ExpiryWarning
)

// Finding is one thing the reader noticed. A fatal finding makes the
// metadata unusable; the others are worth a look.
type Finding struct {
	Code   Code
	Fatal  bool
	Reason string // for an administrator; no raw XML
	// Cert is the index in Document.Certificates of the certificate the
	// finding is about, or -1.
	Cert int
}

// Document is what the metadata says about the identity provider.
type Document struct {
	EntityID  string
	TenantID  string // Entra's tenant id from EntityID, or ""
	SignOnURL string // SingleSignOnService, HTTP-Redirect binding
	// SignOnPOSTURL is the SingleSignOnService for HTTP-POST, or "":
	// where AuthnRequests go when there is no HTTP-Redirect one.
	SignOnPOSTURL string
	LogoutURL     string // SingleLogoutService, HTTP-Redirect binding, or ""
	// Certificates are every signing certificate, in document order and
	// without repeats, usable or not.
	Certificates []*x509.Certificate
	ValidUntil   time.Time
}

// Usable returns the certificates that may verify signatures: RSA keys of
// at least MinRSABits (validity is judged per signature, at its time).
func (d *Document) Usable() []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range d.Certificates {
		if UsableKey(c) {
			out = append(out, c)
		}
	}
	return out
}

// FirstFatal returns the first fatal finding, or nil.
func FirstFatal(fs []Finding) *Finding {
	for i := range fs {
		if fs[i].Fatal {
			return &fs[i]
		}
	}
	return nil
}

var entraIssuer = regexp.MustCompile(`^https://sts\.(?:windows\.net|chinacloudapi\.cn)/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/$`)

// TenantOf returns the Entra tenant id in an Entra issuer (entity ID), in
// lowercase, or "".
func TenantOf(entityID string) string {
	if m := entraIssuer.FindStringSubmatch(entityID); m != nil {
		return strings.ToLower(m[1])
	}
	return ""
}

func fatal(code Code, format string, args ...any) Finding {
	return Finding{Code: code, Fatal: true, Reason: fmt.Sprintf(format, args...), Cert: -1}
}

// Sniff looks at the bytes before they are parsed and returns a fatal
// finding for a document that is too large, an HTML page or not XML.
func Sniff(data []byte) *Finding {
	var f Finding
	switch t := bytes.TrimLeft(bytes.TrimPrefix(data, samlxml.UTF8BOM), " \t\r\n"); {
	case len(data) > MaxSize:
		f = fatal(Invalid, "the document is larger than %d MB: this is not federation metadata", MaxSize>>20)
	case looksLikeHTML(t):
		f = fatal(HTMLPage, "this is an HTML page, not federation metadata: check the URL "+
			"(Entra's app federation metadata URL ends in federationmetadata.xml?appid=<application id>)")
	case len(t) == 0 || t[0] != '<':
		f = fatal(NotXML, "this is not XML: give the Federation Metadata XML document (or its URL)")
	default:
		return nil
	}
	return &f
}

func looksLikeHTML(t []byte) bool {
	if len(t) > 256 {
		t = t[:256]
	}
	lower := bytes.ToLower(t)
	return bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))
}

// Read reads a parsed metadata document. now judges validUntil and the
// certificates' validity; the zero time judges neither. The Document is
// nil when the root holds no single SAML 2.0 identity provider (a fatal
// finding says why); otherwise it holds what could be read, and the
// findings say what is wrong with it, in document order.
func Read(root *etree.Element, now time.Time) (*Document, []Finding) {
	if strings.EqualFold(root.Tag, "html") {
		return nil, []Finding{fatal(HTMLPage, "this is an HTML page, not federation metadata: check the URL")}
	}
	idps, sps, err := entities(root)
	switch {
	case err != nil:
		return nil, []Finding{*err}
	case len(idps) == 0 && len(sps) > 0:
		return nil, []Finding{fatal(SPMetadata, "this is service-provider (SP) metadata, not the identity provider's: "+
			"download the Federation Metadata XML from the Entra application's \"Single sign-on\" page")}
	case len(idps) == 0:
		return nil, []Finding{fatal(Invalid, "no IDPSSODescriptor for SAML 2.0 in the metadata")}
	case len(idps) > 1:
		return nil, []Finding{fatal(Invalid, "the metadata describes %d identity providers; give the one to trust", len(idps))}
	}
	return readIdP(idps[0], now)
}

// entities returns the SAML 2.0 IDPSSODescriptors of a metadata document
// and the EntityDescriptors that only describe a service provider.
func entities(root *etree.Element) (idps, sps []*etree.Element, err *Finding) {
	switch {
	case samlxml.Is(root, samlxml.NSMetadata, "EntityDescriptor"):
		collectEntities(root, &idps, &sps)
	case samlxml.Is(root, samlxml.NSMetadata, "EntitiesDescriptor"):
		err = walkEntities(root, &idps, &sps, 0)
	default:
		f := fatal(Invalid, "not SAML metadata: the root element is %q, want EntityDescriptor", root.Tag)
		err = &f
	}
	return idps, sps, err
}

func walkEntities(el *etree.Element, idps, sps *[]*etree.Element, depth int) *Finding {
	if depth > 8 {
		f := fatal(Invalid, "EntitiesDescriptor nested too deep")
		return &f
	}
	for _, c := range el.ChildElements() {
		switch {
		case samlxml.Is(c, samlxml.NSMetadata, "EntityDescriptor"):
			collectEntities(c, idps, sps)
		case samlxml.Is(c, samlxml.NSMetadata, "EntitiesDescriptor"):
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
	for _, d := range samlxml.Children(ed, samlxml.NSMetadata, "IDPSSODescriptor") {
		if strings.Contains(" "+samlxml.AttrValue(d, "protocolSupportEnumeration")+" ", " "+samlxml.NSProtocol+" ") {
			*idps = append(*idps, d)
			return
		}
	}
	if len(samlxml.Children(ed, samlxml.NSMetadata, "SPSSODescriptor")) > 0 {
		*sps = append(*sps, ed)
	}
}

func readIdP(d *etree.Element, now time.Time) (*Document, []Finding) {
	var fs []Finding
	ed := d.Parent()
	doc := &Document{EntityID: samlxml.AttrValue(ed, "entityID")}
	if doc.EntityID == "" {
		fs = append(fs, fatal(Invalid, "EntityDescriptor has no entityID"))
	}
	doc.TenantID = TenantOf(doc.EntityID)
	if v, ok := samlxml.Attr(ed, "validUntil"); ok {
		t, ok := samlxml.ParseTime(v)
		switch {
		case !ok:
			fs = append(fs, fatal(Invalid, "validUntil %q is not a valid time", v))
		case !now.IsZero() && !now.Before(t):
			doc.ValidUntil = t
			fs = append(fs, fatal(Invalid, "the metadata expired at %s (validUntil); download it again", t.Format(time.RFC3339)))
		default:
			doc.ValidUntil = t
		}
	}

	doc.SignOnURL = redirectLocation(d, "SingleSignOnService")
	doc.SignOnPOSTURL = location(d, "SingleSignOnService", samlxml.BindingPOST)
	switch {
	case doc.SignOnURL == "" && doc.SignOnPOSTURL != "":
		// JumpCloud (unless "Declare Redirect Endpoint" is ticked) and
		// older OneLogin exports list the sign-on URL for HTTP-POST only:
		// AuthnRequests then go by HTTP-POST.
		if !IsHTTPURL(doc.SignOnPOSTURL) {
			fs = append(fs, fatal(Invalid, "the sign-on URL %q is not an absolute http(s) URL", doc.SignOnPOSTURL))
		}
	case doc.SignOnURL == "":
		fs = append(fs, fatal(Invalid, "no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding"))
	case !IsHTTPURL(doc.SignOnURL):
		fs = append(fs, fatal(Invalid, "the sign-on URL %q is not an absolute http(s) URL", doc.SignOnURL))
	}
	doc.LogoutURL = redirectLocation(d, "SingleLogoutService")
	if doc.LogoutURL != "" && !IsHTTPURL(doc.LogoutURL) {
		fs = append(fs, fatal(Invalid, "the logout URL %q is not an absolute http(s) URL", doc.LogoutURL))
	}

	for _, kd := range samlxml.Children(d, samlxml.NSMetadata, "KeyDescriptor") {
		if use := samlxml.AttrValue(kd, "use"); use != "" && use != "signing" {
			continue
		}
		certs, f := keyDescriptorCerts(kd)
		if f != nil {
			return doc, append(fs, *f)
		}
		for _, c := range certs {
			if !containsCert(doc.Certificates, c) {
				doc.Certificates = append(doc.Certificates, c)
			}
		}
	}
	if len(doc.Certificates) == 0 {
		return doc, append(fs, fatal(Invalid, "no signing certificate in the IDPSSODescriptor"))
	}
	return doc, append(fs, checkCertificates(doc.Certificates, now)...)
}

func redirectLocation(d *etree.Element, service string) string {
	return location(d, service, samlxml.BindingRedirect)
}

func location(d *etree.Element, service, binding string) string {
	for _, s := range samlxml.Children(d, samlxml.NSMetadata, service) {
		if samlxml.AttrValue(s, "Binding") == binding {
			return samlxml.AttrValue(s, "Location")
		}
	}
	return ""
}

func keyDescriptorCerts(kd *etree.Element) ([]*x509.Certificate, *Finding) {
	var out []*x509.Certificate
	for _, ki := range samlxml.Children(kd, samlxml.NSDSig, "KeyInfo") {
		for _, xd := range samlxml.Children(ki, samlxml.NSDSig, "X509Data") {
			for _, xc := range samlxml.Children(xd, samlxml.NSDSig, "X509Certificate") {
				s, _ := samlxml.Text(xc)
				der, err := samlxml.DecodeBase64(s)
				if err != nil {
					f := fatal(Invalid, "a signing certificate is not valid base64: %v", err)
					return nil, &f
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					f := fatal(Invalid, "a signing certificate cannot be parsed: %v", err)
					return nil, &f
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// checkCertificates reports each certificate that is weak, expired, not
// yet valid or expiring, and a fatal finding when none is usable now:
// every one is weak, or (when now is set) expired or not yet valid.
func checkCertificates(certs []*x509.Certificate, now time.Time) []Finding {
	var fs []Finding
	strong, current := 0, 0
	for i, c := range certs {
		const day = "2006-01-02"
		f := Finding{Cert: i}
		switch {
		case !UsableKey(c):
			f.Code, f.Reason = WeakKey, fmt.Sprintf("the signing certificate %s does not have an RSA key of at least %d bits", c.Subject, MinRSABits)
		case now.IsZero():
			strong++
			continue
		case now.After(c.NotAfter):
			strong++
			f.Code, f.Reason = CertificateExpired, fmt.Sprintf("the signing certificate %s expired on %s", c.Subject, c.NotAfter.UTC().Format(day))
		case now.Before(c.NotBefore):
			strong++
			f.Code, f.Reason = CertificateExpired, fmt.Sprintf("the signing certificate %s is not valid before %s", c.Subject, c.NotBefore.UTC().Format(day))
		case c.NotAfter.Before(now.Add(ExpiryWarning)):
			strong++
			current++
			f.Code, f.Reason = CertificateExpiring, fmt.Sprintf("the signing certificate %s expires on %s", c.Subject, c.NotAfter.UTC().Format(day))
		default:
			strong++
			current++
			continue
		}
		fs = append(fs, f)
	}
	switch {
	case strong == 0:
		fs = append(fs, fatal(WeakKey, "no signing certificate has an RSA key of at least %d bits", MinRSABits))
	case !now.IsZero() && current == 0:
		fs = append(fs, fatal(CertificateExpired, "every signing certificate has expired (or is not yet valid): "+
			"the Entra application needs a new, active SAML signing certificate; then download the metadata again"))
	}
	return fs
}

// UsableKey reports whether c has an RSA key of at least MinRSABits.
func UsableKey(c *x509.Certificate) bool {
	k, ok := c.PublicKey.(*rsa.PublicKey)
	return ok && k.N.BitLen() >= MinRSABits
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// IsHTTPURL reports whether s is an absolute http or https URL.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
