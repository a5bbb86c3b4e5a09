// Package sqlregistry is a [tenants.Registry] on a SQL database: PostgreSQL
// (through pgx) for a fleet of instances, or an SQLite file (pure Go, no
// cgo) for one instance. It is the one source of truth for every
// customer's SSO configuration; each instance's [tenants.Cache] builds the
// SPs of the customers signing in right now from it.
//
//	reg, err := sqlregistry.Open(ctx, "postgres://app@db.internal/app", sqlregistry.Options{})
//	...
//	defer reg.Close()
//	cache := &tenants.Cache{Registry: reg, Template: template}
//	go cache.Run(ctx) // follows reg.Watch: changes from any instance
//	router := &tenants.Router{Resolve: cache.Resolve}
//
// # Schema
//
// Open creates and upgrades the schema itself (migrations embedded in the
// package, listed in schema_migrations, applied in one transaction under a
// lock, so that instances starting together are safe): customers (one row
// per customer), registry_state (the registry-wide version), customer_changes
// (which key each version changed, for pollers), audit_log (who changed
// what and when, never pruned: see [Registry.As], [Registry.Record] and
// [Registry.AuditLog]) and metadata_refresh (refresh leases).
//
// # Propagation
//
// Every write (Put, Disable, Delete, a metadata refresh) increments the
// registry-wide version in its transaction, journals the key it changed,
// and on PostgreSQL sends a NOTIFY that listeners receive when it commits.
// [Registry.Watch] reports changed keys: on PostgreSQL from LISTEN (within
// milliseconds of the commit), checking the version every
// Options.PollInterval as well, which catches anything missed and proves
// the connection alive; on SQLite by polling the version every
// PollInterval. A change is therefore reported by every instance's Watch
// within PollInterval plus one query (default: 500 ms), and a Watch that
// cannot reach the database returns an error within PollInterval plus
// the poll's timeout (PollInterval, at least 1 s), so the Cache falls back
// to asking the registry.
//
// # Metadata URLs
//
// A [Refresher] run by every instance fetches the metadata of customers
// that have a MetadataURL, one instance per customer per interval (it takes
// a lease row first), and stores each good copy with its fetch time, so
// that every instance builds that customer's SP from the same last good
// copy and Entra sees one fetch per interval, not one per instance.
package sqlregistry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/entrasaml/entrasaml/tenants"
)

// Defaults for the zero values of Options.
const (
	DefaultPollInterval  = 500 * time.Millisecond
	DefaultMaxConns      = 10
	DefaultLookupTimeout = 5 * time.Second
)

// Options configure a [Registry]. Zero values are the defaults.
type Options struct {
	// PollInterval is how often Watch reads the registry-wide version: on
	// SQLite to find changes, on PostgreSQL to catch a missed notification
	// and to check that its connection is alive. It bounds how stale a
	// watching Cache can be. 0: DefaultPollInterval.
	PollInterval time.Duration
	// Now is the clock for stored times (MetadataFetchedAt, the audit log)
	// and refresh leases; instances sharing a database should have clocks
	// that agree to well within a refresh interval. nil: time.Now.
	Now func() time.Time
	// LookupTimeout bounds each Lookup (on top of its ctx), so that a
	// database that stopped answering (a network partition) turns a
	// request into a 503 after this long rather than after the caller's
	// own deadline. 0: DefaultLookupTimeout.
	LookupTimeout time.Duration
	// MaxConns bounds the connections of the pool (Watch holds one more
	// per call on PostgreSQL), so that a fleet stays within the server's
	// max_connections. 0: DefaultMaxConns.
	MaxConns int
	// SkipMigrations opens the database without creating or upgrading the
	// schema (for a deployment that runs migrations separately, or a
	// read-only role). Default false: Open migrates.
	SkipMigrations bool
}

// ErrClosed is returned by Watch (and by every method, wrapped) once the
// Registry is closed.
var ErrClosed = errors.New("sqlregistry: registry closed")

// Registry is a [tenants.RegistryWriter] and a [tenants.Watcher] on one
// database. It is safe for concurrent use. Errors other than
// [tenants.ErrNotFound], [tenants.ErrConflict] and
// [tenants.ErrInvalidCustomer] mean the database could not answer (the
// Router then answers 503).
type Registry struct {
	s     *shared
	actor string
}

// shared is what Registry values made by As have in common.
type shared struct {
	db     *sql.DB
	d      *dialect
	pg     *pgx.ConnConfig // PostgreSQL only: the LISTEN connection's config
	poll   time.Duration
	lookup time.Duration // Options.LookupTimeout
	now    func() time.Time
	closed context.Context // done once Close is called
	close  context.CancelFunc
}

var (
	_ tenants.RegistryWriter = (*Registry)(nil)
	_ tenants.Watcher        = (*Registry)(nil)
)

// Open opens the registry at dsn: a PostgreSQL URL (postgres:// or
// postgresql://, see [OpenPostgres]) or else an SQLite file path (see
// [OpenSQLite]).
func Open(ctx context.Context, dsn string, opts Options) (*Registry, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn, opts)
	}
	return OpenSQLite(ctx, dsn, opts)
}

// OpenPostgres opens the registry in the PostgreSQL database at url (a
// libpq URL or key=value string, as pgx parses it), checks that it
// answers, and migrates its schema. Every instance of a fleet opens the
// same database. Watch holds one extra connection per call for LISTEN:
// point url at the server itself or at a pooler in session mode (LISTEN
// does not work through PgBouncer's transaction mode; Watch would then see
// changes only through its poll, every PollInterval).
func OpenPostgres(ctx context.Context, url string, opts Options) (*Registry, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlregistry: %w", err)
	}
	db := stdlib.OpenDB(*cfg.Copy())
	return open(ctx, db, &postgres, cfg, opts)
}

// OpenSQLite opens (creating it if needed) the registry in the SQLite
// file at path, in WAL mode with a busy timeout, and migrates its schema.
// It suits one instance (several processes on one host work too, but only
// through a local file system). path may be a "file:" URI; ":memory:" is
// refused, since each connection would see its own database.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Registry, error) {
	if path == "" || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, errors.New("sqlregistry: SQLite needs a file path")
	}
	dsn := path
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// Writes take the write lock when they begin (BEGIN IMMEDIATE), so
	// that two writers queue on busy_timeout instead of failing when one
	// upgrades a read lock.
	dsn += sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlregistry: %w", err)
	}
	return open(ctx, db, &sqlite, nil, opts)
}

func open(ctx context.Context, db *sql.DB, d *dialect, pg *pgx.ConnConfig, opts Options) (*Registry, error) {
	s := &shared{db: db, d: d, pg: pg, poll: opts.PollInterval, now: opts.Now}
	s.closed, s.close = context.WithCancel(context.Background())
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.lookup = opts.LookupTimeout; s.lookup <= 0 {
		s.lookup = DefaultLookupTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	if err := db.PingContext(ctx); err != nil {
		s.close()
		db.Close()
		return nil, fmt.Errorf("sqlregistry: connecting to %s: %w", d.name, err)
	}
	if !opts.SkipMigrations {
		if _, err := migrate(ctx, db, d, s.now().UnixMicro()); err != nil {
			s.close()
			db.Close()
			return nil, err
		}
	}
	return &Registry{s: s}, nil
}

// Close closes the database pool and ends every Watch (with ErrClosed).
// Registries made with As share the pool and are closed with it.
func (r *Registry) Close() error {
	r.s.close()
	return r.s.db.Close()
}

// DB returns the registry's connection pool, e.g. for an app's own tables
// in the same database. Do not close it; close the Registry.
func (r *Registry) DB() *sql.DB { return r.s.db }

// As returns a view of r whose writes are recorded in the audit log as
// made by actor (an operator, a customer's admin: "alice@acme.example
// (admin)"). Writes through r itself are recorded with actor "".
func (r *Registry) As(actor string) *Registry { return &Registry{s: r.s, actor: actor} }

const customerColumns = `key, entity_id, base_url, metadata_url, metadata, metadata_fetched_us,
	metadata_signers, options, enabled, enforced, version`

// Lookup returns the customer at key, enabled or not, as committed last:
// it reads the database on every call (the Cache calls it per cold or
// stale entry, not per request). It returns an error matching
// tenants.ErrNotFound when no customer has key, and another error when the
// database does not answer within ctx and Options.LookupTimeout.
func (r *Registry) Lookup(ctx context.Context, key string) (tenants.Customer, error) {
	if !canonicalKey(key) { // no customer can have it: spare the database
		return tenants.Customer{}, fmt.Errorf("%w: %q is not a canonical key", tenants.ErrNotFound, key)
	}
	ctx, cancel := context.WithTimeout(ctx, r.s.lookup)
	defer cancel()
	row := r.s.db.QueryRowContext(ctx, r.s.d.q("SELECT "+customerColumns+" FROM customers WHERE key = $1"), key)
	c, err := scanCustomer(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return tenants.Customer{}, fmt.Errorf("%w: %q", tenants.ErrNotFound, key)
	case err != nil:
		return tenants.Customer{}, r.s.fail("looking up a customer", err)
	case c.Key != key:
		return tenants.Customer{}, fmt.Errorf("sqlregistry: lookup of %q returned %q", key, c.Key)
	}
	return c, nil
}

// canonicalKey is the key rule of [tenants.Customer.Validate], which every
// stored customer passed.
func canonicalKey(key string) bool {
	return key != "" && (key == tenants.HostKey(key) || key == tenants.PathKey(key)) &&
		!strings.ContainsAny(key, "/?#% \t\r\n")
}

// fail wraps a database error, saying ErrClosed when that is why.
func (s *shared) fail(what string, err error) error {
	if s.closed.Err() != nil {
		return fmt.Errorf("sqlregistry: %s: %w (%w)", what, ErrClosed, err)
	}
	return fmt.Errorf("sqlregistry: %s: %w", what, err)
}

func scanCustomer(row interface{ Scan(...any) error }) (tenants.Customer, error) {
	var (
		c                 tenants.Customer
		fetchedUS         int64
		signers, options  []byte
		enabled, enforced bool
	)
	err := row.Scan(&c.Key, &c.EntityID, &c.BaseURL, &c.MetadataURL, &c.Metadata, &fetchedUS,
		&signers, &options, &enabled, &enforced, &c.Version)
	if err != nil {
		return c, err
	}
	c.Enabled, c.Enforced = enabled, enforced
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	if fetchedUS != 0 {
		c.MetadataFetchedAt = time.UnixMicro(fetchedUS).UTC()
	}
	if err := json.Unmarshal(signers, &c.MetadataSigners); err != nil {
		return c, fmt.Errorf("metadata_signers of %q: %w", c.Key, err)
	}
	if len(c.MetadataSigners) == 0 {
		c.MetadataSigners = nil
	}
	if err := json.Unmarshal(options, &c.Options); err != nil {
		return c, fmt.Errorf("options of %q: %w", c.Key, err)
	}
	return c, nil
}

// Put stores c as [tenants.RegistryWriter] says: c.Version 0 creates the
// customer (ErrConflict if the key exists), any other value replaces the
// stored customer if that is its version (else ErrConflict). It returns
// the new version. MetadataFetchedAt is stored to the microsecond.
func (r *Registry) Put(ctx context.Context, c tenants.Customer) (int64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	signers, err := json.Marshal(nonNil(c.MetadataSigners))
	if err != nil {
		return 0, err
	}
	options, err := json.Marshal(c.Options)
	if err != nil {
		return 0, err
	}
	var metadata []byte
	if len(c.Metadata) > 0 {
		metadata = c.Metadata
	}
	var fetchedUS int64
	if !c.MetadataFetchedAt.IsZero() {
		fetchedUS = c.MetadataFetchedAt.UnixMicro()
	}
	action := "put"
	if c.Version == 0 {
		action = "create"
	}
	return r.write(ctx, c.Key, action, auditDetail(&c), func(tx *sql.Tx, version, nowUS int64) error {
		var res sql.Result
		var err error
		if c.Version == 0 {
			res, err = tx.ExecContext(ctx, r.s.d.q(`INSERT INTO customers (`+customerColumns+`, created_us, updated_us)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT (key) DO NOTHING`),
				c.Key, c.EntityID, c.BaseURL, c.MetadataURL, metadata, fetchedUS,
				signers, options, c.Enabled, c.Enforced, version, nowUS)
		} else {
			res, err = tx.ExecContext(ctx, r.s.d.q(`UPDATE customers SET entity_id = $2, base_url = $3,
				metadata_url = $4, metadata = $5, metadata_fetched_us = $6, metadata_signers = $7, options = $8,
				enabled = $9, enforced = $10, version = $11, updated_us = $12
				WHERE key = $1 AND version = $13`),
				c.Key, c.EntityID, c.BaseURL, c.MetadataURL, metadata, fetchedUS,
				signers, options, c.Enabled, c.Enforced, version, nowUS, c.Version)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if c.Version == 0 {
				return fmt.Errorf("%w: %q exists", tenants.ErrConflict, c.Key)
			}
			return fmt.Errorf("%w: %q is not at version %d", tenants.ErrConflict, c.Key, c.Version)
		}
		return nil
	})
}

// Disable turns the customer at key off (Enabled and Enforced false),
// whatever its version, and returns its new version, or ErrNotFound.
func (r *Registry) Disable(ctx context.Context, key string) (int64, error) {
	return r.write(ctx, key, "disable", nil, func(tx *sql.Tx, version, nowUS int64) error {
		res, err := tx.ExecContext(ctx, r.s.d.q(`UPDATE customers SET enabled = FALSE, enforced = FALSE,
			version = $2, updated_us = $3 WHERE key = $1`), key, version, nowUS)
		return affected(res, err, key)
	})
}

// Delete removes the customer at key (and its refresh lease), or returns
// ErrNotFound. Its audit log rows stay.
func (r *Registry) Delete(ctx context.Context, key string) error {
	_, err := r.write(ctx, key, "delete", nil, func(tx *sql.Tx, _, _ int64) error {
		res, err := tx.ExecContext(ctx, r.s.d.q("DELETE FROM customers WHERE key = $1"), key)
		if err := affected(res, err, key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, r.s.d.q("DELETE FROM metadata_refresh WHERE key = $1"), key)
		return err
	})
	return err
}

func affected(res sql.Result, err error, key string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %q", tenants.ErrNotFound, key)
	}
	return err
}

// journalKeep is how many rows customer_changes keeps: a poller more than
// that many writes behind reports changed("") instead of each key.
const journalKeep = 10_000

// write runs change in a transaction that first takes the next
// registry-wide version (the registry_state row lock orders all writes,
// so versions are contiguous and commit in order), then journals the
// change, adds an audit row and, on PostgreSQL, notifies listeners.
// change's error, if any, rolls everything back and is returned as is.
func (r *Registry) write(ctx context.Context, key, action string, detail any, change func(tx *sql.Tx, version, nowUS int64) error) (int64, error) {
	s := r.s
	detailJSON := []byte("{}")
	if detail != nil {
		var err error
		if detailJSON, err = json.Marshal(detail); err != nil {
			return 0, err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.fail(action, err)
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, "UPDATE registry_state SET version = version + 1 WHERE id = 1 RETURNING version").Scan(&version); err != nil {
		return 0, s.fail(action, err)
	}
	nowUS := s.now().UnixMicro()
	if err := change(tx, version, nowUS); err != nil {
		if errors.Is(err, tenants.ErrNotFound) || errors.Is(err, tenants.ErrConflict) {
			return 0, err
		}
		return 0, s.fail(action, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO customer_changes (version, key, op, changed_us) VALUES ($1, $2, $3, $4)"),
		version, key, action, nowUS); err != nil {
		return 0, s.fail(action, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO audit_log (at_us, key, version, actor, action, detail) VALUES ($1, $2, $3, $4, $5, $6)"),
		nowUS, key, version, r.actor, action, string(detailJSON)); err != nil {
		return 0, s.fail(action, err)
	}
	if version%100 == 0 {
		if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM customer_changes WHERE version <= $1"), version-journalKeep); err != nil {
			return 0, s.fail(action, err)
		}
	}
	if s.d.notify != nil {
		if err := s.d.notify(ctx, tx, version, key); err != nil {
			return 0, s.fail(action, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.fail(action, err)
	}
	return version, nil
}

// auditDetail is what the audit log records of a stored customer: every
// field but the metadata itself, which it identifies by SHA-256.
func auditDetail(c *tenants.Customer) any {
	d := struct {
		tenants.Customer
		Metadata       []byte `json:"metadata,omitempty"` // hides the customer's
		MetadataSHA256 string `json:"metadata_sha256,omitempty"`
		Version        int64  `json:"version,omitempty"` // the audit row has the version written
	}{Customer: *c}
	if len(c.Metadata) > 0 {
		sum := sha256.Sum256(c.Metadata)
		d.MetadataSHA256 = hex.EncodeToString(sum[:])
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
