package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/internal/idpmeta"
)

// Customer is the SSO configuration of the customer at one key (a host
// name, or a path segment): what a [Registry] stores and a [Cache] turns
// into an [entrasaml.SP]. It is a plain value; the settings shared by every
// customer of a vendor (Store, SessionKeys, Logger, Provision, HTTPClient,
// signing and decryption keys) are not part of it but of the Cache's
// Template, so that a registry holds no secrets.
//
// A Customer returned by a Registry is shared: do not modify its slices.
type Customer struct {
	// Key identifies the customer in requests: the host of BaseURL in
	// host mode ([HostKey]: lowercase, no port, no trailing dot, punycode),
	// or the one path segment of BaseURL in path mode ([PathKey]:
	// BaseURL https://vendor.example/acme has the key "acme").
	// Required; unique in a registry.
	Key string `json:"key"`
	// EntityID is the SP's Identifier, as entered in the customer's Entra
	// application ([entrasaml.Config.EntityID]). Required.
	EntityID string `json:"entity_id"`
	// BaseURL is the customer's external origin ([entrasaml.Config.BaseURL]);
	// its host must be Key (host mode), or its path "/"+Key (path mode),
	// else the Cache refuses to build the SP. Required.
	BaseURL string `json:"base_url"`
	// MetadataURL is the App Federation Metadata URL the customer's admin
	// gave, or "" when they uploaded the XML.
	MetadataURL string `json:"metadata_url,omitempty"`
	// Metadata is the Federation Metadata XML: as uploaded when
	// MetadataURL is "", else the last good copy fetched from MetadataURL
	// (nil before the first fetch: the Cache then fetches when it builds
	// the SP, on every instance). One of Metadata and MetadataURL is
	// required for an enabled customer. At most [entrasaml.MaxMetadataSize]
	// bytes.
	Metadata []byte `json:"metadata,omitempty"`
	// MetadataFetchedAt is when Metadata was fetched from MetadataURL; zero
	// for uploaded XML. A registry that refreshes URL metadata (one
	// instance per interval) stores each good copy with its fetch time, so
	// that every instance builds from the same last good copy; storing it
	// is a write like any other (a new Version: every Cache rebuilds that
	// customer's SP). The Cache itself never writes: with an empty
	// Metadata it fetches MetadataURL when it builds the SP, and an SP
	// built with a MetadataURL refreshes on its own when a response is
	// signed by a certificate it lacks (Entra's key rollover; at most
	// every [entrasaml.Config.MetadataRefreshInterval]).
	MetadataFetchedAt time.Time `json:"metadata_fetched_at,omitzero"`
	// MetadataSigners pins the metadata's signature
	// ([entrasaml.Config.MetadataSigners]): SHA-256 fingerprints in hex.
	// nil: not pinned.
	MetadataSigners []string `json:"metadata_signers,omitempty"`
	// Options are the customer's own relaxations and limits.
	Options Options `json:"options,omitzero"`
	// Enabled makes the Cache serve the customer's SP. A disabled customer
	// stays in the registry (its admin can still edit and test it) but
	// has no SP: the Router answers its requests with 404, as for an
	// unknown customer.
	Enabled bool `json:"enabled"`
	// Enforced is the customer's "Require SSO": the app must not let its
	// users sign in any other way (local passwords). The Cache does not
	// read it; the app does (it is meaningful only when Enabled).
	Enforced bool `json:"enforced"`
	// Version is assigned by the registry on every write (Put, Disable, a
	// metadata refresh); a caller's value is ignored except as Put's
	// expected version. Versions are positive and registry-wide
	// increasing: each write gets a version greater than every version
	// the registry handed out before, for any key, so a version is never
	// reused, not even after Delete. Two reads of a key with the same
	// Version are the same configuration.
	Version int64 `json:"version"`
}

// Options are the subset of [entrasaml.Config] a customer may set. Zero
// values are the safe defaults, as in Config; durations are stored as
// nanoseconds in JSON.
type Options struct {
	// AllowIdPInitiated is [entrasaml.Config.AllowIdPInitiated]: accept
	// sign-ins started from My Apps tiles (open to login CSRF).
	AllowIdPInitiated bool `json:"allow_idp_initiated,omitempty"`
	// AllowSHA1 is [entrasaml.Config.AllowSHA1].
	AllowSHA1 bool `json:"allow_sha1,omitempty"`
	// ClockSkew is [entrasaml.Config.ClockSkew]: 0 for the default, at
	// most [MaxClockSkew].
	ClockSkew time.Duration `json:"clock_skew,omitempty"`
	// SessionMaxAge is [entrasaml.Config.SessionMaxAge]: 0 for the
	// default, else at least a minute.
	SessionMaxAge time.Duration `json:"session_max_age,omitempty"`
	// LocalLogoutOnly is [entrasaml.Config.LocalLogoutOnly].
	LocalLogoutOnly bool `json:"local_logout_only,omitempty"`
}

// MaxClockSkew is the largest Options.ClockSkew a customer may set.
const MaxClockSkew = 10 * time.Minute

// Errors of the registry contract, matched with errors.Is.
var (
	// ErrNotFound: no customer has this key (or it was deleted). The
	// Router answers 404. Any other error from a Registry means "cannot
	// tell right now" and gets a 503.
	ErrNotFound = errors.New("tenants: no such customer")
	// ErrConflict: Put's expected version is not the stored one (someone
	// else wrote the customer since it was read, or it exists when a new
	// one was meant, or is gone). Read again and retry, or tell the user.
	ErrConflict = errors.New("tenants: the customer was changed by someone else")
	// ErrInvalidCustomer: Put was given a Customer that [Customer.Validate]
	// refuses.
	ErrInvalidCustomer = errors.New("tenants: invalid customer")
)

// Registry is the source of truth for customers' SSO configurations,
// read by a [Cache] (which builds and caches the SPs) and written through
// a [RegistryWriter]. Implementations: [MemoryRegistry] (one process), and
// the SQL registry module (PostgreSQL, SQLite) for fleets.
//
// Lookup returns the customer stored at key, enabled or not, and the
// registry's current view of it: after a write has returned, a Lookup on
// the same registry (from any instance) returns that write or a later
// one. It returns an error matching [ErrNotFound] when no customer has
// that key (including "" and keys that are not canonical), and any other
// error when it cannot tell (database down, timeout, ctx done): the
// caller must then not assume the customer is gone nor that it is
// unchanged. It must never return another key's customer: the returned
// Customer's Key equals key (the Cache checks, and answers 503 if not).
//
// Lookup is called concurrently, once per cold or stale cache entry (not
// per request), and should honour ctx's deadline. The returned Customer
// must not be modified afterwards by the registry (return copies or
// immutable values).
type Registry interface {
	Lookup(ctx context.Context, key string) (Customer, error)
}

// Watcher is implemented by a registry that can push changes (PostgreSQL
// LISTEN/NOTIFY, a poller of a registry-wide version, MemoryRegistry).
// With it, a Cache serves a cached SP until it is told the customer
// changed, instead of asking the registry about each cached customer every
// [Cache.MaxStale]; [Cache.Run] calls Watch.
//
// Watch blocks, calling changed(key) after each committed write to key
// (Put, Disable, Delete, a metadata refresh), until ctx is done (it then
// returns ctx.Err()) or until it can no longer promise delivery (it then
// returns the error; the Cache falls back to MaxStale revalidation and
// calls Watch again after a backoff). Rules:
//
//   - Once subscribed, and before any key is reported, Watch calls
//     changed("") ("anything may have changed": writes before the
//     subscription were missed). It calls changed("") again whenever it may
//     have missed a write (after a reconnect, or a poll gap), or when it
//     cannot say which keys changed.
//   - A change must be reported within a bounded delay (the registry's
//     documented propagation delay; at most a second is the aim), and a
//     Watch that cannot reach its backend must notice within that delay and
//     return an error rather than stay silent: silence means "nothing
//     changed", so a Watch stuck on a dead connection would let a disabled
//     customer be served.
//   - Spurious calls are allowed (a key that did not change costs one
//     Lookup); a missed call is not.
//   - changed is fast and safe for concurrent use, but Watch should call
//     it from one goroutine at a time, in commit order per key.
//
// Watch may be called concurrently (several Caches on one registry); each
// call is independent.
//
// Since versions are registry-wide increasing, a poller can find the keys
// written since its last poll as those with a greater version; deletions
// need a record of their own (a tombstone, or a change log with the
// deleting write's version), or a changed("") after each poll that saw
// the customer count drop.
type Watcher interface {
	Watch(ctx context.Context, changed func(key string)) error
}

// RegistryWriter changes customers: the vendor's operator console, a
// customer's admin pages and metadata refreshers write through it. Every
// write is committed when the method returns: a Lookup after it, from any
// instance, sees it, and Watchers report it. All methods are safe for
// concurrent use. The methods do not fetch anything (no network access on
// a customer's behalf).
type RegistryWriter interface {
	Registry
	// Put stores c at c.Key and returns its new Version. c.Version is the
	// version the caller read: 0 to create a customer (ErrConflict if the
	// key exists), else the stored one (ErrConflict if the stored version
	// differs or the customer is gone), so that concurrent editors and a
	// metadata refresher never overwrite each other's change unseen. c
	// must pass [Customer.Validate] (else an error matching
	// ErrInvalidCustomer). The registry keeps its own copy of c.
	Put(ctx context.Context, c Customer) (version int64, err error)
	// Disable sets Enabled to false (and Enforced, which needs Enabled),
	// whatever the stored version: the operator's switch that always
	// works. It returns the new version (a new one even when the customer
	// was already disabled), or ErrNotFound.
	Disable(ctx context.Context, key string) (version int64, err error)
	// Delete removes the customer at key, or returns ErrNotFound. Its key
	// then gets 404; a later Put with Version 0 creates it anew (with a
	// new, greater version).
	Delete(ctx context.Context, key string) error
}

// Validate checks what a registry can check without a network or a
// router: a canonical Key, an EntityID, a BaseURL (absolute http(s), no
// query or fragment) whose host is Key or whose path is "/"+Key, metadata
// (XML or URL) when Enabled, Enforced only when Enabled, metadata within
// [entrasaml.MaxMetadataSize], fingerprints that parse, options in range.
// It does not parse the metadata (the Cache does, and answers 503 for a
// customer whose metadata does not parse; check uploads with
// [onboard.Check] before saving them). Errors match
// [ErrInvalidCustomer].
func (c *Customer) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidCustomer, fmt.Sprintf(format, a...))
	}
	if c.Key == "" || (c.Key != HostKey(c.Key) && c.Key != PathKey(c.Key)) || strings.ContainsAny(c.Key, "/?#% \t\r\n") {
		return bad("key %q is not a canonical host name or path segment", c.Key)
	}
	if c.EntityID == "" {
		return bad("EntityID is required")
	}
	if err := checkBaseURL(c.Key, c.BaseURL); err != nil {
		return bad("%s", err)
	}
	if c.Enabled && len(c.Metadata) == 0 && c.MetadataURL == "" {
		return bad("an enabled customer needs Metadata or a MetadataURL")
	}
	if c.Enforced && !c.Enabled {
		return bad("Enforced needs Enabled")
	}
	if len(c.Metadata) > entrasaml.MaxMetadataSize {
		return bad("Metadata is larger than %d bytes", entrasaml.MaxMetadataSize)
	}
	if c.MetadataURL != "" {
		if u, err := url.Parse(c.MetadataURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("MetadataURL must be an absolute http(s) URL")
		}
	}
	for _, f := range c.MetadataSigners {
		if _, ok := idpmeta.ParseFingerprint(f); !ok {
			return bad("MetadataSigners: %q is not a SHA-256 fingerprint", f)
		}
	}
	switch o := c.Options; {
	case o.ClockSkew < 0 || o.ClockSkew > MaxClockSkew:
		return bad("ClockSkew must be between 0 and %v", MaxClockSkew)
	case o.SessionMaxAge < 0 || (o.SessionMaxAge > 0 && o.SessionMaxAge < time.Minute):
		return bad("SessionMaxAge must be 0 or at least a minute")
	}
	return nil
}

// checkBaseURL checks that base is a BaseURL whose host is key (host
// mode) or whose path is "/"+key (path mode).
func checkBaseURL(key, base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("BaseURL must be an absolute http(s) URL without query or fragment")
	}
	if HostKey(u.Host) == key {
		return nil
	}
	if strings.TrimRight(u.Path, "/") == "/"+key {
		return nil
	}
	return fmt.Errorf("BaseURL %q is not at key %q (its host, or its path /%s)", base, key, key)
}

// Config returns the [entrasaml.Config] of the customer's SP: template
// (the vendor's settings shared by every customer: Store, SessionKeys,
// Logger, Provision, HTTPClient, Now, Key, DecryptionKeys, ...) with the
// customer's EntityID, BaseURL, metadata, MetadataSigners and Options set
// over it. The Cache builds every SP with it; build a candidate SP the
// same way (e.g. to test a configuration before saving it).
func (c *Customer) Config(template entrasaml.Config) entrasaml.Config {
	cfg := template
	cfg.EntityID, cfg.BaseURL = c.EntityID, c.BaseURL
	cfg.Metadata, cfg.MetadataURL = c.Metadata, c.MetadataURL
	cfg.MetadataSigners = c.MetadataSigners
	cfg.AllowIdPInitiated, cfg.AllowSHA1 = c.Options.AllowIdPInitiated, c.Options.AllowSHA1
	cfg.ClockSkew, cfg.SessionMaxAge = c.Options.ClockSkew, c.Options.SessionMaxAge
	cfg.LocalLogoutOnly = c.Options.LocalLogoutOnly
	return cfg
}

// HostKey returns the registry key of a host name, as the Cache computes
// it from r.Host in host mode: lowercase, without port, IPv6 brackets or
// trailing dot ("ACME.vendor.example:8443" is "acme.vendor.example").
// Internationalized names must be in their ASCII (punycode) form.
func HostKey(host string) string { return canonicalHost(host) }

// PathKey returns the registry key of a path in path mode: its first
// segment ("/acme/orders" is "acme"; "acme" is "acme").
func PathKey(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}
