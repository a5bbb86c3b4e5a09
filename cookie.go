package entrasaml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// SessionKeySize is the size of each Config.SessionKeys entry (AES-256).
const SessionKeySize = 32

// sealer authenticates and encrypts cookie payloads with AES-256-GCM. The
// first key seals; every key opens, so keys can be rotated: prepend the new
// key, keep the old one until the cookies it sealed have expired.
type sealer struct {
	aeads []cipher.AEAD
}

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		k := make([]byte, SessionKeySize)
		rand.Read(k)
		keys = [][]byte{k}
	}
	s := &sealer{}
	for i, k := range keys {
		if len(k) != SessionKeySize {
			return nil, newErr(ErrConfig, "SessionKeys[%d] is %d bytes, want %d", i, len(k), SessionKeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, wrapErr(ErrConfig, err, "SessionKeys[%d]", i)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, wrapErr(ErrConfig, err, "SessionKeys[%d]", i)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// seal returns base64url(nonce || AES-GCM(payload, ad)).
func (s *sealer) seal(payload, ad []byte) string {
	aead := s.aeads[0]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(payload)+aead.Overhead())
	rand.Read(buf)
	buf = aead.Seal(buf, buf, payload, ad)
	return base64.RawURLEncoding.EncodeToString(buf)
}

var errBadCookie = errors.New("cookie does not authenticate")

// openBuffer is the scratch space of one open: the cookie value, its
// decoded bytes and the plaintext, pooled so that checking a session
// cookie on every request allocates nothing for them.
type openBuffer [maxCookieValue + 2*maxSealed]byte

const (
	maxCookieValue = 4096
	maxSealed      = maxCookieValue * 3 / 4
)

var openBuffers = sync.Pool{New: func() any { return new(openBuffer) }}

// open reverses seal with any key and returns a copy of the plaintext.
func (s *sealer) open(value string, ad []byte) ([]byte, error) {
	buf := openBuffers.Get().(*openBuffer)
	defer openBuffers.Put(buf)
	plain, err := s.openBuf(buf, value, ad)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), plain...), nil
}

// openField returns the only field of a sealed, unexpired payload (see
// encodePayload), with one allocation: the string itself.
func (s *sealer) openField(value string, ad []byte, now time.Time) (string, bool) {
	buf := openBuffers.Get().(*openBuffer)
	defer openBuffers.Put(buf)
	plain, err := s.openBuf(buf, value, ad)
	if err != nil || len(plain) < 8 || int64(binary.BigEndian.Uint64(plain)) <= now.Unix() {
		return "", false
	}
	return string(plain[8:]), true
}

// openBuf decodes and opens value in buf; the plaintext lives in buf.
func (s *sealer) openBuf(buf *openBuffer, value string, ad []byte) ([]byte, error) {
	if len(value) > maxCookieValue {
		return nil, errBadCookie
	}
	src := buf[:copy(buf[:maxCookieValue], value)]
	raw := buf[maxCookieValue : maxCookieValue+maxSealed]
	n, err := base64.RawURLEncoding.Decode(raw, src)
	if err != nil {
		return nil, errBadCookie
	}
	dst := buf[maxCookieValue+maxSealed : maxCookieValue+maxSealed]
	for _, aead := range s.aeads {
		ns := aead.NonceSize()
		if n < ns+aead.Overhead() {
			return nil, errBadCookie
		}
		if out, err := aead.Open(dst, raw[:ns], raw[ns:n], ad); err == nil {
			return out, nil
		}
	}
	return nil, errBadCookie
}

// Payloads: an 8-byte big-endian expiry (Unix seconds), then fields
// separated by NUL. Values never contain NUL: IDs are ours, paths are
// URL-escaped.
func encodePayload(exp time.Time, fields ...string) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	for i, f := range fields {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, f...)
	}
	return b
}

// payloadExpiry returns a payload's expiry in Unix seconds.
func payloadExpiry(b []byte) int64 {
	if len(b) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// decodePayload returns the fields of a payload that has not expired.
func decodePayload(b []byte, now time.Time, n int) ([]string, bool) {
	if len(b) < 8 || int64(binary.BigEndian.Uint64(b)) <= now.Unix() {
		return nil, false
	}
	fields := strings.SplitN(string(b[8:]), "\x00", n+1)
	if len(fields) != n {
		return nil, false
	}
	return fields, true
}

// safeReturnPath returns p when it is a same-origin relative path (one
// leading slash, no scheme, no host, no backslash, no control characters,
// also after percent-decoding), and "/" otherwise. Only such paths are
// redirected to after sign-in: anything else would be an open redirect.
func safeReturnPath(p string) string {
	if !isSafePath(p) {
		return "/"
	}
	// Percent-encoded tricks (/%2F/evil, /%5Cevil) must not survive a
	// decode by a browser or a proxy either.
	d := p
	for range 3 {
		next, err := url.PathUnescape(d)
		if err != nil {
			return "/"
		}
		if next == d {
			return p
		}
		if !isSafePath(next) {
			return "/"
		}
		d = next
	}
	return "/"
}

func isSafePath(p string) bool {
	if len(p) == 0 || len(p) > 2048 || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}

// Cookie name prefixes (RFC 6265bis). A browser accepts a __Host- cookie
// only with Secure, Path=/ and no Domain, from a secure origin: a sibling
// subdomain (another customer's host in a host-per-customer setup) can
// neither plant nor overwrite it. A __Secure- cookie must be Secure and
// set by a secure origin, which keeps out http:// pages of the domain but
// not an https sibling.
const (
	hostPrefix   = "__Host-"
	securePrefix = "__Secure-"
)

// sessionCookieName is the session cookie's name: __Host- when BaseURL is
// https with no path (the cookie's Path is /), __Secure- when it is https
// with a path prefix, and the plain name on http (local development). A
// cookie of another name, such as one from before the prefix, is ignored.
func (sp *SP) sessionCookieName() string {
	switch {
	case sp.secure && sp.basePath == "":
		return hostPrefix + sessionCookie
	case sp.secure:
		return securePrefix + sessionCookie
	}
	return sessionCookie
}

// requestCookiePrefix is the start of every pending-request cookie's name:
// __Secure- on https (the cookie's Path is the ACS, so __Host- cannot
// apply), the plain prefix on http.
func (sp *SP) requestCookiePrefix() string {
	if sp.secure {
		return securePrefix + requestCookiePrefix
	}
	return requestCookiePrefix
}

// Cookie names. Pending-request cookies are named requestCookiePrefix plus
// the request's RelayState token, so sign-ins started in parallel tabs each
// keep their own.
const (
	sessionCookie       = "entrasaml_session"
	requestCookiePrefix = "entrasaml_req_"
	legacySuffix        = "_l"
)

// clearCookie deletes the cookie name at path, with the attributes it was
// set with.
func (sp *SP) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure:   sp.secure || !strings.HasSuffix(name, legacySuffix) && strings.HasPrefix(name, requestCookiePrefix),
		SameSite: sameSiteFor(name)})
}

func sameSiteFor(name string) http.SameSite {
	switch {
	case strings.HasSuffix(name, sessionCookie):
		return http.SameSiteLaxMode
	case strings.HasSuffix(name, legacySuffix):
		return http.SameSiteDefaultMode
	}
	return http.SameSiteNoneMode
}

// randomID returns 256 random bits, URL-safe: a session ID or a
// pending-request token.
func randomID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
