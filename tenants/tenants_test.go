package tenants_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// Customers of the vendor each have their own Entra tenant. RSA key
// generation is slow, so the fake tenants draw their keys from a pool.
var (
	poolOnce sync.Once
	poolKeys []*entratest.Key
	poolErr  error
)

const poolSize = 5

// tenantIdP returns a new fake Entra tenant (its own tenant and app id)
// signing with pool key i: tenants with different i have different keys.
func tenantIdP(t testing.TB, i int) *entratest.IdP {
	t.Helper()
	poolOnce.Do(func() {
		for range poolSize {
			k, err := entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0))
			if err != nil {
				poolErr = err
				return
			}
			poolKeys = append(poolKeys, k)
		}
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	idp, err := entratest.New(entratest.Options{Key: poolKeys[i%poolSize], Now: func() time.Time { return fxNow }})
	if err != nil {
		t.Fatal(err)
	}
	return idp
}

// Shared by every SP of a vendor, as the Tenants documentation advises.
var (
	vendorStore = entrasaml.NewMemoryStore(func() time.Time { return fxNow })
	vendorKeys  = [][]byte{bytes.Repeat([]byte{7}, entrasaml.SessionKeySize)}
)

// customerSP returns the SP of a customer whose app lives at baseURL and
// whose Entra tenant is idp, sharing the vendor's Store and SessionKeys.
func customerSP(t testing.TB, idp *entratest.IdP, baseURL string, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	cfg := entrasaml.Config{
		EntityID:    baseURL + "/saml",
		BaseURL:     baseURL,
		Metadata:    idp.Metadata(),
		Now:         func() time.Time { return fxNow },
		Store:       vendorStore,
		SessionKeys: vendorKeys,
		Logger:      quietLogger,
	}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// vendorApp is the vendor's handler tree in host mode: SAML endpoints and
// a protected page that says who is signed in to which customer.
func vendorApp(tn *tenants.Router) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/saml/", tn)
	mux.Handle("/", tn.RequireAccount(http.HandlerFunc(whoAmI)))
	return mux
}

func whoAmI(w http.ResponseWriter, r *http.Request) {
	s, _ := entrasaml.SessionFromContext(r.Context())
	sp, _ := tenants.SPFromContext(r.Context())
	fmt.Fprintf(w, "customer=%s user=%s tenant=%s", sp.EntityID(), s.NameID, s.TenantID)
}

// handlerTransport serves a client's requests with h in-process, so that
// any host name reaches h and a cookie jar keeps each host's cookies apart,
// as a browser does.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sreq := req.Clone(req.Context())
	sreq.URL, _ = url.ParseRequestURI(req.URL.RequestURI())
	sreq.RequestURI = req.URL.RequestURI()
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// tenantBrowser is a cookie-keeping client of the vendor app that does not
// follow redirects.
type tenantBrowser struct {
	t *testing.T
	c *http.Client
}

func newTenantBrowser(t *testing.T, h http.Handler) *tenantBrowser {
	jar, _ := cookiejar.New(nil)
	return &tenantBrowser{t: t, c: &http.Client{Jar: jar, Transport: handlerTransport{h},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *tenantBrowser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *tenantBrowser) get(u string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

func (b *tenantBrowser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// startSignIn opens page, which must redirect to idp, and returns the
// AuthnRequest it carries.
func (b *tenantBrowser) startSignIn(page string, idp *entratest.IdP) *entratest.AuthnRequest {
	b.t.Helper()
	resp, body := b.get(page)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, idp.SignOnURL()+"?") {
		b.t.Fatalf("GET %s: %d %q, want a redirect to %s: %s", page, resp.StatusCode, loc, idp.SignOnURL(), body)
	}
	u, _ := url.Parse(loc)
	req, err := entratest.ParseAuthnRequest(u.Query())
	if err != nil {
		b.t.Fatal(err)
	}
	return req
}

// answer posts idp's response to req, for user, to req's ACS.
func (b *tenantBrowser) answer(idp *entratest.IdP, req *entratest.AuthnRequest, user string) (*http.Response, string) {
	b.t.Helper()
	resp, err := idp.Response(req.Response(entratest.User{ObjectID: "oid-" + user, UPN: user}))
	if err != nil {
		b.t.Fatal(err)
	}
	return b.post(req.ACSURL, url.Values{"SAMLResponse": {resp}, "RelayState": {req.RelayState}})
}

// signIn signs user in to the customer at page, through idp.
func (b *tenantBrowser) signIn(page string, idp *entratest.IdP, user string) {
	b.t.Helper()
	resp, body := b.answer(idp, b.startSignIn(page, idp), user)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("ACS: %d %s", resp.StatusCode, body)
	}
}

func TestTenantsHostRouting(t *testing.T) {
	t.Parallel()
	acmeIdP, globexIdP := tenantIdP(t, 0), tenantIdP(t, 1)
	var dir tenants.HostDirectory
	acme := customerSP(t, acmeIdP, "https://acme.vendor.example", nil)
	globex := customerSP(t, globexIdP, "https://globex.vendor.example", nil)
	dir.Set("acme.vendor.example", acme)
	dir.Set("Globex.Vendor.Example", globex)
	app := vendorApp(&tenants.Router{Resolve: dir.Resolve})

	// One browser signs in to both customers, each through its own tenant.
	b := newTenantBrowser(t, app)
	b.signIn("https://acme.vendor.example/orders", acmeIdP, "adele@acme.example")
	b.signIn("https://globex.vendor.example/", globexIdP, "megan@globex.example")
	for _, tc := range []struct{ url, want string }{
		{"https://acme.vendor.example/orders", "customer=https://acme.vendor.example/saml user=adele@acme.example tenant=" + acmeIdP.TenantID()},
		{"https://globex.vendor.example/x", "customer=https://globex.vendor.example/saml user=megan@globex.example tenant=" + globexIdP.TenantID()},
		{"https://ACME.vendor.example./orders", "customer=https://acme.vendor.example/saml user=adele@acme.example"},
	} {
		if resp, body := b.get(tc.url); resp.StatusCode != 200 || !strings.HasPrefix(body, tc.want) {
			t.Errorf("GET %s: %d %q, want %q", tc.url, resp.StatusCode, body, tc.want)
		}
	}
	for _, host := range []string{"acme.vendor.example", "globex.vendor.example"} {
		resp, body := b.get("https://" + host + "/saml/metadata")
		if resp.StatusCode != 200 || !strings.Contains(body, `entityID="https://`+host+`/saml"`) {
			t.Errorf("%s metadata: %d %s", host, resp.StatusCode, body)
		}
	}

	// Hosts are matched without port and case; an unknown host is a 404
	// page for every method, never a redirect.
	for _, tc := range []struct {
		host string
		want int
	}{
		{"acme.vendor.example:8443", http.StatusOK},
		{"ACME.VENDOR.EXAMPLE", http.StatusOK},
		{"initech.vendor.example", http.StatusNotFound},
		{"vendor.example", http.StatusNotFound},
		{"acme.vendor.example.evil.example", http.StatusNotFound},
		{"", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, "/saml/metadata", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("host %q: %d, want %d", tc.host, rec.Code, tc.want)
		}
	}
	tn := &tenants.Router{Resolve: dir.Resolve}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("next ran for an unknown host") })
	for name, h := range map[string]http.Handler{"ServeHTTP": tn, "RequireAccount": tn.RequireAccount(next), "LoadSession": tn.LoadSession(next)} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			req := httptest.NewRequest(m, "https://initech.vendor.example/saml/acs", strings.NewReader("SAMLResponse=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "no application at this address") {
				t.Errorf("%s %s unknown host: %d %q %s", name, m, rec.Code, rec.Header().Get("Location"), rec.Body)
			}
		}
	}

	// LoadSession: the SP is in the context with or without a session.
	h := tn.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp, _ := tenants.SPFromContext(r.Context())
		_, signedIn := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "%s %v", sp.EntityID(), signedIn)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://globex.vendor.example/", nil))
	if rec.Body.String() != "https://globex.vendor.example/saml false" {
		t.Errorf("LoadSession without a session: %s", rec.Body)
	}
}

func TestTenantsResolverError(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	tn := &tenants.Router{Logger: logger, Resolve: func(r *http.Request) (*entrasaml.SP, error) {
		return nil, fmt.Errorf("customers database: connection refused")
	}}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("next ran") })
	for _, h := range []http.Handler{tn, tn.RequireAccount(next), tn.LoadSession(next), &tenants.Router{Logger: logger}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://acme.vendor.example/saml/metadata", nil))
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" ||
			strings.Contains(body, "database") || !strings.Contains(body, "Reference:") {
			t.Errorf("resolver error: %d %s", rec.Code, body)
		}
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "correlation_id=") ||
		!strings.Contains(logs.String(), "Router.Resolve is nil") {
		t.Errorf("log: %s", logs.String())
	}
}

// Path mode: https://vendor.example/acme is one customer's BaseURL; the SP
// strips its own prefix, so the same Tenants serves /acme/saml/acs.
func TestTenantsPathPrefix(t *testing.T) {
	t.Parallel()
	acmeIdP, globexIdP := tenantIdP(t, 0), tenantIdP(t, 1)
	var dir tenants.PathDirectory
	dir.Set("acme", customerSP(t, acmeIdP, "https://vendor.example/acme", nil))
	dir.Set("/globex/", customerSP(t, globexIdP, "https://vendor.example/globex", nil))
	tn := &tenants.Router{Resolve: dir.Resolve}
	mux := http.NewServeMux()
	mux.Handle("/{customer}/saml/", tn)
	mux.Handle("/{customer}/", tn.RequireAccount(http.HandlerFunc(whoAmI)))

	b := newTenantBrowser(t, mux)
	req := b.startSignIn("https://vendor.example/acme/orders?id=7", acmeIdP)
	if req.ACSURL != "https://vendor.example/acme/saml/acs" {
		t.Fatalf("ACS %s", req.ACSURL)
	}
	resp, body := b.answer(acmeIdP, req, "adele@acme.example")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/acme/orders?id=7" {
		t.Fatalf("ACS: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := b.get("https://vendor.example/acme/orders?id=7"); resp.StatusCode != 200 || !strings.Contains(body, "customer=https://vendor.example/acme/saml") {
		t.Fatalf("acme page: %d %s", resp.StatusCode, body)
	}
	// The same browser is not signed in to /globex: the acme cookie is
	// scoped to /acme, and even sent to /globex it opens nothing there.
	b.startSignIn("https://vendor.example/globex/", globexIdP)
	u, _ := url.Parse("https://vendor.example/acme/")
	r := httptest.NewRequest(http.MethodGet, "https://vendor.example/globex/", nil)
	for _, c := range b.c.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), globexIdP.SignOnURL()) {
		t.Errorf("acme cookie at /globex: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	b.signIn("https://vendor.example/globex/", globexIdP, "megan@globex.example")
	if _, body := b.get("https://vendor.example/globex/"); !strings.Contains(body, "user=megan@globex.example") {
		t.Errorf("globex page: %s", body)
	}

	for _, p := range []string{"/initech/saml/metadata", "/initech/", "/ACME/saml/metadata", "/acmecorp/saml/metadata"} {
		if resp, _ := b.get("https://vendor.example" + p); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, body := b.get("https://vendor.example/globex/saml/metadata"); resp.StatusCode != 200 || !strings.Contains(body, "/globex/saml/acs") {
		t.Errorf("globex metadata: %d %s", resp.StatusCode, body)
	}
	dir.Delete("globex")
	if resp, _ := b.get("https://vendor.example/globex/"); resp.StatusCode != http.StatusNotFound || dir.Len() != 1 || dir.Get("globex") != nil {
		t.Errorf("deleted customer: %d, %d left", resp.StatusCode, dir.Len())
	}
}

func TestHostDirectory(t *testing.T) {
	t.Parallel()
	idp := tenantIdP(t, 0)
	a := customerSP(t, idp, "https://acme.vendor.example", nil)
	v6 := customerSP(t, idp, "https://[2001:db8::1]", nil)
	var d tenants.HostDirectory
	d.Set("ACME.vendor.example:443", a)
	d.Set("[2001:DB8::1]:8443", v6)
	d.Set("", a) // matches nothing
	for host, want := range map[string]*entrasaml.SP{
		"acme.vendor.example": a, "Acme.Vendor.Example.": a, "acme.vendor.example:80": a,
		"[2001:db8::1]": v6, "2001:db8::1": v6, "[2001:db8::1]:443": v6,
		"": nil, "vendor.example": nil, "acme.vendor.example.evil": nil, "cme.vendor.example": nil,
	} {
		if got := d.Get(host); got != want {
			t.Errorf("Get(%q) = %v, want %v", host, got, want)
		}
	}
	if d.Len() != 2 {
		t.Errorf("Len %d", d.Len())
	}
	d.Set("acme.vendor.example", nil)
	d.Delete("[2001:db8::1]")
	if d.Len() != 0 || d.Get("acme.vendor.example") != nil {
		t.Error("Delete")
	}
	// X-Forwarded-Host is never trusted.
	d.Set("acme.vendor.example", a)
	r := httptest.NewRequest(http.MethodGet, "https://evil.example/", nil)
	r.Header.Set("X-Forwarded-Host", "acme.vendor.example")
	if sp, err := d.Resolve(r); sp != nil || err != nil {
		t.Errorf("X-Forwarded-Host resolved to %v, %v", sp, err)
	}
}

func TestSPFromContext(t *testing.T) {
	t.Parallel()
	if _, ok := tenants.SPFromContext(context.Background()); ok {
		t.Error("SP in an empty context")
	}
}
