package main

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

// The SP the fixtures are made for.
const (
	spEntityID = "https://app.example/saml/metadata"
	spACS      = "https://app.example/saml/acs"
	requestID  = "_7c1d6a9e2b4f4d7e9a1c3b5d8f0e2a46"
)

var tNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is one fake Entra tenant with its metadata on disk, shared by
// the tests (keys are slow to make).
type fixture struct {
	idp      *entratest.IdP
	metadata string // path of the app federation metadata
	tenantMD string // path of the same tenant's tenant-level metadata
	foreign  *entratest.Key
	spKey    *entratest.Key // the SP's token-decryption key
	keyFile  string         // spKey as PEM
	dir      string
}

var sharedFixture = sync.OnceValues(func() (*fixture, error) {
	dir := fixtureDir
	fx := &fixture{dir: dir}
	now := func() time.Time { return tNow }
	var err error
	if fx.idp, err = entratest.New(entratest.Options{Now: now}); err != nil {
		return nil, err
	}
	if fx.foreign, err = entratest.NewKey(2048, tNow.AddDate(-1, 0, 0), tNow.AddDate(2, 0, 0)); err != nil {
		return nil, err
	}
	if fx.spKey, err = entratest.NewKey(2048, tNow.AddDate(-1, 0, 0), tNow.AddDate(2, 0, 0)); err != nil {
		return nil, err
	}
	// The tenant-level document: the same tenant, signed by the tenant's
	// own key (CN=accounts.accesscontrol.windows.net).
	priv := fx.foreign.PrivateKey
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore: tNow.AddDate(-1, 0, 0), NotAfter: tNow.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	tenant, err := entratest.New(entratest.Options{TenantID: fx.idp.TenantID(), Key: &entratest.Key{PrivateKey: priv, Certificate: cert}, Now: now})
	if err != nil {
		return nil, err
	}
	fx.metadata = filepath.Join(dir, "app-metadata.xml")
	fx.tenantMD = filepath.Join(dir, "tenant-metadata.xml")
	fx.keyFile = filepath.Join(dir, "sp-key.pem")
	pkcs8, err := x509.MarshalPKCS8PrivateKey(fx.spKey.PrivateKey)
	if err != nil {
		return nil, err
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.spKey.Certificate.Raw})...)
	for path, data := range map[string][]byte{fx.metadata: fx.idp.Metadata(), fx.tenantMD: tenant.Metadata(), fx.keyFile: pemData} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return fx, nil
})

func testFixture(t *testing.T) *fixture {
	t.Helper()
	fx, err := sharedFixture()
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// response returns a response for the SP, changed by edit.
func (fx *fixture) response(t *testing.T, edit func(*entratest.Response)) string {
	t.Helper()
	r := entratest.Response{
		ACSURL:       spACS,
		Audience:     spEntityID,
		InResponseTo: requestID,
		User: entratest.User{ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10", UPN: "adele.vance@contoso.example",
			Groups: []string{"b5b7e2a4-1f3c-4e8a-9d6b-0c2e4f6a8b1d"}},
	}
	if edit != nil {
		edit(&r)
	}
	b64, err := fx.idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	return b64
}

// cli runs the command in-process as a user would.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// verifyArgs are the explain flags for the fixture SP.
func (fx *fixture) verifyArgs(extra ...string) []string {
	return append([]string{"explain", "-metadata", fx.metadata, "-entity-id", spEntityID, "-acs", spACS,
		"-at", tNow.Add(time.Minute).Format(time.RFC3339)}, extra...)
}

// explainJSON is the -json shape tests rely on.
type explainJSON struct {
	Input    string `json:"input_format"`
	Response struct {
		Issuer     string `json:"issuer"`
		TenantID   string `json:"tenant_id"`
		AADSTS     string `json:"aadsts"`
		Signatures []struct {
			Element    string `json:"element"`
			Thumbprint string `json:"certificate_thumbprint_sha1"`
			InMetadata *bool  `json:"in_metadata"`
		} `json:"signatures"`
		Encrypted *struct {
			Method string `json:"method"`
		} `json:"encrypted_assertion"`
		Times []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"times"`
	} `json:"unverified_response"`
	Metadata *struct {
		Ready bool `json:"ready"`
	} `json:"metadata"`
	Verification *struct {
		Verified   bool     `json:"verified"`
		NotChecked []string `json:"not_checked"`
		Session    *struct {
			NameID   string `json:"nameID"`
			ObjectID string `json:"objectID"`
		} `json:"session"`
	} `json:"verification"`
	Findings []struct {
		Check      string `json:"check"`
		Reason     string `json:"reason"`
		Problem    string `json:"problem"`
		Fix        string `json:"fix"`
		AfterFixes bool   `json:"after_fixes"`
	} `json:"findings"`
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Unknown fields are fine for the report; only the shape above
		// must hold.
		if err2 := json.Unmarshal([]byte(s), v); err2 != nil {
			t.Fatalf("not JSON: %v\n%s", err2, s)
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, exitUsage, "Usage:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "entrasaml explain"},
		{"unknown flag", []string{"explain", "-nope"}, exitUsage, "flag provided but not defined"},
		{"explain -h", []string{"explain", "-h"}, exitOK, "-metadata"},
		{"bad -at", []string{"explain", "-at", "yesterday"}, exitUsage, "-at"},
		{"-acs not an ACS URL", []string{"explain", "-metadata", "x.xml", "-acs", "https://app.example/"}, exitUsage, "/saml/acs"},
		{"-entity-id without -metadata", []string{"explain", "-entity-id", "x"}, exitUsage, "need -metadata"},
		{"two files", []string{"explain", "a", "b"}, exitUsage, "one file"},
		{"metadata without file", []string{"metadata"}, exitUsage, "one metadata file"},
		{"metadata file missing", []string{"metadata", filepath.Join(t.TempDir(), "none.xml")}, exitUsage, "no such file"},
		{"settings without -base-url", []string{"settings"}, exitUsage, "-base-url is required"},
		{"settings with a bad -base-url", []string{"settings", "-base-url", "acme.example"}, exitUsage, "BaseURL"},
		{"decode without URL", []string{"decode"}, exitUsage, "one URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := cli(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

func thumbprint(k *entratest.Key) string {
	sum := sha1.Sum(k.Certificate.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func deflateB64(t *testing.T, xml string) string {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(xml))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// fixtureDir holds the shared fixture's files; set once by TestMain.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "entrasaml-cmd-test")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A real Entra response captured at another SP (testdata/captured) is
// explained against that SP's own Reply URL, which is not /saml/acs.
func TestExplainCapturedLegacyReplyURL(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "captured")
	resp, err := os.ReadFile(filepath.Join(dir, "entra-ssoready-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	const acs = "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml/acs"
	code, out, errOut := cli(t, base64.StdEncoding.EncodeToString(resp), "explain", "-metadata", filepath.Join(dir, "entra-ssoready-metadata.xml"),
		"-entity-id", "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml", "-acs", acs,
		"-at", "2023-11-17T18:40:00Z", "-allow-idp-initiated", "-json")
	if code != exitOK || !strings.Contains(out, `"verified": true`) || !strings.Contains(out, acs) {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}
