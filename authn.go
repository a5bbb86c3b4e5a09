package entrasaml

import (
	"bytes"
	"net/url"
	"strconv"
	"time"
)

// AuthnOptions tune an AuthnRequest. The zero value is what Entra handles
// best: no ForceAuthn, no IsPassive, no NameIDPolicy, no
// RequestedAuthnContext (Entra fails with AADSTS75011 whenever the user
// signed in differently), and never a Subject.
type AuthnOptions struct {
	// ForceAuthn asks Entra to make the user authenticate again.
	ForceAuthn bool
	// IsPassive asks Entra not to interact with the user (fails with
	// AADSTS50058 when there is no Entra session).
	IsPassive bool
	// NameIDFormat, when set, is sent as NameIDPolicy Format. It must be
	// one of the four formats Entra accepts: NameIDFormatPersistent,
	// NameIDFormatEmail, NameIDFormatUnspecified, NameIDFormatTransient.
	NameIDFormat string
	// LoginHint pre-fills the user name on Entra's sign-in page (the
	// login_hint query parameter).
	LoginHint string
	// DomainHint sends the user straight to their federated IdP (the
	// domain_hint query parameter).
	DomainHint string
	// ACSURL is the AssertionConsumerServiceURL the request names: one of
	// the SP's ACS URLs (BaseURL + one of Config.ACSPaths), else the
	// request fails with ErrConfig. "": the first, the default. Entra
	// honours it only when it is one of the application's Reply URLs
	// (AADSTS50011 otherwise).
	ACSURL string
}

func (o AuthnOptions) check() error {
	switch o.NameIDFormat {
	case "", NameIDFormatPersistent, NameIDFormatEmail, NameIDFormatUnspecified, NameIDFormatTransient:
		return nil
	}
	return newErr(ErrConfig, "NameIDFormat %q is not one of the four formats Entra accepts", o.NameIDFormat)
}

func (sp *SP) checkAuthnOptions(o AuthnOptions) error {
	if o.ACSURL != "" && sp.acsIndex(o.ACSURL) < 0 {
		return newErr(ErrConfig, "AuthnOptions.ACSURL %s is not one of the SP's ACS URLs (BaseURL + Config.ACSPaths)", quote(o.ACSURL))
	}
	return o.check()
}

// requestID returns a new AuthnRequest ID that records which ACS URL the
// request names: newID() for the default (acs 0), newID() + "_" + acs
// for another. The ID comes back as InResponseTo, so a response to it
// must be addressed to that ACS URL ([SP.namedACS]).
func requestID(acs int) string {
	if acs == 0 {
		return newID()
	}
	return newID() + "_" + strconv.Itoa(acs)
}

// namedACS returns the ACS URL the AuthnRequest with this ID named, or ""
// when the ID names none of the SP's ACS URLs. IDs without the suffix
// (requestID(0), or any ID not made by requestID) named the default.
func (sp *SP) namedACS(requestID string) string {
	i := 0
	if len(requestID) > 34 && requestID[0] == '_' && requestID[33] == '_' && isLowerHex(requestID[1:33]) {
		n, err := strconv.Atoi(requestID[34:])
		if err != nil || n <= 0 || n >= len(sp.acsURLs) {
			return ""
		}
		i = n
	}
	return sp.acsURLs[i]
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// maxRelayState is the HTTP-Redirect binding's limit (SAML Bindings 3.4.3).
const maxRelayState = 80

// AuthnRequestURL returns the URL to redirect the browser to for
// SP-initiated sign-in: the IdP's HTTP-Redirect sign-on URL with a
// DEFLATE+base64 SAMLRequest, RelayState (when not empty) and, when
// Config.Key is set, SigAlg and Signature. requestID is the AuthnRequest's
// ID: keep it, bound to this browser, and pass it to [SP.Verify]; it also
// records which ACS URL the request named (AuthnOptions.ACSURL), and Verify
// accepts a response to it only when addressed there. It uses
// Config.AuthnOptions, or opts (at most one) for this request instead.
//
// relayState is returned unchanged by the IdP; it must be at most 80 bytes
// and must not carry secrets. Errors match ErrConfig: relay state too long,
// invalid or several opts, a Config.Key that fails to sign, or an IdP
// whose metadata lists its sign-on URL for the HTTP-POST binding only
// (IdPMetadata.SignOnPOSTURL; [SP.StartSignIn] posts to it).
func (sp *SP) AuthnRequestURL(relayState string, opts ...AuthnOptions) (u *url.URL, requestID string, err error) {
	o := sp.authn
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return nil, "", newErr(ErrConfig, "AuthnRequestURL takes at most one AuthnOptions")
	}
	return sp.authnRequestURL(relayState, o)
}

func (sp *SP) authnRequestURL(relayState string, opts AuthnOptions) (*url.URL, string, error) {
	if len(relayState) > maxRelayState {
		return nil, "", newErr(ErrConfig, "RelayState is %d bytes; the HTTP-Redirect binding allows %d", len(relayState), maxRelayState)
	}
	if err := sp.checkAuthnOptions(opts); err != nil {
		return nil, "", err
	}
	st := sp.idp.Load()
	if st.md.SignOnURL == "" {
		return nil, "", newErr(ErrConfig, "the IdP takes AuthnRequests only with the HTTP-POST binding "+
			"(its metadata lists no HTTP-Redirect sign-on URL): sign in with SP.StartSignIn, which posts them")
	}
	acs := max(sp.acsIndex(opts.ACSURL), 0)
	id := requestID(acs)

	buf := getBuffer()
	defer putBuffer(buf)
	writeAuthnRequest(&buf.xml, id, sp.now().UTC(), st.md.SignOnURL, sp.entityID, sp.acsURLs[acs], opts)
	var extra []string
	if opts.LoginHint != "" {
		extra = append(extra, "login_hint", opts.LoginHint)
	}
	if opts.DomainHint != "" {
		extra = append(extra, "domain_hint", opts.DomainHint)
	}
	u, err := sp.redirectURL(buf, st.signOn, "SAMLRequest", relayState, extra...)
	if err != nil {
		return nil, "", err
	}
	return u, id, nil
}

func writeAuthnRequest(w *bytes.Buffer, id string, now time.Time, dest, issuer, acs string, o AuthnOptions) {
	w.WriteString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="`)
	w.WriteString(id)
	w.WriteString(`" Version="2.0" IssueInstant="`)
	w.Write(now.AppendFormat(w.AvailableBuffer(), "2006-01-02T15:04:05.000Z"))
	w.WriteString(`" Destination="`)
	xmlEscape(w, dest)
	w.WriteString(`" AssertionConsumerServiceURL="`)
	xmlEscape(w, acs)
	w.WriteString(`" ProtocolBinding="` + bindingPOST + `"`)
	if o.ForceAuthn {
		w.WriteString(` ForceAuthn="true"`)
	}
	if o.IsPassive {
		w.WriteString(` IsPassive="true"`)
	}
	w.WriteString(`><saml:Issuer>`)
	xmlEscape(w, issuer)
	w.WriteString(`</saml:Issuer>`)
	if o.NameIDFormat != "" {
		w.WriteString(`<samlp:NameIDPolicy Format="`)
		xmlEscape(w, o.NameIDFormat)
		w.WriteString(`"/>`)
	}
	w.WriteString(`</samlp:AuthnRequest>`)
}
