package entrasaml

import (
	"bytes"
	"context"
	"crypto/x509"
	"sync"
	"time"

	"github.com/entrasaml/entrasaml/internal/idpmeta"
)

// Defaults for metadata refresh (Config.MetadataURL only).
const (
	defaultMetadataMaxAge          = 24 * time.Hour
	defaultMetadataRefreshInterval = 5 * time.Minute
	certExpiryWarning              = idpmeta.ExpiryWarning // 30 days
)

// refreshTimeout bounds one metadata refresh, which runs detached from the
// request that started it.
const refreshTimeout = DefaultMetadataTimeout

// refresher keeps the IdP metadata fresh when it came from a URL: lazily
// when the copy is older than Config.MetadataMaxAge, and at once (but at
// most every Config.MetadataRefreshInterval) when a response is signed by a
// certificate the copy lacks, as Entra does right after a key rollover. One
// fetch is in flight at a time however many requests ask; a failed or
// invalid fetch keeps the last good copy and logs a warning.
//
// A fetch runs in its own goroutine, detached from the request that
// started it (context.WithoutCancel, bounded by refreshTimeout =
// DefaultMetadataTimeout), and ends with the fetch: the requests that wait
// for it may give up on their own context, the fetch goes on. Only a fetch
// that ran to its end (a document, an HTTP error or its own timeout) counts
// against Config.MetadataRefreshInterval, so a client that posts a
// response with an unknown signer and drops the connection cannot keep the
// SP on stale metadata. There is no other background goroutine.
type refresher struct {
	mu       sync.Mutex
	flight   *flight   // the fetch in progress, if any
	lastDone time.Time // end of the last fetch, by Config.Now
}

type flight struct {
	done chan struct{}
	err  error // set before done is closed
}

type refreshMode int

const (
	refreshStale         refreshMode = iota // start one, unless in flight or rate-limited
	refreshUnknownSigner                    // join a fetch in flight; else rate-limited
	refreshExplicit                         // join a fetch in flight; else fetch
)

// maybeRefresh refreshes a stale copy. The request that starts the fetch
// waits for it (or for ctx); others do not wait for a fetch already in
// flight: the current copy stays valid meanwhile.
func (sp *SP) maybeRefresh(ctx context.Context, now time.Time) {
	if sp.metadataURL != "" && now.Sub(sp.idp.Load().fetched) >= sp.metadataMaxAge {
		sp.refresh(ctx, now, refreshStale)
	}
}

// RefreshMetadata fetches Config.MetadataURL now and, when the document is
// valid, swaps it in whole. On failure the SP keeps its last good metadata
// and the error (ErrMetadata, or ErrConfig without a MetadataURL) is
// returned. Concurrent calls share one fetch. When ctx ends first,
// RefreshMetadata returns an error matching ErrMetadata and ctx.Err(), and
// the fetch goes on (within DefaultMetadataTimeout).
func (sp *SP) RefreshMetadata(ctx context.Context) error {
	if sp.metadataURL == "" {
		return newErr(ErrConfig, "no MetadataURL to refresh from")
	}
	return sp.refresh(ctx, sp.now(), refreshExplicit)
}

// refreshAfterUnknownSigner is called when a response was signed by a
// certificate that before lacks. It refreshes (or joins the refresh in
// flight; at most once per Config.MetadataRefreshInterval otherwise) and
// reports whether the signing certificates changed, so that verifying the
// response again is worth it.
func (sp *SP) refreshAfterUnknownSigner(ctx context.Context, before *idpState, now time.Time) bool {
	if sp.metadataURL == "" {
		return false
	}
	sp.refresh(ctx, now, refreshUnknownSigner)
	return !sameCerts(before, sp.idp.Load())
}

// refresh starts or joins the single fetch, as mode says, and waits for it
// or for ctx, whichever ends first.
func (sp *SP) refresh(ctx context.Context, now time.Time, mode refreshMode) error {
	r := &sp.refresher
	r.mu.Lock()
	f := r.flight
	switch {
	case f != nil && mode == refreshStale:
		r.mu.Unlock()
		return nil
	case f != nil: // join it
	case mode != refreshExplicit && !r.lastDone.IsZero() && now.Sub(r.lastDone) < sp.metadataMinInterval:
		r.mu.Unlock()
		return nil
	default:
		f = &flight{done: make(chan struct{})}
		r.flight = f
		go sp.fly(context.WithoutCancel(ctx), f, mode)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return wrapErr(ErrMetadata, ctx.Err(), "waiting for the metadata refresh")
	}
}

// fly runs the fetch of f, detached from any request, records its end and
// reports its event.
func (sp *SP) fly(ctx context.Context, f *flight, mode refreshMode) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	report := sp.startRefreshEvent(ctx, mode)
	defer func() {
		if p := recover(); p != nil { // keep the last good copy, as for any failure
			f.err = newErr(ErrMetadata, "the metadata refresh panicked: %v", p)
			sp.logger.ErrorContext(ctx, "entrasaml: metadata refresh panicked; keeping the last good metadata",
				"url", sp.metadataURL, "err", f.err, "entity_id", sp.entityID)
		}
		r := &sp.refresher
		r.mu.Lock()
		r.flight, r.lastDone = nil, sp.now()
		r.mu.Unlock()
		report(f.err)
		close(f.done)
	}()
	f.err = sp.fetchAndSwap(ctx, sp.now())
}

// fetchAndSwap fetches the metadata and swaps it in when valid; otherwise
// it keeps the last good copy (fly reports the failure).
func (sp *SP) fetchAndSwap(ctx context.Context, now time.Time) error {
	data, err := fetchMetadata(ctx, sp.httpClient, sp.metadataURL)
	if err == nil {
		var st *idpState
		if st, err = sp.newIdPState(data, now); err == nil {
			sp.idp.Store(st)
			sp.warnExpiring(ctx, st, now)
			return nil
		}
	}
	return err
}

func sameCerts(a, b *idpState) bool {
	if len(a.md.Certificates) != len(b.md.Certificates) {
		return false
	}
	for i := range a.md.Certificates {
		if !bytes.Equal(a.md.Certificates[i].Raw, b.md.Certificates[i].Raw) {
			return false
		}
	}
	return true
}

// ExpiringCertificates returns the IdP signing certificates that expire
// within d of Config.Now (already expired ones included): the ones an
// administrator must replace soon. The SP also logs a warning for those
// within 30 days whenever it loads metadata.
func (sp *SP) ExpiringCertificates(d time.Duration) []*x509.Certificate {
	limit := sp.now().Add(d)
	var out []*x509.Certificate
	for _, c := range sp.idp.Load().md.Certificates {
		if c.NotAfter.Before(limit) {
			out = append(out, c)
		}
	}
	return out
}

func (sp *SP) warnExpiring(ctx context.Context, st *idpState, now time.Time) {
	sp.certificateEvents(ctx, st, now)
}
