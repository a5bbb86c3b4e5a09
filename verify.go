package entrasaml

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Verify checks a SAML Response posted to the ACS and returns the Session it
// establishes. samlResponse is the SAMLResponse form value exactly as posted
// (base64); requestIDs are the IDs of the AuthnRequests this browser has
// outstanding (from [SP.AuthnRequestURL]).
//
// It fails closed, in this order:
//   - input: at most Config.MaxResponseSize bytes, strict base64, one
//     well-formed XML document with no DTD or entity declarations, no
//     trailing content, no encoding but UTF-8, no literal tab or line
//     break inside an attribute value (XML reads it as a space),
//     bounded depth and at most 30,000 elements, 16,384
//     attributes (64 on one element), 12,288 namespace declarations, 4,096
//     IDs and 1,024 comments (ErrMalformed, the reason naming the limit);
//   - status: a non-Success status is a [*StatusError];
//   - structure: exactly one Assertion or (token encryption) exactly one
//     EncryptedAssertion, a direct child of the Response; Signatures
//     only as direct children of the Response or the Assertion; unique,
//     unqualified IDs (ErrInvalidSignature);
//   - decryption, for an EncryptedAssertion: the Response signature, if
//     any, is verified first; AES-CBC needs a signed Response (or
//     Config.AllowUnsignedCBC); RSA-OAEP key transport with one of
//     Config.DecryptionKeys (ErrDecryption); the plaintext is parsed as
//     strictly as the input and must be one Assertion, which then passes
//     every structure, signature and protocol check of a plain one;
//   - signatures: the Response, the Assertion or both are signed (Entra's
//     three options); each signature present must verify, with exactly one
//     Reference to its parent's ID, enveloped-signature + exclusive c14n
//     transforms, RSA-SHA256/384/512 (RSA-SHA1 only with
//     Config.AllowSHA1), an RSA key of at least 2048 bits from a
//     currently valid certificate in the IdP metadata (ErrInvalidSignature,
//     ErrUnknownSigner). A certificate in the message's KeyInfo is only
//     used to pick among the metadata's certificates, never trusted;
//   - protocol, reading only what a verified signature covers: Version
//     2.0, Issuers (ErrIssuerMismatch), Destination and Recipient: one of
//     the SP's ACS URLs, the same in both, and the one the answered
//     request named (ErrDestinationMismatch), InResponseTo (ErrRequestIDMismatch,
//     ErrUnsolicited), NotBefore/NotOnOrAfter and the IssueInstants with
//     Config.ClockSkew (ErrNotYetValid, ErrExpired), Audience
//     (ErrAudienceMismatch);
//   - replay: the assertion ID is recorded in Config.Store until it would
//     expire; a second use is ErrReplay, a Store failure ErrStore.
//
// With Config.MetadataURL, Verify refreshes metadata older than
// Config.MetadataMaxAge first, and when a response is signed by a
// certificate the metadata lacks it refreshes at once (rate-limited) and
// verifies again, so an Entra key rollover needs no restart.
func (sp *SP) Verify(ctx context.Context, samlResponse string, requestIDs ...string) (*Session, error) {
	return sp.verifyAt(ctx, "", samlResponse, requestIDs)
}

// verifyAt is Verify for a response posted to the ACS URL at ("" when not
// known), which its Destination and Recipient must then name.
func (sp *SP) verifyAt(ctx context.Context, at, samlResponse string, requestIDs []string) (*Session, error) {
	now := sp.now()
	sp.maybeRefresh(ctx, now)
	st := sp.idp.Load()
	s, replayUntil, err := sp.verify(st, at, samlResponse, requestIDs, now)
	if errors.Is(err, ErrUnknownSigner) && sp.refreshAfterUnknownSigner(ctx, st, now) {
		s, replayUntil, err = sp.verify(sp.idp.Load(), at, samlResponse, requestIDs, now)
	}
	if err != nil {
		return nil, err
	}
	ttl := replayUntil.Sub(now)
	if ttl < time.Second {
		ttl = time.Second
	}
	h := sha256.Sum256([]byte(s.Issuer + "\x00" + s.AssertionID))
	// A value unique to this attempt lets a store recognise its own write
	// when a client retries it after a lost reply.
	var token [16]byte
	rand.Read(token[:])
	fresh, err := sp.store.SetIfAbsent(ctx, sp.replayNS+hex.EncodeToString(h[:16]), token[:], ttl)
	if err != nil {
		return nil, wrapErr(ErrStore, err, "recording the assertion ID for replay detection")
	}
	if !fresh {
		return nil, newErr(ErrReplay, "assertion %s was already used", quote(s.AssertionID))
	}
	return s, nil
}

// verify is the pure part of Verify: everything but the replay cache. It
// returns the session and until when its assertion must be remembered.
func (sp *SP) verify(st *idpState, at, samlResponse string, requestIDs []string, now time.Time) (*Session, time.Time, error) {
	var zero time.Time
	if len(samlResponse) > sp.maxSize {
		return nil, zero, &Error{Err: ErrMalformed, Reason: fmt.Sprintf("SAMLResponse is larger than %d bytes", sp.maxSize), large: true}
	}
	if samlResponse == "" {
		return nil, zero, newErr(ErrMalformed, "empty SAMLResponse")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(samlResponse)
	if err != nil {
		return nil, zero, wrapErr(ErrMalformed, err, "SAMLResponse is not valid base64")
	}
	root, err := parseXML(raw, ErrMalformed)
	if err != nil {
		return nil, zero, err
	}
	if !is(root, nsProtocol, "Response") {
		return nil, zero, newErr(ErrMalformed, "the root element is not a SAML protocol Response")
	}
	if v := attrValue(root, "Version"); v != "2.0" {
		return nil, zero, newErr(ErrMalformed, "Response Version is not 2.0")
	}
	if err := checkStatus(root); err != nil {
		return nil, zero, err
	}

	doc, err := scan(root)
	if err != nil {
		return nil, zero, err
	}

	// One way, each step reading only what the one before verified: the
	// Response signature, decryption, the decrypted document's scan, the
	// Assertion signature; then the claims.
	if doc.encrypted == nil && doc.respSig == nil && doc.assertionSig == nil {
		return nil, zero, newErr(ErrInvalidSignature, "neither the Response nor the Assertion is signed")
	}
	if doc.encrypted != nil && len(sp.decryptKeys) == 0 {
		return nil, zero, newErr(ErrDecryption, "the assertion is encrypted (the Entra application has token encryption on) "+
			"but Config.DecryptionKeys is empty: configure the key whose certificate is uploaded in Entra")
	}
	signed, encrypted := doc.respSig != nil, doc.encrypted != nil
	resp, assertion, aSig := root, doc.assertion, doc.assertionSig
	if encrypted {
		assertion = doc.encrypted
	}
	if signed {
		if resp, err = sp.verifySignature(st, root, doc.respSig, now); err != nil {
			return nil, zero, err
		}
		if assertion, err = signedContent(resp, encrypted); err != nil {
			return nil, zero, err
		}
	}
	if encrypted {
		// Token encryption (decrypt.go), after the Response signature:
		// the EncryptedAssertion becomes the Assertion it holds.
		if assertion, err = sp.decryptAssertion(resp, assertion, signed); err != nil {
			return nil, zero, err
		}
		// The decrypted Assertion obeys every rule a plain one does.
		dec, err := scanDecrypted(resp, assertion)
		if err != nil {
			return nil, zero, err
		}
		if dec.assertionSig == nil && !signed {
			return nil, zero, newErr(ErrInvalidSignature, "neither the Response nor the decrypted Assertion is signed")
		}
		aSig = dec.assertionSig
	}
	if aSig != nil {
		// scan put the signature directly on the Assertion it signs.
		if assertion, err = sp.verifySignature(st, aSig.Parent(), aSig, now); err != nil {
			return nil, zero, err
		}
	}

	respIRT, dest, err := sp.checkResponse(resp, st.md.EntityID, doc.respSig != nil, now)
	if err != nil {
		return nil, zero, err
	}
	return sp.checkAssertion(assertion, st.md.EntityID, respInfo{irt: respIRT, dest: dest, signed: doc.respSig != nil, at: at}, requestIDs, now)
}

// checkStatus returns a *StatusError for any status but Success.
func checkStatus(root *etree.Element) error {
	status, ok := child(root, nsProtocol, "Status")
	if !ok || status == nil {
		return newErr(ErrMalformed, "the Response has no single Status")
	}
	se := &StatusError{}
	el := status
	for depth := 0; depth < 4; depth++ {
		code, ok := child(el, nsProtocol, "StatusCode")
		if !ok || code == nil {
			break
		}
		se.Codes = append(se.Codes, attrValue(code, "Value"))
		el = code
	}
	if len(se.Codes) == 0 {
		return newErr(ErrMalformed, "the Status has no StatusCode")
	}
	if se.Codes[0] == statusSuccess {
		return nil
	}
	if msg, ok := child(status, nsProtocol, "StatusMessage"); ok && msg != nil {
		m, _ := text(msg)
		if len(m) > 512 {
			m = m[:512]
		}
		se.Message = m
		se.Code = aadstsCode.FindString(m)
	}
	return se
}

// docFacts is what scan learns about the whole document.
type docFacts struct {
	assertion    *etree.Element // the only Assertion
	encrypted    *etree.Element // or the only EncryptedAssertion (then assertion and assertionSig are nil)
	respSig      *etree.Element // ds:Signature child of the Response, or nil
	assertionSig *etree.Element // ds:Signature child of the Assertion, or nil
}

// scan enforces the document-wide rules that defeat signature wrapping:
// one Assertion, a direct child of the Response; Signatures only directly
// under the Response or that Assertion, one each; IDs unique and never
// namespace-qualified.
func scan(root *etree.Element) (*docFacts, error) {
	var (
		assertions, encrypted, sigs []*etree.Element
		ids                         = make(map[string]struct{}) // at most 4,096 (samlxml.Parse)
	)
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		for _, a := range el.Attr {
			if a.Key != "ID" {
				continue
			}
			if a.Space != "" {
				return newErr(ErrInvalidSignature, "an ID attribute is namespace-qualified")
			}
			if _, seen := ids[a.Value]; seen {
				return newErr(ErrInvalidSignature, "duplicate ID in the document")
			}
			ids[a.Value] = struct{}{}
		}
		switch el.Tag {
		case "Assertion":
			if el.NamespaceURI() == nsAssertion {
				assertions = append(assertions, el)
			}
		case "EncryptedAssertion":
			if el.NamespaceURI() == nsAssertion {
				encrypted = append(encrypted, el)
			}
		case "Signature":
			if el.NamespaceURI() == nsDSig {
				sigs = append(sigs, el)
			}
		}
		for _, tok := range el.Child {
			if c, ok := tok.(*etree.Element); ok {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}

	if len(encrypted) > 0 {
		return scanEncrypted(root, encrypted, assertions, sigs)
	}
	switch {
	case len(assertions) == 0:
		return nil, newErr(ErrMalformed, "the Response holds no Assertion")
	case len(assertions) > 1:
		return nil, newErr(ErrInvalidSignature, "the document holds %d Assertions (signature wrapping?)", len(assertions))
	case assertions[0].Parent() != root:
		return nil, newErr(ErrInvalidSignature, "the Assertion is not a direct child of the Response (signature wrapping?)")
	}
	f := &docFacts{assertion: assertions[0]}
	for _, s := range sigs {
		var slot **etree.Element
		switch s.Parent() {
		case root:
			slot = &f.respSig
		case f.assertion:
			slot = &f.assertionSig
		default:
			return nil, newErr(ErrInvalidSignature, "a Signature outside the Response and Assertion (signature wrapping?)")
		}
		if *slot != nil {
			return nil, newErr(ErrInvalidSignature, "more than one Signature on one element")
		}
		*slot = s
	}
	return f, nil
}

// scanEncrypted finishes scan for a document holding EncryptedAssertions:
// exactly one, a direct child of the Response, and no plain Assertion; a
// Signature only directly on the Response.
func scanEncrypted(root *etree.Element, encrypted, assertions, sigs []*etree.Element) (*docFacts, error) {
	switch {
	case len(assertions) > 0:
		return nil, newErr(ErrInvalidSignature, "the document holds both an EncryptedAssertion and an Assertion (signature wrapping?)")
	case len(encrypted) > 1:
		return nil, newErr(ErrInvalidSignature, "the document holds %d EncryptedAssertions (signature wrapping?)", len(encrypted))
	case encrypted[0].Parent() != root:
		return nil, newErr(ErrInvalidSignature, "the EncryptedAssertion is not a direct child of the Response (signature wrapping?)")
	}
	f := &docFacts{encrypted: encrypted[0]}
	for _, s := range sigs {
		if s.Parent() != root {
			return nil, newErr(ErrInvalidSignature, "a Signature outside the Response (signature wrapping?)")
		}
		if f.respSig != nil {
			return nil, newErr(ErrInvalidSignature, "more than one Signature on one element")
		}
		f.respSig = s
	}
	return f, nil
}

// signedContent returns the one Assertion (or, when encrypted, the one
// EncryptedAssertion) of a verified Response.
func signedContent(resp *etree.Element, encrypted bool) (*etree.Element, error) {
	if encrypted {
		encs := children(resp, nsAssertion, "EncryptedAssertion")
		if len(encs) != 1 || len(children(resp, nsAssertion, "Assertion")) != 0 {
			return nil, newErr(ErrInvalidSignature, "the signed Response does not hold exactly one EncryptedAssertion")
		}
		return encs[0], nil
	}
	as := children(resp, nsAssertion, "Assertion")
	if len(as) != 1 {
		return nil, newErr(ErrInvalidSignature, "the signed Response does not hold exactly one Assertion")
	}
	return as[0], nil
}

// scanDecrypted applies scan's rules to a Response whose EncryptedAssertion
// was replaced by the decrypted Assertion a.
func scanDecrypted(resp, a *etree.Element) (*docFacts, error) {
	doc, err := scan(resp)
	if err != nil {
		return nil, err
	}
	if doc.assertion != a || doc.respSig != nil {
		return nil, newErr(ErrInvalidSignature, "unexpected layout after decryption")
	}
	return doc, nil
}

// checkResponse checks the Response envelope (verified when signed) and
// returns its InResponseTo and Destination ("" when absent), which must be
// one of the SP's ACS URLs. An IssueInstant further in the future than the
// clock skew is refused, signed or not.
func (sp *SP) checkResponse(resp *etree.Element, issuer string, signed bool, now time.Time) (irt, dest string, err error) {
	if _, err := sp.checkIssueInstant(resp, "Response", now); err != nil {
		return "", "", err
	}
	dest, ok := attr(resp, "Destination")
	switch {
	case !ok && signed:
		// SAML Bindings 3.5.5.2: a signed message must carry Destination.
		return "", "", newErr(ErrDestinationMismatch, "the signed Response has no Destination (want %s)", sp.acsURL)
	case ok && sp.acsIndex(dest) < 0:
		return "", "", newErr(ErrDestinationMismatch, "Response Destination is not an ACS URL of this SP (%s)", strings.Join(sp.acsURLs, ", "))
	}
	if iss, ok := child(resp, nsAssertion, "Issuer"); !ok {
		return "", "", newErr(ErrMalformed, "the Response has several Issuers")
	} else if iss != nil {
		v, _ := trimmedText(iss)
		if v != issuer {
			return "", "", newErr(ErrIssuerMismatch, "Response Issuer is not the IdP's entity ID %s", issuer)
		}
	}
	return attrValue(resp, "InResponseTo"), dest, nil
}
