package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
)

const basicSAML = "In the Entra admin center: Enterprise applications > the application > Single sign-on > Basic SAML Configuration > Edit"

// explain words err, a failure of New or Verify, for the customer's
// administrator. It decides by the library's sentinels and types; the
// unverified facts only fill in the wording.
func (rep *explainReport) explain(err error, f *facts, md *onboard.Report, cfg entrasaml.Config,
	keys []entrasaml.DecryptionKey, v *verification) finding {
	var se *entrasaml.StatusError
	if errors.As(err, &se) {
		n := len(rep.Findings)
		rep.addStatus(se)
		x := rep.Findings[n]
		rep.Findings = rep.Findings[:n]
		return x
	}
	x := finding{Reason: entrasaml.ReasonCode(err), Detail: err.Error()}
	acs := cfg.BaseURL + "/saml/acs"
	if len(cfg.ACSPaths) > 0 {
		acs = cfg.BaseURL + cfg.ACSPaths[0]
	}
	switch {
	case errors.Is(err, entrasaml.ErrAudienceMismatch):
		x.Check = "identifier"
		x.Problem = fmt.Sprintf("The response is for Identifier %s, but this application's Identifier (Entity ID) is %q.",
			orUnknown(quoteList(f.Assertion)), cfg.EntityID)
		x.Fix = fmt.Sprintf("%s: under Identifier (Entity ID) add %q and make it the Default (Entra puts the default Identifier in the Audience).",
			basicSAML, cfg.EntityID)
	case errors.Is(err, entrasaml.ErrDestinationMismatch):
		x.Check = "reply_url"
		x.Problem = fmt.Sprintf("Entra sent the response to %s (the Reply URL set in Entra), but this application's ACS URL is %q.",
			orUnknown(quoted(f.replyURL())), acs)
		x.Fix = fmt.Sprintf("%s: under Reply URL (Assertion Consumer Service URL) add %q and make it the Default. "+
			"If the application is behind a proxy or on another host name, its BaseURL must be the address users see.", basicSAML, acs)
	case errors.Is(err, entrasaml.ErrExpired):
		x.Check = "time"
		x.Problem = "The response had expired at " + v.At + expiredTimes(f) + "."
		x.Fix = "If this is a saved response, run again with -at set to when the sign-in failed (the application's log has the time). " +
			"If live sign-ins fail this way, the response reached the application too late or was posted twice (back button, a retry): " +
			"Entra's confirmation is valid 5 minutes. If every sign-in fails, the application server's clock is ahead: synchronise it (NTP)."
	case errors.Is(err, entrasaml.ErrNotYetValid):
		x.Check = "time"
		x.Problem = "The response is not valid yet at " + v.At + notYetTimes(f) + ": the clock checking it is behind Entra's."
		x.Fix = "Synchronise the application server's clock (NTP); the library allows 3 minutes of skew (Config.ClockSkew). " +
			"For a saved response, run again with -at set to when the sign-in happened."
	case errors.Is(err, entrasaml.ErrUnknownSigner):
		x.Check = "signing_certificate"
		x.Problem, x.Fix = unknownSigner(f, md)
	case errors.Is(err, entrasaml.ErrIssuerMismatch):
		x.Check = "tenant"
		x.Problem = fmt.Sprintf("The response comes from %s, but the metadata is for %q.", orUnknown(quoted(f.Issuer)), md.EntityID)
		x.Fix = "The customer configured the application in one tenant and sent the metadata of another (or of another identity provider): " +
			"download the Federation Metadata XML from the Entra application that users sign in to."
	case errors.Is(err, entrasaml.ErrUnsolicited):
		x.Check = "sign_on_url"
		x.Problem = "The response answers no sign-in request of the application: it was started in Entra (a My Apps tile or " +
			"'Test this application'), which posts a response directly when the Entra application has no Sign on URL."
		x.Fix = fmt.Sprintf("%s: set Sign on URL to %q, so that tiles and tests start the sign-in at the application (the SP's sign-in endpoint). "+
			"(Or set Config.AllowIdPInitiated, which accepts such responses but exposes users to login CSRF.)", basicSAML, cfg.BaseURL+"/saml/login")
	case errors.Is(err, entrasaml.ErrRequestIDMismatch):
		x.Check = "in_response_to"
		x.Problem = fmt.Sprintf("The response answers request %s, not %q.", orUnknown(quoted(f.inResponseTo())), v.RequestID)
		x.Fix = "The sign-in was started in another browser or tab, by another instance of the application without a shared Store " +
			"(run several instances with one Store and the same SessionKeys), or the request was too old. Start the sign-in again at the application."
	case errors.Is(err, entrasaml.ErrDecryption):
		x.Check = "token_encryption"
		if len(keys) == 0 {
			x.Problem = "The assertion is encrypted (Token encryption is on for the Entra application) and no decryption key was given."
			x.Fix = "Run again with -key, the PEM file of the private key whose certificate was uploaded under Single sign-on > Token encryption " +
				"(Config.DecryptionKeys in the application). If the application has no such key, turn Token encryption off in Entra, or upload the application's certificate there and activate it."
		} else {
			x.Problem = "The assertion does not decrypt with the given key: Entra encrypted it to another certificate."
			x.Fix = "In the Entra application, Single sign-on > Token encryption: upload the certificate of the application's decryption key (" +
				keys[0].Certificate.Subject.String() + ") and make it Active, or add the key of the active certificate to Config.DecryptionKeys."
		}
	case errors.Is(err, entrasaml.ErrInvalidSignature):
		x.Check = "signature"
		x.Problem, x.Fix = badSignature(f, md, cfg)
	case errors.Is(err, entrasaml.ErrMetadata):
		x.Check = "metadata"
		x.Problem = "The application cannot use this metadata, so it cannot verify any response."
		x.Fix = "Download the Federation Metadata XML again from the Entra application's Single sign-on page (SAML Certificates), " +
			"and see the metadata problems above ('entrasaml metadata' shows them alone)."
	case errors.Is(err, entrasaml.ErrConfig):
		x.Check = "command"
		x.Problem = "The response could not be verified with these settings: " + err.Error()
		x.Fix = "Give -entity-id and -acs (the application's Identifier and ACS URL) explicitly."
	case errors.Is(err, entrasaml.ErrMalformed):
		x.Check = "input"
		x.Problem = "The library refuses the response as malformed: " + err.Error()
		x.Fix = "Copy the SAMLResponse value again, whole and unmodified. If it is complete, it was not produced by Entra (or was altered on the way)."
	default:
		x.Check = "other"
		x.Problem = err.Error()
		x.Fix = "See the application's log with this error; nothing in Entra explains it."
	}
	return x
}

func unknownSigner(f *facts, md *onboard.Report) (problem, fix string) {
	var tp string
	for _, s := range f.Signatures {
		if s.InMetadata != nil && !*s.InMetadata {
			tp = s.ThumbprintSHA1
		}
	}
	problem = "The response is signed with a certificate the metadata does not list"
	if tp != "" {
		problem += " (thumbprint " + tp + ")"
	}
	problem += "."
	for _, p := range md.Problems {
		if p.Code == onboard.ProblemTenantLevel {
			return problem + " The metadata is the tenant-level document, which never lists an application's own signing certificate.",
				"In the Entra application, Single sign-on > SAML Certificates: copy the App Federation Metadata Url (it ends in ?appid=…) " +
					"or download the Federation Metadata XML there, and configure that instead of the tenant's metadata."
		}
	}
	if f.TenantID != "" && md.TenantID != "" && f.TenantID != md.TenantID {
		return problem + fmt.Sprintf(" The response comes from tenant %s, the metadata from tenant %s.", f.TenantID, md.TenantID),
			"Download the Federation Metadata XML of the Entra application in tenant " + f.TenantID + ", the one users sign in to."
	}
	return problem + " The application's signing certificate in Entra was changed (a new one made Active) after the metadata was downloaded.",
		"In the Entra application, Single sign-on > SAML Certificates: download the Federation Metadata XML again" +
			" (it must list the certificate with thumbprint " + orUnknown(tp) + ") and give it to the application; with the App Federation Metadata Url " +
			"(Config.MetadataURL) the application follows such changes by itself."
}

func badSignature(f *facts, md *onboard.Report, cfg entrasaml.Config) (problem, fix string) {
	switch {
	case len(f.Signatures) == 0 && f.Encrypted == nil:
		return "Neither the response nor the assertion is signed. Entra signs every successful response: this one did not come from Entra, or was rebuilt on the way.",
			"Find out where the response came from; do not relax anything in the application."
	case f.Encrypted != nil && !f.signed("Response") && !cfg.AllowUnsignedCBC:
		return "The assertion is encrypted but the response is not signed, so the ciphertext is unauthenticated until it is decrypted; the library refuses to decrypt it.",
			"In the Entra application, Single sign-on > SAML Certificates > Edit: set Signing Option to 'Sign SAML response and assertion'. " +
				"(Config.AllowUnsignedCBC accepts it as is, but leaves a decryption oracle open.)"
	case usesSHA1(f) && !cfg.AllowSHA1:
		return "The response is signed with SHA-1, which the application refuses.",
			"In the Entra application, Single sign-on > SAML Certificates > Edit: set Signing Algorithm to SHA-256."
	}
	for _, s := range f.Signatures {
		for _, c := range md.Certificates {
			if s.ThumbprintSHA1 != "" && c.ThumbprintSHA1 == s.ThumbprintSHA1 && c.DaysLeft < 0 {
				return fmt.Sprintf("The response is signed with certificate %s, which expired on %s.", s.ThumbprintSHA1, c.NotAfter.Format(time.DateOnly)),
					"In the Entra application, Single sign-on > SAML Certificates > Edit: create a new certificate, make it Active, " +
						"then download the Federation Metadata XML again and give it to the application."
			}
		}
	}
	return "A signature does not verify: the response was changed after Entra signed it (an incomplete copy, or something on the way rewrote it).",
		"Copy the SAMLResponse again, whole and unmodified, from the browser's network tab. If live sign-ins fail this way, look for a proxy or firewall that rewrites POST bodies."
}

func expiredTimes(f *facts) string {
	var parts []string
	for _, w := range f.Times {
		if w.State == "expired" {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", w.Name, w.Time.Format(time.RFC3339), w.Delta))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func notYetTimes(f *facts) string {
	for _, w := range f.Times {
		if w.State == "not yet valid" {
			return fmt.Sprintf(": %s is %s (%s)", w.Name, w.Time.Format(time.RFC3339), w.Delta)
		}
	}
	return ""
}

func quoteList(a *assertion) string {
	if a == nil || len(a.Audiences) == 0 {
		return ""
	}
	q := make([]string, len(a.Audiences))
	for i, s := range a.Audiences {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// metadataFix is the fix for a metadata problem whose Message does not
// already say it.
func metadataFix(code onboard.ProblemCode) string {
	switch code {
	case onboard.ProblemTenantLevel:
		return "Configure the application's own metadata: Single sign-on > SAML Certificates > App Federation Metadata Url (…?appid=…) or Federation Metadata XML."
	case onboard.ProblemCertificateExpired, onboard.ProblemWeakKey:
		return "In the Entra application, Single sign-on > SAML Certificates > Edit: create a new certificate, make it Active, and download the Federation Metadata XML again."
	}
	return "Download the Federation Metadata XML again from the Entra application's Single sign-on page (SAML Certificates)."
}

// print writes the report and returns the exit status.
func (rep *explainReport) print(w io.Writer, asJSON bool) int {
	code := exitOK
	if len(rep.Findings) > 0 {
		code = exitProblem
	}
	if asJSON {
		writeJSON(w, rep)
		return code
	}
	if f := rep.Response; f != nil {
		printFacts(w, rep.Input, f)
	}
	if md := rep.Metadata; md != nil {
		fmt.Fprintf(w, "\nMetadata: tenant %s, %d signing certificate(s)", orUnknown(md.TenantID), len(md.Certificates))
		if md.AppID != "" {
			fmt.Fprintf(w, ", app %s", md.AppID)
		}
		fmt.Fprintln(w)
	}
	if v := rep.Verification; v != nil {
		fmt.Fprintf(w, "\nVerification (entrasaml.Verify at %s, Identifier %q, ACS URL %q):\n", v.At, v.EntityID, v.ACSURL)
		if v.Verified {
			fmt.Fprintf(w, "  VERIFIED: the application would accept this response.\n")
		} else {
			fmt.Fprintf(w, "  FAILED: the application refuses this response.\n")
		}
		for _, n := range v.NotChecked {
			fmt.Fprintf(w, "  Not checked: %s.\n", n)
		}
		if s := v.Session; s != nil {
			fmt.Fprintf(w, "  Verified user: %s (object id %s, tenant %s)\n", s.NameID, orUnknown(s.ObjectID), orUnknown(s.TenantID))
			if len(s.Groups) > 0 {
				fmt.Fprintf(w, "  Verified groups: %s\n", strings.Join(s.Groups, ", "))
			}
		}
	} else if rep.Response != nil && len(rep.Findings) == 0 {
		fmt.Fprintf(w, "\nNot verified: give -metadata (and -entity-id, -acs) to run the full verification.\n")
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "\nNo problem found.\n")
		return code
	}
	fmt.Fprintf(w, "\nProblems found:\n")
	for i, x := range rep.Findings {
		after := ""
		if x.AfterFixes {
			after = " (found assuming the problems above are fixed)"
		}
		fmt.Fprintf(w, "%d. [%s] %s%s\n   Fix: %s\n", i+1, clean(x.Reason, false), clean(x.Problem, false), after, x.Fix)
		if x.Detail != "" {
			fmt.Fprintf(w, "   Detail: %s\n", clean(x.Detail, false))
		}
	}
	return code
}

func printFacts(w io.Writer, format string, f *facts) {
	fmt.Fprintf(w, "SAML %s (read from %s; UNVERIFIED: as the message says, not yet checked)\n", f.Kind, format)
	field(w, "  ID:", f.ID)
	field(w, "  Issuer:", f.Issuer)
	field(w, "  Tenant:", f.TenantID)
	field(w, "  Destination:", f.Destination)
	field(w, "  InResponseTo:", orNone(f.InResponseTo, "(none: IdP-initiated)"))
	if len(f.Status) > 0 {
		field(w, "  Status:", strings.Join(f.Status, " / "))
		field(w, "  Message:", firstLine(f.StatusMessage))
	}
	switch {
	case len(f.Signatures) == 0 && f.Encrypted != nil:
		fmt.Fprintf(w, "%-15s not the Response; the assertion's own signature, if any, is inside the ciphertext\n", "  Signed:")
	case len(f.Signatures) == 0:
		fmt.Fprintf(w, "%-15s nothing\n", "  Signed:")
	}
	for _, s := range f.Signatures {
		fmt.Fprintf(w, "%-15s %s, %s\n", "  Signed:", s.Element, clean(s.Algorithm, false))
		if s.ThumbprintSHA1 != "" {
			listed := ""
			if s.InMetadata != nil {
				listed = map[bool]string{true: ", listed in the metadata", false: ", NOT in the metadata"}[*s.InMetadata]
			}
			fmt.Fprintf(w, "    certificate thumbprint %s (%s%s)\n", s.ThumbprintSHA1, clean(s.Subject, false), listed)
			if s.NotAfter != nil {
				fmt.Fprintf(w, "    certificate valid %s to %s\n", s.NotBefore.Format(time.DateOnly), s.NotAfter.Format(time.DateOnly))
			}
		}
	}
	if e := f.Encrypted; e != nil {
		fmt.Fprintf(w, "%-15s the assertion (%s, key transport %s); its contents show only after decryption\n", "  Encrypted:", clean(e.Method, false), clean(e.KeyTransport, false))
	}
	if a := f.Assertion; a != nil {
		field(w, "  Assertion:", a.ID)
		field(w, "  NameID:", a.NameID)
		field(w, "  Format:", a.NameIDFormat)
		field(w, "  Audience:", strings.Join(a.Audiences, ", "))
		field(w, "  Recipient:", a.Recipient)
		field(w, "  Subject IRT:", a.InResponseTo)
		field(w, "  AuthnContext:", a.AuthnContext)
	}
	for _, t := range f.Times {
		state := ""
		if t.State != "" {
			state = strings.ToUpper(t.State) + ", "
		}
		fmt.Fprintf(w, "  %-38s %s (%s%s)\n", t.Name+":", t.Time.Format(time.RFC3339), state, t.Delta)
	}
	if a := f.Assertion; a != nil && len(a.Claims) > 0 {
		fmt.Fprintf(w, "  Claims:\n")
		for _, c := range a.Claims {
			fmt.Fprintf(w, "    %s: %s\n", clean(c.Name, false), clean(strings.Join(c.Values, ", "), false))
		}
	}
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
