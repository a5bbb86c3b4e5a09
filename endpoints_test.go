package entrasaml_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

func TestEndpointPathsConfig(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	refused := []struct {
		name string
		mod  func(*entrasaml.Config)
	}{
		{"relative ACS path", func(c *entrasaml.Config) { c.ACSPaths = []string{"saml/acs"} }},
		{"root", func(c *entrasaml.Config) { c.ACSPaths = []string{"/"} }},
		{"unclean", func(c *entrasaml.Config) { c.ACSPaths = []string{"/a/../acs"} }},
		{"trailing slash", func(c *entrasaml.Config) { c.LogoutPath = "/sso/logout/" }},
		{"query", func(c *entrasaml.Config) { c.ACSPaths = []string{"/acs?x=1"} }},
		{"fragment", func(c *entrasaml.Config) { c.MetadataPath = "/md#x" }},
		{"percent-encoded", func(c *entrasaml.Config) { c.LoginPath = "/sso%2Flogin" }},
		{"a ServeMux wildcard", func(c *entrasaml.Config) { c.ACSPaths = []string{"/sso/{tenant}/acs"} }},
		{"two ACS paths alike", func(c *entrasaml.Config) { c.ACSPaths = []string{"/sso/acs", "/sso/acs"} }},
		{"logout path is an ACS path", func(c *entrasaml.Config) { c.ACSPaths, c.LogoutPath = []string{"/sso"}, "/sso" }},
		{"AuthnOptions.ACSURL not accepted", func(c *entrasaml.Config) { c.AuthnOptions.ACSURL = fxBaseURL + "/other/acs" }},
		{"BaseURL is the Reply URL", func(c *entrasaml.Config) { c.BaseURL = fxACS }},
		{"BaseURL is the Reply URL, slash", func(c *entrasaml.Config) { c.BaseURL = fxACS + "/" }},
		{"BaseURL ends with a configured ACS path", func(c *entrasaml.Config) {
			c.BaseURL, c.ACSPaths = fxBaseURL+"/auth/saml/callback", []string{"/auth/saml/callback"}
		}},
		{"BaseURL ends with the sign-in path", func(c *entrasaml.Config) { c.BaseURL = fxBaseURL + "/saml/login" }},
	}
	for _, tt := range refused {
		cfg := entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: idp.Metadata(), Now: func() time.Time { return fxNow }}
		tt.mod(&cfg)
		if _, err := entrasaml.New(context.Background(), cfg); !errors.Is(err, entrasaml.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", tt.name, err)
		}
	}
	// The pasted Reply URL gets a hint.
	_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxACS, Metadata: idp.Metadata()})
	if err == nil || !strings.Contains(err.Error(), "ends with the endpoint path /saml/acs") || !strings.Contains(err.Error(), "https://acme.vendor.example)") {
		t.Errorf("pasted Reply URL: %v", err)
	}

	sp := newTestSP(t, idp, func(c *entrasaml.Config) {
		c.BaseURL = "https://vendor.example/acme"
		c.ACSPaths = []string{"/auth/saml/callback", "/sso/acs"}
		c.LogoutPath, c.MetadataPath, c.LoginPath = "/auth/saml/logout", "/auth/saml/metadata", "/auth/login"
	})
	wantPaths := []string{"/acme/auth/saml/callback", "/acme/sso/acs", "/acme/auth/saml/logout", "/acme/auth/saml/metadata", "/acme/auth/login"}
	if got := sp.Paths(); !reflect.DeepEqual(got, wantPaths) {
		t.Errorf("Paths: %q, want %q", got, wantPaths)
	}
	es := sp.EntraSettings()
	wantES := entrasaml.EntraSettings{Identifier: fxEntityID, ReplyURL: "https://vendor.example/acme/auth/saml/callback",
		ReplyURLs: []string{"https://vendor.example/acme/auth/saml/callback", "https://vendor.example/acme/sso/acs"},
		SignOnURL: "https://vendor.example/acme/auth/login", LogoutURL: "https://vendor.example/acme/auth/saml/logout",
		SPMetadataURL: "https://vendor.example/acme/auth/saml/metadata"}
	if !reflect.DeepEqual(es, wantES) || sp.ACSURL() != wantES.ReplyURL || sp.LogoutURL() != wantES.LogoutURL {
		t.Errorf("EntraSettings: %+v", es)
	}
	// SP metadata lists every ACS, the first as the default.
	md := string(sp.SPMetadata())
	for _, want := range []string{
		`Location="https://vendor.example/acme/auth/saml/callback" index="0" isDefault="true"/>`,
		`Location="https://vendor.example/acme/sso/acs" index="1"/>`,
		`Location="https://vendor.example/acme/auth/saml/logout"`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("SP metadata lacks %s:\n%s", want, md)
		}
	}
	if strings.Count(md, "isDefault") != 1 || strings.Contains(md, "/saml/acs") {
		t.Errorf("SP metadata:\n%s", md)
	}
	// ServeHTTP routes the configured paths, and only those.
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/acme/auth/saml/metadata", http.StatusOK},
		{http.MethodGet, "/acme/saml/metadata", http.StatusNotFound},
		{http.MethodGet, "/acme/auth/saml/callback", http.StatusMethodNotAllowed}, // an ACS: POST only
		{http.MethodGet, "/acme/sso/acs", http.StatusMethodNotAllowed},
		{http.MethodGet, "/acme/saml/acs", http.StatusNotFound},
		{http.MethodGet, "/acme/auth/login", http.StatusSeeOther},
		{http.MethodPost, "/acme/auth/login", http.StatusMethodNotAllowed},
		{http.MethodGet, "/auth/saml/metadata", http.StatusNotFound}, // outside BaseURL's path
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tt.method, "https://vendor.example"+tt.path, nil)
		sp.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
	}
}

// Several ACS URLs: a response must be addressed to an accepted one, the
// one its request named (the request ID records which), with Destination
// and Recipient alike.
func TestVerifyNamedACS(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	legacy := fxBaseURL + "/auth/saml/callback"
	sp := newTestSP(t, idp, func(c *entrasaml.Config) {
		c.ACSPaths = []string{"/saml/acs", "/auth/saml/callback"}
		c.AllowIdPInitiated = true
	})
	_, idDefault, err := sp.AuthnRequestURL("")
	if err != nil {
		t.Fatal(err)
	}
	u, idLegacy, err := sp.AuthnRequestURL("", entrasaml.AuthnOptions{ACSURL: legacy})
	if err != nil {
		t.Fatal(err)
	}
	if req := decodeAuthnRequest(t, u); req.SelectAttrValue("AssertionConsumerServiceURL", "") != legacy {
		t.Fatalf("the AuthnRequest names %q", req.SelectAttrValue("AssertionConsumerServiceURL", ""))
	}
	if _, _, err := sp.AuthnRequestURL("", entrasaml.AuthnOptions{ACSURL: fxBaseURL + "/elsewhere"}); !errors.Is(err, entrasaml.ErrConfig) {
		t.Errorf("an ACSURL the SP does not accept: %v", err)
	}
	tests := []struct {
		name string
		r    entratest.Response
		want error
	}{
		{"default request, default ACS", entratest.Response{ACSURL: fxACS, InResponseTo: idDefault}, nil},
		{"legacy request, legacy ACS", entratest.Response{ACSURL: legacy, InResponseTo: idLegacy}, nil},
		{"legacy request, default ACS", entratest.Response{ACSURL: fxACS, InResponseTo: idLegacy}, entrasaml.ErrDestinationMismatch},
		{"default request, legacy ACS", entratest.Response{ACSURL: legacy, InResponseTo: idDefault}, entrasaml.ErrDestinationMismatch},
		{"an ID naming ACS 7 of 2", entratest.Response{ACSURL: legacy, InResponseTo: idDefault + "_7"}, entrasaml.ErrDestinationMismatch},
		{"an ACS URL not accepted", entratest.Response{ACSURL: fxBaseURL + "/sso/acs", InResponseTo: idDefault}, entrasaml.ErrDestinationMismatch},
		{"Destination and Recipient differ", entratest.Response{ACSURL: legacy, Destination: fxACS, InResponseTo: idLegacy, Sign: entratest.SignBoth}, entrasaml.ErrDestinationMismatch},
		{"Recipient and Destination differ", entratest.Response{ACSURL: legacy, Recipient: fxACS, InResponseTo: idLegacy, Sign: entratest.SignBoth}, entrasaml.ErrDestinationMismatch},
		{"IdP-initiated, legacy ACS", entratest.Response{ACSURL: legacy}, nil},
		{"IdP-initiated, ACS not accepted", entratest.Response{ACSURL: fxBaseURL + "/sso/acs"}, entrasaml.ErrDestinationMismatch},
	}
	for _, tt := range tests {
		tt.r.Audience, tt.r.User = fxEntityID, adele()
		resp, err := idp.Response(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sp.Verify(context.Background(), resp, idDefault, idLegacy, idDefault+"_7")
		if !errors.Is(err, tt.want) || (err == nil) != (s != nil) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// newPathsApp starts an http app whose SP serves the paths mod configures,
// mounted one by one from SP.Paths.
func newPathsApp(t *testing.T, mod func(*entrasaml.Config)) *app {
	t.Helper()
	idp := entratest.NewServer()
	t.Cleanup(idp.Close)
	idp.SetUser(entratest.User{ObjectID: "oid-1", UPN: "adele@contoso.example", Email: "adele@contoso.example"})
	a := &app{idp: idp}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	cfg := entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: a.srv.URL, Metadata: idp.Metadata(), Logger: quietLogger}
	mod(&cfg)
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.sp = sp
	for _, p := range sp.Paths() {
		mux.Handle(p, sp)
	}
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s path=%s", html.EscapeString(s.NameID), r.URL.RequestURI())
	})))
	return a
}

// A vendor keeps its customers' Reply URL: the whole sign-in through a
// legacy ACS path, and through the second of two.
func TestHTTPLegacyReplyURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		paths []string
		named string // AuthnOptions.ACSURL's path, "" for the default
	}{
		{"only a legacy path", []string{"/auth/saml/callback"}, ""},
		{"the second of two", []string{"/saml/acs", "/sso/acs"}, "/sso/acs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var base string
			a := newPathsApp(t, func(c *entrasaml.Config) {
				base = c.BaseURL
				c.ACSPaths = tc.paths
				if tc.named != "" {
					c.AuthnOptions.ACSURL = c.BaseURL + tc.named
				}
			})
			want := base + tc.paths[0]
			if tc.named != "" {
				want = base + tc.named
			}
			c := a.browser(t)
			resp, _ := get(t, c, a.srv.URL+"/reports?q=1")
			acs, form := signIn(t, c, resp)
			if acs != want {
				t.Fatalf("the IdP posts to %s, want %s", acs, want)
			}
			// Posted to another accepted ACS, the response is refused: it is
			// addressed to the one its request named.
			if len(tc.paths) > 1 {
				if resp, _ := post(t, c, base+tc.paths[0], form); resp.StatusCode != http.StatusForbidden {
					t.Errorf("posted to the other ACS: %d", resp.StatusCode)
				}
			}
			resp, body := post(t, c, acs, form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports?q=1" {
				t.Fatalf("ACS: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if resp, body := get(t, c, a.srv.URL+"/reports?q=1"); resp.StatusCode != 200 || !strings.Contains(body, "hello adele@contoso.example") {
				t.Errorf("after sign-in: %d %s", resp.StatusCode, body)
			}
			// The SP does not serve the default /saml/acs when it is not
			// configured.
			if !slices.Contains(tc.paths, "/saml/acs") {
				rec := httptest.NewRecorder()
				a.sp.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, base+"/saml/acs", strings.NewReader(form.Encode())))
				if rec.Code != http.StatusNotFound {
					t.Errorf("/saml/acs: %d", rec.Code)
				}
			}
		})
	}
}

// An IdP-initiated response addressed to one accepted ACS and posted to
// another is refused: Destination and Recipient must be where it arrived.
func TestHTTPPostedToAnotherACS(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	sp := newTestSP(t, idp, func(c *entrasaml.Config) {
		c.ACSPaths = []string{"/saml/acs", "/sso/acs"}
		c.AllowIdPInitiated = true
	})
	resp, err := idp.Response(entratest.Response{ACSURL: fxBaseURL + "/sso/acs", Audience: fxEntityID, User: adele()})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/saml/acs": http.StatusForbidden, "/sso/acs": http.StatusSeeOther} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, fxBaseURL+path, strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sp.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("posted to %s: %d, want %d", path, rec.Code, want)
		}
	}
}

// A vendor whose customers' Entra applications already post to
// /auth/saml/callback keeps that Reply URL, accepts the library's default
// too, and mounts every path the SP serves.
func ExampleSP_Paths() {
	metadata, err := os.ReadFile("testdata/entra-metadata.xml") // downloaded from Entra
	if err != nil {
		log.Fatal(err)
	}
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID:   "https://acme.vendor.example/saml",
		BaseURL:    "https://acme.vendor.example",
		ACSPaths:   []string{"/auth/saml/callback", "/saml/acs"}, // the first is the default
		LogoutPath: "/auth/saml/logout",
		Metadata:   metadata,
		Now:        func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range sp.Paths() {
		mux.Handle(p, sp)
		fmt.Println(p)
	}
	fmt.Println("Sign on URL:", sp.EntraSettings().SignOnURL)
	// Output:
	// /auth/saml/callback
	// /saml/acs
	// /auth/saml/logout
	// /saml/metadata
	// /saml/login
	// Sign on URL: https://acme.vendor.example/saml/login
}
