package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
)

// explainReport is what explain prints (-json gives it as is).
type explainReport struct {
	Input string `json:"input_format"`
	// Response is the response as it describes itself: unverified.
	Response *facts `json:"unverified_response"`
	// Metadata is the onboarding report of -metadata, if given.
	Metadata *onboard.Report `json:"metadata,omitempty"`
	// Verification is the library's verdict, when -metadata was given.
	Verification *verification `json:"verification,omitempty"`
	// Findings are the problems, each with the fix; empty when none.
	Findings []finding `json:"findings"`
}

type verification struct {
	Verified  bool   `json:"verified"`
	At        string `json:"at"`
	EntityID  string `json:"entity_id"`
	ACSURL    string `json:"acs_url"`
	RequestID string `json:"request_id,omitempty"`
	// NotChecked lists what the verification could not check for want of
	// a flag, and why.
	NotChecked []string `json:"not_checked"`
	// Session is what a successful verification returns.
	Session *entrasaml.Session `json:"session,omitempty"`
}

// finding is one failed check, in the admin's words.
type finding struct {
	Check   string `json:"check"`  // what failed: "reply_url", "identifier", ...
	Reason  string `json:"reason"` // the library's sentinel (ErrAudienceMismatch, ...), an AADSTS code or a metadata problem code
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
	// Detail is the library's error, for the logs and the developer.
	Detail string `json:"detail,omitempty"`
	// AfterFixes is true for a problem found while assuming the earlier
	// findings fixed (the application itself stops at the first).
	AfterFixes bool `json:"after_fixes,omitempty"`
}

type explainFlags struct {
	metadata, entityID, acs, at, requestID, keyFile string
	allowIdP, allowSHA1, allowUnsignedCBC, asJSON   bool
}

func runExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", "explain [-metadata FILE|URL] [-entity-id ID] [-acs URL] [-at TIME] [-json] [FILE|-]", stderr)
	var fl explainFlags
	fs.StringVar(&fl.metadata, "metadata", "", "the IdP's Federation Metadata XML file or App Federation Metadata Url: verify the response")
	fs.StringVar(&fl.entityID, "entity-id", "", "the SP's Identifier (Entity ID) (default: the response's Audience, not checked)")
	fs.StringVar(&fl.acs, "acs", "", "the SP's ACS URL, e.g. BASE-URL/saml/acs (default: the response's Destination, not checked)")
	fs.StringVar(&fl.at, "at", "", "judge times at this instant (RFC 3339) instead of now, e.g. when the sign-in failed")
	fs.StringVar(&fl.requestID, "request-id", "", "the ID of the AuthnRequest the browser had outstanding (default: the response's InResponseTo, not checked)")
	fs.StringVar(&fl.keyFile, "key", "", "PEM file with the token-decryption private key and its certificate (Config.DecryptionKeys)")
	fs.BoolVar(&fl.allowIdP, "allow-idp-initiated", false, "as Config.AllowIdPInitiated: accept unsolicited responses")
	fs.BoolVar(&fl.allowSHA1, "allow-sha1", false, "as Config.AllowSHA1")
	fs.BoolVar(&fl.allowUnsignedCBC, "allow-unsigned-cbc", false, "as Config.AllowUnsignedCBC")
	fs.BoolVar(&fl.asJSON, "json", false, "print the report as JSON")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return usageErr(stderr, fs, "give one file, or - (the default) for standard input")
	}
	at, err := parseAt(fl.at)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	if _, paths := splitACS(fl.acs); fl.acs != "" && paths == nil {
		return usageErr(stderr, fs, "-acs must be the SP's ACS URL, an absolute http(s) URL with a path (BaseURL + \"/saml/acs\" by default)")
	}
	if (fl.entityID != "" || fl.acs != "" || fl.keyFile != "") && fl.metadata == "" {
		return usageErr(stderr, fs, "-entity-id, -acs and -key need -metadata to verify against")
	}
	var keys []entrasaml.DecryptionKey
	if fl.keyFile != "" {
		k, err := loadDecryptionKey(fl.keyFile)
		if err != nil {
			return usageErr(stderr, fs, "-key: %v", err)
		}
		keys = append(keys, k)
	}
	in := stdin
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "entrasaml explain: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	if err != nil || len(data) > maxInput {
		fmt.Fprintf(stderr, "entrasaml explain: cannot read the input (at most %d MB)\n", maxInput>>20)
		return exitUsage
	}

	rep := &explainReport{Findings: []finding{}}
	xml, format, err := readResponse(data)
	if err != nil {
		rep.Findings = append(rep.Findings, finding{Check: "input", Reason: "ErrMalformed", Problem: err.Error(),
			Fix: "Copy the SAMLResponse again: in the browser's developer tools, Network tab, the POST to the ACS URL (…/saml/acs), Payload or Request: the SAMLResponse form value, whole."})
		return rep.print(stdout, fl.asJSON)
	}
	rep.Input = format
	f, err := readFacts(xml, at)
	rep.Response = f
	if err != nil {
		rep.Findings = append(rep.Findings, finding{Check: "input", Reason: "ErrMalformed", Problem: err.Error(),
			Fix: "explain reads the SAMLResponse Entra posts to the ACS URL; for a SAMLRequest in a URL use 'entrasaml decode'."})
		return rep.print(stdout, fl.asJSON)
	}
	if fl.metadata == "" {
		// Without metadata nothing can be verified; Entra's error status
		// is unsigned anyway, so it is reported as the library would.
		if len(f.Status) > 0 && f.Status[0] != statusSuccess {
			rep.addStatus(&entrasaml.StatusError{Codes: f.Status, Message: f.StatusMessage, Code: f.AADSTS})
		}
		return rep.print(stdout, fl.asJSON)
	}
	md, err := loadMetadata(ctx, fl.metadata, at)
	if err != nil {
		fmt.Fprintf(stderr, "entrasaml explain: -metadata: %v\n", err)
		return exitUsage
	}
	rep.Metadata = md
	markSigners(f, md)
	rep.verify(ctx, f, base64.StdEncoding.EncodeToString(xml), md, fl, keys, at)
	return rep.print(stdout, fl.asJSON)
}

const statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

// markSigners records whether the metadata lists each signing certificate.
func markSigners(f *facts, md *onboard.Report) {
	for i := range f.Signatures {
		s := &f.Signatures[i]
		if s.ThumbprintSHA1 == "" {
			continue
		}
		listed := false
		for _, c := range md.Certificates {
			listed = listed || c.ThumbprintSHA1 == s.ThumbprintSHA1
		}
		s.InMetadata = &listed
	}
}

// verify runs the library's verification. After a failure it assumes that
// one fixed (the response's own Identifier, Reply URL, time, ...) and
// verifies again, to find every problem rather than the first: at most a
// handful of rounds, each with a fresh SP, and the verdict stays the first
// failure's. Values from the unverified response only ever relax a check
// for such a further round; they never make the response pass.
func (rep *explainReport) verify(ctx context.Context, f *facts, b64 string, md *onboard.Report,
	fl explainFlags, keys []entrasaml.DecryptionKey, at time.Time) {
	for _, p := range md.Problems {
		if p.Severity == onboard.SeverityError {
			rep.Findings = append(rep.Findings, finding{Check: "metadata", Reason: string(p.Code), Problem: p.Message, Fix: metadataFix(p.Code)})
		}
	}
	if len(md.Metadata) == 0 {
		return
	}
	v := &verification{EntityID: fl.entityID, ACSURL: fl.acs, RequestID: fl.requestID, NotChecked: []string{}}
	rep.Verification = v
	if v.EntityID == "" {
		v.EntityID = f.audience()
		v.NotChecked = append(v.NotChecked, "Identifier (Entity ID): no -entity-id, so the response's own Audience was used")
	}
	if v.ACSURL == "" {
		v.ACSURL = f.replyURL()
		v.NotChecked = append(v.NotChecked, "Reply URL: no -acs, so the response's own Destination was used")
	}
	if v.RequestID == "" && f.inResponseTo() != "" {
		v.RequestID = f.inResponseTo()
		v.NotChecked = append(v.NotChecked, "InResponseTo: the command cannot know which requests the user's browser had outstanding, "+
			"so the response's own InResponseTo was taken as the request ID; give -request-id (from the application's log) to check it")
	}
	base, acsPaths := splitACS(v.ACSURL)
	cfg := entrasaml.Config{
		EntityID:          v.EntityID,
		BaseURL:           base,
		ACSPaths:          acsPaths,
		Metadata:          md.Metadata,
		AllowIdPInitiated: fl.allowIdP,
		AllowSHA1:         fl.allowSHA1,
		AllowUnsignedCBC:  fl.allowUnsignedCBC,
		DecryptionKeys:    keys,
		Logger:            slog.New(slog.DiscardHandler),
	}
	v.At = at.Format(time.RFC3339)
	firstFailure, reqID := true, v.RequestID
	for round := 0; round < 8; round++ {
		now := at
		cfg.Now = func() time.Time { return now }
		var ids []string
		if reqID != "" {
			ids = []string{reqID}
		}
		sp, err := entrasaml.New(ctx, cfg)
		var s *entrasaml.Session
		if err == nil {
			s, err = sp.Verify(ctx, b64, ids...)
		}
		if err == nil {
			if firstFailure {
				v.Verified, v.Session = true, s
			}
			return
		}
		if errors.Is(err, entrasaml.ErrMetadata) && rep.hasCheck("metadata") {
			return // the onboarding report's finding says why, and the fix
		}
		x := rep.explain(err, f, md, cfg, keys, v)
		x.AfterFixes = !firstFailure
		if !x.AfterFixes || !rep.has(x.Reason) {
			rep.Findings = append(rep.Findings, x)
		}
		firstFailure = false
		if !relax(err, f, &cfg, &at, &reqID) {
			return
		}
	}
}

func (rep *explainReport) hasCheck(check string) bool {
	for _, x := range rep.Findings {
		if x.Check == check {
			return true
		}
	}
	return false
}

func (rep *explainReport) has(reason string) bool {
	for _, x := range rep.Findings {
		if x.Reason == reason {
			return true
		}
	}
	return false
}

// relax changes cfg (or the clock, or the request ID) so that the check
// behind err passes next round, when it can; false when it cannot.
func relax(err error, f *facts, cfg *entrasaml.Config, at *time.Time, reqID *string) bool {
	switch {
	case errors.Is(err, entrasaml.ErrAudienceMismatch):
		aud := f.audience()
		if aud == "" || aud == cfg.EntityID {
			return false
		}
		cfg.EntityID = aud
	case errors.Is(err, entrasaml.ErrDestinationMismatch):
		for _, u := range []string{f.Destination, recipient(f)} {
			base, paths := splitACS(u)
			if paths != nil && (base != cfg.BaseURL || !slices.Equal(paths, cfg.ACSPaths)) {
				cfg.BaseURL, cfg.ACSPaths = base, paths
				return true
			}
		}
		return false
	case errors.Is(err, entrasaml.ErrExpired), errors.Is(err, entrasaml.ErrNotYetValid):
		t, ok := f.validFrom()
		if !ok || t.Equal(*at) {
			return false
		}
		*at = t
	case errors.Is(err, entrasaml.ErrUnsolicited):
		if cfg.AllowIdPInitiated {
			return false
		}
		cfg.AllowIdPInitiated = true
	case errors.Is(err, entrasaml.ErrRequestIDMismatch):
		irt := f.inResponseTo()
		if irt == "" || irt == *reqID {
			return false
		}
		*reqID = irt
	case errors.Is(err, entrasaml.ErrInvalidSignature) && f.Encrypted != nil && !f.signed("Response") && !cfg.AllowUnsignedCBC:
		cfg.AllowUnsignedCBC = true
	case errors.Is(err, entrasaml.ErrInvalidSignature) && usesSHA1(f) && !cfg.AllowSHA1:
		cfg.AllowSHA1 = true
	default:
		return false
	}
	return true
}

func recipient(f *facts) string {
	if f.Assertion == nil {
		return ""
	}
	return f.Assertion.Recipient
}

func usesSHA1(f *facts) bool {
	for _, s := range f.Signatures {
		if strings.HasSuffix(s.Algorithm, "rsa-sha1") {
			return true
		}
	}
	return false
}

func (rep *explainReport) addStatus(se *entrasaml.StatusError) {
	x := finding{Check: "entra_status", Reason: se.Code, Detail: se.Error()}
	if x.Reason == "" {
		x.Reason = "StatusError"
	}
	x.Problem = "Entra did not sign the user in and sent an error instead"
	switch {
	case se.Message != "":
		x.Problem += ": " + firstLine(se.Message)
	case se.Code != "":
		x.Problem += ": " + se.Code
	default:
		x.Problem += ": " + strings.Join(se.Codes, " / ")
	}
	x.Fix = se.Hint()
	if x.Fix == "" {
		code := strings.TrimPrefix(se.Code, "AADSTS")
		x.Fix = "Look the code up at https://login.microsoftonline.com/error?code=" + code +
			", and in Entra's Sign-in logs (filter by the application and the time) for the details."
		if code == "" {
			x.Fix = "Look in Entra's Sign-in logs (filter by the application and the time) for the reason."
		}
	}
	rep.Findings = append(rep.Findings, x)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// loadDecryptionKey reads a PEM file holding an RSA private key (PKCS #8
// or PKCS #1) and its certificate.
func loadDecryptionKey(path string) (entrasaml.DecryptionKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return entrasaml.DecryptionKey{}, err
	}
	var k entrasaml.DecryptionKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if k.Certificate == nil {
				if k.Certificate, err = x509.ParseCertificate(b.Bytes); err != nil {
					return k, err
				}
			}
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return k, err
			}
			d, ok := key.(crypto.Decrypter)
			if !ok {
				return k, errors.New("the private key cannot decrypt")
			}
			k.Key = d
		case "RSA PRIVATE KEY":
			key, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return k, err
			}
			k.Key = key
		}
	}
	if k.Key == nil || k.Certificate == nil {
		return k, errors.New("the file must hold the private key and its certificate, in PEM")
	}
	return k, nil
}

// splitACS splits an ACS URL into the BaseURL (its origin) and ACSPaths of
// a Config that accepts exactly it; paths is nil when u is not an absolute
// http(s) URL with a path.
func splitACS(u string) (base string, paths []string) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil ||
		p.Path == "" || p.Path == "/" || p.RawQuery != "" || p.Fragment != "" {
		return "", nil
	}
	return p.Scheme + "://" + p.Host, []string{p.EscapedPath()}
}
