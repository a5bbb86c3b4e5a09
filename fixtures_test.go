package entrasaml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Values fixed by testdata/xmlsec/gen.sh (see testdata/fixtures.json).
const (
	fxTenant    = "b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43"
	fxIdP       = "https://sts.windows.net/" + fxTenant + "/"
	fxSSO       = "https://login.microsoftonline.com/" + fxTenant + "/saml2"
	fxEntityID  = "https://acme.vendor.example/saml"
	fxBaseURL   = "https://acme.vendor.example"
	fxACS       = "https://acme.vendor.example/saml/acs"
	fxRequestID = "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e"
)

// fxNow is the one clock of the tests: the instant the xmlsec1 fixtures
// are verified at, and the fake Entra tenant's and every SP's Config.Now.
var fxNow = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureB64 returns a testdata response as its SAMLResponse form value.
func fixtureB64(t testing.TB, name string) string {
	return base64.StdEncoding.EncodeToString(readTestdata(t, name))
}

// fixtureSP returns an SP configured for the xmlsec1 fixtures, pinned at
// fxNow, after mod has adjusted its Config.
func fixtureSP(t testing.TB, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	return newSP(t, entrasaml.Config{
		EntityID: fxEntityID,
		BaseURL:  fxBaseURL,
		Metadata: readTestdata(t, "entra-metadata.xml"),
		Now:      func() time.Time { return fxNow },
	}, mod)
}

// newSP returns New(cfg) after mod (if any) has adjusted cfg, failing the
// test on an error. Refusals are logged to quietLogger unless mod says
// otherwise.
func newSP(t testing.TB, cfg entrasaml.Config, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	cfg.Logger = quietLogger
	if mod != nil {
		mod(&cfg)
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sp
}

// quietLogger drops the warnings that refused responses log.
var quietLogger = slog.New(slog.DiscardHandler)

var (
	testIdPOnce sync.Once
	testIdP     *entratest.IdP
	otherKey    *entratest.Key
	testIdPErr  error
)

// sharedIdP returns one fake Entra tenant for all tests in the package
// (RSA key generation is slow), and a foreign key that its metadata lacks.
// Tests must not change its keys.
func sharedIdP(t testing.TB) (*entratest.IdP, *entratest.Key) {
	t.Helper()
	testIdPOnce.Do(func() {
		k, err := entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0))
		if err != nil {
			testIdPErr = err
			return
		}
		testIdP, testIdPErr = entratest.New(entratest.Options{Key: k, Now: func() time.Time { return fxNow }})
		if testIdPErr == nil {
			otherKey, testIdPErr = entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(3, 0, 0))
		}
	})
	if testIdPErr != nil {
		t.Fatal(testIdPErr)
	}
	return testIdP, otherKey
}

// newTestSP returns an SP for idp at fxNow, after mod has adjusted its Config.
func newTestSP(t testing.TB, idp *entratest.IdP, mod func(*entrasaml.Config)) *entrasaml.SP {
	t.Helper()
	return newSP(t, entrasaml.Config{
		EntityID: fxEntityID,
		BaseURL:  fxBaseURL,
		Metadata: idp.Metadata(),
		Now:      func() time.Time { return fxNow },
	}, mod)
}

func adele() entratest.User {
	return entratest.User{
		ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10", UPN: "adele@contoso.example", Email: "adele.vance@contoso.example",
		GivenName: "Adele", Surname: "Vance", DisplayName: "Adele Vance",
		Groups: []string{"0b7cc495-fc1e-480d-9bb6-c289fda37380", "4b4accf6-f84c-431f-8025-4718eec9aa05"},
		Roles:  []string{"Admin"},
	}
}

// goodResponse is a valid SP-initiated response for the test SP.
func goodResponse() entratest.Response {
	return entratest.Response{ACSURL: fxACS, Audience: fxEntityID, InResponseTo: fxRequestID, User: adele()}
}

// forgetfulStore accepts every assertion: for benchmarks only.
type forgetfulStore struct{}

func (forgetfulStore) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (forgetfulStore) Set(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (forgetfulStore) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (forgetfulStore) Delete(context.Context, string) error { return nil }

// checkFuzzed is the property of the Verify fuzz targets: a mutated
// response yields no session, or exactly a session the IdP signed (signed
// holds them by assertion ID).
func checkFuzzed(t *testing.T, sp *entrasaml.SP, signed map[string]*entrasaml.Session, xml []byte) {
	s, err := sp.Verify(context.Background(), base64.StdEncoding.EncodeToString(xml), fxRequestID)
	if err != nil {
		if s != nil {
			t.Fatal("session returned with an error")
		}
		return
	}
	want, ok := signed[s.AssertionID]
	if !ok {
		t.Fatalf("session for an assertion the IdP never signed: %+v", s)
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("session differs from what the IdP signed:\n got %+v\nwant %+v", s, want)
	}
}

var (
	encKeysOnce sync.Once
	encKeys     [3]*entratest.Key // the SP's current and previous encryption keys, and one nobody uploaded
	encKeysErr  error
)

// Fingerprints of the xmlsec1 fixtures' keys (testdata/fixtures.json).
const (
	fpIdPA    = "8f469f3beafb7ae3381a68a0927a90aea6a641120797c5b52939ce7a275b288c"
	fpForeign = "7677c7dae7efb8bd4eb635b69306a8fdf6c9213b7f6ff3e462fbca4a146b820d"
)

// allSentinels are the package's sentinel errors.
var allSentinels = []error{
	entrasaml.ErrInvalidSignature, entrasaml.ErrUnknownSigner, entrasaml.ErrExpired, entrasaml.ErrNotYetValid,
	entrasaml.ErrAudienceMismatch, entrasaml.ErrIssuerMismatch, entrasaml.ErrDestinationMismatch,
	entrasaml.ErrRequestIDMismatch, entrasaml.ErrUnsolicited, entrasaml.ErrReplay, entrasaml.ErrMalformed,
	entrasaml.ErrMetadata, entrasaml.ErrConfig, entrasaml.ErrStore, entrasaml.ErrNotProvisioned,
	entrasaml.ErrDecryption,
}

// assertOneSentinel checks that err matches exactly one sentinel.
func assertOneSentinel(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %v matches %d sentinels, want exactly 1", err, n)
	}
}

// app is a host application protected by an SP, talking to a fake Entra.
type app struct {
	sp  *entrasaml.SP
	srv *httptest.Server
	idp *entratest.Server
}

// newApp starts an app (https when tls) whose protected pages print the
// session's NameID and UserID.
func newApp(t *testing.T, tls bool, mod func(*entrasaml.Config)) *app {
	t.Helper()
	idp := entratest.NewServer()
	t.Cleanup(idp.Close)
	idp.SetUser(entratest.User{ObjectID: "oid-1", UPN: "adele@contoso.example", Email: "adele@contoso.example"})
	a := &app{idp: idp}
	mux := http.NewServeMux()
	a.srv = httptest.NewUnstartedServer(mux)
	if tls {
		a.srv.StartTLS()
	} else {
		a.srv.Start()
	}
	t.Cleanup(a.srv.Close)
	cfg := entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: a.srv.URL, Metadata: idp.Metadata(), Logger: quietLogger}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := entrasaml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.sp = sp
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s user=%s groups=%d path=%s", html.EscapeString(s.NameID), s.UserID, len(s.Groups), r.URL.RequestURI())
	})))
	return a
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so each hop can be checked.
func (a *app) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var formInput = regexp.MustCompile(`name="(SAMLResponse|RelayState)"\s+value="([^"]*)"`)

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// signIn follows the redirect to the IdP and returns the form it answers
// with: the ACS URL and the SAMLResponse/RelayState values.
func signIn(t *testing.T, c *http.Client, resp *http.Response) (string, url.Values) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("want a redirect to Entra, got %d", resp.StatusCode)
	}
	_, page := get(t, c, resp.Header.Get("Location"))
	form := url.Values{}
	for _, m := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil || form.Get("SAMLResponse") == "" {
		t.Fatalf("no form in IdP page: %s", page)
	}
	return html.UnescapeString(m[1]), form
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// failingStore fails every call, like a Redis that is down.
type failingStore struct{ forgetfulStore }

func (failingStore) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errors.New("connection refused")
}

// spEncKeys returns the test SP's encryption key, its previous one, and an
// unrelated key (RSA key generation is slow: they are shared).
func spEncKeys(t testing.TB) (cur, old, other *entratest.Key) {
	t.Helper()
	encKeysOnce.Do(func() {
		for i := range encKeys {
			if encKeys[i], encKeysErr = entratest.NewKey(2048, fxNow.Add(-24*time.Hour), fxNow.AddDate(2, 0, 0)); encKeysErr != nil {
				return
			}
		}
	})
	if encKeysErr != nil {
		t.Fatal(encKeysErr)
	}
	return encKeys[0], encKeys[1], encKeys[2]
}

// curKey is the SP's current encryption key, the one uploaded to Entra.
func curKey(t testing.TB) *entratest.Key {
	cur, _, _ := spEncKeys(t)
	return cur
}

func decKey(k *entratest.Key) entrasaml.DecryptionKey {
	return entrasaml.DecryptionKey{Key: k.PrivateKey, Certificate: k.Certificate}
}

// withDecryption configures the SP with keys (default: the current one).
func withDecryption(keys ...*entratest.Key) func(*entrasaml.Config) {
	return func(c *entrasaml.Config) {
		for _, k := range keys {
			c.DecryptionKeys = append(c.DecryptionKeys, decKey(k))
		}
	}
}

// encryptedResponse is goodResponse signed as sign and encrypted as enc
// (Certificate defaults to the SP's current key), as XML.
func encryptedResponse(t *testing.T, sign entratest.SignMode, enc entratest.Encryption) []byte {
	t.Helper()
	idp, _ := sharedIdP(t)
	cur, _, _ := spEncKeys(t)
	if enc.Certificate == nil {
		enc.Certificate = cur.Certificate
	}
	r := goodResponse()
	r.Sign, r.Encrypt = sign, &enc
	b, err := idp.ResponseXML(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// metadataServer serves an IdP's current metadata like Entra's app
// federation metadata URL, counting fetches; mode switches it to failing.
type metadataServer struct {
	*httptest.Server
	idp     *entratest.IdP
	fetches atomic.Int32
	mu      sync.Mutex
	mode    string        // "", "down", "html"
	gate    chan struct{} // when set, fetches wait for it to close
	started chan struct{} // when set, receives a value as each fetch starts
}

func newMetadataServer(t *testing.T, idp *entratest.IdP) *metadataServer {
	m := &metadataServer{idp: idp}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		m.mu.Lock()
		mode, gate, started := m.mode, m.gate, m.started
		m.mu.Unlock()
		if started != nil {
			started <- struct{}{}
		}
		if gate != nil {
			<-gate
		}
		switch mode {
		case "down":
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		case "html":
			w.Write([]byte("<!DOCTYPE html><html><body>Sign in</body></html>"))
		default:
			w.Write(m.idp.Metadata())
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metadataServer) set(mode string) { m.mu.Lock(); m.mode = mode; m.mu.Unlock() }

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newKey(t *testing.T) *entratest.Key {
	t.Helper()
	k, err := entratest.NewKey(2048, fxNow.Add(-time.Hour), fxNow.AddDate(3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedInApp returns an app and a browser signed in to it.
func signedInApp(t *testing.T, mod func(*entrasaml.Config)) (*app, *http.Client) {
	t.Helper()
	a := newApp(t, false, mod)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	if resp, body := post(t, c, acs, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return a, c
}

// redirectMessage decodes the SAML message of a Redirect-binding URL.
func redirectMessage(t *testing.T, u *url.URL, param string) *etree.Element {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(u.Query().Get(param))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// idpRedirect builds what Entra sends to the SP's logout URL: param
// ("SAMLRequest" or "SAMLResponse") carrying xml, signed with key when it
// is not nil.
func idpRedirect(t *testing.T, logoutURL, param, xml, relayState string, key *entratest.Key) string {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	fw.Write([]byte(xml))
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(b.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if key != nil {
		q += "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
		d := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.PrivateKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	return logoutURL + "?" + q
}

// do sends method to u like a browser would, with the Sec-Fetch-Site,
// Origin and Referer headers when not empty.
func do(t *testing.T, c *http.Client, method, u, site, origin, referer string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Accept", "text/html")
	for k, v := range map[string]string{"Sec-Fetch-Site": site, "Origin": origin, "Referer": referer} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// clickSignOut follows the application's own sign-out link, as a browser
// does (Sec-Fetch-Site: same-origin).
func clickSignOut(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	return do(t, c, http.MethodGet, u, "same-origin", "", "")
}

func signedIn(t *testing.T, a *app, c *http.Client) bool {
	t.Helper()
	resp, _ := get(t, c, a.srv.URL+"/")
	return resp.StatusCode == http.StatusOK
}

// removeAll cuts every span from start to the next end out of s.
func removeAll(s, start, end string) string {
	for {
		i := strings.Index(s, start)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], end)
		s = s[:i] + s[i+j+len(end):]
	}
}

func encWrite(t *testing.T, doc *etree.Document) string {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// signedAssertion returns the signed Assertion of a plain response, as
// Entra would encrypt it.
func signedAssertion(t *testing.T) []byte {
	t.Helper()
	idp, _ := sharedIdP(t)
	b, err := idp.ResponseXML(goodResponse())
	if err != nil {
		t.Fatal(err)
	}
	a := find(encDoc(t, b).Root(), "Assertion")
	doc := etree.NewDocument()
	doc.SetRoot(a)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
