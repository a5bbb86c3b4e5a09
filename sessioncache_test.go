package entrasaml

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// testSessionSP returns an SP with the default MemoryStore, its clock at now.
func testSessionSP(tb testing.TB, now time.Time) *SP {
	tb.Helper()
	md, err := os.ReadFile("testdata/entra-metadata.xml")
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := New(context.Background(), Config{
		EntityID: "https://acme.vendor.example/saml", BaseURL: "https://acme.vendor.example",
		Metadata: md, Now: func() time.Time { return now },
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sp
}

// entraSession returns user i's session as Verify makes it: the usual Entra
// claims in Attributes, with groups group ids, copied into the typed fields.
func entraSession(i, groups int, now time.Time) *Session {
	s := &Session{
		NameID: fmt.Sprintf("user%05d@contoso.example", i), NameIDFormat: NameIDFormatEmail,
		SessionIndex: fmt.Sprintf("_%032x", i), AuthnInstant: now.Add(-time.Minute),
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
		ExpiresAt:            now.Add(8 * time.Hour), Issuer: "https://sts.windows.net/b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43/",
		AssertionID: fmt.Sprintf("_%032x", i+1<<40),
		Attributes: map[string][]string{
			claimTenantID:         {"b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43"},
			claimObjectID:         {fmt.Sprintf("5d0c3c8e-8f2b-4d9a-9e43-%012x", i)},
			claimDisplayName:      {"Adele Vance"},
			claimIdentityProvider: {"https://sts.windows.net/b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43/"},
			claimAuthnMethods:     {"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"},
			claimName:             {fmt.Sprintf("user%05d@contoso.example", i)},
			claimEmail:            {fmt.Sprintf("user%05d@contoso.example", i)},
			claimGivenName:        {"Adele"},
			claimSurname:          {"Vance"},
			claimRole:             {"Admin", "Reader"},
		},
	}
	for g := range groups {
		s.Attributes[claimGroups] = append(s.Attributes[claimGroups],
			fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x0b7cc495+g*7919, g, g, g, i))
	}
	s.fillClaims()
	return s
}

// signInUsers starts n sessions on sp and returns a request carrying each
// one's cookie.
func signInUsers(tb testing.TB, sp *SP, n, groups int, now time.Time) []*http.Request {
	tb.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, "https://acme.vendor.example/orders", nil)
	}
	addSessions(tb, sp, reqs, groups, now)
	return reqs
}

// addSessions starts a session on sp for each of reqs and adds its cookie
// to the request.
func addSessions(tb testing.TB, sp *SP, reqs []*http.Request, groups int, now time.Time) {
	tb.Helper()
	for i, r := range reqs {
		rec := httptest.NewRecorder()
		if err := sp.startSession(context.Background(), rec, entraSession(i, groups, now)); err != nil {
			tb.Fatal(err)
		}
		for _, c := range rec.Result().Cookies() {
			r.AddCookie(c)
		}
	}
}

// liveHeap returns the live heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkSessionMemory reports the memory a signed-in user costs, per user
// over 1,000 users: store-B is the session in the MemoryStore (and the test
// request's Cookie header, about 0.2 KB), cache-B the decoded-session
// cache's entry once the user is active (both live heap after GC, so the
// GC's own state adds noise of a few hundred bytes), counted-B what the
// cache's byte budget counts for the entry. The timed loop is the session
// check of those users in turn, all cached.
//
//	go test -run XXX -bench SessionMemory -benchmem -count 5 .
func BenchmarkSessionMemory(b *testing.B) {
	const users = 1000
	for _, groups := range []int{3, 150} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			now := time.Unix(1_800_000_000, 0)
			sp := testSessionSP(b, now)
			reqs := make([]*http.Request, users)
			for i := range reqs {
				reqs[i] = httptest.NewRequest(http.MethodGet, "https://acme.vendor.example/orders", nil)
			}
			h0 := liveHeap()
			addSessions(b, sp, reqs, groups, now)
			h1 := liveHeap()
			for _, r := range reqs {
				if s, err := sp.sessionFromRequest(r); s == nil || err != nil || len(s.Groups) != groups {
					b.Fatalf("not signed in: %v", err)
				}
			}
			h2 := liveHeap()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if s, _ := sp.sessionFromRequest(reqs[i%users]); s == nil {
					b.Fatal("not signed in")
				}
				i++
			}
			b.ReportMetric(float64(h1-h0)/users, "store-B/user")
			b.ReportMetric(float64(h2-h1)/users, "cache-B/user")
			b.ReportMetric(float64(sp.sessions.bytes)/users, "counted-B/user") // what the budget sees
			runtime.KeepAlive(reqs)
		})
	}
}

// sessionRows are sessions the codec must keep exactly; times are UTC, as
// decoded, and lists are nil or non-empty (an empty list decodes to nil).
func sessionRows() map[string]*Session {
	now := time.Unix(1_800_000_000, 123456789).UTC()
	rows := map[string]*Session{
		"zero":       {},
		"plain":      entraSession(1, 3, now),
		"150 groups": entraSession(2, 150, now),
	}
	for _, s := range rows {
		s.AuthnInstant, s.ExpiresAt = s.AuthnInstant.UTC(), s.ExpiresAt.UTC()
	}
	s := entraSession(3, 0, now)
	s.Attributes[claimGroupsLink] = []string{"https://graph.windows.net/x/users/y/getMemberObjects"}
	s.fillClaims()
	s.AuthnInstant, s.ExpiresAt = time.Time{}, s.ExpiresAt.UTC()
	rows["overage"] = s

	// Provision may change the typed fields: both values are kept.
	s = entraSession(4, 5, now.UTC())
	s.AuthnInstant, s.ExpiresAt = s.AuthnInstant.UTC(), s.ExpiresAt.UTC()
	s.Groups = []string{"resolved-elsewhere", "0b7cc495-0000-4000-8000-000000000004"}
	s.Email, s.UserID = "other@contoso.example", "42"
	rows["provisioned"] = s

	rows["odd values"] = &Session{
		NameID: "ünïcode\x00name", ExpiresAt: now, AuthnInstant: time.Unix(-1, 1).UTC(),
		Groups: []string{"0B7CC495-0000-4000-8000-000000000000", "", "0b7cc495-0000-4000-8000-00000000000", "0b7cc495-0000-4000-8000-00000000000g"},
		Attributes: map[string][]string{
			"custom":       nil,
			"":             {"", ""},
			claimTenantID:  {"a", "b"}, // more than the typed field holds
			claimGroups:    {"0B7CC495-0000-4000-8000-000000000000", "", "0b7cc495-0000-4000-8000-00000000000", "0b7cc495-0000-4000-8000-00000000000g"},
			claimWIDs:      {"62e90394-69f5-4237-9190-012177145e10"},
			claimEmail:     {""},
			claimObjectID:  {"5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10"},
			claimGivenName: {"not the typed value"},
		},
		TenantID: "a", Email: "", ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10",
	}
	rows["empty attributes"] = &Session{NameID: "n", Attributes: map[string][]string{}}
	return rows
}

func TestSessionSizes(t *testing.T) {
	t.Parallel()
	if unsafe.Sizeof(uintptr(0)) == 8 && (unsafe.Sizeof("") != stringBytes || unsafe.Sizeof([]string{}) != sliceBytes || unsafe.Sizeof(Session{}) > sessionStructBytes) {
		t.Errorf("sizes: string %d, slice %d, Session %d", unsafe.Sizeof(""), unsafe.Sizeof([]string{}), unsafe.Sizeof(Session{}))
	}
}

func TestSessionCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for name, s := range sessionRows() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw := encodeSession(s)
			got, held, err := decodeSession(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, s)
			}
			if again := encodeSession(got); !bytes.Equal(again, raw) {
				t.Error("encoding the decoded session gives other bytes")
			}
			if held <= 0 {
				t.Errorf("held %d bytes", held)
			}
			// Each value once: the groups attribute is the typed field.
			if g := got.Attributes[claimGroups]; len(g) > 0 && slices.Equal(g, got.Groups) && &g[0] != &got.Groups[0] {
				t.Error("Attributes[claimGroups] is a copy of Groups")
			}
		})
	}
	if raw := encodeSession(sessionRows()["150 groups"]); len(raw) > 4<<10 {
		t.Errorf("a 150-group session takes %d bytes, want at most 4 KiB", len(raw))
	}
}

// Sessions written by the previous version (JSON) are still in shared
// Stores when an SP is upgraded: they decode to the same Session.
func TestSessionCodecReadsJSON(t *testing.T) {
	t.Parallel()
	for name, s := range sessionRows() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			old, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got, held, err := decodeSession(string(old))
			if err != nil {
				t.Fatal(err)
			}
			want := *s
			if name == "empty attributes" {
				want.Attributes = nil // omitempty
			}
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, &want)
			}
			if held <= 0 {
				t.Errorf("held %d bytes", held)
			}
		})
	}
}

func TestSessionCodecRefuses(t *testing.T) {
	t.Parallel()
	// head is the encoding of a Session with the given nanoseconds on
	// AuthnInstant and flags, up to its attributes.
	head := func(nanos uint64, flags byte) []byte {
		b := append([]byte{sessionFormat1}, make([]byte, 16)...)
		b = binary.AppendUvarint(binary.AppendVarint(b, 0), nanos)
		b = binary.AppendUvarint(binary.AppendVarint(b, 0), 0)
		return append(b, 0, 0, 0, flags)
	}
	attrs := func(b []byte, n byte, entries ...byte) []byte { return append(append(b, n+1), entries...) }
	valid := attrs(head(1e9-1, 1), 2, 0, 1, 'a', 2, 2, 'x', 0, 1, 'b', 2, 2, 'y')
	if _, _, err := decodeSession(string(valid)); err != nil {
		t.Fatalf("the valid base does not decode: %v", err)
	}
	good := encodeSession(sessionRows()["odd values"])
	bad := map[string][]byte{
		"empty":           {},
		"unknown format":  append([]byte{2}, good[1:]...),
		"not JSON":        []byte("{nameID:"),
		"trailing bytes":  append(slices.Clone(good), 0),
		"nanoseconds":     attrs(head(1e9, 0), 0),
		"unknown flag":    attrs(head(0, 2), 0),
		"keys unordered":  attrs(head(0, 0), 2, 0, 1, 'b', 2, 2, 'x', 0, 1, 'a', 2, 2, 'y'),
		"key twice":       attrs(head(0, 0), 2, 0, 1, 'a', 2, 2, 'x', 0, 1, 'a', 2, 2, 'y'),
		"claim twice":     attrs(head(0, 0), 2, 1, 1, 1, 1),
		"unknown claim":   attrs(head(0, 0), 1, byte(len(sessionClaimNames)+1), 1),
		"no typed field":  attrs(head(0, 0), 1, 0, 1, 'a', 0),       // a reference for a custom attribute
		"empty typed":     attrs(head(0, 0), 1, 10, 0),              // claimGroups refers to no groups
		"short GUID":      attrs(head(0, 0), 1, 0, 1, 'a', 2, 0, 1), // 1 of 16 bytes
		"zero length":     attrs(head(0, 0), 1, 0, 1, 'a', 2, 0x80, 0),
		"long string":     attrs(head(0, 0), 1, 0, 9, 'a'),
		"too many values": attrs(head(0, 0), 1, 0, 1, 'a', 0x7f, 2, 'x'),
		"too many keys":   attrs(head(0, 0), 0x7f),
		"varint overflow": attrs(head(0, 0), 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	}
	for i := range len(good) {
		bad[fmt.Sprintf("cut at %d", i)] = good[:i]
	}
	for name, raw := range bad {
		if s, _, err := decodeSession(string(raw)); err == nil {
			t.Errorf("%s: decoded %+v", name, s)
		}
	}
}

// FuzzSessionDecode: no panic on any stored bytes, and whatever decodes
// encodes to bytes that decode to the same session.
func FuzzSessionDecode(f *testing.F) {
	for _, s := range sessionRows() {
		f.Add(encodeSession(s))
		old, _ := json.Marshal(s)
		f.Add(old)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, _, err := decodeSession(string(raw))
		if err != nil {
			return
		}
		again, _, err := decodeSession(string(encodeSession(s)))
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, s) && raw[0] == sessionFormat1 {
			t.Fatalf("round trip changed the session:\n%+v\n%+v", s, again)
		}
	})
}

// checkCache checks c's invariants: the byte count is the sum of the
// entries' costs and within the budget, and the map and the list hold the
// same entries.
func checkCache(t *testing.T, c *sessionCache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	sum, n := 0, 0
	for e := c.lru.next; e != nil && e != &c.lru; e = e.next {
		if c.m[e.id] != e {
			t.Fatalf("entry %s in the list but not the map", e.id)
		}
		sum += e.cost
		n++
	}
	if n != len(c.m) || sum != c.bytes || c.bytes > c.budget {
		t.Fatalf("%d listed, %d mapped; %d bytes counted, %d summed, budget %d", n, len(c.m), c.bytes, sum, c.budget)
	}
}

func TestSessionCacheBudget(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	raws := make([][]byte, 40)
	for i := range raws {
		raws[i] = encodeSession(entraSession(i, 150, now))
	}
	// Room for about ten 150-group sessions.
	_, held, _ := decodeSession(string(raws[0]))
	one := (sessionCacheEntryBytes + 64 + len(raws[0]) + held) * 9 / 8
	c := &sessionCache{budget: 10*one + one/2}
	id := func(i int) string { return fmt.Sprintf("%064x", i) }
	get := func(i int) *Session {
		t.Helper()
		s := c.decode(id(i), raws[i])
		if s == nil || s.NameID != fmt.Sprintf("user%05d@contoso.example", i) || len(s.Groups) != 150 {
			t.Fatalf("session %d: %+v", i, s)
		}
		return s
	}
	cached := func(i int) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.m[id(i)] != nil
	}
	first := get(0)
	if get(0) != first {
		t.Error("the second decode of the same bytes is not the cached session")
	}
	for i := 1; i < len(raws); i++ {
		get(i)
		get(0) // used on every request: never the least recently used
		checkCache(t, c)
	}
	if len(c.m) != 10 {
		t.Errorf("%d sessions cached, want the 10 that fit", len(c.m))
	}
	if get(0) != first || !cached(len(raws)-1) || cached(len(raws)-11) {
		t.Error("not least-recently-used order")
	}

	// The Store is the authority: other bytes under the same ID are decoded
	// and replace the entry.
	other := c.decode(id(0), raws[1])
	if other == first || other.NameID != first.NameID[:4]+"00001@contoso.example" {
		t.Errorf("other bytes under a cached ID gave %+v", other)
	}
	checkCache(t, c)
	c.forget(id(0))
	if cached(0) {
		t.Error("forget kept the entry")
	}
	checkCache(t, c)

	// A session larger than the whole budget is decoded but not kept, and
	// evicts nothing.
	small := &sessionCache{budget: one / 2}
	if s := small.decode(id(1), raws[1]); s == nil || len(small.m) != 0 || small.bytes != 0 {
		t.Errorf("oversized entry: %v, %d cached, %d bytes", s != nil, len(small.m), small.bytes)
	}
	// Bytes that do not decode are no session, and are not cached.
	if s := c.decode(id(99), []byte("\x02garbage")); s != nil || cached(99) {
		t.Error("undecodable bytes gave a session")
	}
	// The default budget.
	var d sessionCache
	d.decode(id(1), raws[1])
	if d.budget != sessionCacheBytes || d.bytes == 0 {
		t.Errorf("default budget %d, %d bytes", d.budget, d.bytes)
	}
}

// Concurrent requests share the cache: run with -race.
func TestSessionCacheConcurrent(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	raws := make([][]byte, 64)
	for i := range raws {
		raws[i] = encodeSession(entraSession(i, i%4*50, now))
	}
	c := &sessionCache{budget: 40 << 10}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 2000 {
				i := (n*7 + g*13) % len(raws)
				id := fmt.Sprintf("%064x", i)
				if n%97 == 0 {
					c.forget(id)
					continue
				}
				s := c.decode(id, raws[i])
				if s == nil || s.NameID != fmt.Sprintf("user%05d@contoso.example", i) || len(s.Groups) != i%4*50 || s.HasGroup("x") {
					t.Errorf("session %d: %+v", i, s)
					return
				}
			}
		})
	}
	wg.Wait()
	checkCache(t, c)
}

// A session stored by the previous version (JSON), still in a shared Store
// when the SP is upgraded, keeps its user signed in; stored bytes that do
// not decode sign the user out without an error.
func TestSessionStoredByPreviousVersion(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0).UTC()
	sp := testSessionSP(t, now)
	want := entraSession(7, 150, now)
	want.AuthnInstant, want.ExpiresAt = want.AuthnInstant.UTC(), want.ExpiresAt.UTC()
	r := signInUsers(t, sp, 1, 150, now)[0]
	key := sp.sessNS + sp.sessionID(r)
	old, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		stored []byte
		want   *Session
	}{
		{"JSON", old, want},
		{"current", encodeSession(want), want},
		{"unknown format", append([]byte{9}, encodeSession(want)[1:]...), nil},
		{"truncated", old[:len(old)-1], nil},
	} {
		if err := sp.store.Set(context.Background(), key, tc.stored, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err := sp.sessionFromRequest(r)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
