package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The store is tested on the three ways Redis is deployed: one server
// (REDIS_URL, see main_test.go), a Redis Cluster of three masters, and a
// primary with a replica watched by Sentinel. The Cluster and the Sentinel
// set are those .ci/redis-topologies.sh started when REDIS_CLUSTER_ADDRS,
// REDIS_SENTINEL_ADDRS and REDIS_SENTINEL_MASTER are set; otherwise the
// tests start their own on loopback the first time one is needed, and
// TestMain stops them.

// topologies names the deployments forEachTopology runs a test on.
var topologies = []string{"single", "cluster", "sentinel"}

var (
	sharedMu       sync.Mutex
	sharedCluster  []string     // the Cluster's node addresses
	sharedSentinel *sentinelSet // the shared Sentinel set
	sharedStops    []func()     // what TestMain stops
)

// stopShared stops the topologies the tests started.
func stopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, stop := range sharedStops {
		stop()
	}
	sharedStops = nil
}

// forEachTopology runs test as a parallel subtest of t for each topology,
// with a function returning new clients of it (closed when their test
// ends).
func forEachTopology(t *testing.T, test func(t *testing.T, newClient func(testing.TB) redis.UniversalClient)) {
	for _, name := range topologies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, topologyClients(t, name))
		})
	}
}

// topologyClients returns a function making clients of the named
// topology, starting the topology if needed.
func topologyClients(tb testing.TB, name string) func(testing.TB) redis.UniversalClient {
	tb.Helper()
	var opts redis.UniversalOptions
	switch name {
	case "single":
		testClient(tb).Close() // skips or fails without a server
		return func(tb testing.TB) redis.UniversalClient { return closing(tb, redis.NewClient(testOptions())) }
	case "cluster":
		opts.Addrs = clusterAddrs(tb)
	case "sentinel":
		ss := theSentinelSet(tb)
		opts.Addrs, opts.MasterName = ss.sentinels, ss.master
	default:
		tb.Fatalf("no topology %q", name)
	}
	opts.ContextTimeoutEnabled = true
	return func(tb testing.TB) redis.UniversalClient {
		// As the package documentation advises: NewUniversalClient makes a
		// ClusterClient of several addresses, a FailoverClient with a
		// MasterName.
		return closing(tb, redis.NewUniversalClient(&opts))
	}
}

func closing(tb testing.TB, rdb redis.UniversalClient) redis.UniversalClient {
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// clusterAddrs returns the addresses of the shared Cluster's nodes.
func clusterAddrs(tb testing.TB) []string {
	tb.Helper()
	if env := os.Getenv("REDIS_CLUSTER_ADDRS"); env != "" {
		return strings.Split(env, ",")
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil {
		nodes, err := startCluster(3)
		sharedStops = append(sharedStops, func() { stopAll(nodes) })
		if err != nil {
			topologyFailed(tb, "Redis Cluster", err)
		}
		for _, n := range nodes {
			sharedCluster = append(sharedCluster, n.addr())
		}
	}
	return sharedCluster
}

// theSentinelSet returns the shared Sentinel set.
func theSentinelSet(tb testing.TB) *sentinelSet {
	tb.Helper()
	if env := os.Getenv("REDIS_SENTINEL_ADDRS"); env != "" {
		master := os.Getenv("REDIS_SENTINEL_MASTER")
		if master == "" {
			tb.Fatal("REDIS_SENTINEL_ADDRS is set but REDIS_SENTINEL_MASTER is not")
		}
		return &sentinelSet{master: master, sentinels: strings.Split(env, ",")}
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSentinel == nil {
		ss, err := startSentinelSet(5 * time.Second)
		if err != nil {
			topologyFailed(tb, "Sentinel set", err)
		}
		sharedStops = append(sharedStops, ss.stop)
		sharedSentinel = ss
	}
	return sharedSentinel
}

// topologyFailed skips tb (fails it under CI) without redis-server, and
// fails it on any other error.
func topologyFailed(tb testing.TB, what string, err error) {
	tb.Helper()
	if errors.Is(err, exec.ErrNotFound) {
		skipWithoutRedis(tb, "redis-server is not installed: no "+what)
	}
	tb.Fatalf("starting a %s: %v", what, err)
}

func stopAll(servers []*redisServer) {
	for _, s := range servers {
		s.stop()
	}
}

// startCluster starts a Redis Cluster of n masters without replicas, the
// slots split evenly, as redis-cli --cluster create would: it returns
// once every node reports cluster_state:ok.
func startCluster(n int) ([]*redisServer, error) {
	var nodes []*redisServer
	var buses []int
	for range n {
		bus, err := freePort() // port+10000 may be out of range: choose it
		if err != nil {
			return nodes, err
		}
		node, err := startRedis(0, false, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "2000")
		if err != nil {
			return nodes, err
		}
		nodes, buses = append(nodes, node), append(buses, bus)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clients := make([]*redis.Client, n)
	for i, node := range nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: node.addr()})
		defer clients[i].Close()
		lo, hi := i*16384/n, (i+1)*16384/n-1
		for _, cmd := range [][]any{
			{"cluster", "addslotsrange", lo, hi},
			{"cluster", "set-config-epoch", i + 1},
		} {
			if err := clients[i].Do(ctx, cmd...).Err(); err != nil {
				return nodes, fmt.Errorf("%s on %s: %w", cmd[1], node.addr(), err)
			}
		}
		if i > 0 {
			if err := clients[i].Do(ctx, "cluster", "meet", "127.0.0.1", nodes[0].port, buses[0]).Err(); err != nil {
				return nodes, fmt.Errorf("cluster meet: %w", err)
			}
		}
	}
	return nodes, waitFor(ctx, "cluster_state:ok", func() (bool, error) {
		for _, c := range clients {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false, nil
			}
			nodes, err := c.ClusterNodes(ctx).Result()
			if err != nil || strings.Count(nodes, "master") != n || strings.Contains(nodes, "handshake") {
				return false, nil
			}
		}
		return true, nil
	})
}

// sentinelSet is a primary with one replica, watched by one Sentinel
// (quorum 1) under the name master.
type sentinelSet struct {
	master    string
	sentinels []string       // the Sentinels' addresses
	servers   []*redisServer // primary, replica, Sentinel; nil from the environment
}

func (ss *sentinelSet) stop() { stopAll(ss.servers) }

// startSentinelSet starts a primary, its replica and a Sentinel, and
// returns once the Sentinel knows the replica, so that it can fail over.
// The Sentinel declares a primary down after downAfter without answer (too
// short, and a loaded machine fails over on its own).
func startSentinelSet(downAfter time.Duration) (*sentinelSet, error) {
	ss := &sentinelSet{master: "entrasaml"}
	primary, err := startRedis(0, false)
	if err != nil {
		return ss, err
	}
	ss.servers = append(ss.servers, primary)
	replica, err := startRedis(0, false, "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	if err != nil {
		return ss, err
	}
	ss.servers = append(ss.servers, replica)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc := redis.NewClient(&redis.Options{Addr: replica.addr()})
	defer rc.Close()
	if err := waitFor(ctx, "replica in sync", func() (bool, error) {
		info, err := rc.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up"), nil
	}); err != nil {
		return ss, err
	}
	sentinel, err := startServer(&redisServer{sentinel: fmt.Sprintf(
		"sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
			"sentinel down-after-milliseconds %[1]s %[3]d\n"+
			"sentinel failover-timeout %[1]s 5000\n", ss.master, primary.port, downAfter.Milliseconds())})
	if err != nil {
		return ss, err
	}
	ss.servers = append(ss.servers, sentinel)
	ss.sentinels = []string{sentinel.addr()}
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr()})
	defer sc.Close()
	return ss, waitFor(ctx, "Sentinel to know the replica", func() (bool, error) {
		replicas, err := sc.Replicas(ctx, ss.master).Result()
		return err == nil && slices.ContainsFunc(replicas, func(r map[string]string) bool {
			return r["name"] == replica.addr() && r["flags"] == "slave"
		}), nil
	})
}

// waitFor polls ok every 20 ms until it holds or ctx is done.
func waitFor(ctx context.Context, what string, ok func() (bool, error)) error {
	for {
		done, err := ok()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// keys returns the keys matching pattern, on every master of a Cluster.
func keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
		return out, err
	}
	return out, scan(ctx, rdb)
}
