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
// NewFailoverClient, NewClusterClient): every call is a single-key command
// and no script spans keys, so all of them work unchanged. Do not route
// reads to replicas (ReadOnly, RouteByLatency, RouteRandomly): a replica
// that lags would miss a session just created, or still return one just
// signed out of.
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
//   - Replication is asynchronous: a write acknowledged by a primary that
//     fails before its replica received it is lost, with the same effect
//     for the few entries written in that window.
package redisstore
