package entrasaml

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// respInfo is what checkAssertion needs from the Response envelope.
type respInfo struct {
	irt, dest string // InResponseTo, Destination ("" when absent)
	signed    bool   // the Response's signature covers irt and dest
	at        string // the ACS URL the response was posted to, "" when unknown
}

// checkAssertion applies the protocol checks to a verified Assertion and
// builds the Session. It returns the session and until when the assertion
// ID must be remembered.
func (sp *SP) checkAssertion(a *etree.Element, issuer string, resp respInfo, requestIDs []string, now time.Time) (*Session, time.Time, error) {
	var zero time.Time
	if attrValue(a, "Version") != "2.0" {
		return nil, zero, newErr(ErrMalformed, "Assertion Version is not 2.0")
	}
	id := attrValue(a, "ID")
	if _, err := sp.checkIssueInstant(a, "Assertion", now); err != nil {
		return nil, zero, err
	}
	iss, ok := child(a, nsAssertion, "Issuer")
	if !ok || iss == nil {
		return nil, zero, newErr(ErrMalformed, "the Assertion must have one Issuer")
	}
	if v, _ := trimmedText(iss); v != issuer {
		return nil, zero, newErr(ErrIssuerMismatch, "Assertion Issuer %s is not the IdP's entity ID %s", quote(v), issuer)
	}
	if f, ok := attr(iss, "Format"); ok && f != "urn:oasis:names:tc:SAML:2.0:nameid-format:entity" {
		return nil, zero, newErr(ErrIssuerMismatch, "Assertion Issuer has Format %s", quote(f))
	}

	s := &Session{Issuer: issuer, AssertionID: id}
	var err error

	// Subject: one NameID and one bearer SubjectConfirmation.
	subject, ok := child(a, nsAssertion, "Subject")
	if !ok || subject == nil {
		return nil, zero, newErr(ErrMalformed, "the Assertion must have one Subject")
	}
	if enc, _ := child(subject, nsAssertion, "EncryptedID"); enc != nil {
		return nil, zero, newErr(ErrMalformed, "EncryptedID is not supported")
	}
	nameID, ok := child(subject, nsAssertion, "NameID")
	if !ok || nameID == nil {
		return nil, zero, newErr(ErrMalformed, "the Subject must have one NameID")
	}
	if s.NameID, ok = trimmedText(nameID); !ok || s.NameID == "" {
		return nil, zero, newErr(ErrMalformed, "NameID is empty or not simple text")
	}
	s.NameIDFormat = attrValue(nameID, "Format")

	scs := children(subject, nsAssertion, "SubjectConfirmation")
	if len(scs) != 1 || attrValue(scs[0], "Method") != cmBearer {
		return nil, zero, newErr(ErrMalformed, "the Subject must have exactly one bearer SubjectConfirmation")
	}
	scd, ok := child(scs[0], nsAssertion, "SubjectConfirmationData")
	if !ok || scd == nil {
		return nil, zero, newErr(ErrMalformed, "the SubjectConfirmation must have one SubjectConfirmationData")
	}
	recipient := attrValue(scd, "Recipient")
	switch {
	case sp.acsIndex(recipient) < 0:
		return nil, zero, newErr(ErrDestinationMismatch, "SubjectConfirmationData Recipient %s is not an ACS URL of this SP (%s)", quote(recipient), strings.Join(sp.acsURLs, ", "))
	case resp.dest != "" && resp.dest != recipient:
		return nil, zero, newErr(ErrDestinationMismatch, "Response Destination and SubjectConfirmationData Recipient %s differ", quote(recipient))
	case resp.at != "" && resp.at != recipient:
		return nil, zero, newErr(ErrDestinationMismatch, "the response was posted to %s but is addressed to %s", resp.at, quote(recipient))
	}
	scdNOA, ok := parseTime(attrValue(scd, "NotOnOrAfter"))
	if !ok {
		return nil, zero, newErr(ErrMalformed, "SubjectConfirmationData NotOnOrAfter is missing or invalid")
	}
	if !now.Before(scdNOA.Add(sp.skew)) {
		return nil, zero, newErr(ErrExpired, "SubjectConfirmationData NotOnOrAfter %s has passed (now %s, skew %s)", stamp(scdNOA), stamp(now), sp.skew)
	}
	if v, ok := attr(scd, "NotBefore"); ok {
		nb, ok := parseTime(v)
		if !ok {
			return nil, zero, newErr(ErrMalformed, "SubjectConfirmationData NotBefore is invalid")
		}
		if now.Add(sp.skew).Before(nb) {
			return nil, zero, newErr(ErrNotYetValid, "SubjectConfirmationData NotBefore %s is in the future (now %s, skew %s)", stamp(nb), stamp(now), sp.skew)
		}
	}
	if s.InResponseTo, err = sp.checkInResponseTo(resp.irt, resp.signed, attrValue(scd, "InResponseTo"), requestIDs); err != nil {
		return nil, zero, err
	}
	if s.InResponseTo != "" {
		// The request named an ACS URL (its ID records which): the
		// response must be addressed there, not to another accepted one.
		if named := sp.namedACS(s.InResponseTo); named != recipient {
			return nil, zero, newErr(ErrDestinationMismatch, "the response is addressed to %s, but request %s named the ACS URL %s",
				quote(recipient), quote(s.InResponseTo), cmpOr(named, "(none of this SP's)"))
		}
	}

	// Conditions: validity window and audience.
	cond, ok := child(a, nsAssertion, "Conditions")
	if !ok || cond == nil {
		return nil, zero, newErr(ErrMalformed, "the Assertion must have one Conditions")
	}
	replayUntil := scdNOA
	if v, ok := attr(cond, "NotBefore"); ok {
		nb, ok := parseTime(v)
		if !ok {
			return nil, zero, newErr(ErrMalformed, "Conditions NotBefore is invalid")
		}
		if now.Add(sp.skew).Before(nb) {
			return nil, zero, newErr(ErrNotYetValid, "Conditions NotBefore %s is in the future (now %s, skew %s)", stamp(nb), stamp(now), sp.skew)
		}
	}
	if v, ok := attr(cond, "NotOnOrAfter"); ok {
		noa, ok := parseTime(v)
		if !ok {
			return nil, zero, newErr(ErrMalformed, "Conditions NotOnOrAfter is invalid")
		}
		if !now.Before(noa.Add(sp.skew)) {
			return nil, zero, newErr(ErrExpired, "Conditions NotOnOrAfter %s has passed (now %s, skew %s)", stamp(noa), stamp(now), sp.skew)
		}
		if noa.Before(replayUntil) {
			replayUntil = noa
		}
	}
	if err := sp.checkAudience(cond); err != nil {
		return nil, zero, err
	}

	// AuthnStatement.
	authn := children(a, nsAssertion, "AuthnStatement")
	if len(authn) == 0 {
		return nil, zero, newErr(ErrMalformed, "the Assertion has no AuthnStatement")
	}
	as := authn[0]
	if s.AuthnInstant, ok = parseTime(attrValue(as, "AuthnInstant")); !ok {
		return nil, zero, newErr(ErrMalformed, "AuthnInstant is missing or invalid")
	}
	s.SessionIndex = attrValue(as, "SessionIndex")
	s.ExpiresAt = now.Add(sp.maxAge)
	if v, ok := attr(as, "SessionNotOnOrAfter"); ok {
		snoa, ok := parseTime(v)
		if !ok {
			return nil, zero, newErr(ErrMalformed, "SessionNotOnOrAfter is invalid")
		}
		if !now.Before(snoa) {
			return nil, zero, newErr(ErrExpired, "SessionNotOnOrAfter %s has passed (now %s)", stamp(snoa), stamp(now))
		}
		if snoa.Before(s.ExpiresAt) {
			s.ExpiresAt = snoa
		}
	}
	if ctx, _ := child(as, nsAssertion, "AuthnContext"); ctx != nil {
		if ref, _ := child(ctx, nsAssertion, "AuthnContextClassRef"); ref != nil {
			s.AuthnContextClassRef, _ = trimmedText(ref)
		}
	}

	// Attributes.
	if err := readAttributes(a, s); err != nil {
		return nil, zero, err
	}
	s.fillClaims()
	return s, replayUntil.Add(sp.skew), nil
}

// checkInResponseTo matches the response to an outstanding request and
// returns the request ID it answers ("" for an allowed unsolicited one).
// Two InResponseTo values that disagree are refused even when the
// Response's is not signed (fail closed); but an unsigned Response's one
// proves nothing and never decides: it must not turn a signed unsolicited
// assertion into a solicited one.
func (sp *SP) checkInResponseTo(respIRT string, respSigned bool, scdIRT string, requestIDs []string) (string, error) {
	if respIRT != "" && scdIRT != "" && respIRT != scdIRT {
		return "", newErr(ErrRequestIDMismatch, "Response and SubjectConfirmationData InResponseTo differ")
	}
	if !respSigned {
		respIRT = ""
	}
	irt := scdIRT
	if irt == "" {
		irt = respIRT
	}
	if irt == "" {
		if !sp.allowIdP {
			return "", newErr(ErrUnsolicited, "the response answers no request (IdP-initiated); set the Sign-on URL in Entra, or Config.AllowIdPInitiated")
		}
		return "", nil
	}
	for _, id := range requestIDs {
		if id != "" && id == irt {
			return irt, nil
		}
	}
	return "", newErr(ErrRequestIDMismatch, "InResponseTo %s is not among the %d outstanding request IDs", quote(irt), len(requestIDs))
}

// checkAudience requires every AudienceRestriction to name this SP, and
// refuses conditions it does not understand (SAML Core 2.5.1.5).
func (sp *SP) checkAudience(cond *etree.Element) error {
	restrictions := 0
	for _, c := range cond.ChildElements() {
		if c.NamespaceURI() != nsAssertion {
			return newErr(ErrMalformed, "unknown condition <%s>", c.Tag)
		}
		switch c.Tag {
		case "AudienceRestriction":
			restrictions++
			found := false
			for _, aud := range children(c, nsAssertion, "Audience") {
				v, _ := trimmedText(aud)
				if contains(sp.audiences, v) {
					found = true
				}
			}
			if !found {
				return newErr(ErrAudienceMismatch, "no Audience is this SP's Identifier %s", quote(sp.entityID))
			}
		case "OneTimeUse", "ProxyRestriction":
		default:
			return newErr(ErrMalformed, "unknown condition <%s>", c.Tag)
		}
	}
	if restrictions == 0 {
		return newErr(ErrAudienceMismatch, "the Assertion has no AudienceRestriction")
	}
	return nil
}

// readAttributes collects every AttributeStatement's attributes.
func readAttributes(a *etree.Element, s *Session) error {
	for _, stmt := range children(a, nsAssertion, "AttributeStatement") {
		for _, at := range stmt.ChildElements() {
			if !is(at, nsAssertion, "Attribute") {
				if at.Tag == "EncryptedAttribute" {
					return newErr(ErrMalformed, "EncryptedAttribute is not supported")
				}
				continue
			}
			name := attrValue(at, "Name")
			if name == "" {
				return newErr(ErrMalformed, "an Attribute has no Name")
			}
			if s.Attributes == nil {
				s.Attributes = make(map[string][]string)
			}
			vals := s.Attributes[name]
			for _, v := range at.ChildElements() {
				if !is(v, nsAssertion, "AttributeValue") {
					continue
				}
				t, ok := text(v)
				if !ok {
					return newErr(ErrMalformed, "attribute %s has a value that is not simple text", quote(name))
				}
				vals = append(vals, t)
			}
			s.Attributes[name] = vals
		}
	}
	return nil
}

// checkIssueInstant requires el's IssueInstant (what names el in errors)
// and refuses one further in the future than the clock skew: a message
// cannot have been issued after now.
func (sp *SP) checkIssueInstant(el *etree.Element, what string, now time.Time) (time.Time, error) {
	t, ok := parseTime(attrValue(el, "IssueInstant"))
	if !ok {
		return time.Time{}, newErr(ErrMalformed, "%s IssueInstant is missing or invalid", what)
	}
	if now.Add(sp.skew).Before(t) {
		return time.Time{}, newErr(ErrNotYetValid, "%s IssueInstant %s is in the future (now %s, skew %s)", what, stamp(t), stamp(now), sp.skew)
	}
	return t, nil
}
