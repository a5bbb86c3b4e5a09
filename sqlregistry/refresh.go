package sqlregistry

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
	"github.com/entrasaml/entrasaml/tenants"
)

// Defaults for the zero values of Refresher.
const (
	DefaultRefreshInterval = time.Hour
	DefaultRefreshBatch    = 100
	// refreshRetry bounds how long a customer whose refresh failed waits
	// for the next attempt (its lease is shortened to this).
	refreshRetry = 5 * time.Minute
)

// Refresher keeps the metadata of customers that have a MetadataURL fresh
// in the registry: every instance runs one, and for each customer one of
// them fetches per Interval. Before fetching it takes the customer's
// lease, a metadata_refresh row whose expiry it sets to now+Interval in
// one atomic INSERT ... ON CONFLICT DO UPDATE ... WHERE the lease expired;
// the instances that lose find an unexpired lease and skip the customer.
//
// A fetched document is checked as the customer's SP would check it
// ([entrasaml.New] with the customer's settings and MetadataSigners, at
// Now) and stored, with its fetch time as MetadataFetchedAt and a new
// version, only when it differs from the stored copy; every instance's
// Cache then rebuilds that customer's SP from the same copy. A document
// that fails to download or to verify is not stored: the last good copy
// stays, the error is logged and kept in metadata_refresh.last_error, and
// the customer is tried again after 5 minutes (or Interval, if shorter).
// A refresh writes with the version it read, so an admin's concurrent
// edit wins and the refresh is retried in the next pass.
//
// The zero value is not usable: Registry is required. A Refresher is safe
// for concurrent use; set its fields before first use.
type Refresher struct {
	// Registry is where customers are read and written. Required.
	Registry *Registry
	// HTTPClient fetches the customers' MetadataURLs. Customers' URLs
	// come from outside: give [onboard.PublicOnlyHTTPClient] (or a
	// client like it) so that they cannot aim requests at internal hosts.
	// nil: onboard.PublicOnlyHTTPClient().
	HTTPClient *http.Client
	// Interval is how often each customer's metadata is fetched (by one
	// instance). 0: DefaultRefreshInterval.
	Interval time.Duration
	// Holder names this instance in lease rows (for operators). "": a
	// random name per Refresher.
	Holder string
	// Batch is how many due customers one pass takes on. 0:
	// DefaultRefreshBatch.
	Batch int
	// Logger receives failed refreshes. nil: slog.Default().
	Logger *slog.Logger

	once   sync.Once
	holder string // Holder, or the random name given once
}

func (f *Refresher) settings() (client *http.Client, interval time.Duration, holder string, batch int, logger *slog.Logger) {
	f.once.Do(func() {
		if f.holder = f.Holder; f.holder == "" {
			var b [8]byte
			rand.Read(b[:])
			f.holder = "refresher-" + hex.EncodeToString(b[:])
		}
	})
	client, interval, holder, batch, logger = f.HTTPClient, f.Interval, f.holder, f.Batch, f.Logger
	if client == nil {
		client = onboard.PublicOnlyHTTPClient()
	}
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	if batch <= 0 {
		batch = DefaultRefreshBatch
	}
	if logger == nil {
		logger = slog.Default()
	}
	return
}

// Run calls RefreshDue every Interval/10 (at most every minute) until ctx
// is done, and returns ctx.Err(). Errors of a pass are logged.
func (f *Refresher) Run(ctx context.Context) error {
	_, interval, _, _, logger := f.settings()
	t := time.NewTicker(min(interval/10, time.Minute))
	defer t.Stop()
	for {
		if _, err := f.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "sqlregistry: metadata refresh pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RefreshDue makes one pass: it takes the lease of each enabled customer
// with a MetadataURL whose lease has expired (up to Batch of them),
// fetches and checks its metadata and stores it if it changed. It returns
// how many customers it refreshed (fetched, whether or not the document
// changed), and an error only when the registry itself failed; a
// customer's failed fetch is logged and recorded in its lease row.
func (f *Refresher) RefreshDue(ctx context.Context) (int, error) {
	client, interval, holder, batch, logger := f.settings()
	s := f.Registry.s
	now := s.now()
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT c.key FROM customers c
		LEFT JOIN metadata_refresh m ON m.key = c.key
		WHERE c.metadata_url <> '' AND c.enabled AND (m.lease_us IS NULL OR m.lease_us <= $1)
		ORDER BY c.key LIMIT $2`), now.UnixMicro(), batch)
	if err != nil {
		return 0, s.fail("listing due refreshes", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return 0, s.fail("listing due refreshes", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.fail("listing due refreshes", err)
	}
	n := 0
	for _, key := range keys {
		won, err := f.Registry.takeLease(ctx, key, holder, now, now.Add(interval))
		if err != nil {
			return n, err
		}
		if !won {
			continue // another instance has it
		}
		n++
		if err := f.refresh(ctx, client, key); err != nil {
			if s.closed.Err() != nil || ctx.Err() != nil {
				return n, err
			}
			logger.WarnContext(ctx, "sqlregistry: metadata refresh failed; keeping the last good copy", "customer", key, "err", err)
			retry := s.now().Add(min(interval, refreshRetry))
			if _, rerr := s.db.ExecContext(ctx, s.d.q(`UPDATE metadata_refresh SET last_error = $2, checked_us = $3,
				lease_us = $4 WHERE key = $1 AND holder = $5`), key, err.Error(), s.now().UnixMicro(), retry.UnixMicro(), holder); rerr != nil {
				return n, s.fail("recording a failed refresh", rerr)
			}
		}
	}
	return n, nil
}

// takeLease takes key's refresh lease for holder until until, if nobody
// holds an unexpired one at now. It reports whether it did.
func (r *Registry) takeLease(ctx context.Context, key, holder string, now, until time.Time) (bool, error) {
	s := r.s
	var got string
	err := s.db.QueryRowContext(ctx, s.d.q(`INSERT INTO metadata_refresh (key, holder, lease_us) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, lease_us = excluded.lease_us
		WHERE metadata_refresh.lease_us <= $4
		RETURNING key`), key, holder, until.UnixMicro(), now.UnixMicro()).Scan(&got)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.fail("taking a refresh lease", err)
	}
	return true, nil
}

// refresh fetches key's metadata, checks it and stores it if it changed.
func (f *Refresher) refresh(ctx context.Context, client *http.Client, key string) error {
	r := f.Registry.As("metadata refresher " + f.holder)
	s := r.s
	c, err := r.Lookup(ctx, key)
	if err != nil {
		if errors.Is(err, tenants.ErrNotFound) {
			return nil
		}
		return err
	}
	if c.MetadataURL == "" || !c.Enabled {
		return nil
	}
	data, err := fetch(ctx, client, c.MetadataURL)
	if err != nil {
		return err
	}
	fetchedAt := s.now()
	if err := check(ctx, c, data, s.now); err != nil {
		return err
	}
	if !bytes.Equal(data, c.Metadata) {
		c.Metadata, c.MetadataFetchedAt = data, fetchedAt
		_, err := r.write(ctx, key, "refresh", auditDetail(&c), func(tx *sql.Tx, version, nowUS int64) error {
			res, err := tx.ExecContext(ctx, s.d.q(`UPDATE customers SET metadata = $2, metadata_fetched_us = $3,
				version = $4, updated_us = $5 WHERE key = $1 AND version = $6 AND metadata_url = $7`),
				key, data, fetchedAt.UnixMicro(), version, nowUS, c.Version, c.MetadataURL)
			if err := affected(res, err, key); errors.Is(err, tenants.ErrNotFound) {
				return fmt.Errorf("%w: %q changed during its refresh", tenants.ErrConflict, key)
			} else {
				return err
			}
		})
		if err != nil {
			return err
		}
	}
	_, err = s.db.ExecContext(ctx, s.d.q("UPDATE metadata_refresh SET checked_us = $2, last_error = '' WHERE key = $1"),
		key, fetchedAt.UnixMicro())
	if err != nil {
		return s.fail("recording a refresh", err)
	}
	return nil
}

// fetch GETs a metadata document with client, within
// DefaultMetadataTimeout, and reads at most MaxMetadataSize bytes.
func fetch(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, entrasaml.DefaultMetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the metadata: HTTP status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, entrasaml.MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the metadata: %w", err)
	}
	if len(data) > entrasaml.MaxMetadataSize {
		return nil, fmt.Errorf("the metadata is larger than %d bytes", entrasaml.MaxMetadataSize)
	}
	return data, nil
}

// check verifies that data is metadata the customer's SP would accept:
// it builds that SP from it (signature pins, certificates, expiry at now).
func check(ctx context.Context, c tenants.Customer, data []byte, now func() time.Time) error {
	cfg := c.Config(entrasaml.Config{Now: now, Logger: slog.New(slog.DiscardHandler)})
	cfg.Metadata, cfg.MetadataURL = data, ""
	_, err := entrasaml.New(ctx, cfg)
	return err
}
