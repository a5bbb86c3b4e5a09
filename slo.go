package entrasaml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Single logout, HTTP-Redirect binding only (the only one Entra supports).
// The net/http side is in logout.go.

// maxRedirectMessage bounds a SAML message in a query string, inflated.
const maxRedirectMessage = 64 << 10

// LogoutRequestURL returns the URL that sends the browser to the IdP's
// logout URL with a LogoutRequest for s (HTTP-Redirect binding): an ID that
// never starts with a digit, Issuer = EntityID, the session's NameID (with
// its Format) and SessionIndex, signed with SigAlg and Signature when
// Config.Key is set. requestID is what the IdP's LogoutResponse must answer.
// Errors match ErrMetadata when the IdP metadata lists no logout URL.
func (sp *SP) LogoutRequestURL(s *Session) (u *url.URL, requestID string, err error) {
	md := sp.idp.Load().md
	if md.LogoutURL == "" {
		return nil, "", newErr(ErrMetadata, "the IdP metadata lists no HTTP-Redirect SingleLogoutService")
	}
	dest, err := url.Parse(md.LogoutURL)
	if err != nil {
		return nil, "", wrapErr(ErrMetadata, err, "the logout URL cannot be parsed")
	}
	id := newID()
	buf := getBuffer()
	defer putBuffer(buf)
	w := &buf.xml
	w.WriteString(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="`)
	w.WriteString(id)
	w.WriteString(`" Version="2.0" IssueInstant="`)
	w.WriteString(sp.now().UTC().Format("2006-01-02T15:04:05.000Z"))
	w.WriteString(`" Destination="`)
	xmlEscape(w, md.LogoutURL)
	w.WriteString(`"><saml:Issuer>`)
	xmlEscape(w, sp.entityID)
	w.WriteString(`</saml:Issuer><saml:NameID`)
	if s.NameIDFormat != "" {
		w.WriteString(` Format="`)
		xmlEscape(w, s.NameIDFormat)
		w.WriteString(`"`)
	}
	w.WriteString(`>`)
	xmlEscape(w, s.NameID)
	w.WriteString(`</saml:NameID>`)
	if s.SessionIndex != "" {
		w.WriteString(`<samlp:SessionIndex>`)
		xmlEscape(w, s.SessionIndex)
		w.WriteString(`</samlp:SessionIndex>`)
	}
	w.WriteString(`</samlp:LogoutRequest>`)
	u, err = sp.redirectURL(buf, dest, "SAMLRequest", "")
	if err != nil {
		return nil, "", err
	}
	return u, id, nil
}

// logoutResponseURL returns the URL that answers the IdP's LogoutRequest
// inResponseTo with a Success LogoutResponse.
func (sp *SP) logoutResponseURL(inResponseTo, relayState string) (*url.URL, error) {
	md := sp.idp.Load().md
	dest, err := url.Parse(md.LogoutURL)
	if err != nil || md.LogoutURL == "" {
		return nil, newErr(ErrMetadata, "the IdP metadata lists no usable logout URL")
	}
	buf := getBuffer()
	defer putBuffer(buf)
	w := &buf.xml
	w.WriteString(`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="`)
	w.WriteString(newID())
	w.WriteString(`" Version="2.0" IssueInstant="`)
	w.WriteString(sp.now().UTC().Format("2006-01-02T15:04:05.000Z"))
	w.WriteString(`" Destination="`)
	xmlEscape(w, md.LogoutURL)
	w.WriteString(`" InResponseTo="`)
	xmlEscape(w, inResponseTo)
	w.WriteString(`"><saml:Issuer>`)
	xmlEscape(w, sp.entityID)
	w.WriteString(`</saml:Issuer><samlp:Status><samlp:StatusCode Value="` + statusSuccess + `"/></samlp:Status></samlp:LogoutResponse>`)
	if len(relayState) > maxRelayState {
		relayState = ""
	}
	return sp.redirectURL(buf, dest, "SAMLResponse", relayState)
}

// redirectMessage is a SAML message received with the HTTP-Redirect
// binding.
type redirectMessage struct {
	root       *etree.Element
	relayState string
	signed     bool // it carried a Signature, and it verified
}

// readRedirectMessage decodes the param ("SAMLRequest" or "SAMLResponse")
// of the raw query string, and verifies its Signature over the raw query
// (SAML Bindings 3.4.4.1) with the IdP's certificates when it has one.
func (sp *SP) readRedirectMessage(rawQuery, param string) (*redirectMessage, error) {
	if len(rawQuery) > 4*maxRedirectMessage {
		return nil, &Error{Err: ErrMalformed, Reason: "the query string is too large", large: true}
	}
	raw := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := raw[k]; dup && (k == param || k == "RelayState" || k == "SigAlg" || k == "Signature") {
			return nil, newErr(ErrMalformed, "%s appears twice in the query string", k)
		}
		raw[k] = v
	}
	msg := &redirectMessage{}
	value := func(k string) (string, error) {
		v, err := url.QueryUnescape(raw[k])
		if err != nil {
			return "", wrapErr(ErrMalformed, err, "%s is not URL-encoded", k)
		}
		return v, nil
	}
	var err error
	if msg.relayState, err = value("RelayState"); err != nil {
		return nil, err
	}

	if _, ok := raw["Signature"]; ok {
		alg, err := value("SigAlg")
		if err != nil {
			return nil, err
		}
		sig, err := value("Signature")
		if err != nil {
			return nil, err
		}
		signed := param + "=" + raw[param]
		if _, ok := raw["RelayState"]; ok {
			signed += "&RelayState=" + raw["RelayState"]
		}
		signed += "&SigAlg=" + raw["SigAlg"]
		if err := sp.verifyQuerySignature(signed, alg, sig); err != nil {
			return nil, err
		}
		msg.signed = true
	}

	b64, err := value(param)
	if err != nil {
		return nil, err
	}
	deflated, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(deflated) == 0 {
		return nil, newErr(ErrMalformed, "%s is not base64", param)
	}
	xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), maxRedirectMessage+1))
	if err != nil {
		return nil, wrapErr(ErrMalformed, err, "%s does not inflate", param)
	}
	if len(xml) > maxRedirectMessage {
		return nil, &Error{Err: ErrMalformed, Reason: param + " is too large", large: true}
	}
	if msg.root, err = parseXML(xml, ErrMalformed); err != nil {
		return nil, err
	}
	return msg, nil
}

// verifyQuerySignature checks an HTTP-Redirect binding signature: sig over
// signed with algorithm alg, by one of the IdP's current certificates.
func (sp *SP) verifyQuerySignature(signed, alg, sig string) error {
	switch alg {
	case algRSASHA256, algRSASHA384, algRSASHA512:
	case algRSASHA1:
		if !sp.allowSHA1 {
			return newErr(ErrInvalidSignature, "RSA-SHA1 signatures are refused (Config.AllowSHA1 is false)")
		}
	default:
		return newErr(ErrInvalidSignature, "SigAlg must be RSA-SHA256, RSA-SHA384 or RSA-SHA512")
	}
	sigBytes, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return newErr(ErrInvalidSignature, "Signature is not base64")
	}
	hash := hashFor(alg)
	h := hash.New()
	h.Write([]byte(signed))
	digest := h.Sum(nil)
	now := sp.now()
	for _, c := range sp.idp.Load().certs {
		if validAt(c, now) && rsa.VerifyPKCS1v15(c.PublicKey.(*rsa.PublicKey), hash, digest, sigBytes) == nil {
			return nil
		}
	}
	return newErr(ErrInvalidSignature, "the query-string signature does not verify with the IdP's certificates")
}

// logoutIssuers are the Issuers accepted on logout messages: the IdP's
// entity ID and, for Entra, exactly "https://<login host>/<tenant>/", which
// is what Entra puts on its LogoutResponse.
func (sp *SP) logoutIssuerOK(iss string) bool {
	md := sp.idp.Load().md
	if iss == md.EntityID {
		return true
	}
	if md.TenantID == "" {
		return false
	}
	u, err := url.Parse(md.LogoutURL)
	if err != nil || u.Host == "" {
		return false
	}
	return iss == u.Scheme+"://"+u.Host+"/"+md.TenantID+"/"
}

// checkLogoutMessage applies the checks common to LogoutRequest and
// LogoutResponse: the element, Version, Issuer, Destination, IssueInstant.
// It returns the IssueInstant.
func (sp *SP) checkLogoutMessage(root *etree.Element, name string) (time.Time, error) {
	if !is(root, nsProtocol, name) {
		return time.Time{}, newErr(ErrMalformed, "the message is not a %s", name)
	}
	if attrValue(root, "Version") != "2.0" {
		return time.Time{}, newErr(ErrMalformed, "%s Version is not 2.0", name)
	}
	iss, ok := child(root, nsAssertion, "Issuer")
	if !ok || iss == nil {
		return time.Time{}, newErr(ErrIssuerMismatch, "%s has no single Issuer", name)
	}
	if v, _ := trimmedText(iss); !sp.logoutIssuerOK(v) {
		return time.Time{}, newErr(ErrIssuerMismatch, "%s Issuer is not the IdP's", name)
	}
	if d, ok := attr(root, "Destination"); ok && d != sp.LogoutURL() {
		return time.Time{}, newErr(ErrDestinationMismatch, "%s Destination is not the logout URL %s", name, sp.LogoutURL())
	}
	return sp.checkLogoutFresh(root, name)
}

// checkLogoutFresh requires the message's IssueInstant to lie within
// Config.ClockSkew of now, either way: a logout message is answered at once
// by the browser that carries it, so an older one is a captured URL played
// again.
func (sp *SP) checkLogoutFresh(root *etree.Element, name string) (time.Time, error) {
	now := sp.now()
	t, err := sp.checkIssueInstant(root, name, now)
	if err != nil {
		return time.Time{}, err
	}
	if t.Add(sp.skew).Before(now) {
		return time.Time{}, newErr(ErrExpired, "%s IssueInstant %s is older than the clock skew (now %s, skew %s)", name, stamp(t), stamp(now), sp.skew)
	}
	return t, nil
}

// logoutRequest is an IdP's LogoutRequest, checked.
type logoutRequest struct {
	id, nameID   string
	sessionIndex []string
	until        time.Time // after this it is refused as too old
}

func (sp *SP) parseLogoutRequest(root *etree.Element) (*logoutRequest, error) {
	issued, err := sp.checkLogoutMessage(root, "LogoutRequest")
	if err != nil {
		return nil, err
	}
	req := &logoutRequest{id: attrValue(root, "ID")}
	if req.id == "" {
		return nil, newErr(ErrMalformed, "LogoutRequest has no ID")
	}
	req.until = issued.Add(sp.skew)
	if v, ok := attr(root, "NotOnOrAfter"); ok {
		t, ok := parseTime(v)
		if !ok {
			return nil, newErr(ErrMalformed, "LogoutRequest NotOnOrAfter is invalid")
		}
		if !sp.now().Before(t.Add(sp.skew)) {
			return nil, newErr(ErrExpired, "LogoutRequest NotOnOrAfter %s has passed", stamp(t))
		}
	}
	n, ok := child(root, nsAssertion, "NameID")
	if !ok || n == nil {
		return nil, newErr(ErrMalformed, "LogoutRequest must have one NameID")
	}
	if req.nameID, ok = trimmedText(n); !ok || req.nameID == "" {
		return nil, newErr(ErrMalformed, "LogoutRequest NameID is empty")
	}
	for _, si := range children(root, nsProtocol, "SessionIndex") {
		v, _ := trimmedText(si)
		req.sessionIndex = append(req.sessionIndex, v)
	}
	return req, nil
}

// checkLogoutResponse checks the IdP's answer to our LogoutRequest
// requestID and returns its status error, if any.
func (sp *SP) checkLogoutResponse(root *etree.Element, requestID string) error {
	if _, err := sp.checkLogoutMessage(root, "LogoutResponse"); err != nil {
		return err
	}
	if irt := attrValue(root, "InResponseTo"); requestID == "" || irt != requestID {
		return newErr(ErrRequestIDMismatch, "the LogoutResponse does not answer this browser's LogoutRequest")
	}
	return checkStatus(root)
}

// recordLogoutRequest remembers a signed LogoutRequest's ID in the Store
// until it is too old to be accepted anyway, and refuses one already seen
// (ErrReplay; ErrStore when the Store fails).
func (sp *SP) recordLogoutRequest(ctx context.Context, req *logoutRequest) error {
	ttl := req.until.Sub(sp.now()) + time.Second
	h := sha256.Sum256([]byte("LogoutRequest\x00" + req.id))
	var token [16]byte
	rand.Read(token[:])
	fresh, err := sp.store.SetIfAbsent(ctx, sp.replayNS+"logout/"+hex.EncodeToString(h[:16]), token[:], ttl)
	if err != nil {
		return wrapErr(ErrStore, err, "recording the LogoutRequest ID for replay detection")
	}
	if !fresh {
		return newErr(ErrReplay, "LogoutRequest %s was already used", quote(req.id))
	}
	return nil
}
