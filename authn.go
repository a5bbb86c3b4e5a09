package entrasaml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net/url"
	"strings"
	"sync"
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

const sigAlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

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

// redirectURL encodes the message in buf.xml for the HTTP-Redirect binding
// (SAML Bindings 3.4.4): DEFLATE, base64 and URL-encoding into param
// ("SAMLRequest" or "SAMLResponse") on dest, then RelayState when not
// empty and, when Config.Key is set, SigAlg and Signature (RSA-SHA256 over
// the query string so far, as the binding defines). extra are name, value
// pairs appended after the signed part (hints for Entra).
func (sp *SP) redirectURL(buf *authnBuffer, dest *url.URL, param, relayState string, extra ...string) (*url.URL, error) {
	if err := buf.deflate(); err != nil {
		return nil, wrapErr(ErrConfig, err, "compressing the %s", param)
	}
	b64 := base64.StdEncoding.AppendEncode(buf.b64[:0], buf.deflated.Bytes())
	buf.b64 = b64

	q := &buf.query
	q.WriteString(param)
	q.WriteByte('=')
	q.WriteString(url.QueryEscape(string(b64)))
	if relayState != "" {
		q.WriteString("&RelayState=")
		q.WriteString(url.QueryEscape(relayState))
	}
	if sp.key != nil {
		q.WriteString("&SigAlg=")
		q.WriteString(url.QueryEscape(sigAlgRSASHA256))
		digest := sha256.Sum256(q.Bytes())
		sig, err := sp.key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, wrapErr(ErrConfig, err, "Config.Key cannot sign the %s", param)
		}
		q.WriteString("&Signature=")
		q.WriteString(url.QueryEscape(base64.StdEncoding.EncodeToString(sig)))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.WriteByte('&')
		q.WriteString(extra[i])
		q.WriteByte('=')
		q.WriteString(url.QueryEscape(extra[i+1]))
	}
	u := *dest
	if u.RawQuery != "" {
		u.RawQuery += "&" + q.String()
	} else {
		u.RawQuery = q.String()
	}
	return &u, nil
}

// newID returns a random SAML ID: "_" and 32 hex digits (128 bits from
// crypto/rand). It never starts with a digit, which Entra rejects
// (AADSTS7500529).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	var out [33]byte
	out[0] = '_'
	hex.Encode(out[1:], b[:])
	return string(out[:])
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

func xmlEscape(w *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, `<>&"'`+"\t\n\r") {
		w.WriteString(s)
		return
	}
	xml.EscapeText(w, []byte(s)) // writes to a bytes.Buffer never fail
}

// authnBuffer holds the scratch space of one AuthnRequestURL call; they are
// pooled so that a login storm does not allocate a DEFLATE writer (about
// 600 KB) per request.
type authnBuffer struct {
	xml, deflated, query bytes.Buffer
	b64                  []byte
	fw                   *flate.Writer
}

var authnBuffers = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed) // level is valid: no error
	return &authnBuffer{fw: fw}
}}

func getBuffer() *authnBuffer { return authnBuffers.Get().(*authnBuffer) }

func putBuffer(b *authnBuffer) {
	b.xml.Reset()
	b.deflated.Reset()
	b.query.Reset()
	authnBuffers.Put(b)
}

// deflate compresses b.xml into b.deflated with the pooled writer.
func (b *authnBuffer) deflate() error {
	b.fw.Reset(&b.deflated)
	if _, err := b.fw.Write(b.xml.Bytes()); err != nil {
		return err
	}
	return b.fw.Close()
}
