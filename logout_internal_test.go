package entrasaml

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The per-user session index keeps the newest maxIndexed sessions, so a
// user who signs in again and again cannot grow it without bound.
func TestSessionIndexBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	sp := &SP{store: NewMemoryStore(func() time.Time { return now }), now: func() time.Time { return now }, indexNS: "idx/", sessNS: "sess/"}
	ctx := context.Background()
	const n = 3 * maxIndexed
	for i := range n {
		// Each later session expires later: the newest are the ones kept.
		s := &Session{NameID: "adele", SessionIndex: "_s", ExpiresAt: now.Add(time.Hour + time.Duration(i)*time.Minute)}
		id := fmt.Sprintf("id%03d", i)
		if err := sp.store.Set(ctx, sp.sessNS+id, []byte("{}"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := sp.indexSession(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	live := 0
	for i := range maxIndexed {
		if _, found, _ := sp.store.Get(ctx, sp.indexSlotKey("adele", i)); found {
			live++
		}
	}
	if live != maxIndexed {
		t.Fatalf("%d sessions indexed, want %d", live, maxIndexed)
	}
	if err := sp.endSessionsOf(ctx, "adele", nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, found, _ := sp.store.Get(ctx, sp.sessNS+fmt.Sprintf("id%03d", i))
		if newest := i >= n-maxIndexed; found == newest {
			t.Errorf("session %d of %d: still there = %v, want %v", i, n, found, !newest)
		}
	}
}
