package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
)

var base64RawStd = base64.RawStdEncoding

// maxInput bounds what explain reads.
const maxInput = 8 << 20

// readResponse turns a SAMLResponse as people copy it into the XML
// document: raw XML; a form body "SAMLResponse=...&RelayState=..."; the
// value URL-encoded or not; base64 standard or URL-safe, with or without
// padding, whitespace and line breaks; DEFLATE-compressed too. format says
// which it was.
func readResponse(data []byte) (xml []byte, format string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	s := strings.TrimSpace(string(data))
	if s == "" {
		return nil, "", errors.New("the input is empty: paste the SAMLResponse value, the form body or the XML")
	}
	if strings.HasPrefix(s, "<") {
		return []byte(s), "XML", nil
	}
	format = "base64"
	if i := strings.Index(s, "SAMLResponse="); i >= 0 {
		// A form body, or a query string: take the parameter. The value is
		// percent-decoded but a literal '+' kept, since base64 has no
		// spaces and a half-decoded copy keeps its '+'.
		s = s[i+len("SAMLResponse="):]
		if j := strings.IndexByte(s, '&'); j >= 0 {
			s = s[:j]
		}
		format = "form body"
	}
	if strings.Contains(s, "%") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, "", fmt.Errorf("the URL-encoded value cannot be decoded: %v", err)
		}
		s = u
		if format == "base64" {
			format = "URL-encoded base64"
		}
	}
	raw, err := decodeBase64(s)
	if err != nil {
		return nil, "", errors.New("the input is neither XML nor base64: copy the SAMLResponse value from the browser's network tab (the form data of the POST to the ACS URL)")
	}
	if looksLikeXML(raw) {
		return raw, format, nil
	}
	if x, err := inflate(raw); err == nil && looksLikeXML(x) {
		return x, format + " (deflated)", nil
	}
	return nil, "", errors.New("the input decodes from base64 but is not XML: copy the whole SAMLResponse value")
}

// facts is what the response says about itself. Nothing in it is
// verified: it is for display, and to word the advice; decisions are the
// library's.
type facts struct {
	Kind          string       `json:"kind"` // the root element, "Response" for a SAML response
	ID            string       `json:"id,omitempty"`
	IssueInstant  string       `json:"issue_instant,omitempty"`
	Issuer        string       `json:"issuer,omitempty"`
	TenantID      string       `json:"tenant_id,omitempty"`
	Destination   string       `json:"destination,omitempty"`
	InResponseTo  string       `json:"in_response_to,omitempty"`
	Status        []string     `json:"status,omitempty"`
	StatusMessage string       `json:"status_message,omitempty"`
	AADSTS        string       `json:"aadsts,omitempty"`
	Signatures    []signature  `json:"signatures"`
	Encrypted     *encryption  `json:"encrypted_assertion,omitempty"`
	Assertion     *assertion   `json:"assertion,omitempty"`
	Times         []timeWindow `json:"times"`
}

// signature is one enveloped signature in the response.
type signature struct {
	Element   string `json:"element"` // Response or Assertion
	Algorithm string `json:"algorithm"`
	// The certificate in the signature's KeyInfo; the library never trusts
	// it, only uses it to pick among the metadata's certificates.
	Subject        string     `json:"certificate_subject,omitempty"`
	ThumbprintSHA1 string     `json:"certificate_thumbprint_sha1,omitempty"`
	NotBefore      *time.Time `json:"certificate_not_before,omitempty"`
	NotAfter       *time.Time `json:"certificate_not_after,omitempty"`
	// InMetadata says whether the metadata lists the certificate; nil when
	// no metadata was given or the KeyInfo has no certificate.
	InMetadata *bool `json:"in_metadata,omitempty"`
	cert       *x509.Certificate
}

type encryption struct {
	Method       string `json:"method"`
	KeyTransport string `json:"key_transport"`
}

type assertion struct {
	ID                  string   `json:"id,omitempty"`
	Issuer              string   `json:"issuer,omitempty"`
	NameID              string   `json:"name_id,omitempty"`
	NameIDFormat        string   `json:"name_id_format,omitempty"`
	Recipient           string   `json:"recipient,omitempty"`
	InResponseTo        string   `json:"in_response_to,omitempty"`
	Audiences           []string `json:"audiences,omitempty"`
	AuthnInstant        string   `json:"authn_instant,omitempty"`
	SessionIndex        string   `json:"session_index,omitempty"`
	AuthnContext        string   `json:"authn_context,omitempty"`
	Claims              []claim  `json:"claims"`
	notBefore, notAfter string
	subjectNotAfter     string
	sessionNotAfter     string
}

type claim struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// timeWindow is one time in the response judged against the clock.
type timeWindow struct {
	Name  string    `json:"name"`
	Time  time.Time `json:"time"`
	State string    `json:"state"` // "ok", "expired", "not yet valid"
	Delta string    `json:"delta"` // e.g. "2h5m ago", "in 4m"
}

var entraIssuer = regexp.MustCompile(`^https://sts\.windows\.net/([0-9a-fA-F-]{36})/$`)

// readFacts parses the XML for display only.
func readFacts(xml []byte, at time.Time) (*facts, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil || doc.Root() == nil {
		return nil, errors.New("the input is not well-formed XML")
	}
	root := doc.Root()
	f := &facts{Kind: root.Tag, Signatures: []signature{}, Times: []timeWindow{}}
	if root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return f, fmt.Errorf("this is a %s, not a SAML Response", root.Tag)
	}
	f.ID = root.SelectAttrValue("ID", "")
	f.IssueInstant = root.SelectAttrValue("IssueInstant", "")
	f.Destination = root.SelectAttrValue("Destination", "")
	f.InResponseTo = root.SelectAttrValue("InResponseTo", "")
	if iss := firstChild(root, nsAssertion, "Issuer"); iss != nil {
		f.Issuer = strings.TrimSpace(iss.Text())
	}
	if st := firstChild(root, nsProtocol, "Status"); st != nil {
		for c := firstChild(st, nsProtocol, "StatusCode"); c != nil && len(f.Status) < 4; c = firstChild(c, nsProtocol, "StatusCode") {
			f.Status = append(f.Status, c.SelectAttrValue("Value", ""))
		}
		if m := firstChild(st, nsProtocol, "StatusMessage"); m != nil {
			f.StatusMessage = strings.TrimSpace(m.Text())
			f.AADSTS = aadstsCode.FindString(f.StatusMessage)
		}
	}
	if s := firstChild(root, nsDSig, "Signature"); s != nil {
		f.Signatures = append(f.Signatures, readSignature("Response", s))
	}
	if ea := firstChild(root, nsAssertion, "EncryptedAssertion"); ea != nil {
		f.Encrypted = &encryption{}
		if ed := firstChild(ea, nsXMLEnc, "EncryptedData"); ed != nil {
			if m := firstChild(ed, nsXMLEnc, "EncryptionMethod"); m != nil {
				f.Encrypted.Method = m.SelectAttrValue("Algorithm", "")
			}
		}
		for _, ek := range ea.FindElements(".//EncryptedKey") {
			if m := firstChild(ek, nsXMLEnc, "EncryptionMethod"); m != nil {
				f.Encrypted.KeyTransport = m.SelectAttrValue("Algorithm", "")
			}
		}
	}
	if a := firstChild(root, nsAssertion, "Assertion"); a != nil {
		f.Assertion = readAssertion(a)
		if s := firstChild(a, nsDSig, "Signature"); s != nil {
			f.Signatures = append(f.Signatures, readSignature("Assertion", s))
		}
	}
	if m := entraIssuer.FindStringSubmatch(f.Issuer); m != nil {
		f.TenantID = strings.ToLower(m[1])
	} else if f.Assertion != nil {
		if m := entraIssuer.FindStringSubmatch(f.Assertion.Issuer); m != nil {
			f.TenantID = strings.ToLower(m[1])
		}
	}
	f.judgeTimes(at)
	return f, nil
}

var aadstsCode = regexp.MustCompile(`^AADSTS[0-9]{1,9}\b`)

func readSignature(element string, s *etree.Element) signature {
	sig := signature{Element: element}
	if si := firstChild(s, nsDSig, "SignedInfo"); si != nil {
		if m := firstChild(si, nsDSig, "SignatureMethod"); m != nil {
			sig.Algorithm = m.SelectAttrValue("Algorithm", "")
		}
	}
	ki := firstChild(s, nsDSig, "KeyInfo")
	xd := firstChild(ki, nsDSig, "X509Data")
	xc := firstChild(xd, nsDSig, "X509Certificate")
	if xc == nil {
		return sig
	}
	der, err := decodeBase64(xc.Text())
	if err != nil {
		return sig
	}
	sum := sha1.Sum(der)
	sig.ThumbprintSHA1 = strings.ToUpper(hex.EncodeToString(sum[:]))
	if c, err := x509.ParseCertificate(der); err == nil {
		sig.cert = c
		sig.Subject = c.Subject.String()
		nb, na := c.NotBefore.UTC(), c.NotAfter.UTC()
		sig.NotBefore, sig.NotAfter = &nb, &na
	}
	return sig
}

func readAssertion(a *etree.Element) *assertion {
	out := &assertion{ID: a.SelectAttrValue("ID", ""), Claims: []claim{}}
	if iss := firstChild(a, nsAssertion, "Issuer"); iss != nil {
		out.Issuer = strings.TrimSpace(iss.Text())
	}
	if sub := firstChild(a, nsAssertion, "Subject"); sub != nil {
		if n := firstChild(sub, nsAssertion, "NameID"); n != nil {
			out.NameID = strings.TrimSpace(n.Text())
			out.NameIDFormat = n.SelectAttrValue("Format", "")
		}
		sc := firstChild(sub, nsAssertion, "SubjectConfirmation")
		if d := firstChild(sc, nsAssertion, "SubjectConfirmationData"); d != nil {
			out.Recipient = d.SelectAttrValue("Recipient", "")
			out.InResponseTo = d.SelectAttrValue("InResponseTo", "")
			out.subjectNotAfter = d.SelectAttrValue("NotOnOrAfter", "")
		}
	}
	if c := firstChild(a, nsAssertion, "Conditions"); c != nil {
		out.notBefore = c.SelectAttrValue("NotBefore", "")
		out.notAfter = c.SelectAttrValue("NotOnOrAfter", "")
		for _, ar := range c.ChildElements() {
			if ar.Tag != "AudienceRestriction" {
				continue
			}
			for _, au := range ar.ChildElements() {
				if au.Tag == "Audience" {
					out.Audiences = append(out.Audiences, strings.TrimSpace(au.Text()))
				}
			}
		}
	}
	if as := firstChild(a, nsAssertion, "AuthnStatement"); as != nil {
		out.AuthnInstant = as.SelectAttrValue("AuthnInstant", "")
		out.SessionIndex = as.SelectAttrValue("SessionIndex", "")
		out.sessionNotAfter = as.SelectAttrValue("SessionNotOnOrAfter", "")
		if ac := firstChild(as, nsAssertion, "AuthnContext"); ac != nil {
			if r := firstChild(ac, nsAssertion, "AuthnContextClassRef"); r != nil {
				out.AuthnContext = strings.TrimSpace(r.Text())
			}
		}
	}
	if st := firstChild(a, nsAssertion, "AttributeStatement"); st != nil {
		for _, at := range st.ChildElements() {
			if at.Tag != "Attribute" {
				continue
			}
			c := claim{Name: at.SelectAttrValue("Name", ""), Values: []string{}}
			for _, v := range at.ChildElements() {
				if v.Tag == "AttributeValue" {
					c.Values = append(c.Values, strings.TrimSpace(v.Text()))
				}
			}
			out.Claims = append(out.Claims, c)
		}
	}
	return out
}

// judgeTimes lists the response's validity times against at.
func (f *facts) judgeTimes(at time.Time) {
	add := func(name, v string, start bool) {
		t, err := time.Parse(time.RFC3339Nano, v)
		if v == "" || err != nil {
			return
		}
		w := timeWindow{Name: name, Time: t.UTC(), State: "ok"}
		d := t.Sub(at)
		switch {
		case start && d > 0:
			w.State = "not yet valid"
		case !start && d <= 0:
			w.State = "expired"
		}
		if d > 0 {
			w.Delta = "in " + roundDuration(d)
		} else {
			w.Delta = roundDuration(-d) + " ago"
		}
		f.Times = append(f.Times, w)
	}
	add("Response IssueInstant", f.IssueInstant, false)
	if len(f.Times) > 0 {
		f.Times[0].State = "" // an instant, not a limit
	}
	if a := f.Assertion; a != nil {
		add("Conditions NotBefore", a.notBefore, true)
		add("Conditions NotOnOrAfter", a.notAfter, false)
		add("SubjectConfirmationData NotOnOrAfter", a.subjectNotAfter, false)
		add("AuthnStatement SessionNotOnOrAfter", a.sessionNotAfter, false)
	}
}

// validFrom returns a time at which the response's time checks pass, to
// look for further problems after a time check failed.
func (f *facts) validFrom() (time.Time, bool) {
	var t time.Time
	for _, w := range f.Times {
		if w.Name == "Response IssueInstant" || w.Name == "Conditions NotBefore" {
			if w.Time.After(t) {
				t = w.Time
			}
		}
	}
	return t.Add(time.Second), !t.IsZero()
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// audience returns the first Audience as an Identifier (without Entra's
// "spn:" prefix), or "".
func (f *facts) audience() string {
	if f.Assertion == nil || len(f.Assertion.Audiences) == 0 {
		return ""
	}
	return strings.TrimPrefix(f.Assertion.Audiences[0], "spn:")
}

// replyURL returns where Entra sent the response (its Reply URL), or "".
func (f *facts) replyURL() string {
	if f.Destination != "" {
		return f.Destination
	}
	if f.Assertion != nil {
		return f.Assertion.Recipient
	}
	return ""
}

// inResponseTo returns the request ID the response answers, or "".
func (f *facts) inResponseTo() string {
	if f.InResponseTo != "" {
		return f.InResponseTo
	}
	if f.Assertion != nil {
		return f.Assertion.InResponseTo
	}
	return ""
}

func (f *facts) signed(element string) bool {
	for _, s := range f.Signatures {
		if s.Element == element {
			return true
		}
	}
	return false
}
