package entrasaml

import (
	"bytes"
	"crypto/x509"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Algorithm identifiers allowed by the signature policy.
const (
	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"

	algRSASHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

	algSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	algSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// verifySignature verifies sig, the enveloped signature of el, against the
// IdP's certificates and returns what the signature covers: el, parsed
// again from the canonical bytes that were digested (without the Signature,
// comments or anything else exclusive c14n drops). Callers read only from
// that element.
func (sp *SP) verifySignature(st *idpState, el, sig *etree.Element, now time.Time) (*etree.Element, error) {
	id := attrValue(el, "ID")
	if id == "" {
		return nil, newErr(ErrInvalidSignature, "the signed <%s> has no ID", el.Tag)
	}
	if err := checkSignaturePolicy(sig, id, sp.allowSHA1); err != nil {
		return nil, err
	}
	certs, err := signerCandidates(st, sig, now)
	if err != nil {
		return nil, err
	}

	// goxmldsig verifies a detached copy of el. For it to canonicalize as
	// the signer did inside the document, el must carry the namespace
	// declarations in scope from its ancestors, and its KeyInfo, unsigned
	// and already used to pick the certificate, must go (so goxmldsig
	// neither parses it again nor uses anything but the certificate given).
	// Both changes are made in place and undone before returning: cheaper
	// than one more deep copy of the assertion.
	nsCtx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, wrapErr(ErrInvalidSignature, err, "resolving namespaces of <%s>", el.Tag)
	}
	shallow := &etree.Element{Space: el.Space, Tag: el.Tag, Attr: el.Attr}
	withNS, err := etreeutils.NSDetatch(nsCtx, shallow)
	if err != nil {
		return nil, wrapErr(ErrInvalidSignature, err, "resolving namespaces of <%s>", el.Tag)
	}
	savedAttr := el.Attr
	el.Attr = withNS.Attr
	defer func() { el.Attr = savedAttr }()
	if ki, _ := child(sig, nsDSig, "KeyInfo"); ki != nil {
		i := ki.Index()
		sig.RemoveChildAt(i)
		defer sig.InsertChildAt(i, ki)
	}

	var lastErr error
	for _, cert := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.IdAttribute = "ID"
		vc.Clock = dsig.NewFakeClockAt(now)
		verified, err := vc.Validate(el)
		if err == nil {
			if attrValue(verified, "ID") != id || verified.Tag != el.Tag || verified.NamespaceURI() != el.NamespaceURI() {
				return nil, newErr(ErrInvalidSignature, "the verified element is not the signed <%s>", el.Tag)
			}
			return verified, nil
		}
		lastErr = err
	}
	return nil, wrapErr(ErrInvalidSignature, lastErr, "the signature on <%s> does not verify", el.Tag)
}

// signerCandidates returns the metadata certificates that may have made
// sig. A certificate in KeyInfo only selects among them: one that the
// metadata lacks is ErrUnknownSigner, never trusted.
func signerCandidates(st *idpState, sig *etree.Element, now time.Time) ([]*x509.Certificate, error) {
	var keyInfoCert *etree.Element
	if ki, _ := child(sig, nsDSig, "KeyInfo"); ki != nil {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			if xc := children(xd, nsDSig, "X509Certificate"); len(xc) > 0 {
				keyInfoCert = xc[0]
				break
			}
		}
	}
	if keyInfoCert == nil {
		var out []*x509.Certificate
		for _, c := range st.certs {
			if validAt(c, now) {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			return nil, newErr(ErrInvalidSignature, "no IdP signing certificate is valid now")
		}
		return out, nil
	}
	s, _ := text(keyInfoCert)
	der, err := decodeBase64Loose(s)
	if err != nil {
		return nil, newErr(ErrUnknownSigner, "the KeyInfo certificate is not valid base64")
	}
	for _, c := range st.md.Certificates {
		if !bytes.Equal(c.Raw, der) {
			continue
		}
		switch {
		case !usableKey(c):
			return nil, newErr(ErrInvalidSignature, "the signing certificate's key is not RSA of at least %d bits", minRSABits)
		case !validAt(c, now):
			return nil, newErr(ErrInvalidSignature, "the signing certificate is valid only from %s to %s",
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
		}
		return []*x509.Certificate{c}, nil
	}
	reason := "the message was signed with a certificate that the IdP metadata does not list"
	if st.md.TenantID != "" {
		reason += ": configure the Entra application's own federation metadata (the URL with ?appid=…), " +
			"not the tenant-level document, which lacks the app's SAML signing certificate; " +
			"if the app's certificate was just changed, download the metadata again"
	}
	return nil, newErr(ErrUnknownSigner, "%s", reason)
}

func validAt(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// checkSignaturePolicy enforces the shape and algorithms of an enveloped
// signature on the element with ID id, before any cryptography runs:
// SignedInfo, SignatureValue and at most one KeyInfo, nothing else;
// exclusive c14n; RSA-SHA256/384/512 (RSA-SHA1 with allowSHA1); exactly one
// Reference, to "#"+id; transforms exactly enveloped-signature then
// exclusive c14n; a SHA-256/384/512 digest (SHA-1 with allowSHA1).
func checkSignaturePolicy(sig *etree.Element, id string, allowSHA1 bool) error {
	bad := func(format string, args ...any) error {
		return newErr(ErrInvalidSignature, "signature policy: "+format, args...)
	}
	var signedInfo, sigValue, keyInfo int
	var si *etree.Element
	for _, c := range sig.ChildElements() {
		if c.NamespaceURI() != nsDSig {
			return bad("unexpected element in Signature")
		}
		switch c.Tag {
		case "SignedInfo":
			signedInfo++
			si = c
		case "SignatureValue":
			sigValue++
		case "KeyInfo":
			keyInfo++
		default:
			return bad("unexpected <%s> in Signature", c.Tag)
		}
	}
	if signedInfo != 1 || sigValue != 1 || keyInfo > 1 {
		return bad("Signature must hold one SignedInfo, one SignatureValue and at most one KeyInfo")
	}

	var c14n, method, ref *etree.Element
	for _, c := range si.ChildElements() {
		if c.NamespaceURI() != nsDSig {
			return bad("unexpected element in SignedInfo")
		}
		switch {
		case c.Tag == "CanonicalizationMethod" && c14n == nil:
			c14n = c
		case c.Tag == "SignatureMethod" && method == nil:
			method = c
		case c.Tag == "Reference" && ref == nil:
			ref = c
		default:
			return bad("SignedInfo must hold one CanonicalizationMethod, SignatureMethod and Reference")
		}
	}
	if c14n == nil || method == nil || ref == nil {
		return bad("SignedInfo must hold one CanonicalizationMethod, SignatureMethod and Reference")
	}
	if attrValue(c14n, "Algorithm") != algExcC14N || len(c14n.ChildElements()) > 0 {
		return bad("CanonicalizationMethod must be exclusive c14n without comments")
	}
	switch attrValue(method, "Algorithm") {
	case algRSASHA256, algRSASHA384, algRSASHA512:
	case algRSASHA1:
		if !allowSHA1 {
			return bad("RSA-SHA1 signatures are refused (Config.AllowSHA1 is false)")
		}
	default:
		return bad("SignatureMethod must be RSA-SHA256, RSA-SHA384 or RSA-SHA512")
	}
	if len(method.ChildElements()) > 0 {
		return bad("SignatureMethod must have no parameters")
	}

	if uri, ok := attr(ref, "URI"); !ok || uri != "#"+id {
		return bad("the Reference must point to the signed element's own ID")
	}
	var transforms, digestMethod, digestValue *etree.Element
	for _, c := range ref.ChildElements() {
		if c.NamespaceURI() != nsDSig {
			return bad("unexpected element in Reference")
		}
		switch {
		case c.Tag == "Transforms" && transforms == nil:
			transforms = c
		case c.Tag == "DigestMethod" && digestMethod == nil:
			digestMethod = c
		case c.Tag == "DigestValue" && digestValue == nil:
			digestValue = c
		default:
			return bad("Reference must hold one Transforms, DigestMethod and DigestValue")
		}
	}
	if transforms == nil || digestMethod == nil || digestValue == nil {
		return bad("Reference must hold one Transforms, DigestMethod and DigestValue")
	}
	ts := transforms.ChildElements()
	if len(ts) != 2 || !is(ts[0], nsDSig, "Transform") || !is(ts[1], nsDSig, "Transform") ||
		attrValue(ts[0], "Algorithm") != algEnveloped || attrValue(ts[1], "Algorithm") != algExcC14N ||
		len(ts[0].ChildElements()) > 0 {
		return bad("transforms must be exactly enveloped-signature then exclusive c14n")
	}
	for _, c := range ts[1].ChildElements() {
		if !is(c, nsExcC14N, "InclusiveNamespaces") {
			return bad("unexpected parameter of the exclusive c14n transform")
		}
	}
	switch attrValue(digestMethod, "Algorithm") {
	case algSHA256, algSHA384, algSHA512:
	case algSHA1:
		if !allowSHA1 {
			return bad("SHA-1 digests are refused (Config.AllowSHA1 is false)")
		}
	default:
		return bad("DigestMethod must be SHA-256, SHA-384 or SHA-512")
	}
	return nil
}
