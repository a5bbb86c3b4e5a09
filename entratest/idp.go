package entratest

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLoginURL is the sign-in host of Entra's global cloud, the default
// for [Options.LoginURL].
const DefaultLoginURL = "https://login.microsoftonline.com"

// IdP is a fake Microsoft Entra ID tenant with one SAML enterprise
// application. It does no I/O: it produces federation metadata and signed
// SAML responses as bytes. Wrap it in a [Server] to serve them over HTTP.
//
// An IdP is safe for concurrent use. Its tenant, application and clock are
// fixed at [New]; its keys and login URL can change (key rollover).
type IdP struct {
	tenantID string
	appID    string
	now      func() time.Time

	mu       sync.Mutex
	loginURL string
	keys     []*Key // published in metadata, in order
	signing  *Key   // signs responses and metadata; not necessarily published
}

// Options configures [New]. The zero value is ready to use: every field has
// a default that matches a fresh Entra enterprise application.
type Options struct {
	// TenantID is the directory (tenant) id. Default: a random lowercase
	// GUID. It must be made only of letters, digits, '.', '-' and '_'.
	TenantID string

	// AppID is the application (client) id, used in MetadataURL. Default:
	// a random lowercase GUID. Same character rules as TenantID.
	AppID string

	// LoginURL is the sign-in origin, e.g. "https://login.microsoftonline.us"
	// for a sovereign cloud. Default: [DefaultLoginURL]. It must be an
	// absolute http or https URL; trailing slashes are removed.
	LoginURL string

	// Key is the signing key, published in metadata. Default: a new 2048-bit
	// key valid from one hour before Now to three years after it.
	Key *Key

	// Now is the clock used for IssueInstant and every default time.
	// Default: time.Now.
	Now func() time.Time
}

// New returns a fake Entra tenant configured by opts.
//
// New fails if TenantID or AppID holds characters that do not belong in a
// URL path segment, if LoginURL is not an absolute http(s) URL, if Key lacks
// its private key or certificate (or they do not match), or if generating
// the default key fails.
func New(opts Options) (*IdP, error) {
	idp := &IdP{tenantID: opts.TenantID, appID: opts.AppID, now: opts.Now}
	if idp.now == nil {
		idp.now = time.Now
	}
	if idp.tenantID == "" {
		idp.tenantID = newGUID()
	}
	if idp.appID == "" {
		idp.appID = newGUID()
	}
	for _, id := range []string{idp.tenantID, idp.appID} {
		if !validID(id) {
			return nil, fmt.Errorf("entratest: invalid tenant or app id %q", id)
		}
	}
	if opts.LoginURL == "" {
		opts.LoginURL = DefaultLoginURL
	}
	login, err := cleanLoginURL(opts.LoginURL)
	if err != nil {
		return nil, err
	}
	idp.loginURL = login
	key := opts.Key
	if key == nil {
		now := idp.now()
		key, err = NewKey(2048, now.Add(-time.Hour), now.AddDate(3, 0, 0))
		if err != nil {
			return nil, err
		}
	} else if err := key.check(); err != nil {
		return nil, err
	}
	idp.keys = []*Key{key}
	idp.signing = key
	return idp, nil
}

// TenantID returns the directory (tenant) id.
func (idp *IdP) TenantID() string { return idp.tenantID }

// AppID returns the application (client) id of the enterprise application.
func (idp *IdP) AppID() string { return idp.appID }

// EntityID returns the IdP entity id and the Issuer of every response:
// "https://sts.windows.net/<tenant>/", with the trailing slash. It does not
// depend on the login URL, as in Entra's sovereign clouds.
func (idp *IdP) EntityID() string { return "https://sts.windows.net/" + idp.tenantID + "/" }

// LoginURL returns the sign-in origin without a trailing slash.
func (idp *IdP) LoginURL() string {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.loginURL
}

// SignOnURL returns LoginURL + "/<tenant>/saml2", Entra's SAML endpoint for
// both sign-on and logout.
func (idp *IdP) SignOnURL() string { return idp.LoginURL() + "/" + idp.tenantID + "/saml2" }

// MetadataURL returns the app-specific federation metadata URL:
// LoginURL + "/<tenant>/federationmetadata/2007-06/federationmetadata.xml?appid=<app>".
// Only this document carries the application's signing keys.
func (idp *IdP) MetadataURL() string {
	return idp.LoginURL() + "/" + idp.tenantID + "/federationmetadata/2007-06/federationmetadata.xml?appid=" + idp.appID
}

// SetLoginURL changes the sign-in origin used in SignOnURL, MetadataURL and
// the metadata endpoints. [Server] sets it to its own URL. A trailing slash
// is removed. SetLoginURL panics if u is not an absolute http(s) URL.
func (idp *IdP) SetLoginURL(u string) {
	login, err := cleanLoginURL(u)
	if err != nil {
		panic(err)
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.loginURL = login
}

// SigningKey returns the key that signs responses and metadata.
func (idp *IdP) SigningKey() *Key {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.signing
}

// Keys returns the keys published in metadata, in order. The slice is a
// copy; the keys are shared.
func (idp *IdP) Keys() []*Key {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return slices.Clone(idp.keys)
}

// AddKey publishes k in metadata after the keys already there, as Entra
// does while a new certificate is created but not yet active. The signing
// key does not change. Adding a key twice has no effect. AddKey panics if k
// is nil, lacks a field, or its certificate does not match its private key.
func (idp *IdP) AddKey(k *Key) {
	if err := k.check(); err != nil {
		panic(err)
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if !slices.Contains(idp.keys, k) {
		idp.keys = append(idp.keys, k)
	}
}

// UseKey makes k the signing key for responses and metadata from now on,
// publishing it first if it is not published yet. UseKey panics like AddKey.
func (idp *IdP) UseKey(k *Key) {
	if err := k.check(); err != nil {
		panic(err)
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if !slices.Contains(idp.keys, k) {
		idp.keys = append(idp.keys, k)
	}
	idp.signing = k
}

// RemoveKey stops publishing k in metadata. Removing the signing key is
// allowed: the IdP keeps signing with it, which lets a test check what an
// SP does with a response signed by an unpublished key. Removing a key that
// is not published has no effect.
func (idp *IdP) RemoveKey(k *Key) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.keys = slices.DeleteFunc(idp.keys, func(x *Key) bool { return x == k })
}

// state returns a consistent snapshot of the mutable fields.
func (idp *IdP) state() (loginURL string, keys []*Key, signing *Key) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.loginURL, slices.Clone(idp.keys), idp.signing
}

func cleanLoginURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("entratest: login URL %q is not an absolute http(s) URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// newGUID returns a random (version 4) GUID in Entra's lowercase
// 8-4-4-4-12 form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
