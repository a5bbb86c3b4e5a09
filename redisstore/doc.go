// Package redisstore is an [entrasaml.Store] on Redis, for a service
// provider that runs as several instances behind a load balancer. Entra's
// POST to the ACS can land on any instance, and the next request on
// another, so what the SP remembers must be shared: the replay cache of
// accepted assertion IDs, and the server-side sessions (whose deletion is
// how signing out ends a session everywhere, copied cookies included).
// Pending sign-ins need nothing shared: they live in a cookie sealed with
// Config.SessionKeys, which the instances must share as well.
//
// It lives in a module of its own so that entrasaml itself does not depend
// on a Redis client. It uses github.com/redis/go-redis/v9 and works with
// Redis 6 and later (tested with Redis 7).
//
// # Usage
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr:                  "10.0.0.5:6379",
//		ContextTimeoutEnabled: true, // request deadlines bound Redis calls
//		DialTimeout:           time.Second,
//		ReadTimeout:           500 * time.Millisecond,
//		WriteTimeout:          500 * time.Millisecond,
//	})
//	sp, err := entrasaml.New(ctx, entrasaml.Config{
//		EntityID:    "https://app.example/saml",
//		BaseURL:     "https://app.example",
//		MetadataURL: metadataURL,
//		Store:       redisstore.New(rdb, redisstore.Options{}),
//		SessionKeys: [][]byte{key}, // the same 32 bytes on every instance
//	})
//
// For Sentinel or Cluster pass the client of redis.NewUniversalClient (or
// NewFailoverClient, NewClusterClient), and set Options.WaitReplicas (see
// "Replication and failover"):
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
//		Addrs:                 []string{"10.0.0.7:26379", "10.0.0.8:26379", "10.0.0.9:26379"},
//		MasterName:            "entrasaml", // Sentinel; without it, several Addrs make a Cluster client
//		ContextTimeoutEnabled: true,
//	})
//	store := redisstore.New(rdb, redisstore.Options{WaitReplicas: 1})
//
// Every call is a single-key command and no script spans keys, so both work
// unchanged (the tests run the conformance suite and the two-instance
// sign-in, replay and logout tests on a three-master Cluster and on a
// Sentinel set, and fail a Sentinel over in the middle of a sign-in storm).
// Do not route reads to replicas (ReadOnly, RouteByLatency, RouteRandomly):
// a replica that lags would miss a session just created, or still return
// one just signed out of.
//
// In a Cluster a key's slot is the hash of the whole key, or of the part
// between the first "{" and the next "}" when it has one. The store adds
// no braces of its own, and Options.Prefix should not contain any (with a
// tag in the prefix every key would land in one slot, on one master).
// An operation that has to touch several keys at once (a script, MULTI)
// must give them one hash tag in the key the SP chooses, for example the
// user's: entrasaml/user/<sp>/{<user>}/..., or Redis refuses it with
// CROSSSLOT.
//
// # Commands and key layout
//
// Each Store call is one command, and every write sets its expiry in the
// same command, so no key can be left without one:
//
//	Get          GET key
//	Set          SET key value PX ttl      (ttl <= 0: DEL key)
//	SetIfAbsent  SET key value NX PX ttl   (ttl <= 0: EXISTS key)
//	Delete       DEL key
//
// Keys are Options.Prefix (default "entrasaml:") followed by the key the SP
// chose, where <sp> is 24 hex digits derived from the SP's EntityID and ACS
// URL, so several SPs (tenants) share a database without colliding:
//
//	entrasaml:entrasaml/replay/<sp>/<32 hex>   1 byte; until the assertion expires
//	entrasaml:entrasaml/session/<sp>/<id>      the Session as JSON; until it expires
//
// Session IDs are 256-bit random values; the browser only holds a sealed
// copy. Anyone who can read the database can read sessions (names, groups,
// roles): protect Redis like the application's own database (network
// isolation, AUTH/ACL, TLS).
//
// # Failure behaviour
//
// Any error from Redis (connection refused, timeout, the context's
// deadline, OOM, READONLY during a failover) is returned wrapped, so
// errors.Is finds the cause, e.g. context.DeadlineExceeded. entrasaml fails
// closed on it: Verify returns an error matching entrasaml.ErrStore and
// accepts nothing, the ACS and RequireAccount answer 503 "temporarily
// unavailable" and log the error with a correlation id. No response is
// accepted because the store could not be asked whether it was seen
// before. Nothing needs restarting when Redis comes back: the client
// reconnects and sign-in works again, within about a second (after a run
// of failed dials go-redis probes the server once a second).
//
// With go-redis, context deadlines only bound network I/O when
// ContextTimeoutEnabled is set; otherwise ReadTimeout and WriteTimeout
// (default 3 s) do. Keep them short, so a Redis that hangs turns into
// quick 503s rather than piled-up requests, but well above Redis's worst
// latency: when a reply times out after Redis executed the SET NX, the
// retry go-redis makes (MaxRetries, default 3) finds the key and a first
// use is refused as a replay (403, ErrReplay logged). That fails closed,
// and the user signs in again; MaxRetries: -1 turns it into a 503.
//
// # Running Redis for it
//
//   - maxmemory-policy noeviction: with an evicting policy, Redis under
//     memory pressure may drop replay-cache keys (they all carry a TTL, so
//     volatile-* policies drop them too), and a replayed response would be
//     accepted. With noeviction, writes fail instead, and sign-in fails
//     closed with 503.
//   - Persistence (appendonly yes): a Redis that restarts empty forgets
//     every session (users sign in again) and the replay cache, so a
//     response captured in the minutes before the restart could be
//     accepted once more.
//
// # Replication and failover
//
// Redis replicates asynchronously: a primary acknowledges a write before
// any replica has it. When Sentinel (or a Cluster) promotes a replica,
// what the old primary acknowledged and the replica had not received is
// gone: a session the user was just given (the user is signed out), a
// deletion (a signed-out session is valid again), or a replay-cache entry
// (the same response is accepted a second time, on the new primary). On a
// SENTINEL FAILOVER the window is not small: the old primary keeps
// accepting writes until clients learn of the switch (Sentinel announces
// it once the promoted replica reports itself primary, about a second
// later), and discards them when Sentinel demotes it. In the tests, a
// storm of 200 sign-ins (each response posted to two instances) failed
// over that way without WaitReplicas lost 58 to 132 of the 200
// acknowledged sessions and accepted 59 to 131 responses twice (four
// runs).
//
// Options.WaitReplicas closes it: every write is followed, in the same
// round trip on the same connection, by WAIT numreplicas timeout, and
// counts as done only when that many replicas have it. A write they do not
// acknowledge within Options.WaitTimeout returns an error matching
// ErrNotReplicated, and the SP answers 503: the user signs in again,
// rather than being handed a session (or having a response accepted) that
// a failover could take back. The same storm with WaitReplicas: 1 loses
// nothing and accepts no replay. The price:
//
//   - Each write waits for a replica's acknowledgement (a round trip to
//     it, under a millisecond on a LAN) as well as the primary's.
//   - Writes fail (503) while fewer than WaitReplicas replicas are
//     connected. With one replica and WaitReplicas: 1, that is from the
//     failover until the old primary is back as a replica of the new one:
//     after SENTINEL FAILOVER, Sentinel demotes it about 10 s later (11 s
//     of 503s in the tests); after a crash, when it is restarted. With two
//     replicas and WaitReplicas: 1, Sentinel reconfigures the remaining
//     replica as part of the failover and writes resume within seconds.
//   - WAIT makes a write durable on that many replicas; it does not choose
//     which replica Sentinel promotes. Sentinel prefers the replica with
//     the most replicated data, so a write acknowledged by one of two
//     replicas survives in practice; only WaitReplicas equal to the number
//     of replicas makes it certain (at the price of 503s whenever one
//     replica is down).
//   - Redis's own min-replicas-to-write narrows the window (a primary
//     without a recently connected replica refuses writes) but does not
//     close it: a write accepted just before the switch is still lost.
//   - In a Cluster the WAIT goes to the master of the key; a master
//     without replicas can never satisfy it. A key that moves slots during
//     resharding fails the write (MOVED, 503) rather than being followed.
//
// WaitReplicas needs a *redis.Client (standalone, or NewFailoverClient,
// which NewUniversalClient returns for Sentinel) or a *redis.ClusterClient;
// with any other client every write fails. WaitTimeout must stay below
// the client's ReadTimeout, which bounds the round trip that carries the
// WAIT.
package redisstore
