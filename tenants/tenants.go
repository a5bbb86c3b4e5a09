// Package tenants serves many customers from one handler tree: a SaaS
// vendor gives each customer its own [entrasaml.SP] (its own Entra tenant,
// EntityID and BaseURL), and a [Router] picks the customer per request. The
// SP does the rest, so everything an SP guarantees holds per customer.
//
// Where the SPs come from is the Router's [Resolver]: a [HostDirectory] or
// [PathDirectory] of SPs built by the app, for small static setups, or a
// [Cache] over a [Registry] for a fleet: every customer's configuration
// ([Customer]) in one store shared by every instance (a [MemoryRegistry],
// or the SQL registry module), each SP built on a customer's first request
// and kept within a bounded cache, rebuilt when its version changes.
//
// The package imports only the root package (and the standard library):
// routing is a thin layer over SPs, and an app with one customer does not
// need it.
package tenants

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/internal/page"
)

// Resolver finds the SP of the customer a request belongs to, for
// [Router]. It returns (nil, nil) when the request belongs to no customer
// (Router answers 404), and an error only when it cannot tell, for example
// because the database is down (Router answers 503 and logs the error). It
// is called once per request, concurrently: it must be safe for concurrent
// use and should be fast (keep SPs in memory; build one with [entrasaml.New] when a
// customer is added or changed, not per request).
//
// The resolver decides what identifies a customer: the Host header
// ([HostDirectory.Resolve]), the first path segment
// ([PathDirectory.Resolve]), or anything else. Only a resolver may trust
// X-Forwarded-Host, and only behind a proxy that sets it and strips it from
// clients; nothing else in this package reads it.
type Resolver func(r *http.Request) (*entrasaml.SP, error)

// Router serves many SPs, one per customer, from one handler tree. For
// each request it calls Resolve and hands the request to that customer's
// SP; the handler passed to RequireAccount or LoadSession finds it with
// [SPFromContext]. Host mode, one subdomain per customer:
//
//	var customers tenants.HostDirectory // or your own Resolver
//	customers.Set("acme.vendor.example", acmeSP)
//	t := &tenants.Router{Resolve: customers.Resolve}
//	mux.Handle("/saml/", t)                  // each customer's /saml/acs, /saml/login, /saml/metadata, /saml/logout
//	mux.Handle("/", t.RequireAccount(app))   // each customer's pages
//
// Path mode, one path prefix per customer (BaseURL https://vendor.example/acme):
//
//	var customers tenants.PathDirectory
//	customers.Set("acme", acmeSP)
//	t := &tenants.Router{Resolve: customers.Resolve}
//	mux.Handle("/{customer}/saml/", t)
//	mux.Handle("/{customer}/", t.RequireAccount(app))
//
// A request that belongs to no customer gets a 404 page, never a redirect
// (not to sign-in, not to another customer). A resolver error gets a 503
// page with a reference id, and the error is logged with it.
//
// Customers are isolated because each SP is: a response from customer A's
// tenant is signed by a key B's metadata lacks (ErrUnknownSigner at B); a
// session or pending-request cookie is sealed for one SP's EntityID and ACS
// URL and opens nowhere else, even with shared SessionKeys; Store keys are
// namespaced per SP, so a shared Store cannot mix up replay caches or
// sessions; and an SP fetches its metadata only for its own requests, so
// one customer's slow or broken metadata URL delays only that customer.
// Host mode is the stronger choice: each customer is its own browser
// origin. In path mode all customers share one origin (cookies are still
// scoped by path and sealed per SP, but a script on one customer's pages
// runs in every customer's origin).
//
// Adding, replacing or removing a customer at run time needs no restart:
// the resolver decides per request, and requests already running finish
// with the SP they started with. Give every SP the same Store and
// SessionKeys (cookies stay bound to their SP), so that replacing a
// customer's SP (new metadata, same EntityID and BaseURL) keeps its users
// signed in. An SP starts no goroutine, so removing one needs no cleanup.
//
// A Router is safe for concurrent use; do not change its fields while it
// serves.
type Router struct {
	// Resolve finds the customer's SP. Required: when nil, every request
	// gets a 503 and an error is logged.
	Resolve Resolver
	// Logger receives resolver errors. nil: slog.Default().
	Logger *slog.Logger
}

// ServeHTTP serves the resolved customer's SAML endpoints, as
// [entrasaml.SP.ServeHTTP] does: /saml/acs, /saml/login, /saml/metadata and
// /saml/logout under that SP's BaseURL, or the paths its Config names
// (mount those: [entrasaml.SP.Paths]).
func (t *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sp := t.resolve(w, r); sp != nil {
		sp.ServeHTTP(w, r)
	}
}

// RequireAccount is [entrasaml.SP.RequireAccount] for the resolved customer: next
// runs only for users signed in to that customer, with the [entrasaml.Session] and
// the SP in the request context; other page loads are sent to that
// customer's Entra tenant to sign in.
func (t *Router) RequireAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sp := t.resolve(w, r); sp != nil {
			sp.RequireAccount(next).ServeHTTP(w, withSP(r, sp))
		}
	})
}

// LoadSession is [entrasaml.SP.LoadSession] for the resolved customer: next always
// runs, with the SP in the request context and the session when there is
// one. Unlike SP.LoadSession it does refuse some requests: those that
// belong to no customer (404) and those whose customer cannot be resolved
// (503).
func (t *Router) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sp := t.resolve(w, r); sp != nil {
			sp.LoadSession(next).ServeHTTP(w, withSP(r, sp))
		}
	})
}

// resolve returns the request's SP, or answers the request and returns nil.
func (t *Router) resolve(w http.ResponseWriter, r *http.Request) *entrasaml.SP {
	var sp *entrasaml.SP
	err := errNoResolver
	if t.Resolve != nil {
		sp, err = t.Resolve(r)
	}
	switch {
	case err != nil:
		var id [8]byte
		rand.Read(id[:])
		ref := hex.EncodeToString(id[:])
		logger := t.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "entrasaml: cannot resolve the customer", "status", http.StatusServiceUnavailable,
			"correlation_id", ref, "err", err, "host", r.Host, "path", r.URL.Path)
		page.Write(w, http.StatusServiceUnavailable, "Temporarily unavailable",
			"This application is temporarily unavailable. Please try again in a minute.", ref, "/")
		return nil
	case sp == nil:
		page.Write(w, http.StatusNotFound, "Not found", "There is no application at this address.", "", "")
		return nil
	}
	return sp
}

var errNoResolver = errors.New("tenants: Router.Resolve is nil")

type spKey struct{}

func withSP(r *http.Request, sp *entrasaml.SP) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), spKey{}, sp))
}

// SPFromContext returns the SP that [Router.RequireAccount] or
// [Router.LoadSession] resolved for the request: which customer it
// belongs to (SP.EntityID, SP.EntraSettings), and where a "Sign in" button
// goes (SP.StartSignIn).
func SPFromContext(ctx context.Context) (*entrasaml.SP, bool) {
	sp, ok := ctx.Value(spKey{}).(*entrasaml.SP)
	return sp, ok && sp != nil
}

// HostDirectory maps host names to SPs, one per customer, and is ready to
// use as a [Resolver] (its Resolve method). The zero value is an
// empty directory. It is safe for concurrent use: customers can be set,
// replaced and deleted while requests are served.
//
// Hosts are compared case-insensitively and without port: "ACME.vendor.example:8443"
// and "acme.vendor.example" are the same key, so the same directory works
// on any port (customers are told apart by name, never by port; write your
// own resolver if yours are). A trailing dot is ignored, IPv6 brackets are
// removed, and an empty host matches nothing. Internationalized names must
// be given in their ASCII (punycode) form, as browsers send them.
//
// The key is normally the host of the SP's BaseURL. Resolve reads r.Host
// (the Host header, or :authority in HTTP/2) and nothing else: behind a
// proxy, make it pass the original Host, or write a resolver that trusts
// the proxy's header.
type HostDirectory struct {
	dir directory
}

// Set makes sp serve host, replacing any SP there. Set(host, nil) is
// Delete(host).
func (d *HostDirectory) Set(host string, sp *entrasaml.SP) { d.dir.set(canonicalHost(host), sp) }

// Delete removes host's SP, if any: its requests get 404 from then on.
func (d *HostDirectory) Delete(host string) { d.dir.set(canonicalHost(host), nil) }

// Get returns host's SP, or nil.
func (d *HostDirectory) Get(host string) *entrasaml.SP { return d.dir.get(canonicalHost(host)) }

// Len returns the number of hosts with an SP.
func (d *HostDirectory) Len() int { return d.dir.len() }

// Resolve returns the SP of r.Host, or nil (no error) when there is none.
// It is a [Resolver].
func (d *HostDirectory) Resolve(r *http.Request) (*entrasaml.SP, error) { return d.Get(r.Host), nil }

// canonicalHost lowercases h and removes its port, brackets and trailing dot.
func canonicalHost(h string) string {
	switch {
	case len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']':
		h = h[1 : len(h)-1]
	case strings.IndexByte(h, ':') >= 0: // only then, since SplitHostPort's errors allocate
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// PathDirectory maps the first segment of the request path to SPs, one per
// customer, and is ready to use as a [Resolver] (its Resolve
// method): with Set("acme", sp), requests for /acme/... go to sp, whose
// BaseURL must end in that segment (e.g. "https://vendor.example/acme", so
// that its ACS URL is https://vendor.example/acme/saml/acs and its cookies
// are scoped to /acme). Segments are compared exactly (URL paths are
// case-sensitive), on the decoded path. The zero value is an empty
// directory; it is safe for concurrent use.
//
// Prefer [HostDirectory] when you can give each customer a subdomain: see
// [Router] on why a host per customer isolates better.
type PathDirectory struct {
	dir directory
}

// Set makes sp serve the path prefix "/"+segment. segment is one path
// segment ("acme"; "/acme/" is the same, "a/b" never matches); "" is
// ignored. Set(segment, nil) is Delete(segment).
func (d *PathDirectory) Set(segment string, sp *entrasaml.SP) {
	d.dir.set(strings.Trim(segment, "/"), sp)
}

// Delete removes segment's SP, if any: its requests get 404 from then on.
func (d *PathDirectory) Delete(segment string) { d.dir.set(strings.Trim(segment, "/"), nil) }

// Get returns segment's SP, or nil.
func (d *PathDirectory) Get(segment string) *entrasaml.SP {
	return d.dir.get(strings.Trim(segment, "/"))
}

// Len returns the number of path prefixes with an SP.
func (d *PathDirectory) Len() int { return d.dir.len() }

// Resolve returns the SP of the first segment of r.URL.Path, or nil (no
// error) when there is none. It is a [Resolver].
func (d *PathDirectory) Resolve(r *http.Request) (*entrasaml.SP, error) {
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return d.dir.get(seg), nil
}

// directory is a map guarded for concurrent use; the empty key matches
// nothing.
type directory struct {
	mu sync.RWMutex
	m  map[string]*entrasaml.SP
}

func (d *directory) set(key string, sp *entrasaml.SP) {
	if key == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if sp == nil {
		delete(d.m, key)
		return
	}
	if d.m == nil {
		d.m = make(map[string]*entrasaml.SP)
	}
	d.m[key] = sp
}

func (d *directory) get(key string) *entrasaml.SP {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.m[key]
}

func (d *directory) len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.m)
}
