package entrasaml

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A SignInTest runs test sign-ins: real SAML round trips with a candidate
// configuration (metadata a customer's administrator has pasted but not
// yet saved) whose verified result goes to a handler of yours, to show to
// the administrator, instead of starting a session. Build one with
// [NewSignInTest] from the candidate Config, with the same EntityID and
// BaseURL as the customer's live SP (so Entra posts to the same Reply URL)
// and the same Store and SessionKeys.
//
// The live SP is never touched: a SignInTest is a second SP of its own
// type, with no session methods, and what it verifies can only reach your
// handler. Its pending requests live in cookies of their own namespace
// (named entrasaml_test_…, sealed with additional data that names a test,
// the EntityID, the ACS URL and a SHA-256 of the candidate metadata), so:
//
//   - an ordinary pending request of the live SP cannot be used as a test
//     one, nor a test one as an ordinary one: each opens only where it was
//     sealed, and an SP reads only its own cookie names;
//   - a test started with one candidate cannot be concluded by another
//     (the administrator edited the metadata meanwhile): the response
//     answers no pending test and is refused;
//   - a test response is refused if replayed, here or at the live SP: the
//     assertion ID goes into the shared Store (the live SP's replay
//     namespace, since EntityID and BaseURL are the same), and the live SP
//     has no pending request with the test's request ID.
//
// Routing: Entra posts the test's response to the live Reply URL. Send the
// POSTs to the ACS that carry a test cookie ([IsSignInTest]) to the
// SignInTest built from the same candidate (from your draft store, on any
// instance) and everything else to the live SP. A browser with a test
// pending sends its other sign-ins to the test too, where they fail
// closed; the test cookie lasts ten minutes and goes with the first
// response.
type SignInTest struct {
	sp     *SP
	done   func(http.ResponseWriter, *http.Request, *TestResult)
	ad     []byte
	digest string
}

// TestResult is what a test sign-in brought back: the verified Session, or
// the error that refused it (an *[Error] matching one of the sentinels, or
// a *[StatusError] carrying Entra's AADSTS code). Exactly one of Session
// and Err is set.
type TestResult struct {
	Session *Session
	Err     error
	// ReturnTo is the same-origin path given to [SignInTest.Start], read
	// from the sealed cookie of the test the response answered or, when it
	// failed, of the only test this browser had pending for this
	// candidate; "/" otherwise.
	ReturnTo string
	// Metadata is the SHA-256 (hex) of the candidate metadata tested, the
	// same as [SignInTest.Metadata].
	Metadata string
}

// NewSignInTest returns a SignInTest of the candidate configuration cfg;
// done receives every test's outcome at the ACS and writes the response
// (render the result, or record it and redirect). cfg is checked as [New]
// checks it, with these differences:
//
//   - cfg.Metadata is required: a test runs the exact document the
//     administrator gave (fetch a MetadataURL first, with
//     onboard.PublicOnlyHTTPClient); MetadataURL is kept as a record only
//     and never fetched, so the candidate cannot change under the test;
//   - cfg.Store is required: give the live SP's Store, so a replayed test
//     response is refused at either SP and on every instance;
//   - cfg.AllowIdPInitiated is ignored (a test result always answers a
//     test request of this browser), and cfg.Provision is not run (call
//     your own check on the Session if you want to show whether the user
//     would be let in; a test changes nothing).
//
// Errors match ErrConfig or ErrMetadata, as New's do.
func NewSignInTest(ctx context.Context, cfg Config, done func(w http.ResponseWriter, r *http.Request, res *TestResult)) (*SignInTest, error) {
	switch {
	case done == nil:
		return nil, newErr(ErrConfig, "NewSignInTest needs a result handler")
	case len(cfg.Metadata) == 0:
		return nil, newErr(ErrConfig, "a test sign-in needs Config.Metadata (the candidate document), not only a MetadataURL")
	case cfg.Store == nil:
		return nil, newErr(ErrConfig, "a test sign-in needs Config.Store (the live SP's), so that its responses cannot be replayed")
	}
	cfg.MetadataURL, cfg.AllowIdPInitiated, cfg.Provision = "", false, nil
	sp, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(cfg.Metadata)
	digest := hex.EncodeToString(h[:])
	return &SignInTest{
		sp:     sp,
		done:   done,
		digest: digest,
		ad:     []byte("entrasaml/v1/test-request\x00" + sp.entityID + "\x00" + sp.acsURL + "\x00" + digest),
	}, nil
}

// Metadata returns the SHA-256 (hex) of the candidate metadata, to record
// which document a test passed with.
func (t *SignInTest) Metadata() string { return t.digest }

// testCookiePrefix starts every test cookie's name; an SP reads only
// requestCookiePrefix names, a SignInTest only these.
const testCookiePrefix = "entrasaml_test_"

func (t *SignInTest) cookiePrefix() string {
	if t.sp.secure {
		return securePrefix + testCookiePrefix
	}
	return testCookiePrefix
}

// IsSignInTest reports whether r carries a pending test sign-in cookie, by
// its name only: use it to route a POST to the ACS to the [SignInTest]
// (which checks the sealed cookie and everything else) rather than to the
// live SP.
func IsSignInTest(r *http.Request) bool {
	for _, c := range r.Cookies() {
		if strings.HasPrefix(strings.TrimPrefix(c.Name, securePrefix), testCookiePrefix) {
			return true
		}
	}
	return false
}

// Start redirects the browser to the candidate IdP with a new AuthnRequest
// and remembers the test in a sealed, ten-minute cookie bound to this
// browser and this candidate, set like the SP's pending-request cookies
// (see [SP.StartSignIn]); returnTo (a same-origin path, else "/") comes
// back in [TestResult]. Authenticate the administrator before calling it:
// anyone may test, but only your handler sees the result.
func (t *SignInTest) Start(w http.ResponseWriter, r *http.Request, returnTo string) {
	sp := t.sp
	var tok [12]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	u, requestID, err := sp.AuthnRequestURL(token)
	if err != nil {
		sp.fail(w, r, err)
		return
	}
	value := sp.sealer.seal(encodePayload(sp.now().Add(pendingTTL), requestID, safeReturnPath(returnTo)), t.ad)
	name := t.cookiePrefix() + token
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: sp.acsPath, MaxAge: int(pendingTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
	if !sp.secure {
		http.SetCookie(w, &http.Cookie{Name: name + legacySuffix, Value: value, Path: sp.acsPath,
			MaxAge: int(pendingTTL / time.Second), HttpOnly: true})
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// pending returns the tests of this candidate this browser has
// outstanding, and the names of every test cookie it sent.
func (t *SignInTest) pending(r *http.Request) (out []pendingRequest, names []string) {
	now := t.sp.now()
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, t.cookiePrefix()) {
			continue
		}
		name := strings.TrimSuffix(c.Name, legacySuffix)
		if !slices.Contains(names, name) && len(names) < 4*maxPending {
			names = append(names, name)
		}
		payload, err := t.sp.sealer.open(c.Value, t.ad)
		if err != nil {
			continue
		}
		f, ok := decodePayload(payload, now, 2)
		if !ok || slices.ContainsFunc(out, func(p pendingRequest) bool { return p.cookie == name }) {
			continue
		}
		out = append(out, pendingRequest{cookie: name, requestID: f[0], returnTo: f[1], expires: payloadExpiry(payload)})
		if len(out) >= 4*maxPending {
			break
		}
	}
	return out, names
}

// ServeHTTP serves the ACS for test sign-ins: a POST to the SP's ACS path
// is verified against the candidate, for a test request this browser has
// pending, and the outcome goes to the result handler, a success and a
// failure alike (a malformed or oversized form too). It never starts a
// session and never runs Config.Provision. Every test cookie the browser
// sent is cleared, so a test is one round trip. Other paths get 404, other
// methods 405.
func (t *SignInTest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sp := t.sp
	if r.URL.Path != sp.acsPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		sp.failStatus(w, r, http.StatusMethodNotAllowed, "Method not allowed", "", newErr(ErrMalformed, "%s to the ACS", r.Method))
		return
	}
	pending, names := t.pending(r)
	for _, name := range names {
		// With the attributes Start set: a browser ignores a deletion of a
		// SameSite=None cookie that is not Secure.
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: sp.acsPath, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
		if !sp.secure {
			http.SetCookie(w, &http.Cookie{Name: name + legacySuffix, Value: "", Path: sp.acsPath, MaxAge: -1, HttpOnly: true})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	res := &TestResult{ReturnTo: "/", Metadata: t.digest}
	res.Session, res.Err = t.verify(w, r, pending)
	for _, p := range pending {
		if res.Session != nil && p.requestID == res.Session.InResponseTo || res.Session == nil && len(pending) == 1 {
			res.ReturnTo = safeReturnPath(p.returnTo)
		}
	}
	if res.Err != nil {
		res.Session = nil
		sp.logger.WarnContext(r.Context(), "entrasaml: test sign-in failed", "err", res.Err, "entity_id", sp.entityID, "metadata", t.digest)
	}
	t.done(w, r, res)
}

func (t *SignInTest) verify(w http.ResponseWriter, r *http.Request, pending []pendingRequest) (*Session, error) {
	sp := t.sp
	r.Body = http.MaxBytesReader(w, r.Body, int64(sp.maxSize)+16<<10)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Err: ErrMalformed, Reason: "the ACS form is too large", large: true}
		}
		return nil, wrapErr(ErrMalformed, err, "reading the ACS form")
	}
	if len(pending) == 0 {
		return nil, newErr(ErrRequestIDMismatch, "no test sign-in of this configuration is pending in this browser "+
			"(started more than ten minutes ago, already answered, or started with other metadata)")
	}
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.requestID
	}
	s, err := sp.Verify(r.Context(), r.PostForm.Get("SAMLResponse"), ids...)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ids, s.InResponseTo) {
		// Verify already refuses this (AllowIdPInitiated is off); a test
		// result must answer a test request, whatever Verify becomes.
		return nil, newErr(ErrUnsolicited, "a test sign-in answers only a test request")
	}
	return s, nil
}
