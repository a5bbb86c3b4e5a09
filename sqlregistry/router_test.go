package sqlregistry_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
)

// propagationBound is the promise: a change written through one
// instance is served by every other within 2 s.
const propagationBound = 2 * time.Second

// instance is one app server of a fleet: its own registry connection,
// Cache (following the registry's Watch) and Router.
type instance struct {
	reg    *sqlregistry.Registry
	cache  *tenants.Cache
	router *tenants.Router
}

// fleet is what the instances of one vendor share besides the database:
// the Store and the session keys.
type fleet struct {
	tmpl entrasaml.Config
}

func newFleet() *fleet {
	key := make([]byte, entrasaml.SessionKeySize)
	rand.Read(key)
	quiet := slog.New(slog.DiscardHandler)
	return &fleet{tmpl: entrasaml.Config{Store: entrasaml.NewMemoryStore(time.Now), SessionKeys: [][]byte{key}, Logger: quiet}}
}

func (f *fleet) instance(t testing.TB, dsn string) *instance {
	t.Helper()
	return f.instanceWith(t, dsn, sqlregistry.Options{})
}

func (f *fleet) instanceWith(t testing.TB, dsn string, opts sqlregistry.Options) *instance {
	t.Helper()
	reg := open(t, dsn, opts)
	in := &instance{reg: reg, cache: &tenants.Cache{Registry: reg, Template: f.tmpl}}
	in.router = &tenants.Router{Resolve: in.cache.Resolve, Logger: f.tmpl.Logger}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.cache.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !in.cache.Stats().Watching {
		if time.Now().After(deadline) {
			t.Fatal("the Cache is not watching the registry")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return in
}

// get asks the instance for host's SP metadata, as a browser or Entra would.
func (in *instance) get(host string) (int, string) {
	r := httptest.NewRequest(http.MethodGet, "https://"+host+"/saml/metadata", nil)
	w := httptest.NewRecorder()
	in.router.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

// waitFor polls in until host answers status with a body containing
// substr (when not ""), and fails the test if that takes longer than
// bound from start. It returns how long it took.
func (in *instance) waitFor(t *testing.T, start time.Time, bound time.Duration, host string, status int, substr string) time.Duration {
	t.Helper()
	for {
		code, body := in.get(host)
		if code == status && strings.Contains(body, substr) {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: still %d after %v, want %d with %q", host, code, bound, status, substr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func customerOf(t testing.TB, key string) tenants.Customer {
	idp, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tenants.Customer{Key: key, EntityID: "https://" + key + "/sp", BaseURL: "https://" + key,
		Metadata: idp.Metadata(), Enabled: true}
}

// Two instances on one database: a customer added, replaced, disabled,
// enabled again and removed through either is served accordingly by the
// other within 2 s.
func TestTwoRouters(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			f := newFleet()
			one, two := f.instance(t, dsn), f.instance(t, dsn)
			ctx := testCtx(t)
			var worst time.Duration
			step := func(name string, writer, reader *instance, write func() error, host string, status int, substr string) {
				t.Helper()
				if err := write(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				d := reader.waitFor(t, time.Now(), propagationBound, host, status, substr)
				worst = max(worst, d)
				t.Logf("%-26s served by the other instance after %v", name, d.Round(100*time.Microsecond))
			}

			acme := customerOf(t, "acme.example")
			if code, _ := two.get(acme.Key); code != http.StatusNotFound {
				t.Fatalf("unknown customer: %d, want 404", code)
			}
			step("add", one, two, func() (err error) { acme.Version, err = one.reg.Put(ctx, acme); return }, acme.Key, 200, acme.EntityID)
			// The reader's Cache now holds acme: a replacement must reach it.
			acme.EntityID = "urn:acme:replaced"
			step("replace", one, two, func() (err error) { acme.Version, err = one.reg.Put(ctx, acme); return }, acme.Key, 200, "urn:acme:replaced")
			step("disable", one, two, func() (err error) { acme.Version, err = one.reg.Disable(ctx, acme.Key); return }, acme.Key, 404, "")
			acme.Enabled = true
			step("enable", one, two, func() (err error) { acme.Version, err = one.reg.Put(ctx, acme); return }, acme.Key, 200, "urn:acme:replaced")
			step("remove", one, two, func() error { return one.reg.Delete(ctx, acme.Key) }, acme.Key, 404, "")

			// And the other way round.
			globex := customerOf(t, "globex.example")
			step("add (other way)", two, one, func() (err error) { globex.Version, err = two.reg.Put(ctx, globex); return }, globex.Key, 200, globex.EntityID)
			step("disable (other way)", two, one, func() (err error) { _, err = two.reg.Disable(ctx, globex.Key); return }, globex.Key, 404, "")
			t.Logf("slowest propagation on %s: %v", b.name, worst.Round(100*time.Microsecond))
		})
	}
}

// A registry that cannot be reached: the customers of the instance that
// lost it get 503 (known and unknown hosts alike: it cannot tell them
// apart), never a stale SP past the bound nor a 404; when the database is
// back, they are served again.
func TestRegistryDown(t *testing.T) {
	t.Parallel()
	// The bound: Watch notices within PollInterval plus its 1 s query
	// timeout (at once here: the proxy resets the connections), the Cache
	// then serves a cached SP for at most MaxStale.
	const outageBound = 2*sqlregistry.DefaultPollInterval + tenants.DefaultMaxStale + propagationBound

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := postgresURL(t)
		p := newProxy(t, dsn)
		f := newFleet()
		direct, behind := f.instance(t, dsn), f.instance(t, p.dsn)
		ctx := testCtx(t)
		c := customerOf(t, "acme.example")
		if _, err := direct.reg.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		behind.waitFor(t, time.Now(), propagationBound, c.Key, 200, c.EntityID)

		p.cut()
		d := behind.waitFor(t, time.Now(), outageBound, c.Key, 503, "")
		t.Logf("503 after %v without the database", d.Round(time.Millisecond))
		if code, _ := behind.get("unknown.example"); code != 503 {
			t.Errorf("unknown host during the outage: %d, want 503", code)
		}
		if code, _ := direct.get(c.Key); code != 200 {
			t.Errorf("the instance that still reaches the database: %d, want 200", code)
		}
		// A change made during the outage is served once it is over.
		if _, err := direct.reg.Disable(ctx, c.Key); err != nil {
			t.Fatal(err)
		}
		p.restore()
		behind.waitFor(t, time.Now(), outageBound, c.Key, 404, "")
	})

	// A partition: the database stops answering, without resets. Each
	// Lookup then waits for LookupTimeout (short here) before the 503.
	t.Run("postgres-partition", func(t *testing.T) {
		t.Parallel()
		dsn := postgresURL(t)
		p := newProxy(t, dsn)
		f := newFleet()
		const lookupTimeout = 300 * time.Millisecond
		direct, behind := f.instance(t, dsn), f.instanceWith(t, p.dsn, sqlregistry.Options{LookupTimeout: lookupTimeout})
		c := customerOf(t, "acme.example")
		if _, err := direct.reg.Put(testCtx(t), c); err != nil {
			t.Fatal(err)
		}
		behind.waitFor(t, time.Now(), propagationBound, c.Key, 200, c.EntityID)
		p.freeze()
		d := behind.waitFor(t, time.Now(), outageBound+lookupTimeout+time.Second, c.Key, 503, "")
		t.Logf("503 after %v of silence from the database", d.Round(time.Millisecond))
		p.restore()
	})

	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dsn := sqlitePath(t)
		f := newFleet()
		one, two := f.instance(t, dsn), f.instance(t, dsn)
		ctx := testCtx(t)
		c := customerOf(t, "acme.example")
		if _, err := one.reg.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		two.waitFor(t, time.Now(), propagationBound, c.Key, 200, c.EntityID)
		two.reg.Close() // its pool is gone: every query fails
		d := two.waitFor(t, time.Now(), outageBound, c.Key, 503, "")
		t.Logf("503 after %v without the database", d.Round(time.Millisecond))
		if code, _ := two.get("unknown.example"); code != 503 {
			t.Errorf("unknown host during the outage: %d, want 503", code)
		}
		if code, _ := one.get(c.Key); code != 200 {
			t.Errorf("the other instance: %d, want 200", code)
		}
	})
}

// proxy forwards loopback TCP connections to the PostgreSQL server, and
// can cut them all (a database that went away) and let new ones through
// again.
type proxy struct {
	dsn    string
	ln     net.Listener
	target string
	down   atomic.Bool
	frozen atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, dsn string) *proxy {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	u.Host = ln.Addr().String()
	p.dsn = u.String()
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go func() { p.pipe(s, c); s.Close(); c.Close() }()
		go func() { p.pipe(c, s); s.Close(); c.Close() }()
	}
}

func (p *proxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() { p.down.Store(false); p.frozen.Store(false) }

// freeze makes the open connections a black hole (a network partition:
// no reset, no answer) until restore.
func (p *proxy) freeze() { p.frozen.Store(true) }

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
