package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
	"github.com/entrasaml/entrasaml/storetest"
	"github.com/redis/go-redis/v9"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	forEachTopology(t, func(t *testing.T, newClient func(testing.TB) redis.UniversalClient) {
		rdb := newClient(t)
		storetest.Run(t, func(t *testing.T) entrasaml.Store {
			return redisstore.New(rdb, redisstore.Options{Prefix: testPrefix(t, rdb)})
		})
	})
}

// Keys are the prefix and the SP's key; every write carries its expiry.
func TestKeysAndExpiries(t *testing.T) {
	t.Parallel()
	rdb := testClient(t)
	ctx := t.Context()
	prefix := testPrefix(t, rdb)
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix})

	if err := s.Set(ctx, "entrasaml/session/x/y", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SetIfAbsent(ctx, "entrasaml/replay/x/y", []byte{1}, 90*time.Second+time.Microsecond); err != nil || !ok {
		t.Fatalf("SetIfAbsent = %v, %v", ok, err)
	}
	for key, want := range map[string]time.Duration{"entrasaml/session/x/y": time.Minute, "entrasaml/replay/x/y": 90*time.Second + time.Millisecond} {
		if v, err := rdb.Get(ctx, prefix+key).Result(); err != nil || v == "" {
			t.Errorf("GET %s%s = %q, %v", prefix, key, v, err)
		}
		// PTTL is what is left: at most what was asked (rounded up to
		// whole milliseconds), and never "no expiry" (-1).
		if d, err := rdb.PTTL(ctx, prefix+key).Result(); err != nil || d <= want-5*time.Second || d > want {
			t.Errorf("PTTL %s = %v, %v; want just under %v", key, d, err, want)
		}
	}

	// The zero Options use DefaultPrefix.
	def := redisstore.New(rdb, redisstore.Options{})
	key := strings.TrimPrefix(prefix, "entrasaml-test:") + "default"
	if err := def.Set(ctx, key, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(context.Background(), redisstore.DefaultPrefix+key)
	if n, err := rdb.Exists(ctx, redisstore.DefaultPrefix+key).Result(); err != nil || n != 1 {
		t.Errorf("EXISTS %s%s = %d, %v", redisstore.DefaultPrefix, key, n, err)
	}
}

// Errors name the command and wrap the cause, so errors.Is finds it.
func TestErrorsWrapTheCause(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		port, err := freePort() // nothing listens there
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1, DialerRetries: 1})
		defer rdb.Close()
		s := redisstore.New(rdb, redisstore.Options{})
		ctx := t.Context()
		_, _, errGet := s.Get(ctx, "k")
		errSet := s.Set(ctx, "k", nil, time.Minute)
		_, errNX := s.SetIfAbsent(ctx, "k", nil, time.Minute)
		errDel := s.Delete(ctx, "k")
		for _, tc := range []struct {
			err  error
			name string
		}{{errGet, "GET"}, {errSet, "SET"}, {errNX, "SET NX"}, {errDel, "DEL"}} {
			if !errors.Is(tc.err, syscall.ECONNREFUSED) || !strings.HasPrefix(tc.err.Error(), "redisstore: "+tc.name+": ") {
				t.Errorf("%s against a closed port: %v", tc.name, tc.err)
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		srv := privateRedis(t, false)
		rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
		defer rdb.Close()
		s := redisstore.New(rdb, redisstore.Options{})
		// A Redis that hangs: CLIENT PAUSE holds every command for 2 s.
		if err := rdb.Do(t.Context(), "client", "pause", 2000, "all").Err(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.SetIfAbsent(ctx, "k", nil, time.Minute)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SetIfAbsent against a paused Redis: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("SetIfAbsent took %v with a 100 ms deadline", d)
		}
	})
}
