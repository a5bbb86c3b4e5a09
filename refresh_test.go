package entrasaml_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// rolloverSetup returns an IdP with key k1, its metadata server, and an SP
// that loaded the metadata from the URL.
func rolloverSetup(t *testing.T) (*entratest.IdP, *metadataServer, *entrasaml.SP, *clock) {
	t.Helper()
	clk := &clock{now: fxNow}
	idp, err := entratest.New(entratest.Options{Key: newKey(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ms := newMetadataServer(t, idp)
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: fxEntityID, BaseURL: fxBaseURL, MetadataURL: ms.URL, Now: clk.Now,
		Store: forgetfulStore{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return idp, ms, sp, clk
}

func verifyWith(t *testing.T, sp *entrasaml.SP, idp *entratest.IdP, key *entratest.Key) error {
	t.Helper()
	r := goodResponse()
	r.Key = key
	resp, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sp.Verify(context.Background(), resp, fxRequestID)
	return err
}

func TestRolloverNewKeyThenSigning(t *testing.T) {
	t.Parallel()
	idp, ms, sp, _ := rolloverSetup(t)
	k1 := idp.SigningKey()
	k2 := newKey(t)
	idp.AddKey(k2) // Entra publishes the new certificate ...
	if err := verifyWith(t, sp, idp, k1); err != nil {
		t.Fatal(err)
	}
	idp.UseKey(k2) // ... and then signs with it
	if err := verifyWith(t, sp, idp, nil); err != nil {
		t.Fatalf("response signed with the new key: %v", err)
	}
	if n := ms.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (New and one refresh)", n)
	}
	if got := len(sp.IdPMetadata().Certificates); got != 2 {
		t.Errorf("%d certificates after refresh, want 2", got)
	}
}

func TestRolloverOldKeyRemovedAfterMaxAge(t *testing.T) {
	t.Parallel()
	idp, ms, sp, clk := rolloverSetup(t)
	k1 := idp.SigningKey()
	k2 := newKey(t)
	idp.UseKey(k2)
	idp.RemoveKey(k1)
	// Still the old copy: k1 verifies, nothing fetched.
	if err := verifyWith(t, sp, idp, k1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(25 * time.Hour)
	if err := verifyWith(t, sp, idp, k1); !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Errorf("old key after the daily refresh: %v, want ErrUnknownSigner", err)
	}
	if err := verifyWith(t, sp, idp, k2); err != nil {
		t.Errorf("new key: %v", err)
	}
	if n := ms.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestRolloverEmergency(t *testing.T) {
	t.Parallel()
	idp, _, sp, _ := rolloverSetup(t)
	k1 := idp.SigningKey()
	k3 := newKey(t)
	idp.UseKey(k3)
	idp.RemoveKey(k1) // no overlap at all
	if err := verifyWith(t, sp, idp, k3); err != nil {
		t.Fatalf("emergency roll: %v", err)
	}
	if err := verifyWith(t, sp, idp, k1); !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Errorf("retired key: %v", err)
	}
}

func TestRolloverMetadataServerFailing(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"down", "html"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			idp, ms, sp, clk := rolloverSetup(t)
			k1 := idp.SigningKey()
			k2 := newKey(t)
			idp.UseKey(k2)
			ms.set(mode)
			if err := verifyWith(t, sp, idp, k2); !errors.Is(err, entrasaml.ErrUnknownSigner) {
				t.Fatalf("new key with the metadata server %s: %v", mode, err)
			}
			if err := verifyWith(t, sp, idp, k1); err != nil {
				t.Errorf("last good metadata lost: %v", err)
			}
			// Rate-limited: another unknown signer within 5 minutes does
			// not fetch again.
			verifyWith(t, sp, idp, k2)
			if n := ms.fetches.Load(); n != 2 {
				t.Errorf("%d fetches, want 2", n)
			}
			if err := sp.RefreshMetadata(context.Background()); !errors.Is(err, entrasaml.ErrMetadata) {
				t.Errorf("RefreshMetadata: %v", err)
			}
			// Back up, and past the interval: the new key works.
			ms.set("")
			clk.Advance(6 * time.Minute)
			if err := verifyWith(t, sp, idp, k2); err != nil {
				t.Errorf("after recovery: %v", err)
			}
		})
	}
}

func TestRolloverConcurrentOneFetch(t *testing.T) {
	t.Parallel()
	idp, ms, sp, _ := rolloverSetup(t)
	k2 := newKey(t)
	idp.UseKey(k2)
	gate, started := make(chan struct{}), make(chan struct{}, 8)
	ms.mu.Lock()
	ms.gate, ms.started = gate, started
	ms.mu.Unlock()
	responses := make([]string, 100)
	for i := range responses {
		r := goodResponse()
		var err error
		if responses[i], err = idp.Response(r); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, resp := range responses {
		wg.Go(func() {
			if _, err := sp.Verify(context.Background(), resp, fxRequestID); err != nil {
				failed.Add(1)
			}
		})
	}
	// The refresh is held at the metadata server once it has started, so
	// that the calls pile up on it; then it may finish.
	<-started
	close(gate)
	wg.Wait()
	if n := ms.fetches.Load(); n != 2 {
		t.Errorf("%d fetches for 100 concurrent calls, want 2 (New and one refresh)", n)
	}
	if failed.Load() != 0 {
		t.Errorf("%d of 100 calls failed", failed.Load())
	}
}

func TestExpiringCertificates(t *testing.T) {
	t.Parallel()
	soon, err := entratest.NewKey(2048, fxNow.Add(-time.Hour), fxNow.Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entratest.New(entratest.Options{Key: soon, Now: func() time.Time { return fxNow }})
	if err != nil {
		t.Fatal(err)
	}
	sp := newTestSP(t, idp, nil)
	if got := sp.ExpiringCertificates(30 * 24 * time.Hour); len(got) != 1 {
		t.Errorf("%d expiring within 30 days, want 1", len(got))
	}
	if got := sp.ExpiringCertificates(24 * time.Hour); len(got) != 0 {
		t.Errorf("%d expiring within a day, want 0", len(got))
	}
}

// verifyCtx verifies a response signed with key under ctx.
func verifyCtx(t *testing.T, ctx context.Context, sp *entrasaml.SP, idp *entratest.IdP, key *entratest.Key) error {
	t.Helper()
	r := goodResponse()
	r.Key = key
	resp, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sp.Verify(ctx, resp, fxRequestID)
	return err
}

// An attacker posts, every MetadataRefreshInterval, a response signed by a
// key of its own (an unknown signer) and drops the connection at once. The
// refresh it triggers must still complete and count, so that after an
// Entra key rollover every legitimate sign-in works, for longer than
// MetadataMaxAge.
func TestRefreshNotSuppressedByCancelledRequests(t *testing.T) {
	t.Parallel()
	idp, ms, sp, clk := rolloverSetup(t)
	evil, k2 := newKey(t), newKey(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// The attacker starts before the rollover.
	if err := verifyCtx(t, cancelled, sp, idp, evil); !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Fatalf("attacker's response: %v", err)
	}
	k1 := idp.SigningKey()
	idp.UseKey(k2) // emergency rollover: the old key is gone at once
	idp.RemoveKey(k1)
	failed, steps := 0, int((26*time.Hour)/(5*time.Minute))
	for range steps {
		clk.Advance(5 * time.Minute)
		if err := verifyCtx(t, cancelled, sp, idp, evil); !errors.Is(err, entrasaml.ErrUnknownSigner) {
			t.Fatalf("attacker's response: %v", err)
		}
		clk.Advance(time.Minute)
		// A legitimate sign-in, a minute later: it joins the refresh the
		// attacker started if that is still in flight.
		if err := verifyCtx(t, context.Background(), sp, idp, k2); err != nil {
			failed++
		}
		clk.Advance(-time.Minute)
	}
	if failed > 0 {
		t.Errorf("%d of %d legitimate sign-ins after the rollover failed", failed, steps)
	}
	// Settle the last fetch the attacker started.
	if err := sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := int(ms.fetches.Load()); n > steps+3 {
		t.Errorf("%d fetches in %d intervals: the rate limit no longer holds", n, steps)
	}
}

// A request that gives up while the refresh is in flight returns at once;
// the fetch goes on and its result is used.
func TestRefreshOutlivesItsRequest(t *testing.T) {
	t.Parallel()
	idp, ms, sp, _ := rolloverSetup(t)
	k2 := newKey(t)
	idp.UseKey(k2)
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	ms.mu.Lock()
	ms.gate, ms.started = gate, started
	ms.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- verifyCtx(t, ctx, sp, idp, k2) }()
	<-started // the fetch is held at the metadata server
	cancel()
	if err := <-errc; !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Errorf("request that gave up: %v, want ErrUnknownSigner", err)
	}
	// An explicit refresh given up on also returns, matching ctx.Err().
	if err := sp.RefreshMetadata(ctx); !errors.Is(err, context.Canceled) || !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("RefreshMetadata with a cancelled context: %v", err)
	}
	close(gate)
	// The next sign-in joins the fetch (or finds its result): no new fetch.
	if err := verifyCtx(t, context.Background(), sp, idp, k2); err != nil {
		t.Errorf("sign-in after the cancelled request: %v", err)
	}
	if n := ms.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (New and the one refresh)", n)
	}
}

// The daily refresh of stale metadata cannot be suppressed by cancelled
// requests either: once Entra has removed a key (say, a compromised one),
// it stops verifying after MetadataMaxAge however often the attacker
// drops its connections.
func TestStaleRefreshNotSuppressedByCancelledRequests(t *testing.T) {
	t.Parallel()
	idp, _, sp, clk := rolloverSetup(t)
	k1 := idp.SigningKey()
	evil, k2 := newKey(t), newKey(t)
	idp.UseKey(k2)
	idp.RemoveKey(k1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	clk.Advance(25 * time.Hour)
	for range 3 {
		verifyCtx(t, cancelled, sp, idp, k1)
	}
	// An unknown signer with a live context joins the refresh in flight
	// (or is rate-limited after it): either way it has ended afterwards.
	if err := verifyCtx(t, context.Background(), sp, idp, evil); !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Fatalf("attacker's response: %v", err)
	}
	if err := verifyCtx(t, context.Background(), sp, idp, k1); !errors.Is(err, entrasaml.ErrUnknownSigner) {
		t.Errorf("removed key after MetadataMaxAge, despite cancelled requests: %v, want ErrUnknownSigner", err)
	}
	if err := verifyCtx(t, context.Background(), sp, idp, k2); err != nil {
		t.Errorf("current key: %v", err)
	}
}
