package entrasaml

import (
	"bytes"
	"net/url"
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
}

func (o AuthnOptions) check() error {
	switch o.NameIDFormat {
	case "", NameIDFormatPersistent, NameIDFormatEmail, NameIDFormatUnspecified, NameIDFormatTransient:
		return nil
	}
	return newErr(ErrConfig, "NameIDFormat %q is not one of the four formats Entra accepts", o.NameIDFormat)
}

// maxRelayState is the HTTP-Redirect binding's limit (SAML Bindings 3.4.3).
const maxRelayState = 80

// AuthnRequestURL returns the URL to redirect the browser to for
// SP-initiated sign-in: the IdP's HTTP-Redirect sign-on URL with a
// DEFLATE+base64 SAMLRequest, RelayState (when not empty) and, when
// Config.Key is set, SigAlg and Signature. requestID is the AuthnRequest's
// ID: keep it, bound to this browser, and pass it to [SP.Verify]. It uses
// Config.AuthnOptions, or opts (at most one) for this request instead.
//
// relayState is returned unchanged by the IdP; it must be at most 80 bytes
// and must not carry secrets. Errors match ErrConfig: relay state too long,
// invalid or several opts, or a Config.Key that fails to sign.
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
	if err := opts.check(); err != nil {
		return nil, "", err
	}
	st := sp.idp.Load()
	id := newID()

	buf := getBuffer()
	defer putBuffer(buf)
	writeAuthnRequest(&buf.xml, id, sp.now().UTC(), st.md.SignOnURL, sp.entityID, sp.acsURL, opts)
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
