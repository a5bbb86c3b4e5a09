package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// Two instances behind one load balancer (same root URL and entity ID)
// with -redis and the same -session-key: a sign-in on one is a session on
// the other, and signing out on one ends it on both, for a copied cookie
// too.
func TestSharedRedis(t *testing.T) {
	t.Parallel()
	rurl := apptest.RedisURL(t)
	idp, md := newIdP(t)
	key := strings.Repeat("fedcba9876543210", 4)
	a := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-redis", rurl)
	b := startApp(t, "127.0.0.1", "-metadata", md, "-session-key", key, "-redis", rurl, "-root-url", a.root)

	br := apptest.Browser()
	resp, _ := apptest.Get(t, br, a.root+"/")
	req := requireIdPRedirect(t, resp, idp.SignOnURL())
	s, err := idp.Response(req.Response(adele))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := a.acs(t, br, s, req.RelayState); !apptest.IsRedirect(resp.StatusCode) {
		t.Fatalf("ACS: %d\n%s", resp.StatusCode, body)
	}
	// The cookie jar sends 127.0.0.1's cookies to every port.
	if resp, body := apptest.Get(t, br, "http://"+b.addr+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "demo:"+adele.ObjectID) {
		t.Fatalf("instance b: %d", resp.StatusCode)
	}
	// The same response posted to b is a replay.
	if resp, _ := b.acs(t, apptest.Browser(), s, req.RelayState); resp.StatusCode != http.StatusForbidden {
		t.Errorf("replay on b: %d, want 403", resp.StatusCode)
	}

	copied := apptest.Browser()
	for _, c := range br.Jar.Cookies(mustURL(t, a.root)) {
		copied.Jar.SetCookies(mustURL(t, a.root), []*http.Cookie{c})
	}
	signOut(t, br, a.root, idp)
	resp, _ = apptest.Get(t, copied, "http://"+b.addr+"/")
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
