package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// Options adjusts [Run]. The zero value tests a store on the real clock.
type Options struct {
	// Advance moves the clock of the stores newStore returns forward by d,
	// for stores that take a clock (see [entrasaml.NewMemoryStore]). nil:
	// the suite sleeps instead (about 1.2 s in all).
	Advance func(d time.Duration)
}

// Run runs the conformance suite against the stores newStore returns, as
// subtests of t. newStore is called once per subtest with the subtest's t
// (to register cleanups); it may return the same store every time. Pass at
// most one [Options].
func Run(t *testing.T, newStore func(t *testing.T) entrasaml.Store, opts ...Options) {
	t.Helper()
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatal("storetest.Run: more than one Options")
	}
	var b [6]byte
	rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			// Checks that move an injected clock run first, one at a time
			// (parallel subtests wait for the loop to end).
			if !c.clock || o.Advance == nil {
				t.Parallel()
			}
			c.fn(&env{t: t, s: newStore(t), prefix: "storetest/" + run + "/" + c.name + "/", advance: o.Advance})
		})
	}
}

var checks = []struct {
	name  string
	clock bool // waits for entries to expire
	fn    func(*env)
}{
	{"Expiry", true, testExpiry},
	{"GetMissing", false, testGetMissing},
	{"SetGet", false, testSetGet},
	{"Delete", false, testDelete},
	{"SetIfAbsent", false, testSetIfAbsent},
	{"SetIfAbsentAtomic", false, testSetIfAbsentAtomic},
	{"NonPositiveTTL", false, testNonPositiveTTL},
	{"EmptyAndBinaryValues", false, testBinaryValues},
	{"LargeValues", false, testLargeValues},
	{"ValuesAreCopied", false, testValuesCopied},
	{"CancelledContext", false, testCancelledContext},
	{"UnusualKeys", false, testUnusualKeys},
}

// long outlives the suite, including every Advance, yet lets a shared
// server forget what the suite wrote within minutes.
const (
	long = 10 * time.Minute
	ttl  = time.Second
)

type env struct {
	t       *testing.T
	s       entrasaml.Store
	prefix  string
	advance func(time.Duration)
}

func (e *env) key(name string) string { return e.prefix + name }

// wait lets d pass on the store's clock.
func (e *env) wait(d time.Duration) {
	if e.advance != nil {
		e.advance(d)
		return
	}
	time.Sleep(d)
}

func (e *env) set(name, value string, ttl time.Duration) {
	e.t.Helper()
	if err := e.s.Set(e.t.Context(), e.key(name), []byte(value), ttl); err != nil {
		e.t.Fatalf("Set(%q): %v", name, err)
	}
}

func (e *env) setIfAbsent(name, value string, ttl time.Duration) bool {
	e.t.Helper()
	ok, err := e.s.SetIfAbsent(e.t.Context(), e.key(name), []byte(value), ttl)
	if err != nil {
		e.t.Fatalf("SetIfAbsent(%q): %v", name, err)
	}
	return ok
}

func (e *env) del(name string) {
	e.t.Helper()
	if err := e.s.Delete(e.t.Context(), e.key(name)); err != nil {
		e.t.Fatalf("Delete(%q): %v", name, err)
	}
}

func (e *env) get(name string) ([]byte, bool) {
	e.t.Helper()
	v, ok, err := e.s.Get(e.t.Context(), e.key(name))
	if err != nil {
		e.t.Fatalf("Get(%q): %v", name, err)
	}
	if !ok && v != nil {
		e.t.Errorf("Get(%q) = %d bytes with found=false", name, len(v))
	}
	return v, ok
}

// want checks that name holds value.
func (e *env) want(name, value string) {
	e.t.Helper()
	if v, ok := e.get(name); !ok || string(v) != value {
		e.t.Errorf("Get(%q) = %q, %v; want %q, true", name, v, ok, value)
	}
}

// absent checks that name holds nothing.
func (e *env) absent(name string) {
	e.t.Helper()
	if v, ok := e.get(name); ok {
		e.t.Errorf("Get(%q) = %q, true; want nothing", name, v)
	}
}

func testGetMissing(e *env) {
	e.absent("never-set")
}

func testSetGet(e *env) {
	e.set("k", "one", long)
	e.want("k", "one")
	e.set("k", "two", long)
	e.want("k", "two")
	e.absent("k2") // a longer key is another key
	e.set("K", "upper", long)
	e.want("k", "two")
	e.want("K", "upper")
}

func testDelete(e *env) {
	e.del("absent") // not an error
	e.set("a", "1", long)
	e.set("b", "2", long)
	e.del("a")
	e.absent("a")
	e.want("b", "2")
	e.del("a") // twice
	if !e.setIfAbsent("a", "3", long) {
		e.t.Error("SetIfAbsent after Delete = false, want true")
	}
	e.want("a", "3")
}

func testSetIfAbsent(e *env) {
	if !e.setIfAbsent("k", "first", long) {
		e.t.Fatal("SetIfAbsent on a new key = false, want true")
	}
	if e.setIfAbsent("k", "second", long) {
		e.t.Error("SetIfAbsent on a live key = true, want false")
	}
	e.want("k", "first")
	e.set("by-set", "v", long)
	if e.setIfAbsent("by-set", "other", long) {
		e.t.Error("SetIfAbsent on a key written by Set = true, want false")
	}
	e.want("by-set", "v")
}

// testSetIfAbsentAtomic races 64 goroutines for each of 50 keys: exactly
// one wins each key, and its value is the one stored.
func testSetIfAbsentAtomic(e *env) {
	const goroutines, keys = 64, 50
	var wins [keys]atomic.Int32
	var winner [keys]atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range keys {
				if g%2 == 1 {
					i = keys - 1 - i // half the goroutines go the other way
				}
				ok, err := e.s.SetIfAbsent(e.t.Context(), e.key("k"+strconv.Itoa(i)), []byte(strconv.Itoa(g)), long)
				if err != nil {
					e.t.Errorf("SetIfAbsent: %v", err)
					return
				}
				if ok {
					wins[i].Add(1)
					winner[i].Store(int32(g))
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if e.t.Failed() {
		return
	}
	for i := range keys {
		if n := wins[i].Load(); n != 1 {
			e.t.Errorf("key %d: %d winners, want exactly 1", i, n)
			continue
		}
		e.want("k"+strconv.Itoa(i), strconv.Itoa(int(winner[i].Load())))
	}
}

// testExpiry checks that entries live until their ttl and not after it,
// that Set replaces the expiry and that a refused SetIfAbsent keeps it.
func testExpiry(e *env) {
	e.set("plain", "v", ttl)
	e.set("extended", "old", ttl)
	e.set("extended", "new", long)
	e.set("shortened", "old", long)
	e.set("shortened", "new", ttl)
	if !e.setIfAbsent("once", "first", ttl) {
		e.t.Fatal("SetIfAbsent on a new key = false")
	}
	if e.setIfAbsent("once", "second", long) {
		e.t.Error("SetIfAbsent on a live key = true")
	}

	e.wait(ttl / 2)
	e.want("plain", "v")
	e.want("extended", "new")
	e.want("shortened", "new")
	e.want("once", "first")

	e.wait(ttl/2 + ttl/5)
	e.absent("plain")
	e.want("extended", "new")
	e.absent("shortened")
	e.absent("once") // the refused SetIfAbsent did not extend it
	if !e.setIfAbsent("once", "again", long) {
		e.t.Error("SetIfAbsent on an expired key = false, want true")
	}
	e.want("once", "again")
}

// testNonPositiveTTL: a ttl <= 0 stores nothing (Set removes the key), and
// a SetIfAbsent with it leaves a live key alone.
func testNonPositiveTTL(e *env) {
	for _, d := range []time.Duration{0, -time.Second} {
		p := d.String() + "/"
		e.set(p+"new", "v", d)
		e.absent(p + "new")
		e.set(p+"old", "v", long)
		e.set(p+"old", "w", d)
		e.absent(p + "old")
		e.setIfAbsent(p+"nx-new", "v", d)
		e.absent(p + "nx-new")
		e.set(p+"nx-old", "v", long)
		if e.setIfAbsent(p+"nx-old", "w", d) {
			e.t.Errorf("SetIfAbsent(ttl %v) on a live key = true", d)
		}
		e.want(p+"nx-old", "v")
	}
}

func testBinaryValues(e *env) {
	all := make([]byte, 0, 260)
	for i := range 256 {
		all = append(all, byte(i))
	}
	all = append(all, 0, 0, '\r', '\n')
	bin := "\x00" + string(all) + "\x00"
	e.set("bin", bin, long)
	e.want("bin", bin)
	if !e.setIfAbsent("bin-nx", bin, long) {
		e.t.Error("SetIfAbsent on a new key = false")
	}
	e.want("bin-nx", bin)

	for _, v := range [][]byte{nil, {}} {
		if err := e.s.Set(e.t.Context(), e.key("empty"), v, long); err != nil {
			e.t.Fatalf("Set of an empty value: %v", err)
		}
		if got, ok := e.get("empty"); !ok || len(got) != 0 {
			e.t.Errorf("empty value: Get = %q, %v; want empty, true", got, ok)
		}
		e.del("empty")
		if ok, err := e.s.SetIfAbsent(e.t.Context(), e.key("empty"), v, long); err != nil || !ok {
			e.t.Fatalf("SetIfAbsent of an empty value = %v, %v", ok, err)
		}
		if got, ok := e.get("empty"); !ok || len(got) != 0 {
			e.t.Errorf("empty value by SetIfAbsent: Get = %q, %v; want empty, true", got, ok)
		}
		e.del("empty")
	}
}

func testLargeValues(e *env) {
	big := make([]byte, 1<<20)
	rand.Read(big)
	ctx := e.t.Context()
	if err := e.s.Set(ctx, e.key("big"), big, long); err != nil {
		e.t.Fatalf("Set of 1 MiB: %v", err)
	}
	if ok, err := e.s.SetIfAbsent(ctx, e.key("big-nx"), big, long); err != nil || !ok {
		e.t.Fatalf("SetIfAbsent of 1 MiB = %v, %v", ok, err)
	}
	for _, k := range []string{"big", "big-nx"} {
		if got, ok := e.get(k); !ok || !bytes.Equal(got, big) {
			e.t.Errorf("Get(%q) = %d bytes, %v; want the 1 MiB value", k, len(got), ok)
		}
	}
}

func testValuesCopied(e *env) {
	ctx := e.t.Context()
	in := []byte("original")
	if err := e.s.Set(ctx, e.key("set"), in, long); err != nil {
		e.t.Fatal(err)
	}
	in[0] = 'X'
	e.want("set", "original")
	out, _ := e.get("set")
	if len(out) > 0 {
		out[0] = 'Y'
	}
	e.want("set", "original")

	in = []byte("first")
	if _, err := e.s.SetIfAbsent(ctx, e.key("nx"), in, long); err != nil {
		e.t.Fatal(err)
	}
	in[0] = 'X'
	e.want("nx", "first")
}

// testCancelledContext: with a cancelled or expired context every method
// fails with an error matching ctx.Err() and writes nothing.
func testCancelledContext(e *env) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, ctx := range []context.Context{cancelled, expired} {
		name := ctx.Err().Error() + "/"
		e.set(name+"live", "v", long)
		check := func(op string, err error) {
			e.t.Helper()
			if !errors.Is(err, ctx.Err()) {
				e.t.Errorf("%s with a context that is %v: err = %v, want one matching %v", op, ctx.Err(), err, ctx.Err())
			}
		}
		v, ok, err := e.s.Get(ctx, e.key(name+"live"))
		check("Get", err)
		if ok || v != nil {
			e.t.Errorf("Get with a done context returned a value")
		}
		check("Set", e.s.Set(ctx, e.key(name+"new"), []byte("x"), long))
		check("Set", e.s.Set(ctx, e.key(name+"live"), []byte("x"), long))
		stored, err := e.s.SetIfAbsent(ctx, e.key(name+"nx"), []byte("x"), long)
		check("SetIfAbsent", err)
		if stored {
			e.t.Errorf("SetIfAbsent with a done context = true")
		}
		check("Delete", e.s.Delete(ctx, e.key(name+"live")))

		e.absent(name + "new")
		e.absent(name + "nx")
		e.want(name+"live", "v")
	}
}

// testUnusualKeys: keys are stored as they are, each its own key, whatever
// ASCII they hold, including glob ("*", "?", "[") and Redis Cluster
// hash-tag ("{…}") characters.
func testUnusualKeys(e *env) {
	var printable strings.Builder
	for c := byte(' '); c <= '~'; c++ {
		printable.WriteByte(c)
	}
	keys := []string{
		"", "a/b/c", "/leading/", "a:b:c", "::", "with space", " ", "star", "star*", "starX", "*",
		"ques?", "quesX", "[ab]", "a", "b", "{tag}k", "{tag}", "{", "}", "quote\"'`", `back\slash`,
		"percent%2F", "semi;colon", "a=b&c=d", "#frag", "~+!@$^|<>,.-_", "UPPER", "upper",
		strings.Repeat("k", 250), printable.String(),
	}
	for _, k := range keys {
		e.set(k, "value of "+k, long)
	}
	for _, k := range keys {
		e.want(k, "value of "+k)
	}
	// Deleting a key that looks like a pattern deletes only that key.
	for _, k := range []string{"star*", "ques?", "[ab]"} {
		e.del(k)
		e.absent(k)
	}
	for _, k := range []string{"star", "starX", "quesX", "a", "b", "*"} {
		e.want(k, "value of "+k)
	}
	if e.setIfAbsent("{tag}k", "again", long) {
		e.t.Error("SetIfAbsent on a live key with a hash tag = true")
	}
}
