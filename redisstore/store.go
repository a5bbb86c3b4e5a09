package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "entrasaml:"

// Options configures [New].
type Options struct {
	// Prefix is prepended to every key, to keep entrasaml's keys apart
	// from the application's in a shared Redis database. "":
	// DefaultPrefix. Instances that share sessions must use the same
	// Prefix.
	Prefix string

	// WaitReplicas, when > 0, makes every write (SET, SET NX, DEL) wait
	// until at least that many replicas of the primary that executed it
	// have acknowledged it (WAIT numreplicas timeout, sent in the same
	// round trip). A write that is not acknowledged in time returns an
	// error matching ErrNotReplicated, so the SP answers 503 instead of
	// starting a session, or accepting a response, that a failover could
	// lose. 0 (the default): writes are acknowledged by the primary alone,
	// and replication is asynchronous. See "Replication and failover" in
	// the package documentation for what it does and does not guarantee.
	WaitReplicas int

	// WaitTimeout bounds how long a write waits for WaitReplicas replicas.
	// 0: 1 s. It must stay below the client's ReadTimeout (default 3 s),
	// which bounds the round trip that carries the WAIT.
	WaitTimeout time.Duration
}

// DefaultWaitTimeout is the wait for replicas when Options.WaitTimeout is 0.
const DefaultWaitTimeout = time.Second

// ErrNotReplicated is wrapped by the error of a write that fewer than
// Options.WaitReplicas replicas acknowledged within Options.WaitTimeout.
// The write may still have reached the primary (and some replicas): it is
// the acknowledgement that is missing, so the SP fails closed.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// Store is an [entrasaml.Store] on Redis. It is safe for concurrent use
// and holds no state but the client and the prefix, so any number of
// instances (and SPs) can share one Redis.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	waitReplicas int
	waitTimeout  time.Duration
}

var _ entrasaml.Store = (*Store)(nil)

// New returns a Store on client: a *redis.Client, or the client of
// redis.NewUniversalClient for Sentinel or Cluster. Every call is one
// single-key command (followed by WAIT with Options.WaitReplicas), so all
// three work unchanged. The Store does not own the client: closing it is
// the caller's business.
//
// New does no I/O and cannot fail: an unreachable Redis shows as errors
// from the methods (503s from the SP). To fail fast at startup, call
// client.Ping first.
func New(client redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	return &Store{client: client, prefix: opts.Prefix, waitReplicas: opts.WaitReplicas, waitTimeout: opts.WaitTimeout}
}

// Get implements [entrasaml.Store] with GET. A missing or expired key is
// found=false; any other failure is an error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "GET", err)
	}
	v, err := s.client.Get(ctx, s.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap(ctx, "GET", err)
	}
	return v, true, nil
}

// Set implements [entrasaml.Store] with SET key value PX ttl, so the value
// and its expiry are written together. A ttl <= 0 deletes key (DEL).
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return s.Delete(ctx, key)
	}
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "SET", err)
	}
	cmd := redis.NewStatusCmd(ctx, "set", s.prefix+key, value, "px", millis(ttl))
	if err := s.write(ctx, s.prefix+key, cmd); err != nil {
		return wrap(ctx, "SET", err)
	}
	return nil
}

// SetIfAbsent implements [entrasaml.Store] with SET key value PX ttl NX
// GET: Redis executes it atomically, so among all the instances sharing the
// database exactly one caller stores a given key. A key that already holds
// exactly value also counts as stored: that is this caller's own earlier
// attempt, retried by the client after a lost reply. Callers that need
// one-time use therefore write a value unique to the attempt, as the SP
// does. A ttl <= 0 stores nothing and reports whether key was absent
// (EXISTS).
func (s *Store) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "SET NX", err)
	}
	if ttl <= 0 {
		n, err := s.client.Exists(ctx, s.prefix+key).Result()
		if err != nil {
			return false, wrap(ctx, "EXISTS", err)
		}
		return n == 0, nil
	}
	// SET … NX GET (Redis 7) also returns the value already there, so a
	// write that the client retried after a lost reply (go-redis retries
	// on timeouts) is recognised as this caller's own: the key holds
	// exactly value. The SP writes a random value per attempt, so a real
	// second use never matches.
	cmd := redis.NewStringCmd(ctx, "set", s.prefix+key, value, "px", millis(ttl), "nx", "get")
	err := s.write(ctx, s.prefix+key, cmd)
	switch {
	case errors.Is(err, redis.Nil):
		return true, nil // the key was absent and is now set
	case err != nil:
		return false, wrap(ctx, "SET NX", err)
	}
	return cmd.Val() == string(value), nil
}

// Delete implements [entrasaml.Store] with DEL; deleting an absent key is
// not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "DEL", err)
	}
	if err := s.write(ctx, s.prefix+key, redis.NewIntCmd(ctx, "del", s.prefix+key)); err != nil {
		return wrap(ctx, "DEL", err)
	}
	return nil
}

// write executes cmd, a write of the single key, and returns its error
// (redis.Nil included). With WaitReplicas it sends WAIT after cmd on the
// same connection of key's primary, in one round trip, and returns an
// error matching ErrNotReplicated when too few replicas acknowledged cmd.
func (s *Store) write(ctx context.Context, key string, cmd redis.Cmder) error {
	if s.waitReplicas <= 0 {
		return s.client.Process(ctx, cmd)
	}
	var pipe redis.Pipeliner
	switch c := s.client.(type) {
	case *redis.Client: // standalone, or Sentinel's NewFailoverClient
		pipe = c.Pipeline()
	case *redis.ClusterClient: // WAIT has no key: ask the key's master
		node, err := c.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		pipe = node.Pipeline()
	default:
		return fmt.Errorf("%w: WaitReplicas needs a *redis.Client or *redis.ClusterClient, not %T", ErrNotReplicated, s.client)
	}
	_ = pipe.Process(ctx, cmd)
	wait := redis.NewIntCmd(ctx, "wait", s.waitReplicas, millis(s.waitTimeout))
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // each command keeps its own result
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if n, err := wait.Result(); err != nil || n < int64(s.waitReplicas) {
		if err != nil {
			return fmt.Errorf("%w: WAIT: %w", ErrNotReplicated, err)
		}
		return fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, s.waitReplicas, s.waitTimeout)
	}
	return cmd.Err()
}

// millis rounds ttl up to whole milliseconds, PX's unit, so that an entry
// never expires before it was asked to.
func millis(ttl time.Duration) int64 {
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// wrap names the command that failed and keeps err for errors.Is (the
// key, which may hold a session ID, is left out). When ctx is done, or its
// deadline has passed (go-redis then reports a socket timeout), ctx's error
// is wrapped too, so errors.Is(err, context.DeadlineExceeded) holds.
func wrap(ctx context.Context, cmd string, err error) error {
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("redisstore: %s: %w (%w)", cmd, err, ctxErr)
	}
	return fmt.Errorf("redisstore: %s: %w", cmd, err)
}
