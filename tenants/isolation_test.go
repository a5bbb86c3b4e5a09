package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/tenants"
)

// A response from customer A's tenant is refused at customer B, even though
// it is validly signed (by A's tenant): A's administrator controls A's
// tenant and can make it say anything, B's Audience and ACS included.
func TestIsolationForeignTenantResponse(t *testing.T) {
	t.Parallel()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	spA := customerSP(t, idpA, "https://acme.vendor.example", nil)
	spB := customerSP(t, idpB, "https://globex.vendor.example", nil)
	// Two customers sharing one Entra tenant and application (one IdP):
	// only the SP's own Destination and Audience tell them apart.
	spShared := customerSP(t, idpA, "https://initech.vendor.example", nil)

	forA := entratest.Response{ACSURL: spA.ACSURL(), Audience: spA.EntityID(), InResponseTo: fxRequestID, User: adele()}
	tests := []struct {
		name string
		idp  *entratest.IdP
		resp func() entratest.Response
		sp   *entrasaml.SP
		want error
	}{
		{"B's own response (control)", idpB, func() entratest.Response {
			return entratest.Response{ACSURL: spB.ACSURL(), Audience: spB.EntityID(), InResponseTo: fxRequestID, User: adele()}
		}, spB, nil},
		{"A's response posted to B", idpA, func() entratest.Response { return forA }, spB, entrasaml.ErrUnknownSigner},
		{"A's tenant forges a response for B", idpA, func() entratest.Response {
			return entratest.Response{ACSURL: spB.ACSURL(), Audience: spB.EntityID(), InResponseTo: fxRequestID, User: adele(),
				Issuer: idpB.EntityID(), Sign: entratest.SignBoth}
		}, spB, entrasaml.ErrUnknownSigner},
		{"shared tenant: A's response posted to the other customer", idpA, func() entratest.Response { return forA }, spShared, entrasaml.ErrDestinationMismatch},
		{"shared tenant: addressed to the other customer, for A's Identifier", idpA, func() entratest.Response {
			r := forA
			r.ACSURL = spShared.ACSURL()
			return r
		}, spShared, entrasaml.ErrAudienceMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := tt.idp.Response(tt.resp())
			if err != nil {
				t.Fatal(err)
			}
			_, err = tt.sp.Verify(context.Background(), resp, fxRequestID)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			assertOneSentinel(t, err)
		})
	}

	// Over HTTP, through Tenants: B's ACS answers 403 and starts no session,
	// although the browser has a sign-in to B pending.
	var dir tenants.HostDirectory
	dir.Set("acme.vendor.example", spA)
	dir.Set("globex.vendor.example", spB)
	b := newTenantBrowser(t, vendorApp(&tenants.Router{Resolve: dir.Resolve}))
	reqB := b.startSignIn("https://globex.vendor.example/", idpB)
	forged, _ := idpA.Response(entratest.Response{ACSURL: spB.ACSURL(), Audience: spB.EntityID(),
		InResponseTo: reqB.ID, User: adele(), Issuer: idpB.EntityID()})
	resp, _ := b.post(spB.ACSURL(), url.Values{"SAMLResponse": {forged}, "RelayState": {reqB.RelayState}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("A's forged response at B's ACS: %d", resp.StatusCode)
	}
	if resp, _ := b.get("https://globex.vendor.example/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("signed in to B by A's tenant: %d", resp.StatusCode)
	}
}

// A session cookie (or a pending-request cookie) of customer A is nothing
// at customer B, although all SPs share one Store and one set of
// SessionKeys: each cookie is sealed for its own SP.
func TestIsolationCookies(t *testing.T) {
	t.Parallel()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	var dir tenants.HostDirectory
	dir.Set("acme.vendor.example", customerSP(t, idpA, "https://acme.vendor.example", nil))
	dir.Set("globex.vendor.example", customerSP(t, idpB, "https://globex.vendor.example", nil))
	app := vendorApp(&tenants.Router{Resolve: dir.Resolve})
	b := newTenantBrowser(t, app)
	b.signIn("https://acme.vendor.example/", idpA, "adele@acme.example")
	acmeURL, _ := url.Parse("https://acme.vendor.example/")
	stolen := b.c.Jar.Cookies(acmeURL)
	if len(stolen) == 0 {
		t.Fatal("no session cookie at A")
	}
	// A sibling host cannot plant or overwrite a __Host- cookie.
	if !slices.ContainsFunc(stolen, func(c *http.Cookie) bool { return c.Name == "__Host-entrasaml_session" }) {
		t.Errorf("A's cookies %v: no __Host-entrasaml_session", stolen)
	}

	// The browser would never send A's host-only cookie to B; send it anyway.
	serve := func(method, target string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		return rec
	}
	rec := serve(http.MethodGet, "https://globex.vendor.example/", stolen)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), idpB.SignOnURL()+"?") {
		t.Errorf("A's session cookie at B: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// Signing out at B with A's cookie does not end A's session.
	serve(http.MethodPost, "https://globex.vendor.example/saml/logout", stolen)
	if rec := serve(http.MethodGet, "https://acme.vendor.example/", stolen); rec.Code != http.StatusOK {
		t.Errorf("A's session after a sign-out at B: %d", rec.Code)
	}

	// A's pending sign-in cookie does not make B accept a response that
	// answers A's request, even one B's own tenant signed.
	fresh := newTenantBrowser(t, app)
	reqA := fresh.startSignIn("https://acme.vendor.example/x", idpA)
	acsA, _ := url.Parse("https://acme.vendor.example/saml/acs")
	spB := dir.Get("globex.vendor.example")
	resp, _ := idpB.Response(entratest.Response{ACSURL: spB.ACSURL(), Audience: spB.EntityID(), InResponseTo: reqA.ID, User: adele()})
	r := httptest.NewRequest(http.MethodPost, spB.ACSURL(), strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	pending := fresh.c.Jar.Cookies(acsA)
	if len(pending) == 0 {
		t.Fatal("no pending-request cookie at A")
	}
	for _, c := range pending {
		r.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("B's response to A's request with A's pending cookie: %d", rec.Code)
	}
	// Control: at A, the same cookie makes A's own answer acceptable.
	if resp, _ := fresh.answer(idpA, reqA, "adele@acme.example"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("A's answer at A: %d", resp.StatusCode)
	}
}

// A's replay cache cannot affect B: the same assertion ID in both tenants'
// responses is accepted once by each, with one shared Store.
func TestIsolationReplayCache(t *testing.T) {
	t.Parallel()
	store := entrasaml.NewMemoryStore(func() time.Time { return fxNow })
	shared := func(c *entrasaml.Config) { c.Store = store }
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	spA := customerSP(t, idpA, "https://acme.vendor.example", shared)
	spB := customerSP(t, idpB, "https://globex.vendor.example", shared)
	spC := customerSP(t, idpA, "https://initech.vendor.example", shared) // same tenant as A
	const id = "_11111111-2222-4333-8444-555555555555"
	for _, tc := range []struct {
		idp *entratest.IdP
		sp  *entrasaml.SP
	}{{idpA, spA}, {idpB, spB}, {idpA, spC}} {
		resp, err := tc.idp.Response(entratest.Response{ACSURL: tc.sp.ACSURL(), Audience: tc.sp.EntityID(),
			InResponseTo: fxRequestID, User: adele(), AssertionID: id, ResponseID: id + "r"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.sp.Verify(context.Background(), resp, fxRequestID); err != nil {
			t.Errorf("%s: first use refused: %v", tc.sp.EntityID(), err)
		}
		if _, err := tc.sp.Verify(context.Background(), resp, fxRequestID); !errors.Is(err, entrasaml.ErrReplay) {
			t.Errorf("%s: second use: %v, want ErrReplay", tc.sp.EntityID(), err)
		}
	}
}

// One customer's unreachable metadata URL neither slows nor breaks the
// others: customer C's refresh hangs (and customer D is being added from a
// URL that hangs) while A signs in and B serves pages.
func TestIsolationBrokenMetadataURL(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	fetching := make(chan struct{}, 8)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetching <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hang.Close)
	releaseAll := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseAll) // before hang.Close: cleanups run last-in first-out

	idpA, idpB, idpC := tenantIdP(t, 0), tenantIdP(t, 1), tenantIdP(t, 2)
	clockC := &clock{now: fxNow}
	var dir tenants.HostDirectory
	dir.Set("acme.vendor.example", customerSP(t, idpA, "https://acme.vendor.example", nil))
	dir.Set("globex.vendor.example", customerSP(t, idpB, "https://globex.vendor.example", nil))
	dir.Set("initech.vendor.example", customerSP(t, idpC, "https://initech.vendor.example", func(c *entrasaml.Config) {
		c.MetadataURL = hang.URL + "/" + idpC.TenantID() + "/federationmetadata/2007-06/federationmetadata.xml?appid=" + idpC.AppID()
		c.Now = clockC.Now
	}))
	app := vendorApp(&tenants.Router{Resolve: dir.Resolve})
	clockC.Advance(25 * time.Hour) // C's metadata is now stale: its next response refreshes it

	// C's ACS blocks in the refresh.
	cDone := make(chan int)
	go func() {
		resp, _ := idpC.Response(entratest.Response{ACSURL: "https://initech.vendor.example/saml/acs",
			Audience: "https://initech.vendor.example/saml", User: adele()})
		r := httptest.NewRequest(http.MethodPost, "https://initech.vendor.example/saml/acs",
			strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		cDone <- rec.Code
	}()
	<-fetching
	// D is being onboarded from a URL that hangs.
	dDone := make(chan error)
	go func() {
		_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: "https://d.vendor.example/saml",
			BaseURL: "https://d.vendor.example", MetadataURL: hang.URL + "/d/federationmetadata/2007-06/federationmetadata.xml", Logger: quietLogger})
		dDone <- err
	}()
	<-fetching

	b := newTenantBrowser(t, app)
	b.signIn("https://acme.vendor.example/", idpA, "adele@acme.example")
	if resp, body := b.get("https://acme.vendor.example/"); resp.StatusCode != 200 || !strings.Contains(body, "user=adele@acme.example") {
		t.Errorf("A while C's metadata hangs: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.get("https://globex.vendor.example/saml/metadata"); resp.StatusCode != 200 {
		t.Errorf("B while C's metadata hangs: %d", resp.StatusCode)
	}
	select {
	case code := <-cDone:
		t.Fatalf("C's request finished (%d) before its metadata server answered: the test proves nothing", code)
	case err := <-dDone:
		t.Fatalf("New for D returned (%v) before its metadata server answered", err)
	default:
	}
	releaseAll()
	<-cDone
	if err := <-dDone; !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("New for D: %v, want ErrMetadata", err)
	}
}

// Customers are added, replaced and removed while many requests run. Every
// answer is the right customer's or a 404; a replaced SP (new metadata,
// same EntityID, BaseURL, Store and keys) keeps its users signed in.
func TestTenantsConcurrentChanges(t *testing.T) {
	t.Parallel()
	idpA, idpB := tenantIdP(t, 0), tenantIdP(t, 1)
	acme := []*entrasaml.SP{
		customerSP(t, idpA, "https://acme.vendor.example", nil),
		customerSP(t, idpA, "https://acme.vendor.example", nil),
	}
	globex := customerSP(t, idpB, "https://globex.vendor.example", nil)
	var dir tenants.HostDirectory
	dir.Set("acme.vendor.example", acme[0])
	dir.Set("globex.vendor.example", globex)
	app := vendorApp(&tenants.Router{Resolve: dir.Resolve})
	b := newTenantBrowser(t, app)
	b.signIn("https://acme.vendor.example/", idpA, "adele@acme.example")
	acmeURL, _ := url.Parse("https://acme.vendor.example/")
	cookies := b.c.Jar.Cookies(acmeURL)

	stop := make(chan struct{})
	var mutator sync.WaitGroup
	mutator.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				dir.Set("acme.vendor.example", acme[0])
				return
			default:
			}
			runtime.Gosched()
			switch i % 4 {
			case 0, 2:
				dir.Set("acme.vendor.example", acme[i/2%2])
			case 1:
				dir.Delete("acme.vendor.example")
			case 3:
				dir.Set(fmt.Sprintf("c%d.vendor.example", i%50), globex)
				dir.Delete(fmt.Sprintf("c%d.vendor.example", (i+25)%50))
			}
		}
	})
	var clients sync.WaitGroup
	for g := range 8 {
		clients.Go(func() {
			for i := range 40 {
				var r *http.Request
				var want string
				switch (g + i) % 3 {
				case 0:
					r, want = httptest.NewRequest(http.MethodGet, "https://acme.vendor.example/page", nil), "customer=https://acme.vendor.example/saml user=adele@acme.example"
					for _, c := range cookies {
						r.AddCookie(c)
					}
				case 1:
					r, want = httptest.NewRequest(http.MethodGet, "https://acme.vendor.example/saml/metadata", nil), `entityID="https://acme.vendor.example/saml"`
				case 2:
					r, want = httptest.NewRequest(http.MethodGet, "https://globex.vendor.example/saml/metadata", nil), `entityID="https://globex.vendor.example/saml"`
				}
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, r)
				switch {
				case rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), want):
				case rec.Code == http.StatusNotFound && r.Host == "acme.vendor.example":
				default:
					t.Errorf("%s %s: %d %s", r.Host, r.URL.Path, rec.Code, rec.Body)
					return
				}
			}
		})
	}
	clients.Wait()
	close(stop)
	mutator.Wait()
	if resp, _ := b.get("https://acme.vendor.example/"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the changes: %d", resp.StatusCode)
	}
}
