package entrasaml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sync"
)

// The HTTP-Redirect binding, outgoing: the AuthnRequests and the single
// logout messages the SP sends to the IdP in a URL.

// redirectURL encodes the message in buf.xml for the HTTP-Redirect binding
// (SAML Bindings 3.4.4): DEFLATE, base64 and URL-encoding into param
// ("SAMLRequest" or "SAMLResponse") on dest, then RelayState when not
// empty and, when Config.Key is set, SigAlg and Signature (RSA-SHA256 over
// the query string so far, as the binding defines). extra are name, value
// pairs appended after the signed part (hints for Entra).
func (sp *SP) redirectURL(buf *messageBuffer, dest *url.URL, param, relayState string, extra ...string) (*url.URL, error) {
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
		q.WriteString(url.QueryEscape(algRSASHA256))
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

// messageBuffer holds the scratch space of one outgoing message (an
// AuthnRequest, a LogoutRequest or LogoutResponse); they are
// pooled so that a login storm does not allocate a DEFLATE writer (about
// 600 KB) per request.
type messageBuffer struct {
	xml, deflated, query bytes.Buffer
	b64                  []byte
	fw                   *flate.Writer
}

var messageBuffers = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed) // level is valid: no error
	return &messageBuffer{fw: fw}
}}

func getBuffer() *messageBuffer { return messageBuffers.Get().(*messageBuffer) }

func putBuffer(b *messageBuffer) {
	b.xml.Reset()
	b.deflated.Reset()
	b.query.Reset()
	messageBuffers.Put(b)
}

// deflate compresses b.xml into b.deflated with the pooled writer.
func (b *messageBuffer) deflate() error {
	b.fw.Reset(&b.deflated)
	if _, err := b.fw.Write(b.xml.Bytes()); err != nil {
		return err
	}
	return b.fw.Close()
}
