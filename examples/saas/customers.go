package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// customer is one company using the app, with its own Entra tenant.
type customer struct {
	Slug     string // subdomain: <slug>.<base domain>
	Name     string
	Metadata []byte // the Federation Metadata XML the customer's admin sent
	Added    time.Time

	sp          *entrasaml.SP     // nil when the stored metadata is unusable
	problem     string            // why sp is nil
	metadataURL string            // the App Federation Metadata Url, for demo tenants
	dev         *entratest.Server // the demo tenant's development IdP, or nil
	stopDev     func()            // stops dev's server
}

// Demo reports whether the customer lives only as long as the process:
// its development IdP's keys are new at every start, so it is not saved.
func (c *customer) Demo() bool { return c.dev != nil }

// Problem says why the customer is not served, or "".
func (c *customer) Problem() string { return c.problem }

// registry holds this process's view of the customers (names, demo IdPs)
// and writes their SSO configuration to the database registry
// (sqlregistry), from which the tenants.Cache that tenants.Router resolves
// each request with builds their SPs, on every instance. Every SP shares
// one Store and one set of SessionKeys.
type registry struct {
	cfg    *config
	db     *appDB // the customers' SSO configuration, shared by every instance
	store  entrasaml.Store
	keys   [][]byte
	logger *slog.Logger
	obs    *observer // every SP's Config.OnEvent: metrics and console figures

	mu        sync.Mutex
	customers map[string]*customer
}

func newRegistry(cfg *config, db *appDB, store entrasaml.Store, keys [][]byte, logger *slog.Logger) *registry {
	return &registry{cfg: cfg, db: db, store: store, keys: keys, logger: logger, customers: map[string]*customer{},
		obs: mustObserver(time.Now)}
}

// customerKey is the registry key of slug's host.
func (r *registry) customerKey(slug string) string { return tenants.HostKey(r.cfg.host(slug)) }

// publish writes c's SSO configuration to the database as the operator:
// enabled, with its metadata, keeping the customer's Require SSO switch.
func (r *registry) publish(ctx context.Context, c *customer) error {
	origin := r.cfg.origin(c.Slug)
	rc := tenants.Customer{Key: r.customerKey(c.Slug), EntityID: origin + "/saml/metadata", BaseURL: origin,
		Metadata: c.Metadata, MetadataURL: c.metadataURL, Enabled: true}
	if old, err := r.db.reg.Lookup(ctx, rc.Key); err == nil {
		rc.Version, rc.Enforced = old.Version, old.Enforced
	} else if !errors.Is(err, tenants.ErrNotFound) {
		return err
	}
	_, err := r.db.reg.As("operator").Put(ctx, rc)
	return err
}

var errExists = errors.New("exists")

// newSP builds the SP of customer c: EntityID and BaseURL from its slug,
// the IdP from its metadata (and metadata URL, fetched with client).
func (r *registry) newSP(ctx context.Context, c *customer, client *http.Client) (*entrasaml.SP, error) {
	origin := r.cfg.origin(c.Slug)
	return entrasaml.New(ctx, entrasaml.Config{
		EntityID:    origin + "/saml/metadata",
		BaseURL:     origin,
		Metadata:    c.Metadata,
		MetadataURL: c.metadataURL,
		HTTPClient:  client,
		Store:       r.store,
		SessionKeys: r.keys,
		Logger:      r.logger.With("customer", c.Slug),
		OnEvent:     r.obs.onEvent,
	})
}

// add builds c's SP and starts serving c's host with it, at once. A
// customer with the same slug is replaced when replace is set (its users
// stay signed in: same EntityID, BaseURL, Store and keys), else add fails
// with errExists. The data file is saved when c is not a demo; a failure
// to save is logged, and c is served all the same.
func (r *registry) add(ctx context.Context, c *customer, client *http.Client, replace bool) error {
	sp, err := r.newSP(ctx, c, client)
	if err != nil {
		return err
	}
	c.sp = sp
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.customers[c.Slug]
	if old != nil && !replace {
		return errExists
	}
	if err := r.publish(ctx, c); err != nil {
		return err
	}
	r.customers[c.Slug] = c
	r.obs.track(sp)
	if old != nil && old.stopDev != nil && old.dev != c.dev {
		go old.stopDev()
	}
	r.logger.Info("customer added", "slug", c.Slug, "host", r.cfg.host(c.Slug), "tenant", sp.IdPMetadata().TenantID, "replaced", old != nil)
	if !c.Demo() || old != nil && !old.Demo() {
		if err := r.saveLocked(); err != nil {
			r.logger.Error("saving the customers", "file", r.cfg.dataPath, "err", err)
		}
	}
	return nil
}

// addUnconfigured lists c, a demo customer whose admin has yet to set up
// SSO, and stores it in the registry disabled, without metadata: its
// development IdP has new keys at each start, so an earlier run's
// configuration and draft would not work (the audit log keeps them).
func (r *registry) addUnconfigured(ctx context.Context, c *customer) error {
	origin := r.cfg.origin(c.Slug)
	rc := tenants.Customer{Key: r.customerKey(c.Slug), EntityID: origin + "/saml/metadata", BaseURL: origin}
	if old, err := r.db.reg.Lookup(ctx, rc.Key); err == nil {
		rc.Version = old.Version
	} else if !errors.Is(err, tenants.ErrNotFound) {
		return err
	}
	if _, err := r.db.reg.As("operator").Put(ctx, rc); err != nil {
		return err
	}
	if err := r.db.deleteDraft(ctx, rc.Key); err != nil {
		return err
	}
	r.mu.Lock()
	r.customers[c.Slug] = c
	r.mu.Unlock()
	return nil
}

// remove stops serving slug's host: its requests get 404 from now on.
func (r *registry) remove(slug string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.customers[slug]
	if c == nil {
		return false
	}
	delete(r.customers, slug)
	if err := r.db.reg.As("operator").Delete(context.Background(), r.customerKey(slug)); err != nil && !errors.Is(err, tenants.ErrNotFound) {
		r.logger.Error("removing the customer from the registry", "slug", slug, "err", err)
	}
	if c.sp != nil {
		r.obs.forget(c.sp)
	}
	if c.stopDev != nil {
		go c.stopDev()
	}
	r.logger.Info("customer removed", "slug", slug)
	if err := r.saveLocked(); err != nil {
		r.logger.Error("saving the customers", "file", r.cfg.dataPath, "err", err)
	}
	return true
}

func (r *registry) get(slug string) *customer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.customers[slug]
}

// list returns the customers by slug.
func (r *registry) list() []*customer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*customer, 0, len(r.customers))
	for _, c := range r.customers {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *customer) int { return cmp.Compare(a.Slug, b.Slug) })
	return out
}

// dataFile is the -data file.
type dataFile struct {
	Customers []storedCustomer `json:"customers"`
}

type storedCustomer struct {
	Slug     string    `json:"slug"`
	Name     string    `json:"name"`
	Metadata string    `json:"metadata"` // Federation Metadata XML
	Added    time.Time `json:"added"`
}

// load reads the -data file, if any. A customer whose metadata no longer
// works (an expired certificate, say) is kept and listed with the problem,
// but not served; the others are served.
func (r *registry) load(ctx context.Context) error {
	if r.cfg.dataPath == "" {
		return nil
	}
	b, err := os.ReadFile(r.cfg.dataPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var f dataFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("-data %s: %v", r.cfg.dataPath, err)
	}
	for _, s := range f.Customers {
		if msg := checkSlug(s.Slug); msg != "" {
			return fmt.Errorf("-data %s: customer %q: %s", r.cfg.dataPath, s.Slug, msg)
		}
		c := &customer{Slug: s.Slug, Name: s.Name, Metadata: []byte(s.Metadata), Added: s.Added}
		if c.sp, err = r.newSP(ctx, c, nil); err != nil {
			c.problem = err.Error()
			r.logger.Error("a stored customer cannot be served", "slug", c.Slug, "err", err)
		} else if err := r.publish(ctx, c); err != nil {
			return err
		} else {
			r.obs.track(c.sp)
		}
		r.mu.Lock()
		r.customers[c.Slug] = c
		r.mu.Unlock()
	}
	r.logger.Info("customers loaded", "file", r.cfg.dataPath, "count", len(f.Customers))
	return nil
}

// saveLocked writes the customers that are not demos to the -data file,
// atomically. The caller holds r.mu.
func (r *registry) saveLocked() error {
	if r.cfg.dataPath == "" {
		return nil
	}
	f := dataFile{Customers: []storedCustomer{}}
	for _, c := range r.customers {
		if !c.Demo() {
			f.Customers = append(f.Customers, storedCustomer{c.Slug, c.Name, string(c.Metadata), c.Added})
		}
	}
	slices.SortFunc(f.Customers, func(a, b storedCustomer) int { return cmp.Compare(a.Slug, b.Slug) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.cfg.dataPath), ".customers-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), r.cfg.dataPath)
}
