package bench

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml/samlsp"

	"github.com/entrasaml/entrasaml"
)

// sessionCase is one library's middleware wrapped around a handler that
// records whether it ran with the signed-in user's session, and a GET
// request carrying that user's session cookie.
type sessionCase struct {
	h           http.Handler
	req         *http.Request
	w           http.ResponseWriter
	ok          *bool
	cookieBytes int // the Cookie header the browser sends on every request
}

// run serves the request and reports whether the handler ran signed in.
func (s *sessionCase) run() bool {
	*s.ok = false
	s.h.ServeHTTP(s.w, s.req)
	return *s.ok
}

// sessionInputs are the users whose session check is measured: the usual
// claims, and the same with 150 groups.
var sessionInputs = []string{inPlain, inGroups150}

// sessionLibs returns the libraries that can keep the session of the named
// input: crewjam's default session is a JWT cookie of the claims, and it
// refuses one of 150 groups (10 KB; browsers keep at most 4 KB).
func sessionLibs(name string) []string {
	if name == inGroups150 {
		return []string{libEntrasaml}
	}
	return []string{libEntrasaml, libCrewjam}
}

// sessionCheck signs the user of the named input in with lib, as its ACS
// would, and returns the session check of a later request. It fails tb
// unless the request is let through with the right user and the same
// request with a tampered cookie is not.
func (w *world) sessionCheck(tb testing.TB, lib, name string) *sessionCase {
	tb.Helper()
	in, err := w.makeInput(name, "") // IdP-initiated: no pending-request cookie needed
	if err != nil {
		tb.Fatal(err)
	}
	ok := new(bool)
	var (
		h                http.Handler
		cookie, tampered string
	)
	switch lib {
	case libEntrasaml:
		h, cookie, tampered = entrasamlSession(tb, w, in.b64, ok)
	case libCrewjam:
		h, cookie, tampered = crewjamSession(tb, w, in.b64, ok)
	default:
		tb.Fatalf("%s has no session layer", lib)
	}
	s := &sessionCase{h: h, req: signedInRequest(cookie), w: &nopWriter{h: http.Header{}}, ok: ok, cookieBytes: len(cookie)}
	if !s.run() {
		tb.Fatalf("%s: the signed-in request was refused", lib)
	}
	bad := &sessionCase{h: h, req: signedInRequest(tampered), w: httptest.NewRecorder(), ok: ok}
	if bad.run() {
		tb.Fatalf("%s: a request with a tampered session cookie was let through", lib)
	}
	return s
}

func signedInRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, spBaseURL+"/orders", nil)
	r.Header.Set("Cookie", cookie)
	return r
}

// entrasamlSession signs in through entrasaml's ACS (AllowIdPInitiated, the
// default MemoryStore, which holds the session) and returns RequireAccount
// around the recording handler, with the session cookie and a tampered
// copy.
func entrasamlSession(tb testing.TB, w *world, b64 string, ok *bool) (h http.Handler, cookie, tampered string) {
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: spEntityID, BaseURL: spBaseURL, Metadata: w.metadata, AllowIdPInitiated: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, spACSURL, strings.NewReader(url.Values{"SAMLResponse": {b64}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sp.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		tb.Fatalf("entrasaml ACS: HTTP %d\n%s", rec.Code, rec.Body)
	}
	h = sp.RequireAccount(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s, found := entrasaml.SessionFromContext(r.Context())
		*ok = found && s.NameID == userNameID
	}))
	cookie, tampered = cookieHeaders(rec)
	return h, cookie, tampered
}

// crewjamSession makes samlsp's default middleware (samlsp.New: RS256 JWT
// session cookie signed with the SP key), verifies the response with its
// ServiceProvider and creates the session from the assertion as its ACS
// does; it returns RequireAccount around the recording handler, with the
// session cookie and a tampered copy.
func crewjamSession(tb testing.TB, w *world, b64 string, ok *bool) (h http.Handler, cookie, tampered string) {
	md, err := samlsp.ParseMetadata(w.metadata)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := samlsp.New(samlsp.Options{
		EntityID:          spEntityID,
		URL:               mustURL(spBaseURL + "/"),
		Key:               w.spKey.PrivateKey,
		Certificate:       w.spKey.Certificate,
		IDPMetadata:       md,
		AllowIDPInitiated: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := m.ServiceProvider.ParseXMLResponse(raw, nil, m.ServiceProvider.AcsURL)
	if err != nil {
		tb.Fatalf("crewjam: %v", err)
	}
	rec := httptest.NewRecorder()
	if err := m.Session.CreateSession(rec, httptest.NewRequest(http.MethodPost, spACSURL, nil), a); err != nil {
		tb.Fatalf("crewjam CreateSession: %v", err)
	}
	h = m.RequireAccount(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s, found := samlsp.SessionFromContext(r.Context()).(samlsp.SessionWithNameID)
		*ok = found && s.GetNameID() == userNameID
	}))
	cookie, tampered = cookieHeaders(rec)
	return h, cookie, tampered
}

// nopWriter is a ResponseWriter that keeps nothing, so that the session
// benchmarks measure the middleware and not a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}
