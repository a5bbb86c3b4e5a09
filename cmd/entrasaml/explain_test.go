package main

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

// TestExplain runs explain on the failures support meets, and asserts the
// fix it prints: the Entra field to change or the action to take.
func TestExplain(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	at := func(d time.Duration) string { return tNow.Add(d).Format(time.RFC3339) }
	encrypt := func(r *entratest.Response) {
		r.Sign = entratest.SignBoth
		r.Encrypt = &entratest.Encryption{Certificate: fx.spKey.Certificate}
	}
	tests := []struct {
		name     string
		response func(*entratest.Response)
		args     []string // after the fixture SP's flags
		metadata string   // instead of the app metadata
		code     int
		reasons  []string // the findings' reasons, in order
		want     []string // in the text output
	}{
		{name: "valid", code: exitOK,
			want: []string{"VERIFIED", "Verified user: adele.vance@contoso.example", "No problem found", "listed in the metadata"}},
		{name: "wrong audience", response: func(r *entratest.Response) { r.Audience = "https://old.example/saml" },
			code: exitProblem, reasons: []string{"ErrAudienceMismatch"},
			want: []string{"Identifier (Entity ID) add \"" + spEntityID + "\" and make it the Default", `"https://old.example/saml"`}},
		{name: "wrong Reply URL", response: func(r *entratest.Response) { r.ACSURL = "https://old.example/saml/acs" },
			code: exitProblem, reasons: []string{"ErrDestinationMismatch"},
			want: []string{"Reply URL (Assertion Consumer Service URL) add \"" + spACS + "\"", `"https://old.example/saml/acs"`}},
		{name: "wrong Reply URL and audience", response: func(r *entratest.Response) {
			r.ACSURL, r.Audience = "https://old.example/saml/acs", "https://old.example/saml"
		}, code: exitProblem, reasons: []string{"ErrDestinationMismatch", "ErrAudienceMismatch"},
			want: []string{"Reply URL (Assertion Consumer Service URL)", "Identifier (Entity ID)", "found assuming the problems above are fixed"}},
		{name: "expired", args: []string{"-at", at(2 * time.Hour)}, code: exitProblem, reasons: []string{"ErrExpired"},
			want: []string{"had expired", "run again with -at", "synchronise it (NTP)", "EXPIRED"}},
		{name: "not yet valid", args: []string{"-at", at(-10 * time.Minute)}, code: exitProblem, reasons: []string{"ErrNotYetValid"},
			want: []string{"Synchronise the application server's clock", "NOT YET VALID"}},
		{name: "unknown signer", response: func(r *entratest.Response) { r.Key = fx.foreign }, code: exitProblem,
			reasons: []string{"ErrUnknownSigner"},
			want:    []string{"NOT in the metadata", "SAML Certificates: download the Federation Metadata XML again", thumbprint(fx.foreign)}},
		{name: "tenant-level metadata", metadata: fx.tenantMD, code: exitProblem, reasons: []string{"tenant_level", "ErrUnknownSigner"},
			want: []string{"App Federation Metadata Url (it ends in ?appid=…)", "tenant-level"}},
		{name: "signing certificate expired", args: []string{"-at", tNow.AddDate(3, 0, 2).Format(time.RFC3339)}, code: exitProblem,
			reasons: []string{"certificate_expired"}, want: []string{"expired on 2029-03-0", "create a new certificate, make it Active, and download the Federation Metadata XML again"}},
		{name: "unsolicited", response: func(r *entratest.Response) { r.InResponseTo = "" }, code: exitProblem,
			reasons: []string{"ErrUnsolicited"}, want: []string{"set Sign on URL to \"https://app.example/saml/login\"", "IdP-initiated"}},
		{name: "unsolicited allowed", response: func(r *entratest.Response) { r.InResponseTo = "" },
			args: []string{"-allow-idp-initiated"}, code: exitOK, want: []string{"VERIFIED"}},
		{name: "request ID mismatch", args: []string{"-request-id", "_other"}, code: exitProblem,
			reasons: []string{"ErrRequestIDMismatch"}, want: []string{"Start the sign-in again"}},
		{name: "encrypted with the key", response: encrypt, args: []string{"-key", fx.keyFile}, code: exitOK,
			want: []string{"Encrypted:", "VERIFIED", "Verified user: adele.vance@contoso.example"}},
		{name: "encrypted without the key", response: encrypt, code: exitProblem, reasons: []string{"ErrDecryption"},
			want: []string{"Token encryption", "Run again with -key"}},
		{name: "encrypted, response unsigned", response: func(r *entratest.Response) {
			encrypt(r)
			r.Sign = entratest.SignAssertion
		}, args: []string{"-key", fx.keyFile}, code: exitProblem, reasons: []string{"ErrInvalidSignature"},
			want: []string{"set Signing Option to 'Sign SAML response and assertion'"}},
		{name: "SHA-1", response: func(r *entratest.Response) { r.SHA1 = true }, code: exitProblem, reasons: []string{"ErrInvalidSignature"},
			want: []string{"set Signing Algorithm to SHA-256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := fx.response(t, tt.response)
			args := fx.verifyArgs(tt.args...)
			if tt.metadata != "" {
				args[2] = tt.metadata
			}
			code, out, errOut := cli(t, resp, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			code, out, _ = cli(t, resp, append(args, "-json")...)
			var rep explainJSON
			decodeJSON(t, out, &rep)
			if code != tt.code || rep.Verification == nil || rep.Verification.Verified != (tt.code == exitOK) {
				t.Errorf("-json: exit %d, verification %+v", code, rep.Verification)
			}
			var reasons []string
			for _, x := range rep.Findings {
				reasons = append(reasons, x.Reason)
				if x.Check == "" || x.Problem == "" || x.Fix == "" {
					t.Errorf("-json: incomplete finding %+v", x)
				}
			}
			if strings.Join(reasons, ",") != strings.Join(tt.reasons, ",") {
				t.Errorf("-json: reasons %v, want %v", reasons, tt.reasons)
			}
			if rep.Response.Issuer != fx.idp.EntityID() || rep.Response.TenantID != fx.idp.TenantID() {
				t.Errorf("-json: issuer %q tenant %q", rep.Response.Issuer, rep.Response.TenantID)
			}
			if tt.code == exitOK && (rep.Verification.Session == nil || rep.Verification.Session.ObjectID == "") {
				t.Errorf("-json: no verified session")
			}
		})
	}
}

// TestExplainStatus: Entra's error response shows its AADSTS code and the
// admin's fix, with and without metadata.
func TestExplainStatus(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	resp, err := fx.idp.ErrorResponse(spACS, requestID, entratest.StatusRequester, "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
		"AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted ('assigned') access.")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"explain"}, fx.verifyArgs()} {
		code, out, _ := cli(t, resp, args...)
		if code != exitProblem || !strings.Contains(out, "[AADSTS50105]") || !strings.Contains(out, "Users and groups, assign the user") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
		code, out, _ = cli(t, resp, append(args, "-json")...)
		var rep explainJSON
		decodeJSON(t, out, &rep)
		if code != exitProblem || len(rep.Findings) != 1 || rep.Findings[0].Reason != "AADSTS50105" ||
			rep.Findings[0].Check != "entra_status" || rep.Response.AADSTS != "AADSTS50105" || !strings.Contains(rep.Findings[0].Fix, "Users and groups") {
			t.Errorf("%v -json: exit %d %+v", args, code, rep)
		}
	}
	// A code the table lacks still says where to look.
	resp, _ = fx.idp.ErrorResponse(spACS, requestID, entratest.StatusResponder, "", "AADSTS1234567: something new")
	if code, out, _ := cli(t, resp, "explain"); code != exitProblem || !strings.Contains(out, "login.microsoftonline.com/error?code=1234567") {
		t.Errorf("unknown code: exit %d\n%s", code, out)
	}
}

// TestExplainInputs: every way people copy a SAMLResponse reads the same.
func TestExplainInputs(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	b64 := fx.response(t, nil)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := ""
	for s := b64; len(s) > 0; {
		n := min(76, len(s))
		wrapped += s[:n] + "\r\n"
		s = s[n:]
	}
	urlSafe := base64.RawURLEncoding.EncodeToString(raw)
	tests := []struct{ name, input, format string }{
		{"base64", b64, "base64"},
		{"base64 with line breaks", "  " + wrapped + "\n", "base64"},
		{"URL-safe base64 without padding", urlSafe, "base64"},
		{"URL-encoded", url.QueryEscape(b64), "URL-encoded base64"},
		{"form body", "SAMLResponse=" + url.QueryEscape(b64) + "&RelayState=%2Fdashboard", "form body"},
		{"form body, half decoded", "RelayState=/&SAMLResponse=" + b64, "form body"},
		{"XML", string(raw), "XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := cli(t, tt.input, fx.verifyArgs("-json")...)
			var rep explainJSON
			decodeJSON(t, out, &rep)
			if code != exitOK || rep.Input != tt.format || rep.Verification == nil || !rep.Verification.Verified {
				t.Errorf("exit %d, format %q, want %q\n%s%s", code, rep.Input, tt.format, out, errOut)
			}
		})
	}
	for _, bad := range []string{"", "not base64 at all!", base64.StdEncoding.EncodeToString([]byte("hello"))} {
		code, out, _ := cli(t, bad, "explain")
		if code != exitProblem || !strings.Contains(out, "SAMLResponse") {
			t.Errorf("%q: exit %d\n%s", bad, code, out)
		}
	}
}

// TestExplainUnverified: without metadata, explain shows what the
// response says, labelled unverified, and verifies nothing.
func TestExplainUnverified(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	code, out, _ := cli(t, fx.response(t, nil), "explain", "-at", tNow.Format(time.RFC3339))
	for _, w := range []string{"UNVERIFIED", fx.idp.EntityID(), "Tenant:", fx.idp.TenantID(), "Audience:", spEntityID,
		"Destination:", spACS, "InResponseTo:", requestID, "Assertion, http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", thumbprint(fx.idp.SigningKey()),
		"Conditions NotOnOrAfter", "objectidentifier: 5d0c3c8e", "Not verified: give -metadata"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	// Not-checked values are said so.
	code, out, _ = cli(t, fx.response(t, nil), "explain", "-metadata", fx.metadata, "-at", tNow.Format(time.RFC3339), "-json")
	var rep explainJSON
	decodeJSON(t, out, &rep)
	if code != exitOK || rep.Verification == nil || len(rep.Verification.NotChecked) != 3 {
		t.Errorf("exit %d, %+v", code, rep.Verification)
	}
}

// TestExplainNoInjectedLines: a value in the unverified response cannot add
// a line to the report, such as a fake verdict.
func TestExplainNoInjectedLines(t *testing.T) {
	t.Parallel()
	fx := testFixture(t)
	resp := fx.response(t, func(r *entratest.Response) {
		r.User.DisplayName = "Adele\n  VERIFIED: the application would accept this response.\u009b2J"
	})
	_, out, _ := cli(t, resp, "explain")
	if strings.Contains(out, "\n  VERIFIED") || strings.Contains(out, "\u009b") {
		t.Errorf("a claim value added a line or an escape sequence:\n%s", out)
	}
}
