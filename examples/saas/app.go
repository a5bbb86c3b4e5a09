package main

import (
	"context"
	"crypto/rand"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/tenants"
)

// app is Parcelry: one handler tree for every customer, plus the operator
// console.
type app struct {
	cfg    *config
	db     *appDB
	reg    *registry
	cache  *tenants.Cache
	idps   *idpPool
	router *tenants.Router
	logger *slog.Logger

	mu             sync.Mutex
	adminPasswords map[string]string // seeded admins' passwords, by slug
}

func newApp(cfg *config, db *appDB, logger *slog.Logger) *app {
	// One Store and one set of SessionKeys for every customer: the library
	// binds each cookie and Store key to its SP, so sharing them is safe,
	// and replacing a customer's SP (new metadata) keeps its users signed
	// in. Random keys: sessions end with the process.
	key := make([]byte, entrasaml.SessionKeySize)
	rand.Read(key)
	store := entrasaml.NewMemoryStore(time.Now)
	reg := newRegistry(cfg, db, store, [][]byte{key}, logger)
	a := &app{
		cfg:            cfg,
		db:             db,
		reg:            reg,
		idps:           &idpPool{cfg: cfg, logger: logger},
		logger:         logger,
		adminPasswords: map[string]string{},
	}
	// Each customer's SP is built from the registry on first use and
	// rebuilt when an admin or the operator changes it, on every instance.
	a.cache = &tenants.Cache{Registry: db.reg, Template: entrasaml.Config{
		Store: store, SessionKeys: [][]byte{key}, Logger: logger, Provision: a.provision, OnEvent: reg.obs.onEvent}}
	a.router = &tenants.Router{Resolve: a.cache.Resolve, Logger: logger}
	return a
}

// handler routes by host: the base domain is the operator console, every
// other host a customer, found by tenants.Router in the HostDirectory
// (an unknown host gets its 404 page).
func (a *app) handler() http.Handler {
	customers := http.NewServeMux()
	customers.Handle("/saml/", a.samlHandler()) // each customer's /saml/acs, /saml/metadata, /saml/logout; test sign-ins
	customers.HandleFunc("GET /favicon.ico", http.NotFound)
	a.adminRoutes(customers)
	customers.Handle("/", a.homeHandler(a.router.RequireAccount(http.HandlerFunc(a.serveCustomer))))

	ops := http.NewServeMux()
	ops.Handle("GET /{$}", http.RedirectHandler("/operator", http.StatusSeeOther))
	ops.HandleFunc("GET /operator", a.serveOperator)
	ops.HandleFunc("POST /operator/onboard", a.serveOnboard)
	ops.HandleFunc("POST /operator/demo", a.serveDemo)
	ops.HandleFunc("POST /operator/remove", a.serveRemove)
	ops.Handle("GET /metrics", a.reg.obs.handler) // Prometheus; as open as the console
	// The console is not behind sign-in (see README); at least its forms
	// cannot be posted from other sites.
	opsProtected := http.NewCrossOriginProtection().Handler(ops)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slug, ok := a.cfg.slugOf(r.Host); ok && slug == "" {
			opsProtected.ServeHTTP(w, r)
			return
		}
		customers.ServeHTTP(w, r)
	})
}

// startBuiltinDemos adds the demo customers the app starts with, each with
// its own development IdP, unless the data file has a customer of that
// slug.
func (a *app) startBuiltinDemos(ctx context.Context) error {
	for _, slug := range builtinDemos {
		if a.reg.get(slug) != nil {
			continue
		}
		t := demoFor(slug)
		dev, stop, err := a.idps.start(slug, t)
		if err != nil {
			return err
		}
		c := &customer{Slug: slug, Name: t.name, Metadata: dev.Metadata(), Added: time.Now(), dev: dev, stopDev: stop}
		if err := a.reg.add(ctx, c, nil, false); err != nil {
			stop()
			return err
		}
	}
	for _, slug := range selfServeDemos {
		if a.reg.get(slug) != nil {
			continue
		}
		t := demoFor(slug)
		dev, stop, err := a.idps.start(slug, t)
		if err != nil {
			return err
		}
		c := &customer{Slug: slug, Name: t.name, Added: time.Now(), dev: dev, stopDev: stop, metadataURL: dev.MetadataURL(),
			problem: "SSO is not set up yet: the customer's admin does it at /admin"}
		if err := a.reg.addUnconfigured(ctx, c); err != nil {
			stop()
			return err
		}
	}
	return nil
}

type customerData struct {
	C       *customer
	S       *entrasaml.Session
	Tenant  string // the tenant the customer onboarded with
	Expires string
}

// serveCustomer is every page of a customer's site, behind
// Router.RequireAccount: who is signed in to which customer.
func (a *app) serveCustomer(w http.ResponseWriter, r *http.Request) {
	s, ok := entrasaml.SessionFromContext(r.Context())
	sp, _ := tenants.SPFromContext(r.Context())
	slug, _ := a.cfg.slugOf(r.Host)
	c := a.reg.get(slug)
	if !ok || sp == nil || c == nil { // removed meanwhile
		http.NotFound(w, r)
		return
	}
	d := customerData{C: c, S: s, Tenant: sp.IdPMetadata().TenantID, Expires: s.ExpiresAt.Local().Format(time.RFC1123)}
	render(w, a.logger, http.StatusOK, customerPage, d)
}

// render writes an HTML page with the headers every page of the app has.
func render(w http.ResponseWriter, logger *slog.Logger, status int, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if h.Get("Content-Security-Policy") == "" { // a page may allow more form targets
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	}
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		logger.Warn("rendering a page", "page", t.Name(), "err", err)
	}
}
