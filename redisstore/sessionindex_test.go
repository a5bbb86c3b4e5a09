package redisstore_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
)

// rendezvous makes the first n writes (Set or SetIfAbsent) to keys under
// prefix, through any of the Stores it wraps, wait until all n have
// arrived: whatever each sign-in read before writing, it read before any
// other wrote. Later writes pass at once (the first too, after a second).
type rendezvous struct {
	prefix  string
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (r *rendezvous) wait(key string) {
	if !strings.HasPrefix(key, r.prefix) {
		return
	}
	r.mu.Lock()
	r.arrived++
	if r.arrived == r.n {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-time.After(time.Second):
	}
}

type rendezvousStore struct {
	entrasaml.Store
	r *rendezvous
}

func (s rendezvousStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.r.wait(key)
	return s.Store.Set(ctx, key, value, ttl)
}

func (s rendezvousStore) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	s.r.wait(key)
	return s.Store.SetIfAbsent(ctx, key, value, ttl)
}

// One user signs in at once in several browsers, through two instances
// sharing Redis; the IdP's logout (a signed LogoutRequest to one instance)
// then ends every one of those sessions: no sign-in lost another's entry
// in the user's session index.
func TestConcurrentSignInsOneUser(t *testing.T) {
	t.Parallel()
	const n = 8
	rdb := testClient(t)
	rv := &rendezvous{prefix: "entrasaml/session-index/", n: n, all: make(chan struct{})}
	newRedis := redisStores(t, clientsOf(testOptions), redisstore.Options{Prefix: testPrefix(t, rdb)})
	ins := newInstances(t, 2, func() entrasaml.Store { return rendezvousStore{Store: newRedis(), r: rv} })
	user := testUser(7)

	browsers := make([]*browser, n)
	forms := make([]url.Values, n)
	for i := range browsers {
		browsers[i] = newBrowser()
		resp, _ := browsers[i].do(t, ins[i%2], http.MethodGet, "/", nil)
		forms[i] = answer(t, resp.Header.Get("Location"), user)
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i, b := range browsers {
		wg.Go(func() {
			resp, _ := b.do(t, ins[i%2], http.MethodPost, "/saml/acs", forms[i])
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, b := range browsers {
		if codes[i] != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d", i, codes[i])
		}
		if resp, _ := b.do(t, ins[(i+1)%2], http.MethodGet, "/", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in %d: not signed in (%d)", i, resp.StatusCode)
		}
	}

	u, _, err := testIdP(t).LogoutRequestURL(appBaseURL+"/saml/logout", user.UPN, "", true)
	if err != nil {
		t.Fatal(err)
	}
	lr, _ := url.Parse(u)
	if resp, body := newBrowser().do(t, ins[0], http.MethodGet, lr.Path+"?"+lr.RawQuery, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the IdP's LogoutRequest: %d %s", resp.StatusCode, body)
	}
	for i, b := range browsers {
		for _, in := range ins {
			if resp, _ := b.do(t, in, http.MethodGet, "/", nil); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("session %d of %d survived the IdP's logout at %s: %d", i+1, n, in.name, resp.StatusCode)
			}
		}
	}
}
