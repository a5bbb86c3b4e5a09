package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/onboard"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	srv, err := entratest.NewServerWith(entratest.Options{Now: func() time.Time { return tNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	now := tNow.Format(time.RFC3339)
	tests := []struct {
		name   string
		source string
		at     string
		code   int
		want   []string
		ready  bool
	}{
		{"app metadata file", fx.metadata, now, exitOK, []string{"Ready:          yes", fx.idp.TenantID(), thumbprint(fx.idp.SigningKey()), "days left)", "Problems:       none"}, true},
		// A warning (plain http, as the test server speaks) is a problem too.
		{"app metadata URL", srv.MetadataURL(), now, exitProblem, []string{"Ready:          yes", "App ID:", srv.AppID(), "WARNING [metadata_url]"}, true},
		{"tenant-level metadata", fx.tenantMD, now, exitProblem, []string{"Ready:          NO", "ERROR [tenant_level]", "?appid="}, false},
		{"certificate expires soon", fx.metadata, tNow.AddDate(3, 0, -10).Format(time.RFC3339), exitProblem,
			[]string{"WARNING [certificate_expiring]", "Create a new SAML signing certificate in Entra"}, true},
		{"certificate expired", fx.metadata, tNow.AddDate(3, 0, 1).Format(time.RFC3339), exitProblem,
			[]string{"ERROR [certificate_expired]", "EXPIRED"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := cli(t, "", "metadata", "-at", tt.at, tt.source)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			code, out, _ = cli(t, "", "metadata", "-json", "-at", tt.at, tt.source)
			var rep onboard.Report
			decodeJSON(t, out, &rep)
			if code != tt.code || rep.Ready != tt.ready || len(rep.Certificates) != 1 || rep.TenantID == "" {
				t.Errorf("-json: exit %d, %+v", code, rep)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	code, out, _ := cli(t, "", "settings", "-base-url", "https://acme.vendor.example/")
	for _, w := range []string{
		"Identifier (Entity ID):                     https://acme.vendor.example/saml/metadata",
		"Reply URL (Assertion Consumer Service URL): https://acme.vendor.example/saml/acs",
		"Sign on URL:                                https://acme.vendor.example/",
		"Logout Url (Optional):                      https://acme.vendor.example/saml/logout",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	code, out, _ = cli(t, "", "settings", "-json", "-base-url", "https://acme.vendor.example", "-entity-id", "urn:acme")
	var s entrasaml.EntraSettings
	decodeJSON(t, out, &s)
	if code != exitOK || s.Identifier != "urn:acme" || s.ReplyURL != "https://acme.vendor.example/saml/acs" {
		t.Errorf("-json: exit %d %+v", code, s)
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: spEntityID, BaseURL: "https://app.example",
		Metadata: fx.idp.Metadata(), Now: func() time.Time { return tNow }})
	if err != nil {
		t.Fatal(err)
	}
	authn, id, err := sp.AuthnRequestURL("/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	logoutResp, err := fx.idp.LogoutResponseURL("https://app.example/saml/logout", "_req1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	// An AuthnRequest with what Entra refuses: a Subject, and an ID
	// starting with a digit.
	bad := "https://login.microsoftonline.com/x/saml2?SAMLRequest=" + url.QueryEscape(deflateB64(t,
		`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="1abc" Version="2.0" IssueInstant="2026-03-02T09:00:00Z">`+
			`<saml:Issuer>urn:acme</saml:Issuer><saml:Subject><saml:NameID>a@b.example</saml:NameID></saml:Subject></samlp:AuthnRequest>`))
	tests := []struct {
		name string
		url  string
		code int
		kind string
		want []string
	}{
		{"AuthnRequest", authn.String(), exitOK, "AuthnRequest", []string{"ID:", id, "Issuer:", spEntityID, "ACS URL:", spACS,
			"RelayState:", "none (the query string is not signed)", "<samlp:AuthnRequest"}},
		{"signed LogoutResponse", logoutResp, exitOK, "LogoutResponse", []string{"InResponseTo:", "_req1", "present, http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
			"Status:", "urn:oasis:names:tc:SAML:2.0:status:Success"}},
		{"AuthnRequest Entra refuses", bad, exitProblem, "AuthnRequest", []string{"AADSTS7500529", "AADSTS900236", "login_hint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := cli(t, "", "decode", tt.url)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			code, out, _ = cli(t, "", "decode", "-json", tt.url)
			var d decoded
			decodeJSON(t, out, &d)
			if code != tt.code || d.Kind != tt.kind || !strings.HasPrefix(d.XML, "<") || (len(d.Problems) == 0) != (tt.code == exitOK) {
				t.Errorf("-json: exit %d %+v", code, d)
			}
		})
	}
	if code, _, errOut := cli(t, "", "decode", "https://app.example/?x=1"); code != exitProblem || !strings.Contains(errOut, "no SAMLRequest") {
		t.Errorf("no message: exit %d %s", code, errOut)
	}
}

// TestBinary builds the command as `go install` would and runs it.
func TestBinary(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	bin := filepath.Join(t.TempDir(), "entrasaml")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	respFile := filepath.Join(t.TempDir(), "response.txt")
	if err := os.WriteFile(respFile, []byte(fx.response(t, func(r *entratest.Response) { r.Audience = "https://old.example/saml" })), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, fx.verifyArgs(respFile)...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitProblem {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `Identifier (Entity ID) add "`+spEntityID+`"`) {
		t.Errorf("output lacks the fix:\n%s", out)
	}
	if err := exec.Command(bin).Run(); err == nil || err.(*exec.ExitError).ExitCode() != exitUsage {
		t.Errorf("no arguments: %v", err)
	}
}
