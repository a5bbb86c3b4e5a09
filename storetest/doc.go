// Package storetest is a conformance suite for implementations of
// [entrasaml.Store]. Every Store, the in-memory one and those in other
// modules (Redis), runs the same suite in its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) entrasaml.Store {
//			return mystore.New(client, mystore.Options{})
//		})
//	}
//
// # What it checks
//
//   - Get, Set and Delete: a missing key is found=false with no error; Set
//     replaces the value and the expiry; Delete removes, and deleting an
//     absent key is not an error; keys are independent of each other.
//   - SetIfAbsent, the one-time-use primitive: true once, then false while
//     the key lives, without touching the value or the expiry; true again
//     once the key has expired or was deleted; under 64 goroutines racing
//     for each of 50 keys, exactly one winner per key, whose value is the
//     one stored.
//   - Expiry: an entry is returned before its ttl and never after it; a
//     ttl <= 0 stores nothing.
//   - Values: empty, binary (every byte value, NUL included) and 1 MiB
//     values round-trip unchanged; values are copied in and out, so a
//     caller mutating a slice it passed or received changes nothing.
//   - Contexts: a cancelled or expired context makes every method return
//     an error matching ctx.Err() with errors.Is, and writes nothing.
//   - Keys: slashes, colons, spaces, glob and hash-tag characters ("*",
//     "?", "[", "{") and long keys are stored as they are, each its own key.
//
// # Clocks and parallelism
//
// The expiry checks use a ttl of one second. A store on the real clock
// (Redis) is tested by waiting: about 1.2 s, in parallel for all expiry
// checks. A store with an injectable clock ([entrasaml.NewMemoryStore])
// passes [Options].Advance instead, and the suite moves the clock rather
// than sleeping; those checks then run one after the other, before the
// others, so that no check sees the clock jump under it.
//
// The other checks run in parallel (t.Parallel). Each uses its own key
// prefix, made unique per Run, so newStore may return the same store every
// time, and a store that outlives the test (a shared Redis) keeps nothing
// that a later run could trip over: every entry the suite writes expires
// within ten minutes.
package storetest
