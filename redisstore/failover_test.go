package redisstore_test

import (
	"context"
	"errors"

	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
	"github.com/entrasaml/entrasaml/storetest"
	"github.com/redis/go-redis/v9"
)

// A Sentinel failover in the middle of a storm of sign-ins, each response
// posted to both instances at once: no response is ever accepted twice,
// before, during or after the failover, and every sign-in that was
// acknowledged (303 with a session cookie) still has its session once the
// new primary serves. The stores wait for the replica (WaitReplicas: 1),
// which is what makes both hold: without it, the writes the old primary
// acknowledged between the failover and the clients' switch to the new
// primary are lost, sessions and replay-cache entries alike (with
// WaitReplicas: 0 this test fails, with dozens of sessions lost and
// responses accepted twice, whenever sign-ins are acknowledged between
// the promotion of the replica and the switch). Each
// run uses a Sentinel set of its own, with one replica, so WaitReplicas: 1
// is every replica.
//
// Two triggers: SENTINEL FAILOVER (the old primary stays up and becomes
// the new primary's replica), and the primary killed (SIGKILL; Sentinel
// declares it down after 2 s; it is restarted, empty, as a replica of the
// new primary, as an operator would once Sentinel has moved on).
//
// The test runs alone (not in parallel with the others, and one trigger
// after the other), so that a starved CPU does not make Sentinel see a
// second primary down; answers of 503 after the failover (such a second
// failover, or a replica still syncing) are retried for a bounded time.
func TestSentinelFailoverStorm(t *testing.T) {
	for _, trigger := range []string{"failover", "kill"} {
		t.Run(trigger, func(t *testing.T) { testFailoverStorm(t, trigger) })
	}
}

func testFailoverStorm(t *testing.T, trigger string) {
	const (
		storm   = 200 // responses, each posted to both instances
		probes  = 100 // one new sign-in every 50 ms after the trigger
		workers = 16
		recover = 20 * time.Second // the bound on the failover
	)
	ss, err := startSentinelSet(2 * time.Second)
	t.Cleanup(ss.stop)
	if err != nil {
		topologyFailed(t, "Sentinel set", err)
	}
	primary := ss.servers[0]
	sc := redis.NewSentinelClient(&redis.Options{Addr: ss.sentinels[0]})
	defer sc.Close()

	opts := &redis.UniversalOptions{Addrs: ss.sentinels, MasterName: ss.master, ContextTimeoutEnabled: true,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second}
	newClient := func(tb testing.TB) redis.UniversalClient { return closing(tb, redis.NewUniversalClient(opts)) }
	ins := newInstances(t, 2, redisStores(t, newClient, redisstore.Options{WaitReplicas: 1, WaitTimeout: 500 * time.Millisecond}))
	batch := signIns(t, ins[0], 10000, storm)
	probe := signIns(t, ins[1], 20000, probes)

	// The storm; the trigger once a quarter of its posts are answered.
	var wg sync.WaitGroup
	var outs []outcome
	served := ins[0].served.Load() + ins[1].served.Load()
	wg.Go(func() { outs = postBoth(t, ins, batch, workers) })
	for ins[0].served.Load()+ins[1].served.Load() < served+storm/2 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), recover)
	defer cancel()
	triggered := time.Now()
	switch trigger {
	case "failover":
		if err := sc.Failover(ctx, ss.master).Err(); err != nil {
			t.Fatalf("SENTINEL FAILOVER: %v", err)
		}
	case "kill":
		primary.kill()
	}
	inFlight := ins[0].served.Load() + ins[1].served.Load() - served

	// The new primary, as Sentinel reports it.
	var promoted string
	if err := waitFor(ctx, "Sentinel to promote the replica", func() (bool, error) {
		addr, err := sc.GetMasterAddrByName(ctx, ss.master).Result()
		if err == nil && len(addr) == 2 {
			promoted = addr[0] + ":" + addr[1]
		}
		return err == nil && promoted != primary.addr(), nil
	}); err != nil {
		t.Fatal(err)
	}
	promotedAfter := time.Since(triggered)
	beforePromotion := ins[0].served.Load() + ins[1].served.Load() - served
	if trigger == "kill" {
		// Back, empty, as the new primary's replica: the new primary then
		// has a replica to acknowledge writes again.
		_, port, _ := strings.Cut(promoted, ":")
		primary.args = append(primary.args, "--replicaof", "127.0.0.1", port)
		if err := primary.start(); err != nil {
			t.Fatal(err)
		}
	}

	// Probes: a new sign-in every 50 ms until one is accepted.
	var recovered time.Duration
	for i := 0; recovered == 0; i++ {
		if i == probes || ctx.Err() != nil {
			t.Fatalf("no sign-in accepted within %v of the %s (%d probes)", time.Since(triggered), trigger, i)
		}
		st, c, err := post(ins[i%2], probe[i])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case st == http.StatusSeeOther && c != nil:
			recovered = time.Since(triggered)
		case st != http.StatusServiceUnavailable:
			t.Fatalf("probe %d after the %s: %d, want 303 or 503", i, trigger, st)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()

	// No response accepted twice during the storm; 503 while the primary
	// is in doubt, nothing else.
	sessions := checkOutcomes(t, "storm", outs, http.StatusSeeOther, http.StatusForbidden, http.StatusServiceUnavailable)
	answers := tally(outs)
	if beforePromotion >= 2*storm {
		t.Errorf("the storm was over before Sentinel promoted the replica: nothing was tested across the failover")
	}
	t.Logf("%s: %d ACS posts (%d answered before the trigger, %d before the promotion), answers %v; %d sessions; promoted after %v, first sign-in accepted after %v; ErrNotReplicated logged %d times",
		trigger, 2*storm, inFlight, beforePromotion, answers, sessions, promotedAfter.Round(time.Millisecond), recovered.Round(time.Millisecond),
		ins[0].logs.count(redisstore.ErrNotReplicated)+ins[1].logs.count(redisstore.ErrNotReplicated))
	if answers[http.StatusServiceUnavailable] > 0 && ins[0].logs.count(entrasaml.ErrStore)+ins[1].logs.count(entrasaml.ErrStore) == 0 {
		t.Errorf("503s without ErrStore logged")
	}

	// Every acknowledged session is still there, on both instances.
	lost, deadline := 0, time.Now().Add(recover)
	for i, o := range outs {
		for k, c := range o.cookie {
			if c == nil {
				continue
			}
			gone := false
			for _, in := range ins {
				if st := getWith(t, in, c, time.Until(deadline)); st != http.StatusOK {
					gone = true
					t.Errorf("response %d, accepted by %c: its session on %s after the %s: %d, want 200", i, 'A'+k, in.name, trigger, st)
				}
			}
			if gone {
				lost++
			}
		}
	}

	// Each response posted again to both: accepted only if it never was.
	again := postBoth(t, ins, batch, workers)
	checkOutcomes(t, "posted again", again, http.StatusSeeOther, http.StatusForbidden, http.StatusServiceUnavailable)
	replays := 0
	for i := range batch {
		if outs[i].accepted()+again[i].accepted() > 1 {
			replays++
			t.Errorf("response %d accepted during the storm (%v) and again after the %s (%v)", i, outs[i].status, trigger, again[i].status)
		}
	}
	t.Logf("%s: %d acknowledged sessions lost, %d replays accepted", trigger, lost, replays)
}

// getWith requests a signed-in page from in with the session cookie c,
// again while the answer is 503 (the store unavailable) for up to within.
func getWith(tb testing.TB, in *instance, c *http.Cookie, within time.Duration) int {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequest(http.MethodGet, appBaseURL+"/page", nil)
		req.Header.Set("Accept", "text/html")
		req.AddCookie(c)
		resp, err := in.client.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return resp.StatusCode
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitReplicas: on the Sentinel set (one replica) the store passes the
// conformance suite with every write waiting for the replica; with no
// replica to wait for (the single server, the Cluster's replica-less
// masters) every write fails with ErrNotReplicated after WaitTimeout, and
// reads still work.
func TestWaitReplicas(t *testing.T) {
	t.Parallel()
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		rdb := topologyClients(t, "sentinel")(t)
		storetest.Run(t, func(t *testing.T) entrasaml.Store {
			return redisstore.New(rdb, redisstore.Options{Prefix: testPrefix(t, rdb), WaitReplicas: 1})
		})
	})
	for _, name := range []string{"single", "cluster"} {
		t.Run(name+" without replicas", func(t *testing.T) {
			t.Parallel()
			rdb := topologyClients(t, name)(t)
			s := redisstore.New(rdb, redisstore.Options{Prefix: testPrefix(t, rdb), WaitReplicas: 1, WaitTimeout: 20 * time.Millisecond})
			ctx := t.Context()
			errSet := s.Set(ctx, "k", []byte("v"), time.Minute)
			_, errNX := s.SetIfAbsent(ctx, "nx", []byte("v"), time.Minute)
			errDel := s.Delete(ctx, "k")
			for _, err := range []error{errSet, errNX, errDel} {
				if !errors.Is(err, redisstore.ErrNotReplicated) {
					t.Errorf("a write with no replica to wait for: %v, want ErrNotReplicated", err)
				}
			}
			// The write reached the primary: only its acknowledgement is
			// missing.
			if v, found, err := s.Get(ctx, "nx"); err != nil || !found || string(v) != "v" {
				t.Errorf("Get after the unacknowledged SET NX = %q, %v, %v", v, found, err)
			}
		})
	}
}
