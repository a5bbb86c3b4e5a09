// Command gencert writes an RSA private key and a self-signed X.509
// certificate as PEM files, with an explicit validity window (Debian 12's
// openssl cannot back-date notBefore). Test-only keys; see ../README.md.
//
// Usage (from the repository root):
//
//	go run ./testdata/xmlsec/gencert -out testdata/keys -name idp-a \
//	    -cn "Microsoft Azure Federated SSO Certificate" -bits 2048 \
//	    -not-before 2025-01-01T00:00:00Z -not-after 2045-01-01T00:00:00Z
//
// It writes <out>/<name>.key (PKCS#8, "PRIVATE KEY") and <out>/<name>.crt
// ("CERTIFICATE"). Existing files are left alone unless -force is given,
// so re-running the generator keeps the keys (and therefore the signed
// fixtures) stable.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

func main() {
	out := flag.String("out", "testdata/keys", "output directory")
	name := flag.String("name", "", "base file name (required)")
	cn := flag.String("cn", "", "subject and issuer common name (required)")
	bits := flag.Int("bits", 2048, "RSA modulus size")
	nb := flag.String("not-before", "", "notBefore, RFC 3339 (required)")
	na := flag.String("not-after", "", "notAfter, RFC 3339 (required)")
	force := flag.Bool("force", false, "overwrite existing key and certificate")
	flag.Parse()
	if err := run(*out, *name, *cn, *bits, *nb, *na, *force); err != nil {
		fmt.Fprintln(os.Stderr, "gencert:", err)
		os.Exit(1)
	}
}

func run(out, name, cn string, bits int, nbs, nas string, force bool) error {
	if name == "" || cn == "" || nbs == "" || nas == "" {
		return errors.New("-name, -cn, -not-before and -not-after are required")
	}
	notBefore, err := time.Parse(time.RFC3339, nbs)
	if err != nil {
		return fmt.Errorf("-not-before: %w", err)
	}
	notAfter, err := time.Parse(time.RFC3339, nas)
	if err != nil {
		return fmt.Errorf("-not-after: %w", err)
	}
	if !notAfter.After(notBefore) {
		return errors.New("-not-after must be after -not-before")
	}
	keyPath := filepath.Join(out, name+".key")
	crtPath := filepath.Join(out, name+".crt")
	if !force && exists(keyPath) && exists(crtPath) {
		fmt.Printf("gencert: %s and %s exist, keeping them\n", keyPath, crtPath)
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	subject := pkix.Name{CommonName: cn}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            subject,
		Issuer:             subject,
		NotBefore:          notBefore.UTC(),
		NotAfter:           notAfter.UTC(),
		SignatureAlgorithm: x509.SHA256WithRSA,
		KeyUsage:           x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(crtPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	fmt.Printf("gencert: wrote %s and %s (RSA-%d, %q, %s..%s)\n", keyPath, crtPath, bits, cn,
		notBefore.UTC().Format(time.RFC3339), notAfter.UTC().Format(time.RFC3339))
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
