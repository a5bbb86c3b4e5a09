package main

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// redisURL returns the Redis to test against: $REDIS_URL (CI starts one),
// else a private redis-server on a free loopback port. Without either the
// test is skipped, except on CI.
func redisURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is needed on CI: %v", err)
		}
		t.Skipf("skipping: no redis-server (apt-get install redis-server): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "redis://" + addr + "/0"
		}
	}
	t.Fatal("redis-server did not start")
	return ""
}

// Two instances behind one load balancer (same root URL and entity ID)
// with -redis and the same -session-key: a sign-in on one is a session on
// the other, and signing out on one ends it on both, for a copied cookie
// too.
func TestSharedRedis(t *testing.T) {
	t.Parallel()
	rurl := redisURL(t)
	idp, md := newIdP(t)
	key := strings.Repeat("fedcba9876543210", 4)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-redis", rurl)
	b := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-redis", rurl, "-root-url", a.root)

	br := browser()
	resp, _ := get(t, br, a.root+"/")
	req := requireIdPRedirect(t, resp, idp.SignOnURL())
	s, err := idp.Response(req.Response(adele))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := a.acs(t, br, s, req.RelayState); !isRedirect(resp.StatusCode) {
		t.Fatalf("ACS: %d\n%s", resp.StatusCode, body)
	}
	// The cookie jar sends 127.0.0.1's cookies to every port.
	if resp, body := get(t, br, "http://"+b.addr+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "demo:"+adele.ObjectID) {
		t.Fatalf("instance b: %d", resp.StatusCode)
	}
	// The same response posted to b is a replay.
	if resp, _ := b.acs(t, browser(), s, req.RelayState); resp.StatusCode != http.StatusForbidden {
		t.Errorf("replay on b: %d, want 403", resp.StatusCode)
	}

	copied := browser()
	for _, c := range br.Jar.Cookies(mustURL(t, a.root)) {
		copied.Jar.SetCookies(mustURL(t, a.root), []*http.Cookie{c})
	}
	signOut(t, br, a.root, idp)
	resp, _ = get(t, copied, "http://"+b.addr+"/")
	requireIdPRedirect(t, resp, idp.SignOnURL())
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
