package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrasaml/entrasaml/internal/tooltest"
)

// The tests run against a real redis-server: the one at REDIS_URL (as .ci/run
// sets it), else a private one TestMain starts on a free loopback port. When
// neither is possible the tests skip, except under CI=true, where they fail.
var (
	redisURL string // the shared test server
	noRedis  string // why there is none
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	defer stopShared()
	redisURL = os.Getenv("REDIS_URL")
	if redisURL == "" {
		srv, err := startRedis(0, false)
		switch {
		case errors.Is(err, exec.ErrNotFound):
			noRedis = "REDIS_URL is unset and redis-server is not installed"
		case err != nil:
			fmt.Fprintln(os.Stderr, "redisstore tests: starting redis-server:", err)
			return 1
		default:
			defer srv.stop()
			redisURL = "redis://" + srv.addr() + "/0"
		}
	}
	if redisURL != "" {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redisstore tests: REDIS_URL:", err)
			return 1
		}
		rdb := redis.NewClient(opts)
		err = rdb.Ping(context.Background()).Err()
		rdb.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "redisstore tests: %s does not answer: %v\n", redisURL, err)
			return 1
		}
	}
	return m.Run()
}

// skipWithoutRedis skips tb when no Redis can be had, or fails it under CI.
func skipWithoutRedis(tb testing.TB, why string) {
	tb.Helper()
	tooltest.Missing(tb, why+" ("+tooltest.RedisServer().Install()+")")
}

// testOptions returns new client options for the shared test server.
func testOptions() *redis.Options {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		panic(err) // checked by TestMain
	}
	opts.ContextTimeoutEnabled = true
	return opts
}

// testClient returns a client of the shared test server.
func testClient(tb testing.TB) *redis.Client {
	tb.Helper()
	if noRedis != "" {
		skipWithoutRedis(tb, noRedis)
	}
	rdb := redis.NewClient(testOptions())
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// testPrefix returns a key prefix of tb's own, and deletes its keys when
// tb ends, so that tests share a server without meeting.
func testPrefix(tb testing.TB, rdb redis.UniversalClient) string {
	var b [6]byte
	rand.Read(b[:])
	prefix := "entrasaml-test:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		found, _ := keys(ctx, rdb, prefix+"*")
		for _, k := range found {
			rdb.Unlink(ctx, k)
		}
	})
	return prefix
}

// redisServer is a redis-server process of the tests' own on a loopback
// port, which a test may kill and start again on the same port.
type redisServer struct {
	port     int
	dir      string
	persist  bool
	args     []string // more redis-server arguments
	sentinel string   // a Sentinel's configuration; "": a plain server
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startRedis starts redis-server on port (0: a free one) with args added.
// With persist, every write is fsynced to an append-only file before it is
// acknowledged, so a killed server restarts with all it had said yes to.
func startRedis(port int, persist bool, args ...string) (*redisServer, error) {
	return startServer(&redisServer{port: port, persist: persist, args: args})
}

// startServer starts s in a new directory, on a free port when s.port is 0.
func startServer(s *redisServer) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "entrasaml-redis-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	port := s.port
	for attempt := 0; ; attempt++ {
		if port == 0 {
			if s.port, err = freePort(); err != nil {
				break
			}
		}
		if err = s.start(); err == nil || port != 0 || attempt == 2 {
			break // a chosen port may have been taken meanwhile: try another
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start starts the process and waits until it answers PING.
func (s *redisServer) start() error {
	var args []string
	if s.sentinel != "" { // Sentinel needs a configuration file it can rewrite
		conf := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(s.sentinel), 0o600); err != nil {
			return err
		}
		args = []string{conf, "--sentinel"}
	}
	args = append(args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--loglevel", "warning", "--logfile", filepath.Join(s.dir, "redis.log"), "--maxmemory-policy", "noeviction",
		"--repl-diskless-sync-delay", "0")
	if s.persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()

	rdb := redis.NewClient(&redis.Options{Addr: s.addr(), DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d: no answer after 10 s: %v", s.port, err)
		}
	}
}

// kill stops the process at once (SIGKILL), as a crash would.
func (s *redisServer) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

func (s *redisServer) stop() {
	s.kill()
	os.RemoveAll(s.dir)
}

// privateRedis starts a redis-server of t's own, stopped when t ends.
func privateRedis(tb testing.TB, persist bool) *redisServer {
	tb.Helper()
	srv, err := startRedis(0, persist)
	if errors.Is(err, exec.ErrNotFound) {
		skipWithoutRedis(tb, "redis-server is not installed")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.stop)
	return srv
}
