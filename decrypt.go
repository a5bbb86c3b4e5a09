package entrasaml

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// This file implements token encryption: Entra's EncryptedAssertion, XML
// Encryption with RSA-OAEP key transport and AES-CBC or AES-GCM content
// encryption. The cryptography is the standard library's; crewjam/saml's
// xmlenc is not used (it wants an *rsa.PrivateKey rather than a
// crypto.Decrypter, matches elements by local name only, and does not
// accept an EncryptedKey beside the EncryptedData).

// DecryptionKey is a private key the SP decrypts encrypted assertions with
// (Entra's "Token encryption"), and its certificate, the one uploaded to
// the Entra application.
type DecryptionKey struct {
	// Key is the RSA private key (at least 2048 bits); any crypto.Decrypter
	// that implements RSA-OAEP with [rsa.OAEPOptions] works, such as
	// *rsa.PrivateKey or a key held in an HSM or KMS.
	Key crypto.Decrypter
	// Certificate is the key's X.509 certificate, as uploaded to Entra.
	// It must hold Key's public key; its validity dates are not checked.
	Certificate *x509.Certificate
}

// XML Encryption identifiers.
const (
	nsXMLEnc11 = "http://www.w3.org/2009/xmlenc11#"

	typeElement = nsXMLEnc + "Element"

	algAES128CBC = nsXMLEnc + "aes128-cbc"
	algAES256CBC = nsXMLEnc + "aes256-cbc"
	algAES128GCM = nsXMLEnc11 + "aes128-gcm"
	algAES256GCM = nsXMLEnc11 + "aes256-gcm"

	algRSAOAEPMGF1P = nsXMLEnc + "rsa-oaep-mgf1p"
	algRSAOAEP      = nsXMLEnc11 + "rsa-oaep"
	algRSA15        = nsXMLEnc + "rsa-1_5"
)

// oaepHashes are the DigestMethod and MGF algorithms accepted for RSA-OAEP.
// SHA-1 is fine here (OAEP needs no collision resistance) and is Entra's.
var (
	oaepDigests = map[string]crypto.Hash{
		algSHA1: crypto.SHA1, algSHA256: crypto.SHA256, algSHA384: crypto.SHA384, algSHA512: crypto.SHA512,
	}
	oaepMGFs = map[string]crypto.Hash{
		nsXMLEnc11 + "mgf1sha1": crypto.SHA1, nsXMLEnc11 + "mgf1sha256": crypto.SHA256,
		nsXMLEnc11 + "mgf1sha384": crypto.SHA384, nsXMLEnc11 + "mgf1sha512": crypto.SHA512,
	}
)

// checkDecryptionKeys validates Config.DecryptionKeys for New.
func checkDecryptionKeys(keys []DecryptionKey) error {
	for i, k := range keys {
		if k.Key == nil || k.Certificate == nil {
			return newErr(ErrConfig, "DecryptionKeys[%d] needs both Key and Certificate (the certificate uploaded to Entra)", i)
		}
		pub, ok := k.Key.Public().(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < minRSABits {
			return newErr(ErrConfig, "DecryptionKeys[%d].Key must be an RSA key of at least %d bits", i, minRSABits)
		}
		if cp, ok := k.Certificate.PublicKey.(*rsa.PublicKey); !ok || !cp.Equal(pub) {
			return newErr(ErrConfig, "DecryptionKeys[%d].Certificate does not match its Key", i)
		}
	}
	return nil
}

// errUndecryptable is the one error for every failure after the structure
// and algorithms were accepted: no key unwraps the content key, the content
// key has the wrong size, the padding or the GCM tag is wrong, or the
// plaintext is not one well-formed Assertion. Identical errors leave no
// oracle in the returned value.
func errUndecryptable() error {
	return newErr(ErrDecryption, "the EncryptedAssertion does not decrypt to an Assertion with any of Config.DecryptionKeys "+
		"(the certificate uploaded to Entra is not among them, or the ciphertext was altered)")
}

// decryptAssertion decrypts enc, the EncryptedAssertion of resp (taken
// from the verified copy when signed), and puts the Assertion in its
// place, so that it resolves namespaces and canonicalizes as it did inside
// the Response when it was signed. It parses the EncryptedAssertion's
// structure and algorithms, applies the CBC policy and the size limit,
// unwraps the content key, decrypts, and parses the plaintext as strictly
// as the input. It checks no signature and scans nothing: Verify does both.
func (sp *SP) decryptAssertion(resp, enc *etree.Element, signed bool) (*etree.Element, error) {
	ed, err := parseEncryptedAssertion(enc)
	if err != nil {
		return nil, err
	}
	if ed.cbc && !signed && !sp.allowUnsignedCBC {
		return nil, newErr(ErrInvalidSignature, "the assertion is encrypted with AES-CBC but the Response is not signed: "+
			"unauthenticated CBC ciphertext can be altered; choose \"Sign SAML response and assertion\" in Entra, or set Config.AllowUnsignedCBC")
	}
	if len(ed.data) > sp.maxSize {
		return nil, &Error{Err: ErrDecryption, Reason: fmt.Sprintf("the encrypted assertion is larger than %d bytes", sp.maxSize), large: true}
	}
	plaintext, err := sp.decryptData(ed, signed)
	if err != nil {
		return nil, err
	}
	a, err := parseXML(plaintext, ErrDecryption)
	if err != nil {
		return nil, errUndecryptable()
	}
	// The plaintext may use prefixes declared around the EncryptedData (a
	// libxml2-based IdP serializes the element without them), and was
	// signed in that context: declare them on the Assertion, which then
	// takes the EncryptedAssertion's place (canonical XML does not depend
	// on where a declaration sits).
	if err := inheritNamespaces(a, enc); err != nil {
		return nil, err
	}
	i := enc.Index()
	resp.RemoveChildAt(i)
	resp.InsertChildAt(i, a)
	if !is(a, nsAssertion, "Assertion") {
		return nil, errUndecryptable()
	}
	return a, nil
}

// inheritNamespaces declares on a every namespace in scope inside enc
// that a does not declare itself.
func inheritNamespaces(a, enc *etree.Element) error {
	ctx, err := etreeutils.NSBuildParentContext(enc)
	if err == nil {
		ctx, err = ctx.SubContext(enc)
	}
	if err != nil {
		return wrapErr(ErrMalformed, err, "invalid namespace declarations around the EncryptedAssertion")
	}
	prefixes := ctx.Prefixes()
	for _, p := range slices.Sorted(maps.Keys(prefixes)) {
		ns := prefixes[p]
		switch {
		case p == "xml" || p == "xmlns" || (p == "" && ns == etreeutils.XMLNamespace):
			continue // implicit, or etreeutils' placeholder for "no default namespace"
		case p == "":
			if _, ok := attr(a, "xmlns"); !ok {
				a.Attr = append(a.Attr, etree.Attr{Key: "xmlns", Value: ns})
			}
		case a.SelectAttr("xmlns:"+p) == nil:
			a.Attr = append(a.Attr, etree.Attr{Space: "xmlns", Key: p, Value: ns})
		}
	}
	return nil
}

// encryptedData is a parsed EncryptedAssertion, before any cryptography.
type encryptedData struct {
	keySize int    // AES key bytes: 16 or 32
	cbc     bool   // AES-CBC, else AES-GCM
	data    []byte // IV || ciphertext (CBC); nonce || ciphertext || tag (GCM)

	oaepHash, mgfHash crypto.Hash
	label             []byte // OAEPparams
	wrappedKey        []byte
	keyCert           []byte // the first X509Certificate in the EncryptedKey's KeyInfo, if any: which key it was wrapped for
}

// parseEncryptedAssertion reads enc's structure and algorithms: one
// EncryptedData (Type Element) with AES-128/256-CBC or -GCM and an inline
// CipherValue, and exactly one EncryptedKey, in the EncryptedData's KeyInfo
// or beside the EncryptedData, with RSA-OAEP. Anything else is
// ErrDecryption, with a Reason naming only what the policy expects.
func parseEncryptedAssertion(enc *etree.Element) (*encryptedData, error) {
	bad := func(format string, args ...any) error {
		return newErr(ErrDecryption, "EncryptedAssertion: "+format, args...)
	}
	var data *etree.Element
	var keys []*etree.Element
	for _, c := range enc.ChildElements() {
		switch {
		case is(c, nsXMLEnc, "EncryptedData") && data == nil:
			data = c
		case is(c, nsXMLEnc, "EncryptedKey"):
			keys = append(keys, c)
		default:
			return nil, bad("it must hold one EncryptedData and its EncryptedKey, nothing else")
		}
	}
	if data == nil {
		return nil, bad("no EncryptedData")
	}
	if t, ok := attr(data, "Type"); ok && t != typeElement {
		return nil, bad("the EncryptedData Type must be Element")
	}
	method, cipherData, keyInfo, err := encryptedParts(data, "EncryptedData", "EncryptionProperties")
	if err != nil {
		return nil, err
	}
	ed := &encryptedData{}
	switch attrValue(method, "Algorithm") {
	case algAES128CBC:
		ed.keySize, ed.cbc = 16, true
	case algAES256CBC:
		ed.keySize, ed.cbc = 32, true
	case algAES128GCM:
		ed.keySize = 16
	case algAES256GCM:
		ed.keySize = 32
	default:
		return nil, bad("the content encryption must be AES-128 or AES-256 in CBC or GCM mode")
	}
	if len(method.ChildElements()) > 0 {
		return nil, bad("unexpected parameters of the content EncryptionMethod")
	}
	if ed.data, err = cipherValue(cipherData); err != nil {
		return nil, err
	}

	if keyInfo != nil {
		keys = append(keys, children(keyInfo, nsXMLEnc, "EncryptedKey")...)
	}
	if len(keys) != 1 {
		return nil, bad("there must be exactly one EncryptedKey, in the EncryptedData's KeyInfo or beside it; found %d", len(keys))
	}
	method, cipherData, keyKeyInfo, err := encryptedParts(keys[0], "EncryptedKey", "ReferenceList", "CarriedKeyName")
	if err != nil {
		return nil, err
	}
	ed.keyCert = keyInfoCertificate(keyKeyInfo)
	alg := attrValue(method, "Algorithm")
	switch alg {
	case algRSAOAEPMGF1P, algRSAOAEP:
	case algRSA15:
		return nil, bad("RSA PKCS#1 v1.5 key transport (rsa-1_5) is refused: it is open to padding-oracle attacks; use RSA-OAEP")
	default:
		return nil, bad("the key transport must be RSA-OAEP (rsa-oaep-mgf1p or xmlenc11 rsa-oaep)")
	}
	ed.oaepHash, ed.mgfHash = crypto.SHA1, crypto.SHA1 // the defaults of both algorithms
	var seen [3]bool
	for _, p := range method.ChildElements() {
		var ok bool
		switch {
		case is(p, nsDSig, "DigestMethod") && !seen[0]:
			seen[0] = true
			ed.oaepHash, ok = oaepDigests[attrValue(p, "Algorithm")]
		case is(p, nsXMLEnc11, "MGF") && alg == algRSAOAEP && !seen[1]:
			seen[1] = true
			ed.mgfHash, ok = oaepMGFs[attrValue(p, "Algorithm")]
		case is(p, nsXMLEnc, "OAEPparams") && !seen[2]:
			seen[2] = true
			s, _ := text(p)
			ed.label, err = decodeBase64Loose(s)
			ok = err == nil
		}
		if !ok {
			return nil, bad("the RSA-OAEP parameters must be at most one DigestMethod (SHA-1/256/384/512), MGF (xmlenc11 rsa-oaep only) and OAEPparams")
		}
	}
	if ed.wrappedKey, err = cipherValue(cipherData); err != nil {
		return nil, err
	}
	return ed, nil
}

// encryptedParts returns the EncryptionMethod, CipherData and KeyInfo (nil
// when absent) of an EncryptedData or EncryptedKey el, refusing any child
// but those and the ignorable ones named in extra (from the xenc
// namespace).
func encryptedParts(el *etree.Element, name string, extra ...string) (method, cipherData, keyInfo *etree.Element, err error) {
	var ignored []string
	for _, c := range el.ChildElements() {
		switch {
		case is(c, nsXMLEnc, "EncryptionMethod") && method == nil:
			method = c
		case is(c, nsXMLEnc, "CipherData") && cipherData == nil:
			cipherData = c
		case is(c, nsDSig, "KeyInfo") && keyInfo == nil:
			keyInfo = c
		case c.NamespaceURI() == nsXMLEnc && contains(extra, c.Tag) && !contains(ignored, c.Tag):
			ignored = append(ignored, c.Tag)
		default:
			return nil, nil, nil, newErr(ErrDecryption, "EncryptedAssertion: unexpected child of the %s", name)
		}
	}
	if method == nil || cipherData == nil {
		return nil, nil, nil, newErr(ErrDecryption, "EncryptedAssertion: the %s needs an EncryptionMethod and a CipherData", name)
	}
	return method, cipherData, keyInfo, nil
}

// cipherValue decodes CipherData's only child, an inline CipherValue. A
// CipherReference (a URI to fetch) is refused.
func cipherValue(cd *etree.Element) ([]byte, error) {
	cs := cd.ChildElements()
	if len(cs) != 1 || !is(cs[0], nsXMLEnc, "CipherValue") {
		return nil, newErr(ErrDecryption, "EncryptedAssertion: CipherData must hold one CipherValue (CipherReference is not supported)")
	}
	s, ok := text(cs[0])
	if !ok {
		return nil, newErr(ErrDecryption, "EncryptedAssertion: CipherValue is not text")
	}
	b, err := decodeBase64Loose(s)
	if err != nil {
		return nil, newErr(ErrDecryption, "EncryptedAssertion: CipherValue is not valid base64")
	}
	return b, nil
}

// maxUnsignedKeyTrials bounds the RSA-OAEP decryptions an unsigned
// Response can cost when its EncryptedKey names none of
// Config.DecryptionKeys: the first this many keys are tried.
const maxUnsignedKeyTrials = 2

// keyInfoCertificate returns the DER bytes of the first X509Certificate
// of a KeyInfo's first X509Data, or nil.
func keyInfoCertificate(keyInfo *etree.Element) []byte {
	if keyInfo == nil {
		return nil
	}
	data := children(keyInfo, nsDSig, "X509Data")
	if len(data) == 0 {
		return nil
	}
	certs := children(data[0], nsDSig, "X509Certificate")
	if len(certs) == 0 {
		return nil
	}
	s, _ := text(certs[0])
	der, err := decodeBase64Loose(s)
	if err != nil {
		return nil
	}
	return der
}

// unwrapKeys returns the DecryptionKeys to try on the content key. A
// signed Response was verified before anything is decrypted, so every key
// is tried in turn (keys rotate: any of them may be the one uploaded to
// Entra). An unsigned one is anyone's, and each try is an RSA private-key
// operation: the key whose certificate the EncryptedKey's KeyInfo carries
// (Entra puts it there), and only that one; without such a certificate,
// or with one that is none of ours, the first maxUnsignedKeyTrials keys.
func (sp *SP) unwrapKeys(ed *encryptedData, signed bool) []DecryptionKey {
	if signed {
		return sp.decryptKeys
	}
	if ed.keyCert != nil {
		for i, k := range sp.decryptKeys {
			if bytes.Equal(k.Certificate.Raw, ed.keyCert) {
				return sp.decryptKeys[i : i+1]
			}
		}
	}
	return sp.decryptKeys[:min(len(sp.decryptKeys), maxUnsignedKeyTrials)]
}

// decryptData unwraps the content key with the first of unwrapKeys that
// can, then decrypts the content. Every failure is errUndecryptable.
func (sp *SP) decryptData(ed *encryptedData, signed bool) ([]byte, error) {
	opts := &rsa.OAEPOptions{Hash: ed.oaepHash, MGFHash: ed.mgfHash, Label: ed.label}
	var cek []byte
	for _, k := range sp.unwrapKeys(ed, signed) {
		if b, err := k.Key.Decrypt(rand.Reader, ed.wrappedKey, opts); err == nil {
			cek = b
			break
		}
	}
	if len(cek) != ed.keySize {
		return nil, errUndecryptable()
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, errUndecryptable()
	}
	if !ed.cbc {
		gcm, err := cipher.NewGCM(block) // 96-bit nonce, 128-bit tag, as XML Encryption 1.1 says
		if err != nil || len(ed.data) < gcm.NonceSize()+gcm.Overhead() {
			return nil, errUndecryptable()
		}
		n := gcm.NonceSize()
		pt, err := gcm.Open(nil, ed.data[:n], ed.data[n:], nil)
		if err != nil {
			return nil, errUndecryptable()
		}
		return pt, nil
	}
	if len(ed.data) < 2*aes.BlockSize || len(ed.data)%aes.BlockSize != 0 { // IV and at least one block
		return nil, errUndecryptable()
	}
	iv, ct := ed.data[:aes.BlockSize], ed.data[aes.BlockSize:]
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	// XML Encryption padding: the last byte is the padding length (1 to
	// 16); the other padding bytes are arbitrary.
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errUndecryptable()
	}
	return pt[:len(pt)-pad], nil
}
