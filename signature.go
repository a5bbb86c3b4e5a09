package entrasaml

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // RSA-SHA1 and SHA-1 digests, with Config.AllowSHA1
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"time"

	"github.com/beevik/etree"
)

// Algorithm identifiers allowed by the signature policy.
const (
	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"

	algRSASHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
)

// verifySignature verifies sig, the enveloped signature of el, against the
// IdP's certificates and returns what the signature covers: a detached copy
// of el in canonical form, exactly the tree whose serialization was
// digested (without the Signature, comments or anything else exclusive
// c14n drops). Callers read only from that element.
//
// It runs the XML-DSig core validation with excC14N (c14n.go), after checkSignaturePolicy has pinned every algorithm
// and the one Reference: canonicalize SignedInfo, verify SignatureValue
// over it with RSA, then read the Reference from that verified SignedInfo
// and compare its DigestValue with the digest of el without its Signature,
// canonicalized. The signature is checked before the referenced element is
// canonicalized, so forged messages cost one RSA verification.
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
	return verifyEnveloped(el, sig, id, certs, sp.allowSHA1)
}

// verifyEnveloped is the core validation of verifySignature, against certs.
func verifyEnveloped(el, sig *etree.Element, id string, certs []*x509.Certificate, allowSHA1 bool) (*etree.Element, error) {
	if err := checkSignaturePolicy(sig, id, allowSHA1); err != nil {
		return nil, err
	}
	bad := func(cause error, format string, args ...any) error {
		return wrapErr(ErrInvalidSignature, cause, format, args...)
	}

	// SignedInfo, canonicalized as it was signed, and the signature over it.
	si, _ := child(sig, nsDSig, "SignedInfo")
	signedInfo, siBytes, err := excC14N(si, -1, "")
	if err != nil {
		return nil, bad(err, "canonicalizing SignedInfo")
	}
	// The policy held for the parsed SignedInfo; it must hold for the
	// canonical one that the signature covers, which every value below
	// comes from.
	if err := checkSignedInfo(signedInfo, id, allowSHA1); err != nil {
		return nil, err
	}
	sv, _ := child(sig, nsDSig, "SignatureValue")
	svText, _ := text(sv)
	sigValue, err := decodeBase64Loose(svText)
	if err != nil || len(sigValue) == 0 {
		return nil, newErr(ErrInvalidSignature, "SignatureValue is not base64")
	}
	method, _ := child(signedInfo, nsDSig, "SignatureMethod")
	hash := hashFor(attrValue(method, "Algorithm"))
	hashed := hash.New()
	hashed.Write(siBytes)
	siDigest := hashed.Sum(nil)
	verified := false
	for _, c := range certs {
		if rsa.VerifyPKCS1v15(c.PublicKey.(*rsa.PublicKey), hash, siDigest, sigValue) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, newErr(ErrInvalidSignature, "the signature on <%s> does not verify", el.Tag)
	}

	// The Reference, from the verified SignedInfo: el without its
	// Signature (enveloped-signature), exclusive c14n, digest.
	ref, _ := child(signedInfo, nsDSig, "Reference")
	transforms, _ := child(ref, nsDSig, "Transforms")
	var prefixList string
	if inc, _ := child(transforms.ChildElements()[1], nsExcC14N, "InclusiveNamespaces"); inc != nil {
		prefixList = attrValue(inc, "PrefixList")
	}
	dm, _ := child(ref, nsDSig, "DigestMethod")
	dv, _ := child(ref, nsDSig, "DigestValue")
	dvText, _ := text(dv)
	want, err := decodeBase64Loose(dvText)
	if err != nil {
		return nil, newErr(ErrInvalidSignature, "DigestValue is not base64")
	}
	signed, elBytes, err := excC14N(el, sig.Index(), prefixList)
	if err != nil {
		return nil, bad(err, "canonicalizing <%s>", el.Tag)
	}
	h := hashFor(attrValue(dm, "Algorithm")).New()
	h.Write(elBytes)
	if got := h.Sum(nil); len(want) != len(got) || subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, newErr(ErrInvalidSignature, "the digest of <%s> does not match: it was altered after signing", el.Tag)
	}
	return signed, nil
}

// hashFor maps an allowed SignatureMethod or DigestMethod to its hash.
// checkSignedInfo has already refused every other algorithm.
func hashFor(alg string) crypto.Hash {
	switch alg {
	case algRSASHA1, algSHA1:
		return crypto.SHA1
	case algRSASHA384, algSHA384:
		return crypto.SHA384
	case algRSASHA512, algSHA512:
		return crypto.SHA512
	}
	return crypto.SHA256
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

	return checkSignedInfo(si, id, allowSHA1)
}

// checkSignedInfo is checkSignaturePolicy for SignedInfo.
func checkSignedInfo(si *etree.Element, id string, allowSHA1 bool) error {
	bad := func(format string, args ...any) error {
		return newErr(ErrInvalidSignature, "signature policy: "+format, args...)
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
