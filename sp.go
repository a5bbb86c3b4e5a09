package entrasaml

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/entrasaml/entrasaml/internal/idpmeta"
)

// Defaults for the zero values of Config.
const (
	defaultClockSkew       = 3 * time.Minute
	defaultSessionMaxAge   = 8 * time.Hour
	DefaultMaxResponseSize = 512 << 10 // bytes of base64: Config.MaxResponseSize when 0
	DefaultMetadataTimeout = 10 * time.Second
	MaxMetadataSize        = idpmeta.MaxSize // bytes (4 MiB)
)

// Config configures an [SP]: one Entra enterprise application (one customer
// tenant). Zero values are the safe choice; every relaxation is a named
// field.
type Config struct {
	// EntityID is the SP's Identifier (Entity ID), exactly as entered in the
	// Entra application's "Basic SAML Configuration". Required.
	EntityID string
	// BaseURL is the app's external origin as the browser sees it, e.g.
	// "https://acme.vendor.example" (a path prefix is allowed). The ACS URL
	// (Entra's Reply URL) is BaseURL + "/saml/acs" (see ACSPaths), and the
	// browser must use BaseURL's host name for the sign-in cookie to reach
	// it ([SP.StartSignIn] sends it there first). Required; a BaseURL
	// that ends with an endpoint path (a pasted Reply URL such as
	// ".../saml/acs") fails with ErrConfig.
	BaseURL string
	// ACSPaths are the paths under BaseURL where the IdP may post
	// responses: the Entra application's Reply URLs. nil: "/saml/acs".
	// The first is the default, which every AuthnRequest names as its
	// AssertionConsumerServiceURL unless AuthnOptions.ACSURL names another
	// (Entra honours it only if it is registered as a Reply URL). List
	// several to keep Reply URLs that customers' Entra applications
	// already have, such as "/auth/saml/callback" from another SAML
	// library. A response's Destination and Recipient must be the URL its
	// request named, and the one it was posted to. Paths (here and below)
	// are clean absolute paths without query, fragment, percent-encoding
	// or braces, all different, else New fails with ErrConfig; mount them
	// with [SP.Paths].
	ACSPaths []string
	// LogoutPath is the logout endpoint's path under BaseURL (Entra's
	// Logout Url). "": "/saml/logout".
	LogoutPath string
	// MetadataPath is where the SP serves its own metadata. "":
	// "/saml/metadata".
	MetadataPath string
	// LoginPath starts an SP-initiated sign-in (GET, with ?return=/path):
	// Entra's Sign on URL, so that My Apps tiles and "Test this
	// application" sign in whatever the app's root page does. "":
	// "/saml/login".
	LoginPath string
	// Metadata is the Federation Metadata XML as downloaded from the Entra
	// application's "Single sign-on" page.
	Metadata []byte
	// MetadataURL is the app federation metadata URL ([EntraMetadataURL]),
	// fetched by New when Metadata is empty, with HTTPClient, a
	// DefaultMetadataTimeout deadline and a MaxMetadataSize limit. One of
	// Metadata and MetadataURL is required. With a MetadataURL the SP keeps
	// the metadata fresh: see MetadataMaxAge, MetadataRefreshInterval and
	// [SP.RefreshMetadata]. When both are set, Metadata is the first copy.
	MetadataURL string
	// MetadataMaxAge is how old metadata fetched from MetadataURL may get
	// before a request refreshes it. 0: 24 hours.
	MetadataMaxAge time.Duration
	// MetadataRefreshInterval rate-limits refreshes triggered by a response
	// signed with a certificate the metadata lacks (as right after an Entra
	// key rollover). 0: 5 minutes. Refreshes
	// run detached from the request (DefaultMetadataTimeout each) and only
	// those that ran to their end count.
	MetadataRefreshInterval time.Duration
	// MetadataSigners pins the metadata's own signature: when set, every
	// metadata document (from Metadata, MetadataURL and each refresh) must
	// carry an enveloped signature that verifies with a certificate whose
	// SHA-256 fingerprint (hex; colons allowed) is listed, or it is refused
	// with ErrMetadata (a refresh then keeps the last good copy). Entra
	// signs its metadata with the tenant's current token signing
	// certificate. nil: the signature is not checked; the metadata is
	// trusted for coming from Metadata or over HTTPS from MetadataURL.
	MetadataSigners []string
	// HTTPClient fetches MetadataURL. nil: a client with a
	// DefaultMetadataTimeout timeout. When the URL came from a customer
	// (multi-tenant onboarding), use onboard.PublicOnlyHTTPClient (package
	// github.com/entrasaml/entrasaml/onboard) so that it
	// cannot reach internal hosts.
	HTTPClient *http.Client
	// Now is the only clock in the package. nil: time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance applied to every time check (Entra sets
	// NotBefore to the issue instant with no margin). 0: 3 minutes.
	// Negative values are an error.
	ClockSkew time.Duration
	// AllowIdPInitiated accepts unsolicited responses (no InResponseTo),
	// as Entra sends from My Apps tiles or "Test this application" when
	// the Entra application has no Sign-on URL. Default false: such
	// responses fail with ErrUnsolicited; set the Sign-on URL in Entra
	// instead. Unsolicited responses are open to login CSRF.
	AllowIdPInitiated bool
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests (Entra's
	// "SHA-1" signing option). Default false.
	AllowSHA1 bool
	// Store remembers what must outlive a request: accepted assertion IDs
	// (to refuse replays) and server-side sessions. nil: a [MemoryStore] on
	// Now, right for one instance only. Several instances behind a load
	// balancer share one, e.g. package redisstore's, and SessionKeys.
	Store Store
	// SessionMaxAge caps Session.ExpiresAt. 0: 8 hours.
	SessionMaxAge time.Duration
	// MaxResponseSize bounds the SAMLResponse value (base64) accepted by
	// Verify. 0: DefaultMaxResponseSize (512 KiB).
	MaxResponseSize int
	// Key, when set, signs AuthnRequests (RSA-SHA256 over the query string,
	// as the HTTP-Redirect binding defines); required when the Entra app
	// has "Require verification certificates" on. It must be an RSA key of
	// at least 2048 bits. Certificate is its certificate, advertised in SP
	// metadata and uploaded to Entra.
	Key         crypto.Signer
	Certificate *x509.Certificate
	// DecryptionKeys decrypt assertions when the Entra application has
	// "Token encryption" on (an Entra ID P1/P2 feature): Entra encrypts the
	// assertion to the certificate uploaded there, with RSA-OAEP and
	// AES-256. Each key is tried in turn, so rotating is: add the new key,
	// upload and activate its certificate in Entra, then drop the old key.
	// For an unsigned Response (anyone can post one, and each try costs an
	// RSA decryption) only the key whose certificate the EncryptedKey names
	// is tried, as Entra sends it, or else the first two keys.
	// The first key's certificate is advertised in SP metadata. nil: an
	// encrypted assertion fails with ErrDecryption. Keys must be RSA of at
	// least 2048 bits with a matching Certificate, else New fails with
	// ErrConfig.
	DecryptionKeys []DecryptionKey
	// AllowUnsignedCBC accepts an assertion encrypted with AES-CBC in an
	// unsigned Response, which is what Entra sends with token encryption
	// and its default "Sign SAML assertion" option. Default false: such a
	// response fails with ErrInvalidSignature before anything is
	// decrypted. The assertion's own signature is inside the ciphertext,
	// and CBC has no integrity check: without a signature over the
	// ciphertext an attacker can alter captured ciphertext and learn the
	// plaintext from how each attempt fails (the padding and XML-parsing
	// oracles of "How to break XML Encryption", Jager and Somorovsky,
	// 2011), and even reuse the content key of an AES-GCM assertion in CBC
	// mode. Decryption failures share one error, but a plaintext that does
	// not parse and one whose signature fails still differ (in the error
	// and in timing), which is all such an oracle needs. Prefer "Sign SAML
	// response and assertion" in Entra, which makes this switch needless.
	AllowUnsignedCBC bool
	// AuthnOptions are the defaults for [SP.AuthnRequestURL].
	AuthnOptions AuthnOptions
	// SessionKeys seal the cookies (AES-256-GCM), each SessionKeySize
	// bytes: the first seals, all open, so keys rotate by prepending a new
	// one. Instances that share a Store must share the keys. nil: a random
	// key per SP, so cookies die with the process (one instance only).
	SessionKeys [][]byte
	// Provision is called at the ACS after a response verified and before
	// a session exists. Returning an error refuses the user with a 403
	// "your account is not set up" page and no session (for users the app
	// has not provisioned or has deactivated); it may set Session.UserID.
	// nil: every verified user gets a session.
	Provision func(ctx context.Context, s *Session) error
	// LocalLogoutOnly makes /saml/logout end only the local session, with
	// no LogoutRequest to the IdP. Default false: when the IdP metadata
	// lists a logout URL, the user is sent there to sign out of Entra too
	// (single logout), and comes back to /saml/logout.
	LocalLogoutOnly bool
	// Logger receives warnings, and one record for each [Event] (Info for
	// successes). nil: slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, receives every [Event] after Logger: the hook
	// that metrics (module otelsaml), audit logs and alerting build on. It
	// is called synchronously, on the goroutine of the request (or of the
	// metadata refresh) that the event belongs to, with its context: it
	// must be fast and must not block, or it delays that request; hand
	// slow work to a goroutine or a buffered channel of your own. Calls
	// for different requests run concurrently. A panic in OnEvent is
	// recovered and logged at Error level, and the SP carries on as if it
	// had returned. nil: events go to Logger only.
	OnEvent func(context.Context, Event)
}

// SP is a SAML service provider for one Entra application. It is safe for
// concurrent use and cheap: a SaaS holds one per customer tenant. It shares
// nothing mutable with other SPs except the Store it was given.
type SP struct {
	entityID  string
	audiences []string
	endpoints // BaseURL and the URLs and paths under it

	now       func() time.Time
	skew      time.Duration
	maxAge    time.Duration
	maxSize   int
	allowIdP  bool
	allowSHA1 bool
	store     Store
	key       crypto.Signer
	cert      *x509.Certificate
	authn     AuthnOptions
	logger    *slog.Logger
	onEvent   func(context.Context, Event)

	decryptKeys      []DecryptionKey // token encryption: decrypt.go
	allowUnsignedCBC bool

	metadataURL         string
	metadataPins        [][32]byte
	metadataMaxAge      time.Duration
	metadataMinInterval time.Duration
	refresher           refresher
	httpClient          *http.Client
	replayNS            string

	// HTTP layer.
	provision func(context.Context, *Session) error
	sealer    *sealer
	sessNS    string
	indexNS   string
	adSession []byte // AES-GCM additional data: binds cookies to this SP
	adRequest []byte
	adLogout  []byte

	localLogoutOnly bool
	sessions        sessionCache

	idp atomic.Pointer[idpState]
}

// idpState is one immutable snapshot of the IdP's metadata.
type idpState struct {
	fetched time.Time // when it was loaded, by Config.Now
	md      *IdPMetadata
	signOn  *url.URL
	certs   []*x509.Certificate // usable signing certificates (RSA >= 2048)

	tenantLevel bool // Entra's tenant-level metadata (idpmeta.TenantLevel)
}

// New validates cfg, loads the IdP metadata (fetching MetadataURL with ctx
// when Metadata is empty) and returns the SP. It fails fast: an error
// matching ErrConfig for an invalid Config, ErrMetadata when the metadata
// cannot be fetched or used. Metadata that loads but will not work, Entra's
// tenant-level document instead of the application's, is logged as a
// warning to Config.Logger naming the fix.
func New(ctx context.Context, cfg Config) (*SP, error) {
	sp := &SP{
		entityID:    cfg.EntityID,
		now:         cfg.Now,
		skew:        cfg.ClockSkew,
		maxAge:      cfg.SessionMaxAge,
		maxSize:     cfg.MaxResponseSize,
		allowIdP:    cfg.AllowIdPInitiated,
		allowSHA1:   cfg.AllowSHA1,
		store:       cfg.Store,
		key:         cfg.Key,
		cert:        cfg.Certificate,
		authn:       cfg.AuthnOptions,
		logger:      cfg.Logger,
		onEvent:     cfg.OnEvent,
		metadataURL: cfg.MetadataURL,
		httpClient:  cfg.HTTPClient,
		provision:   cfg.Provision,

		localLogoutOnly: cfg.LocalLogoutOnly,

		decryptKeys:      slices.Clone(cfg.DecryptionKeys),
		allowUnsignedCBC: cfg.AllowUnsignedCBC,
	}
	if sp.entityID == "" {
		return nil, newErr(ErrConfig, "EntityID is required")
	}
	ep, err := parseBaseURL(cfg.BaseURL, endpointPaths{acs: cfg.ACSPaths, logout: cfg.LogoutPath, metadata: cfg.MetadataPath, login: cfg.LoginPath})
	if err != nil {
		return nil, err
	}
	sp.endpoints = ep
	sp.audiences = []string{sp.entityID}
	if u, err := url.Parse(sp.entityID); err != nil || u.Scheme == "" {
		// Entra sends "spn:<identifier>" when the Identifier is not a URI.
		sp.audiences = append(sp.audiences, "spn:"+sp.entityID)
	}
	if sp.now == nil {
		sp.now = time.Now
	}
	switch {
	case sp.skew < 0:
		return nil, newErr(ErrConfig, "ClockSkew must not be negative")
	case sp.skew == 0:
		sp.skew = defaultClockSkew
	}
	switch {
	case sp.maxAge < 0:
		return nil, newErr(ErrConfig, "SessionMaxAge must not be negative")
	case sp.maxAge == 0:
		sp.maxAge = defaultSessionMaxAge
	}
	switch {
	case sp.maxSize < 0:
		return nil, newErr(ErrConfig, "MaxResponseSize must not be negative")
	case sp.maxSize == 0:
		sp.maxSize = DefaultMaxResponseSize
	}
	if sp.store == nil {
		sp.store = NewMemoryStore(sp.now)
	}
	sp.metadataMaxAge, sp.metadataMinInterval = cfg.MetadataMaxAge, cfg.MetadataRefreshInterval
	if sp.metadataMaxAge <= 0 {
		sp.metadataMaxAge = defaultMetadataMaxAge
	}
	if sp.metadataMinInterval <= 0 {
		sp.metadataMinInterval = defaultMetadataRefreshInterval
	}
	if sp.logger == nil {
		sp.logger = slog.Default()
	}
	if sp.httpClient == nil {
		sp.httpClient = &http.Client{Timeout: DefaultMetadataTimeout}
	}
	for _, f := range cfg.MetadataSigners {
		fp, err := parseFingerprint(f)
		if err != nil {
			return nil, err
		}
		sp.metadataPins = append(sp.metadataPins, fp)
	}
	if err := checkKey(cfg.Key, cfg.Certificate); err != nil {
		return nil, err
	}
	if err := checkDecryptionKeys(sp.decryptKeys); err != nil {
		return nil, err
	}
	if err := sp.checkAuthnOptions(sp.authn); err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(sp.entityID + "\x00" + sp.acsURL))
	spID := hex.EncodeToString(h[:12])
	sp.replayNS = "entrasaml/replay/" + spID + "/"
	sp.sessNS = "entrasaml/session/" + spID + "/"
	sp.indexNS = "entrasaml/session-index/" + spID + "/"
	sp.adSession = []byte("entrasaml/v1/session\x00" + sp.entityID + "\x00" + sp.acsURL)
	sp.adRequest = []byte("entrasaml/v1/request\x00" + sp.entityID + "\x00" + sp.acsURL)
	sp.adLogout = []byte("entrasaml/v1/logout\x00" + sp.entityID + "\x00" + sp.acsURL)
	if sp.sealer, err = newSealer(cfg.SessionKeys); err != nil {
		return nil, err
	}

	data := cfg.Metadata
	if len(data) == 0 {
		if cfg.MetadataURL == "" {
			return nil, newErr(ErrConfig, "one of Metadata and MetadataURL is required (EntraMetadataURL returns \"\" without a tenant and an app ID)")
		}
		data, err = fetchMetadata(ctx, sp.httpClient, cfg.MetadataURL)
		if err != nil {
			return nil, err
		}
	}
	st, err := sp.newIdPState(data, sp.now())
	if err != nil {
		return nil, err
	}
	sp.idp.Store(st)
	sp.warnExpiring(ctx, st, st.fetched)
	if st.tenantLevel {
		sp.logger.WarnContext(ctx, "entrasaml: the IdP metadata is the Entra tenant's federation metadata, not the application's: "+
			"it lists only the tenant's own certificates (CN="+idpmeta.TenantCertCN+"), so every sign-in will fail with ErrUnknownSigner. "+
			"Fix: in the Entra admin center open the enterprise application, Single sign-on, SAML Certificates, and use its "+
			"App Federation Metadata Url (it ends in ?appid=…; EntraMetadataURL(tenantID, appID)) or download its Federation Metadata XML",
			"entity_id", sp.entityID, "idp", st.md.EntityID)
	}
	return sp, nil
}

func checkKey(key crypto.Signer, cert *x509.Certificate) error {
	if key == nil {
		if cert != nil {
			return newErr(ErrConfig, "Certificate is set without Key")
		}
		return nil
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return newErr(ErrConfig, "Key must be an RSA key of at least 2048 bits")
	}
	if cert != nil {
		if cp, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !cp.Equal(pub) {
			return newErr(ErrConfig, "Certificate does not match Key")
		}
	}
	return nil
}

func (sp *SP) newIdPState(data []byte, now time.Time) (*idpState, error) {
	doc, err := readMetadata(data, now, sp.metadataPins, sp.allowSHA1)
	if err != nil {
		return nil, err
	}
	signOn, err := url.Parse(doc.SignOnURL)
	if err != nil {
		return nil, wrapErr(ErrMetadata, err, "the sign-on URL cannot be parsed")
	}
	return &idpState{md: idpMetadataOf(doc), signOn: signOn, fetched: now, certs: doc.Usable(), tenantLevel: idpmeta.TenantLevel(doc)}, nil
}

// fetchMetadata GETs the metadata document at u (idpmeta.Fetch, within
// DefaultMetadataTimeout and MaxMetadataSize).
func fetchMetadata(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	if !isHTTPURL(u) {
		return nil, newErr(ErrConfig, "MetadataURL must be an absolute http(s) URL")
	}
	data, err := idpmeta.Fetch(ctx, client, u, DefaultMetadataTimeout)
	if err != nil {
		var fe *idpmeta.FetchError
		errors.As(err, &fe)
		return nil, &Error{Err: ErrMetadata, Reason: fe.Reason, cause: fe.Cause, large: fe.TooLarge}
	}
	return data, nil
}

// ACSURL returns the default Assertion Consumer Service URL (Entra's Reply
// URL): BaseURL + the first of Config.ACSPaths, by default "/saml/acs".
// [SP.EntraSettings] lists them all.
func (sp *SP) ACSURL() string { return sp.acsURL }

// LogoutURL returns the SP's logout URL: BaseURL + Config.LogoutPath, by
// default "/saml/logout".
func (sp *SP) LogoutURL() string { return sp.logoutURL }

// Paths returns the request paths [SP.ServeHTTP] answers: the ACS paths,
// the logout, metadata and sign-in paths, each under BaseURL's path. With
// the default paths, mux.Handle("/saml/", sp) mounts them all; with others,
// mount each:
//
//	for _, p := range sp.Paths() {
//		mux.Handle(p, sp)
//	}
func (sp *SP) Paths() []string {
	var out []string
	for _, rel := range append(slices.Clone(sp.acsRel), sp.logoutRel, sp.metadataRel, sp.loginRel) {
		out = append(out, sp.basePath+rel)
	}
	return out
}

// EntityID returns the SP's Identifier (Entity ID).
func (sp *SP) EntityID() string { return sp.entityID }

// IdPMetadata returns the IdP metadata in use. The result is shared: do
// not modify it.
func (sp *SP) IdPMetadata() *IdPMetadata { return sp.idp.Load().md }
