// Package onboard checks what a customer's administrator sends to switch
// on SSO, the Federation Metadata XML or its URL, and reports every
// finding in plain words: for an operator to read, a UI to render
// (stable JSON names) or a command to print. It reads the metadata with the
// same reader as [entrasaml.New], so a Ready report means New accepts the
// metadata.
//
// It also gives the HTTP client for URLs that come from outside,
// [PublicOnlyHTTPClient], which connects only to public addresses.
package onboard

import (
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/internal/idpmeta"
)

// Input is what a customer's administrator sends to switch on
// SSO: the Federation Metadata XML file, or the App Federation Metadata Url,
// both from the Entra application's Single sign-on page (SAML Certificates).
type Input struct {
	// Metadata is the Federation Metadata XML as downloaded (or pasted).
	Metadata []byte
	// MetadataURL is the App Federation Metadata Url. It is fetched when
	// Metadata is empty, with an entrasaml.DefaultMetadataTimeout deadline
	// and an entrasaml.MaxMetadataSize limit; when both are set it is only
	// checked, not fetched.
	MetadataURL string
	// HTTPClient fetches MetadataURL. nil: a client that connects only to
	// public addresses (no loopback, private, link-local or shared
	// ranges, also after redirects) and uses no proxy, since the URL comes
	// from outside your company and must not reach your internal network.
	// Give your own client to go through a proxy, or in tests.
	HTTPClient *http.Client
	// Now is the clock certificate expiry is judged by, normally the
	// app's Config.Now. nil: expiry is not judged and DaysLeft is 0 (Check
	// reads no clock of its own).
	Now func() time.Time
	// EntityID and BaseURL, when both are set, are the SP's Config values:
	// the report then carries the settings to type into Entra
	// (Report.Settings), Sign on URL included, and a BaseURL New would
	// refuse is an error (ProblemSPConfig).
	EntityID, BaseURL string
}

// Report is what [Check] found, for an operator to read and a
// UI to render (every field is exported, with stable JSON names). Values
// taken from the document are unverified input: escape them when you
// display them.
type Report struct {
	// Ready reports that the metadata is usable: no Problem is an error.
	// [entrasaml.New] then accepts Metadata (with MetadataURL, if it came from one).
	Ready bool `json:"ready"`
	// TenantID is the Entra tenant (directory) id, "" when the metadata is
	// not Entra's.
	TenantID string `json:"tenant_id"`
	// IdP names the identity provider the metadata looks like: "Microsoft
	// Entra ID", "Okta", "Google Workspace", "AD FS", "Keycloak",
	// "PingFederate / PingOne", "OneLogin", "JumpCloud", or "" for another
	// SAML IdP. Entra is the first-class path; the others are supported.
	IdP string `json:"idp,omitempty"`
	// Notes say, for an IdP other than Entra, which of its fields take
	// the Identifier and the Reply URL and which claim names fill the
	// Session. They are not problems.
	Notes []string `json:"notes,omitempty"`
	// AppID is the application id from the URL's appid parameter, if any.
	AppID string `json:"app_id,omitempty"`
	// EntityID is the IdP's entity ID, the Issuer of its responses
	// ("https://sts.windows.net/<tenant id>/" for Entra).
	EntityID string `json:"entity_id"`
	// SignOnURL is where sign-in requests go (Entra's "Login URL"): the
	// HTTP-Redirect sign-on URL, or the HTTP-POST one when the IdP lists
	// no other.
	SignOnURL string `json:"sign_on_url"`
	// LogoutURL is the IdP's logout endpoint, "" when it lists none.
	LogoutURL string `json:"logout_url,omitempty"`
	// MetadataURL is Input.MetadataURL.
	MetadataURL string `json:"metadata_url,omitempty"`
	// Certificates are the IdP's signing certificates, in document order.
	Certificates []Certificate `json:"certificates"`
	// Problems are what is wrong or worth a look, errors first.
	Problems []Problem `json:"problems"`
	// Metadata is the document examined: Config.Metadata for [entrasaml.New].
	Metadata []byte `json:"-"`
	// Settings are what the customer's administrator types into the Entra
	// application's Basic SAML Configuration (Identifier, Reply URL, Sign
	// on URL: the SP's sign-in endpoint, Logout URL), from Input.EntityID
	// and Input.BaseURL with the default paths; nil without them.
	Settings *entrasaml.EntraSettings `json:"settings,omitempty"`
}

// Certificate describes one IdP signing certificate as Entra's SAML
// Certificates section shows it.
type Certificate struct {
	// Subject is the certificate's subject, e.g. "CN=Microsoft Azure
	// Federated SSO Certificate".
	Subject string `json:"subject"`
	// ThumbprintSHA1 is the SHA-1 of the certificate in uppercase hex, as
	// Entra shows it ("Thumbprint").
	ThumbprintSHA1 string `json:"thumbprint_sha1"`
	// ThumbprintSHA256 is the SHA-256 of the certificate in uppercase hex.
	ThumbprintSHA256 string    `json:"thumbprint_sha256"`
	NotBefore        time.Time `json:"not_before"`
	NotAfter         time.Time `json:"not_after"`
	// DaysLeft is the number of whole days until NotAfter, negative once
	// expired.
	DaysLeft int `json:"days_left"`
}

// Severity says whether a [Problem] blocks onboarding.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"   // the metadata cannot be used: Ready is false
	SeverityWarning Severity = "warning" // usable, but someone should look
)

// ProblemCode identifies a kind of [Problem], for programs; Message is for
// people.
type ProblemCode string

// Problem codes.
const (
	ProblemNoInput             ProblemCode = "no_input"             // neither metadata nor URL
	ProblemMetadataURL         ProblemCode = "metadata_url"         // not an http(s) URL (error), or plain http (warning)
	ProblemFetchFailed         ProblemCode = "fetch_failed"         // the URL could not be downloaded
	ProblemHTMLPage            ProblemCode = "html_page"            // a web page, not metadata
	ProblemNotXML              ProblemCode = "not_xml"              // not XML at all
	ProblemInvalidMetadata     ProblemCode = "invalid_metadata"     // XML, but not usable IdP metadata
	ProblemSPMetadata          ProblemCode = "sp_metadata"          // service-provider metadata sent by mistake
	ProblemTenantLevel         ProblemCode = "tenant_level"         // tenant-level metadata, without the app's certificate
	ProblemTenantMismatch      ProblemCode = "tenant_mismatch"      // the URL and the XML name different tenants
	ProblemWeakKey             ProblemCode = "weak_key"             // not an RSA key of at least 2048 bits
	ProblemCertificateExpired  ProblemCode = "certificate_expired"  // expired or not yet valid
	ProblemCertificateExpiring ProblemCode = "certificate_expiring" // expires within 30 days (warning)
	ProblemSPConfig            ProblemCode = "sp_config"            // Input.EntityID or BaseURL would fail New
)

// Problem is one finding of [Check], in plain words.
type Problem struct {
	Severity Severity    `json:"severity"`
	Code     ProblemCode `json:"code"`
	Message  string      `json:"message"`
}

// guid matches a tenant id; an Entra URL may name the tenant by a domain
// name instead, which cannot be compared with the metadata's.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Check checks what a customer's administrator sent: in.Metadata, or the
// document at in.MetadataURL. It never fails: every finding, a download
// error included, is a [Problem] in the report, and Ready says whether
// [entrasaml.New] can use the metadata.
//
// Errors: nothing to check; a URL that is not http(s), cannot be
// downloaded or names another tenant than the XML; an HTML page (a sign-in
// page or the portal instead of the document), anything that is not XML,
// malformed or unusable metadata (the reasons [entrasaml.ParseMetadata] gives); SP
// metadata (ours, say) instead of the IdP's; tenant-level metadata; no
// usable signing certificate (every one expired, not yet valid or weaker
// than RSA-2048).
//
// Metadata of another IdP than Entra (Okta, Google Workspace, AD FS,
// Keycloak, PingFederate, OneLogin, JumpCloud or any SAML 2.0 IdP) is
// supported: Report.IdP names it and Report.Notes say what to set there.
//
// Warnings: a plain-http URL; a
// certificate that has expired or is weak while another is usable; a
// certificate that expires within 30 days.
//
// Tenant-level metadata is detected two ways, since both the document and
// the URL look the same otherwise: an Entra document whose signing
// certificates all have the subject CN=accounts.accesscontrol.windows.net
// (the tenant's own token-signing keys; an application's are "Microsoft
// Azure Federated SSO Certificate" or imported ones), or an Entra-style
// URL (…/federationmetadata/2007-06/federationmetadata.xml) without the
// appid parameter. New accepts such metadata, but every sign-in would fail
// with ErrUnknownSigner, so Check calls it an error.
func Check(ctx context.Context, in Input) *Report {
	var now time.Time
	if in.Now != nil {
		now = in.Now()
	}
	rep := &Report{MetadataURL: in.MetadataURL, Certificates: []Certificate{}, Problems: []Problem{}}
	defer rep.finish()
	rep.settings(in.EntityID, in.BaseURL)
	var urlTenant string
	if in.MetadataURL != "" {
		var ok bool
		if urlTenant, ok = rep.checkURL(in.MetadataURL); !ok && len(in.Metadata) == 0 {
			return rep
		}
	}
	data := in.Metadata
	if len(data) == 0 {
		if in.MetadataURL == "" {
			rep.add(SeverityError, ProblemNoInput, "Nothing to check: give the Federation Metadata XML or the App Federation Metadata Url.")
			return rep
		}
		client := in.HTTPClient
		if client == nil {
			client = PublicOnlyHTTPClient()
		}
		var err error
		if data, err = idpmeta.Fetch(ctx, client, in.MetadataURL, entrasaml.DefaultMetadataTimeout); err != nil {
			rep.add(SeverityError, ProblemFetchFailed, fetchProblem(err))
			return rep
		}
	}
	rep.Metadata = data
	rep.examine(data, now)
	if guid.MatchString(urlTenant) && rep.TenantID != "" && !strings.EqualFold(urlTenant, rep.TenantID) {
		rep.add(SeverityError, ProblemTenantMismatch, fmt.Sprintf("The metadata URL names tenant %s, but the metadata XML is "+
			"tenant %s's: send the URL and the XML of the same Entra application.", quote(urlTenant), rep.TenantID))
	}
	return rep
}

func (rep *Report) add(sev Severity, code ProblemCode, msg string) {
	rep.Problems = append(rep.Problems, Problem{Severity: sev, Code: code, Message: msg})
}

// finish sorts errors first and sets Ready.
func (rep *Report) finish() {
	var errs, warns []Problem
	for _, p := range rep.Problems {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		} else {
			warns = append(warns, p)
		}
	}
	rep.Problems = append(append(rep.Problems[:0:0], errs...), warns...)
	rep.Ready = len(errs) == 0 && len(rep.Metadata) > 0
}

// checkURL checks the URL's form and returns the tenant it names, if it
// has Entra's shape; ok is false when it cannot be fetched at all.
func (rep *Report) checkURL(raw string) (tenant string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		rep.add(SeverityError, ProblemMetadataURL, "The metadata URL is not a web address: copy the App Federation Metadata Url "+
			"(https://login.microsoftonline.com/…/federationmetadata.xml?appid=…) from the application's SAML Certificates section.")
		return "", false
	}
	if u.Scheme == "http" {
		rep.add(SeverityWarning, ProblemMetadataURL, "The metadata URL uses plain http: anyone on the network path could replace "+
			"the signing certificates. Entra's metadata URLs are https.")
	}
	rep.AppID = u.Query().Get("appid")
	first, rest, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if strings.EqualFold(rest, "federationmetadata/2007-06/federationmetadata.xml") {
		tenant = first
		if rep.AppID == "" {
			rep.add(SeverityError, ProblemTenantLevel, tenantLevelMessage+" This URL has no ?appid=…: it is the tenant's.")
		}
	}
	return tenant, true
}

const tenantLevelMessage = "This is the tenant-level federation metadata, not the application's: it lacks the " +
	"application's own signing certificate, so every sign-in would fail. In the Entra admin center, open the " +
	"enterprise application, Single sign-on, SAML Certificates, and copy the App Federation Metadata Url " +
	"(it ends in ?appid=…) or download the Federation Metadata XML there."

// examine fills the report from the document with the one metadata
// reader, reporting every finding rather than stopping at the first.
func (rep *Report) examine(data []byte, now time.Time) {
	doc, findings := idpmeta.ReadBytes(data, now)
	usable := 0
	if doc != nil {
		rep.EntityID, rep.TenantID, rep.SignOnURL, rep.LogoutURL = doc.EntityID, doc.TenantID, cmp.Or(doc.SignOnURL, doc.SignOnPOSTURL), doc.LogoutURL
		for _, c := range doc.Certificates {
			rep.Certificates = append(rep.Certificates, certificateInfo(c, now))
			if idpmeta.UsableKey(c) && (now.IsZero() || !now.Before(c.NotBefore) && !now.After(c.NotAfter)) {
				usable++
			}
		}
		if rep.EntityID != "" {
			rep.recognise()
		}
	}
	for _, f := range findings {
		if f.Cert >= 0 {
			rep.addCertFinding(f, doc.Certificates[f.Cert], rep.Certificates[f.Cert], usable, now)
			continue
		}
		switch f.Code {
		case idpmeta.WeakKey, idpmeta.CertificateExpired:
			// No certificate is usable: each one's finding says why.
		case idpmeta.HTMLPage:
			rep.add(SeverityError, ProblemHTMLPage, "This is a web page (HTML), not federation metadata: perhaps a sign-in page or the "+
				"portal page was saved instead of the document. Download the Federation Metadata XML, or copy the App Federation "+
				"Metadata Url, from the application's SAML Certificates section.")
		case idpmeta.NotXML:
			rep.add(SeverityError, ProblemNotXML, "This is not XML. Send the Federation Metadata XML file itself (it starts with <?xml or <EntityDescriptor).")
		case idpmeta.Malformed:
			rep.add(SeverityError, ProblemInvalidMetadata, "The XML cannot be read ("+f.Reason+"): download the file again, unmodified.")
		case idpmeta.SPMetadata:
			rep.add(SeverityError, ProblemSPMetadata, "This is service-provider (SP) metadata, perhaps the one we publish, not the "+
				"identity provider's: send the Federation Metadata XML from the Entra application's Single sign-on page.")
		default:
			rep.add(SeverityError, ProblemInvalidMetadata, "This is not usable identity-provider metadata: "+f.Reason+".")
		}
	}
	if doc != nil && rep.TenantID != "" && len(doc.Certificates) > 0 && !rep.hasCode(ProblemTenantLevel) {
		if idpmeta.TenantLevel(doc) {
			rep.add(SeverityError, ProblemTenantLevel, tenantLevelMessage+fmt.Sprintf(" Its certificates are the tenant's own (CN=%s).", idpmeta.TenantCertCN))
		}
	}
}

func certificateInfo(c *x509.Certificate, now time.Time) Certificate {
	sha1sum, sha256sum := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
	info := Certificate{
		Subject:          c.Subject.String(),
		ThumbprintSHA1:   strings.ToUpper(hex.EncodeToString(sha1sum[:])),
		ThumbprintSHA256: strings.ToUpper(hex.EncodeToString(sha256sum[:])),
		NotBefore:        c.NotBefore.UTC(),
		NotAfter:         c.NotAfter.UTC(),
	}
	if !now.IsZero() {
		info.DaysLeft = int(math.Floor(c.NotAfter.Sub(now).Hours() / 24))
	}
	return info
}

// addCertFinding words a finding about one certificate: an error when no
// certificate is usable, else a warning.
func (rep *Report) addCertFinding(f idpmeta.Finding, c *x509.Certificate, info Certificate, usable int, now time.Time) {
	sev := SeverityWarning
	if usable == 0 {
		sev = SeverityError
	}
	const day = "2006-01-02"
	name := fmt.Sprintf("The signing certificate with thumbprint %s", info.ThumbprintSHA1)
	switch {
	case f.Code == idpmeta.WeakKey:
		rep.add(sev, ProblemWeakKey, name+fmt.Sprintf(" does not have an RSA key of at least %d bits, so responses it signs are refused. "+
			"Create a new SAML signing certificate (RSA 2048) in Entra and make it active.", idpmeta.MinRSABits))
	case f.Code == idpmeta.CertificateExpiring:
		rep.add(SeverityWarning, ProblemCertificateExpiring, name+fmt.Sprintf(" expires on %s, in %d days. ", info.NotAfter.Format(day), info.DaysLeft)+
			"Create a new SAML signing certificate in Entra and make it active before then; with the metadata URL, "+
			"sign-in picks it up by itself, otherwise send the new Federation Metadata XML.")
	case now.After(c.NotAfter):
		rep.add(sev, ProblemCertificateExpired, name+fmt.Sprintf(" expired on %s. ", info.NotAfter.Format(day))+renewAdvice(usable))
	default:
		rep.add(sev, ProblemCertificateExpired, name+fmt.Sprintf(" is not valid before %s. ", info.NotBefore.Format(day))+renewAdvice(usable))
	}
}

func renewAdvice(usable int) string {
	if usable > 0 {
		return "Another certificate is valid, so sign-in works; remove this one in Entra when convenient."
	}
	return "No certificate is valid, so sign-in cannot work: create a new SAML signing certificate in Entra, make it active, and send the new metadata."
}

func (rep *Report) hasCode(c ProblemCode) bool {
	for _, p := range rep.Problems {
		if p.Code == c {
			return true
		}
	}
	return false
}

func fetchProblem(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errNonPublicAddress):
		return "The metadata URL leads to a private or local network address, which onboarding does not fetch. " +
			"Use the App Federation Metadata Url from Entra (https://login.microsoftonline.com/…)."
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("The metadata URL did not answer within %s. Check the address, or send the Federation Metadata XML file instead.", entrasaml.DefaultMetadataTimeout)
	}
	return "The metadata could not be downloaded (" + err.Error() + "). Check the address, or send the Federation Metadata XML file instead."
}

// quote formats a value from the document for a message: quoted, escaped,
// truncated.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}
