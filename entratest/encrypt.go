package entratest

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// Content encryption algorithms for [Encryption.Method].
const (
	AES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc" // Entra's
	AES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
)

// Key transport algorithms for [Encryption.KeyTransport].
const (
	RSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" // Entra's
	RSAOAEP      = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
)

const (
	nsXMLEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXMLEnc11 = "http://www.w3.org/2009/xmlenc11#"
)

// Encryption makes [IdP.ResponseXML] encrypt the assertion, as Entra does
// when the application has "Token encryption" on: the assertion is signed
// first (as Response.Sign says), then replaced by an EncryptedAssertion,
// then the Response is signed if Response.Sign says so. The zero values are
// Entra's choices: AES-256-CBC content encryption, RSA-OAEP-MGF1P key
// transport with a SHA-1 digest, and the EncryptedKey inside the
// EncryptedData's KeyInfo.
type Encryption struct {
	// Certificate is the SP's encryption certificate, the one uploaded to
	// Entra. Required; it must hold an RSA key.
	Certificate *x509.Certificate
	// Method is the content encryption algorithm: AES128CBC, AES256CBC,
	// AES128GCM or AES256GCM. Default AES256CBC.
	Method string
	// KeyTransport is RSAOAEPMGF1P (the default) or RSAOAEP (XML
	// Encryption 1.1).
	KeyTransport string
	// SHA256 makes RSA-OAEP use SHA-256 as its digest, and with RSAOAEP
	// also for MGF1 (stated in an MGF element), instead of SHA-1.
	SHA256 bool
	// KeyBeside puts the EncryptedKey next to the EncryptedData in the
	// EncryptedAssertion, referenced by a RetrievalMethod, as some IdPs
	// do, instead of inside the EncryptedData's KeyInfo.
	KeyBeside bool
}

// encryptAssertion replaces a, inside its parent, by an EncryptedAssertion
// holding a encrypted as e says.
func encryptAssertion(a *etree.Element, e *Encryption) error {
	if e.Certificate == nil {
		return errors.New("entratest: Encryption.Certificate is required")
	}
	pub, ok := e.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("entratest: Encryption.Certificate must hold an RSA key")
	}
	method, transport := e.Method, e.KeyTransport
	if method == "" {
		method = AES256CBC
	}
	if transport == "" {
		transport = RSAOAEPMGF1P
	}
	keySize := map[string]int{AES128CBC: 16, AES256CBC: 32, AES128GCM: 16, AES256GCM: 32}[method]
	if keySize == 0 {
		return fmt.Errorf("entratest: unknown Encryption.Method %q", method)
	}
	if transport != RSAOAEPMGF1P && transport != RSAOAEP {
		return fmt.Errorf("entratest: unknown Encryption.KeyTransport %q", transport)
	}

	// The assertion declares its own namespace, so it serializes alone.
	doc := etree.NewDocument()
	doc.SetRoot(a.Copy())
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalText: true}
	plaintext, err := doc.WriteToBytes()
	if err != nil {
		return fmt.Errorf("entratest: serialize the assertion: %w", err)
	}
	cek := make([]byte, keySize)
	rand.Read(cek)
	ciphertext, err := encryptContent(method, cek, plaintext)
	if err != nil {
		return err
	}
	hash, digest := crypto.SHA1, "http://www.w3.org/2000/09/xmldsig#sha1"
	if e.SHA256 {
		hash, digest = crypto.SHA256, "http://www.w3.org/2001/04/xmlenc#sha256"
	}
	mgf := crypto.SHA1 // rsa-oaep-mgf1p always; rsa-oaep unless an MGF says otherwise
	if transport == RSAOAEP {
		mgf = hash
	}
	wrapped, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, cek, &rsa.OAEPOptions{Hash: hash, MGFHash: mgf})
	if err != nil {
		return fmt.Errorf("entratest: wrap the content key: %w", err)
	}

	// The shape of Microsoft's token services: xenc and e prefixes, ds as
	// the default namespace of KeyInfo.
	ea := etree.NewElement("EncryptedAssertion")
	ea.CreateAttr("xmlns", nsAssertion)
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("Type", nsXMLEnc+"Element")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", method)
	ki := ed.CreateElement("KeyInfo")
	ki.CreateAttr("xmlns", nsDSig)

	ek := etree.NewElement("e:EncryptedKey")
	ek.CreateAttr("xmlns:e", nsXMLEnc)
	em := ek.CreateElement("e:EncryptionMethod")
	em.CreateAttr("Algorithm", transport)
	dm := em.CreateElement("DigestMethod")
	if e.KeyBeside {
		dm.CreateAttr("xmlns", nsDSig) // no KeyInfo around it
	}
	dm.CreateAttr("Algorithm", digest)
	if transport == RSAOAEP && mgf != crypto.SHA1 {
		m := em.CreateElement("xenc11:MGF")
		m.CreateAttr("xmlns:xenc11", nsXMLEnc11)
		m.CreateAttr("Algorithm", nsXMLEnc11+"mgf1sha256")
	}
	eki := ek.CreateElement("KeyInfo")
	if e.KeyBeside {
		eki.CreateAttr("xmlns", nsDSig)
	}
	eki.CreateElement("X509Data").CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(e.Certificate.Raw))
	ek.CreateElement("e:CipherData").CreateElement("e:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))

	if e.KeyBeside {
		dataID, keyID := "_"+newGUID(), "_"+newGUID()
		ed.CreateAttr("Id", dataID)
		rm := ki.CreateElement("RetrievalMethod")
		rm.CreateAttr("Type", nsXMLEnc+"EncryptedKey")
		rm.CreateAttr("URI", "#"+keyID)
		ek.CreateAttr("Id", keyID)
		ek.CreateElement("e:ReferenceList").CreateElement("e:DataReference").CreateAttr("URI", "#"+dataID)
		ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ciphertext))
		ea.AddChild(ek)
	} else {
		ki.AddChild(ek)
		ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ciphertext))
	}

	parent := a.Parent()
	i := a.Index()
	parent.RemoveChildAt(i)
	parent.InsertChildAt(i, ea)
	return nil
}

// encryptContent encrypts plaintext with cek as XML Encryption says: CBC
// with a random IV prefix and padding whose last byte is its length; GCM
// with a random 96-bit nonce prefix and the 128-bit tag appended.
func encryptContent(method string, cek, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, fmt.Errorf("entratest: %w", err)
	}
	if method == AES128GCM || method == AES256GCM {
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("entratest: %w", err)
		}
		nonce := make([]byte, gcm.NonceSize())
		rand.Read(nonce)
		return gcm.Seal(nonce, nonce, plaintext, nil), nil
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := make([]byte, len(plaintext)+pad)
	copy(padded, plaintext)
	rand.Read(padded[len(plaintext) : len(padded)-1]) // arbitrary, as the spec allows
	padded[len(padded)-1] = byte(pad)
	out := make([]byte, aes.BlockSize+len(padded))
	rand.Read(out[:aes.BlockSize])
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], padded)
	return out, nil
}
