package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
	"github.com/redis/go-redis/v9"
)

// signIn is a sign-in in flight: the browser's pending-request cookie and
// the form Entra posts back.
type signIn struct {
	cookies []*http.Cookie
	form    url.Values
}

// signIns starts n sign-ins on in (through its handler, without HTTP) and
// signs Entra's answers, on all cores.
func signIns(tb testing.TB, in *instance, first, n int) []signIn {
	tb.Helper()
	idp := testIdP(tb)
	out := make([]signIn, n)
	var failed atomic.Bool
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				req := httptest.NewRequest(http.MethodGet, appBaseURL+"/page", nil)
				req.Header.Set("Accept", "text/html")
				rec := httptest.NewRecorder()
				in.handler.ServeHTTP(rec, req)
				form, err := answerErr(idp, rec.Header().Get("Location"), testUser(first+i))
				if err != nil {
					tb.Errorf("sign-in %d: %v", i, err)
					failed.Store(true)
				}
				out[i] = signIn{cookies: rec.Result().Cookies(), form: form}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if failed.Load() {
		tb.FailNow()
	}
	return out
}

// post sends s to in's ACS and returns the status and the session cookie
// that came back, if any.
func post(in *instance, s signIn) (int, *http.Cookie, error) {
	req, _ := http.NewRequest(http.MethodPost, appBaseURL+"/saml/acs", strings.NewReader(s.form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range s.cookies {
		req.AddCookie(c)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	resp.Body.Close()
	return resp.StatusCode, sessionCookie(resp), nil
}

type outcome struct {
	status  [2]int
	session [2]bool
	cookie  [2]*http.Cookie // the session cookie, if any
}

// accepted counts the instances that started a session.
func (o outcome) accepted() int {
	n := 0
	for k := range 2 {
		if o.status[k] == http.StatusSeeOther && o.session[k] {
			n++
		}
	}
	return n
}

// postBoth posts every sign-in to both instances at once, from workers
// goroutines, and returns what each instance answered.
func postBoth(tb testing.TB, ins []*instance, batch []signIn, workers int) []outcome {
	tb.Helper()
	out := make([]outcome, len(batch))
	type job struct{ i, inst int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				status, sess, err := post(ins[j.inst], batch[j.i])
				if err != nil {
					tb.Errorf("post %d to %s: %v", j.i, ins[j.inst].name, err)
				}
				out[j.i].status[j.inst], out[j.i].session[j.inst], out[j.i].cookie[j.inst] = status, sess != nil, sess
			}
		})
	}
	for i := range batch {
		// The two posts of one response go out back to back, first to A
		// or B in turn, so they race in the two instances.
		jobs <- job{i, i % 2}
		jobs <- job{i, 1 - i%2}
	}
	close(jobs)
	wg.Wait()
	return out
}

// checkOutcomes checks that no response was accepted twice and that every
// answer was one of allowed; it returns how many sessions were created.
func checkOutcomes(tb testing.TB, phase string, outs []outcome, allowed ...int) int {
	tb.Helper()
	sessions := 0
	for i, o := range outs {
		for k := range 2 {
			if !slices.Contains(allowed, o.status[k]) {
				tb.Errorf("%s: response %d: instance %c answered %d, want one of %v", phase, i, 'A'+k, o.status[k], allowed)
			}
		}
		if o.accepted() > 1 {
			tb.Errorf("%s: response %d accepted by both instances", phase, i)
		}
		sessions += o.accepted()
	}
	return sessions
}

// tally counts the answers by status.
func tally(outs []outcome) map[int]int {
	m := map[int]int{}
	for _, o := range outs {
		m[o.status[0]]++
		m[o.status[1]]++
	}
	return m
}

// countKeys counts the keys under prefix+pattern.
func countKeys(tb testing.TB, rdb redis.UniversalClient, pattern string) int {
	tb.Helper()
	found, err := keys(tb.Context(), rdb, pattern)
	if err != nil {
		tb.Fatal(err)
	}
	return len(found)
}

// 500 valid responses, each posted to both instances at once: exactly one
// of each pair is accepted, the other is refused as a replay, nothing
// fails; on each topology.
func TestLoad(t *testing.T) {
	t.Parallel()
	forEachTopology(t, testLoad)
}

func testLoad(t *testing.T, newClient func(testing.TB) redis.UniversalClient) {
	const n, workers = 500, 32
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	ins := newInstances(t, 2, redisStores(t, newClient, redisstore.Options{Prefix: prefix}))

	start := time.Now()
	batch := signIns(t, ins[0], 1000, n)
	t.Logf("%d signed responses prepared in %v", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	outs := postBoth(t, ins, batch, workers)
	elapsed := time.Since(start)
	t.Logf("%d ACS posts from %d goroutines in %v: %.0f posts/s", 2*n, workers, elapsed.Round(time.Millisecond), float64(2*n)/elapsed.Seconds())

	if got := checkOutcomes(t, "load", outs, http.StatusSeeOther, http.StatusForbidden); got != n {
		t.Errorf("%d sessions created, want %d (answers: %v)", got, n, tally(outs))
	}
	if got := ins[0].logs.count(entrasaml.ErrReplay) + ins[1].logs.count(entrasaml.ErrReplay); got != n {
		t.Errorf("%d ErrReplay logged, want %d", got, n)
	}
	for _, pattern := range []string{"entrasaml/session/*", "entrasaml/replay/*"} {
		if got := countKeys(t, rdb, prefix+pattern); got != n {
			t.Errorf("%d keys %s in Redis, want %d", got, pattern, n)
		}
	}
	// In a Cluster the keys spread over every master (no hash tag pins
	// them to one slot).
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		perMaster := map[string]int{}
		err := cc.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
			found, err := keys(ctx, node, prefix+"*")
			mu.Lock()
			perMaster[node.Options().Addr] = len(found)
			mu.Unlock()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for addr, k := range perMaster {
			if k == 0 {
				t.Errorf("master %s holds none of the %d keys: %v", addr, 2*n, perMaster)
			}
		}
		t.Logf("keys per master: %v", perMaster)
	}
}

// Redis killed in the middle of a run: while it is down every ACS post and
// every signed-in request gets 503, nothing else, and no response is
// accepted twice; once it is back, sign-in works again with no restart.
// The server persists every write (appendfsync always), so it comes back
// with the replay cache and sessions it had.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := privateRedis(t, true)
	// A killed server refuses connections at once, so the timeouts only
	// bound a hung one. They stay at 1 s so that a CPU-starved -race run
	// does not time out a reply Redis already sent: go-redis would retry
	// the SET NX, find the first attempt's key and refuse a first use.
	opts := func() *redis.Options {
		return &redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
			DialerRetries: 2, DialerRetryTimeout: 20 * time.Millisecond, MaxRetries: 1}
	}
	ins := newInstances(t, 2, redisStores(t, clientsOf(opts), redisstore.Options{}))
	const workers = 8
	up := signIns(t, ins[0], 2000, 20)
	during := signIns(t, ins[0], 3000, 40)
	down := signIns(t, ins[1], 4000, 10)
	after := signIns(t, ins[1], 5000, 10)

	br := newBrowser() // a user signed in before the outage
	resp, _ := br.do(t, ins[0], http.MethodGet, "/page", nil)
	if resp, _ := br.do(t, ins[1], http.MethodPost, "/saml/acs", answer(t, resp.Header.Get("Location"), testUser(1999))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in while up: %d", resp.StatusCode)
	}
	if got := checkOutcomes(t, "up", postBoth(t, ins, up, workers), http.StatusSeeOther, http.StatusForbidden); got != len(up) {
		t.Fatalf("Redis up: %d sessions, want %d", got, len(up))
	}

	// Kill Redis while posts are in flight.
	var wg sync.WaitGroup
	var killed []outcome
	served := ins[0].served.Load() + ins[1].served.Load()
	wg.Go(func() { killed = postBoth(t, ins, during, workers) })
	for ins[0].served.Load()+ins[1].served.Load() < served+int64(len(during)/2) {
		time.Sleep(time.Millisecond)
	}
	srv.kill()
	wg.Wait()
	checkOutcomes(t, "during the kill", killed, http.StatusSeeOther, http.StatusForbidden, http.StatusServiceUnavailable)
	t.Logf("answers to the %d posts around the kill: %v", 2*len(during), tally(killed))

	// Down: new responses, replays of accepted ones, signed-in requests.
	if got := checkOutcomes(t, "down", postBoth(t, ins, slices.Concat(down, up), workers), http.StatusServiceUnavailable); got != 0 {
		t.Errorf("Redis down: %d sessions created", got)
	}
	for _, in := range ins {
		if resp, _ := br.do(t, in, http.MethodGet, "/page", nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("signed-in request to %s while Redis is down: %d, want 503", in.name, resp.StatusCode)
		}
		if in.logs.count(entrasaml.ErrStore) == 0 {
			t.Errorf("%s logged no ErrStore", in.name)
		}
	}

	// Back on the same port: recovery is automatic.
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	// Each instance's client reconnects on its own (after failed dials
	// go-redis probes once a second): wait for a sign-in on each.
	for k, in := range ins {
		for {
			st, sess, err := post(in, after[k])
			if err != nil {
				t.Fatal(err)
			}
			if st == http.StatusSeeOther && sess != nil {
				break
			}
			if st != http.StatusServiceUnavailable || time.Since(recovered) > 10*time.Second {
				t.Fatalf("sign-in on %s %v after Redis returned: %d", in.name, time.Since(recovered), st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("a sign-in accepted on each instance %v after redis-server answered again", time.Since(recovered).Round(time.Millisecond))
	outs := postBoth(t, ins, after[2:], workers)
	if got := checkOutcomes(t, "after", outs, http.StatusSeeOther, http.StatusForbidden); got != len(after)-2 {
		t.Errorf("after recovery: %d sessions, want %d (answers: %v)", got, len(after)-2, tally(outs))
	}
	// The persisted store still has the session and refuses what was
	// accepted before.
	for _, in := range ins {
		if resp, _ := br.do(t, in, http.MethodGet, "/page", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("signed-in request to %s after recovery: %d, want 200", in.name, resp.StatusCode)
		}
	}
	if got := checkOutcomes(t, "replays after", postBoth(t, ins, up, workers), http.StatusForbidden); got != 0 {
		t.Errorf("after recovery: %d replays accepted", got)
	}
	// What was accepted as Redis died stays accepted once: posted again
	// now, a response may only be accepted if it never was.
	again := postBoth(t, ins, during, workers)
	checkOutcomes(t, "posted again", again, http.StatusSeeOther, http.StatusForbidden)
	for i := range during {
		if killed[i].accepted()+again[i].accepted() > 1 {
			t.Errorf("response %d accepted during the kill and again after recovery: %v then %v", i, killed[i].status, again[i].status)
		}
	}
}
