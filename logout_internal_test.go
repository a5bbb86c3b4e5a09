package entrasaml

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The per-user session index keeps the newest maxIndexed sessions, so a
// user who signs in again and again cannot grow it without bound.
func TestSessionIndexBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	sp := &SP{store: NewMemoryStore(func() time.Time { return now }), now: func() time.Time { return now }, indexNS: "idx/"}
	s := &Session{NameID: "adele", SessionIndex: "_s", ExpiresAt: now.Add(time.Hour)}
	for i := range 3 * maxIndexed {
		if err := sp.indexSession(context.Background(), "id"+string(rune('A'+i%26))+strings.Repeat("x", i/26), s); err != nil {
			t.Fatal(err)
		}
	}
	raw, _, _ := sp.store.Get(context.Background(), sp.sessionIndexKey("adele"))
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != maxIndexed {
		t.Fatalf("%d sessions indexed, want %d", len(lines), maxIndexed)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "id"+string(rune('A'+(3*maxIndexed-1)%26))) {
		t.Errorf("newest session not kept: %q", last)
	}
}
