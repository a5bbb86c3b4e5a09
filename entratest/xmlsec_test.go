package entratest_test

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/internal/tooltest"
)

// xmlsecVerify checks the signature selected by xpath in doc with xmlsec1
// (libxml2's canonicalization, independent of goxmldsig) and the
// certificate of key. It skips the test when xmlsec1 is not installed.
func xmlsecVerify(t *testing.T, doc []byte, key *entratest.Key, xpath string) error {
	t.Helper()
	bin := tooltest.XMLSec1().Need(t)
	dir := t.TempDir()
	certFile, docFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "doc.xml")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: key.Certificate.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--verify", "--pubkey-cert-pem", certFile,
		"--id-attr:ID", nsProtocol+":Response",
		"--id-attr:ID", nsAssertion+":Assertion",
		"--id-attr:ID", nsMetadata+":EntityDescriptor",
		"--node-xpath", xpath, docFile).CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmlsec1: %v\n%s", err, out)
	}
	return nil
}

const (
	xpathResponseSig  = "/*[local-name()='Response']/*[local-name()='Signature']"
	xpathAssertionSig = "//*[local-name()='Assertion']/*[local-name()='Signature']"
	xpathMetadataSig  = "/*[local-name()='EntityDescriptor']/*[local-name()='Signature']"
)

func TestXMLSec1(t *testing.T) {
	t.Parallel()
	key, foreign := newTestKey(t), newTestKey(t)
	idp := newTestIdP(t, key)
	md := idp.Metadata()
	if err := xmlsecVerify(t, md, key, xpathMetadataSig); err != nil {
		t.Errorf("metadata: %v", err)
	}
	if xmlsecVerify(t, md, foreign, xpathMetadataSig) == nil {
		t.Error("xmlsec1 accepts the metadata with another certificate: the check proves nothing")
	}
	for _, mode := range []entratest.SignMode{entratest.SignAssertion, entratest.SignResponse, entratest.SignBoth} {
		for _, sha1 := range []bool{false, true} {
			b, err := idp.ResponseXML(entratest.Response{
				ACSURL:   "https://sp.example/acs?a=1&b=2",
				Audience: "https://sp.example",
				User:     entratest.User{UPN: "u@x.example", DisplayName: "a<b&c\"d\r\n\te"},
				Sign:     mode,
				SHA1:     sha1,
			})
			if err != nil {
				t.Fatal(err)
			}
			if mode != entratest.SignAssertion {
				if err := xmlsecVerify(t, b, key, xpathResponseSig); err != nil {
					t.Errorf("%v sha1=%v response: %v", mode, sha1, err)
				}
			}
			if mode != entratest.SignResponse {
				if err := xmlsecVerify(t, b, key, xpathAssertionSig); err != nil {
					t.Errorf("%v sha1=%v assertion: %v", mode, sha1, err)
				}
			}
			if mode == entratest.SignBoth {
				tampered := bytes.Replace(b, []byte("u@x.example"), []byte("v@x.example"), 1)
				if xmlsecVerify(t, tampered, key, xpathAssertionSig) == nil || xmlsecVerify(t, tampered, key, xpathResponseSig) == nil {
					t.Errorf("xmlsec1 accepts a tampered response (sha1=%v)", sha1)
				}
			}
		}
	}
}
