package tenants_test

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// The tests' one clock, the fake tenants' and every SP's Config.Now: the
// root package's fixture instant.
var fxNow = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

// fxRequestID is the request ID the responses answer.
const fxRequestID = "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e"

// quietLogger drops the warnings that refused responses log.
var quietLogger = slog.New(slog.DiscardHandler)

// adele is the signed-in user of the tests.
func adele() entratest.User {
	return entratest.User{ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10", UPN: "adele@contoso.example",
		Email: "adele.vance@contoso.example", DisplayName: "Adele Vance"}
}

// assertOneSentinel checks that err matches exactly one of the root
// package's sentinels.
func assertOneSentinel(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, s := range []error{
		entrasaml.ErrInvalidSignature, entrasaml.ErrUnknownSigner, entrasaml.ErrExpired, entrasaml.ErrNotYetValid,
		entrasaml.ErrAudienceMismatch, entrasaml.ErrIssuerMismatch, entrasaml.ErrDestinationMismatch,
		entrasaml.ErrRequestIDMismatch, entrasaml.ErrUnsolicited, entrasaml.ErrReplay, entrasaml.ErrMalformed,
		entrasaml.ErrMetadata, entrasaml.ErrConfig, entrasaml.ErrStore, entrasaml.ErrNotProvisioned,
		entrasaml.ErrDecryption,
	} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %v matches %d sentinels, want exactly 1", err, n)
	}
}

// clock is a Config.Now that a test advances.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
