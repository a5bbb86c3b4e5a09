package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CertificateSubject is the common name Entra gives the signing certificate
// of every enterprise application.
const CertificateSubject = "Microsoft Azure Federated SSO Certificate"

// Key is an IdP signing key with its self-signed certificate, like the
// "Microsoft Azure Federated SSO Certificate" Entra creates for each
// enterprise application. A Key is immutable once created: do not modify
// its fields after passing it to an [IdP].
type Key struct {
	PrivateKey  *rsa.PrivateKey
	Certificate *x509.Certificate
}

// NewKey generates an RSA key of the given size in bits and a self-signed
// SHA-256 certificate for it, valid from notBefore to notAfter, with the
// subject CN "Microsoft Azure Federated SSO Certificate" and a random
// 128-bit serial number, as Entra issues them. Entra uses 2048 bits and
// three years. The validity period is not checked against the clock, so a
// test can build expired or not-yet-valid certificates.
//
// NewKey fails if bits is rejected by crypto/rsa (below 1024 bits), if
// notAfter is before notBefore, or if the system's random source fails.
// Key generation is slow (tens of milliseconds for 2048 bits, more under the
// race detector): tests should create few keys and share them.
func NewKey(bits int, notBefore, notAfter time.Time) (*Key, error) {
	if notAfter.Before(notBefore) {
		return nil, fmt.Errorf("entratest: certificate notAfter %v is before notBefore %v", notAfter, notBefore)
	}
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("entratest: generate RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("entratest: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: CertificateSubject},
		NotBefore:          notBefore.UTC(),
		NotAfter:           notAfter.UTC(),
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("entratest: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("entratest: parse certificate: %w", err)
	}
	return &Key{PrivateKey: priv, Certificate: cert}, nil
}

// check reports whether k can sign: both fields set and the certificate
// holding the public half of the private key.
func (k *Key) check() error {
	if k == nil || k.PrivateKey == nil || k.Certificate == nil {
		return errors.New("entratest: key needs both PrivateKey and Certificate")
	}
	pub, ok := k.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&k.PrivateKey.PublicKey) {
		return errors.New("entratest: key's certificate does not match its private key")
	}
	return nil
}
