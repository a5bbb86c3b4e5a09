package entrasaml

import (
	"errors"
	"fmt"
	"testing"
)

// An error of ours as the cause of another (a Store or Provision hook
// returning one) does not make the result match two sentinels.
func TestWrapErrOneSentinel(t *testing.T) {
	t.Parallel()
	inner := fmt.Errorf("db: %w", newErr(ErrStore, "redis down"))
	err := wrapErr(ErrNotProvisioned, inner, "Config.Provision refused %s", quote("adele"))
	if !errors.Is(err, ErrNotProvisioned) || errors.Is(err, ErrStore) || err.cause != nil || err.Reason == "" {
		t.Errorf("wrapErr = %#v", err)
	}
	plain := errors.New("connection refused")
	if err := wrapErr(ErrStore, plain, "loading"); !errors.Is(err, plain) || !errors.Is(err, ErrStore) {
		t.Errorf("a foreign cause is kept: %#v", err)
	}
}
