package entrasaml

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml/internal/page"
)

// Pending requests: how long a sign-in may take, and how many a browser
// may have at once.
const (
	pendingTTL = 10 * time.Minute
	maxPending = 8
)

// ServeHTTP serves the SAML endpoints under BaseURL; mount it with
// mux.Handle("/saml/", sp):
//
//   - POST /saml/acs: the Reply URL. Verifies the response, runs
//     Config.Provision, starts the session and redirects (303) to the path
//     the user was going to.
//   - GET /saml/metadata: SP metadata to upload to Entra.
//   - GET or POST /saml/logout: ends the local session (server-side too, so
//     a copied cookie stops working) and shows a signed-out page, when the
//     request comes from the application's own origin; otherwise shows a
//     "Sign out?" page whose button POSTs. Also single logout with Entra.
//
// Failures get a short generic page with a correlation id and the status
// that fits (400 malformed, 403 refused, 405 wrong method, 413 too large,
// 503 store down); Config.Logger gets the reason.
func (sp *SP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, sp.basePath)
	switch p {
	case pathACS:
		sp.serveACS(w, r)
	case pathMetadata:
		sp.serveMetadata(w, r)
	case pathLogout:
		sp.serveLogout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// RequireAccount wraps next so that it only runs for signed-in users, with
// the [Session] in the request context ([SessionFromContext]). Without a
// session, a GET or HEAD page navigation is redirected (303) to Entra to
// sign in, and comes back to the same path afterwards; anything else (other
// methods, fetch/XHR, Accept: application/json) gets 401, since it could not
// follow the redirect. If the Store is down the answer is 503.
func (sp *SP) RequireAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := sp.sessionFromRequest(r)
		if err != nil {
			sp.fail(w, r, err)
			return
		}
		if s != nil {
			next.ServeHTTP(w, r.WithContext(ContextWithSession(r.Context(), s)))
			return
		}
		if !isNavigation(r) {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		sp.StartSignIn(w, r, r.URL.RequestURI())
	})
}

// LoadSession wraps next so that the request context carries the session
// when there is one. It never redirects or refuses (a Store failure is
// logged and treated as no session): for pages that look different to
// signed-in users.
func (sp *SP) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := sp.sessionFromRequest(r)
		if err != nil {
			sp.logger.WarnContext(r.Context(), "entrasaml: loading session", "err", err)
		}
		if s != nil {
			r = r.WithContext(ContextWithSession(r.Context(), s))
		}
		next.ServeHTTP(w, r)
	})
}

// StartSignIn redirects the browser to Entra with a new AuthnRequest and
// remembers, in a short-lived cookie bound to this browser, the request ID
// and returnTo, the same-origin path to come back to (anything else becomes
// "/"). RequireAccount calls it; call it yourself for a "Sign in" button.
//
// The pending-request cookie must reach the ACS on Entra's cross-site POST,
// which carries no SameSite=Lax cookies, so it is SameSite=None; Secure;
// HttpOnly, scoped to the ACS path and ten minutes. Browsers accept Secure
// cookies from http://localhost and http://127.0.0.1; for other http
// origins (and clients that ignore SameSite=None) a second copy without
// SameSite or Secure is set when BaseURL is http. Use https in production.
func (sp *SP) StartSignIn(w http.ResponseWriter, r *http.Request, returnTo string) {
	var tok [12]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	u, requestID, err := sp.AuthnRequestURL(token)
	if err != nil {
		sp.fail(w, r, err)
		return
	}
	now := sp.now()
	value := sp.sealer.seal(encodePayload(now.Add(pendingTTL), requestID, safeReturnPath(returnTo)), sp.adRequest)

	name := sp.requestCookiePrefix() + token
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: sp.acsPath, MaxAge: int(pendingTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
	if !sp.secure {
		http.SetCookie(w, &http.Cookie{Name: name + legacySuffix, Value: value, Path: sp.acsPath,
			MaxAge: int(pendingTTL / time.Second), HttpOnly: true})
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

type pendingRequest struct {
	cookie, requestID, returnTo string
	expires                     int64 // Unix seconds
}

// pendingRequests returns the sign-ins this browser has outstanding.
func (sp *SP) pendingRequests(r *http.Request) []pendingRequest {
	var out []pendingRequest
	now := sp.now()
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, sp.requestCookiePrefix()) {
			continue
		}
		payload, err := sp.sealer.open(c.Value, sp.adRequest)
		if err != nil {
			continue
		}
		f, ok := decodePayload(payload, now, 2)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(c.Name, legacySuffix)
		if slices.ContainsFunc(out, func(p pendingRequest) bool { return p.cookie == name }) {
			continue // the other copy of a cookie already read
		}
		out = append(out, pendingRequest{cookie: name, requestID: f[0], returnTo: f[1], expires: payloadExpiry(payload)})
		if len(out) >= 4*maxPending {
			break
		}
	}
	return out
}

func (sp *SP) serveACS(w http.ResponseWriter, r *http.Request) {
	w, r, done := sp.startEvent(w, r, EventSignIn, "")
	defer done()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		sp.failStatus(w, r, http.StatusMethodNotAllowed, "Method not allowed", "", newErr(ErrMalformed, "%s to the ACS", r.Method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(sp.maxSize)+16<<10)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			sp.fail(w, r, &Error{Err: ErrMalformed, Reason: "the ACS form is too large", large: true})
			return
		}
		sp.fail(w, r, wrapErr(ErrMalformed, err, "reading the ACS form"))
		return
	}
	pending := sp.pendingRequests(r)
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.requestID
	}
	s, err := sp.Verify(r.Context(), r.PostForm.Get("SAMLResponse"), ids...)
	if err != nil {
		sp.fail(w, r, err)
		return
	}

	returnTo := "/"
	if s.InResponseTo == "" {
		// IdP-initiated (Config.AllowIdPInitiated): Entra's configured
		// RelayState may name a path; nothing else is trusted.
		returnTo = safeReturnPath(r.PostForm.Get("RelayState"))
	}
	// Clear the cookie of the request this answered, and the oldest ones
	// beyond maxPending, so a browser cannot pile them up; sign-ins still
	// pending in other tabs keep theirs.
	slices.SortFunc(pending, func(a, b pendingRequest) int { return cmp.Compare(b.expires, a.expires) })
	kept := 0
	for _, p := range pending {
		if p.requestID == s.InResponseTo && s.InResponseTo != "" {
			returnTo = safeReturnPath(p.returnTo)
		} else if kept++; kept <= maxPending {
			continue
		}
		sp.clearCookie(w, p.cookie, sp.acsPath)
		if !sp.secure {
			sp.clearCookie(w, p.cookie+legacySuffix, sp.acsPath)
		}
	}

	if sp.provision != nil {
		if err := sp.provision(r.Context(), s); err != nil {
			sp.failStatus(w, r, http.StatusForbidden, "Your account is not set up",
				"You signed in with Microsoft, but this application has no active account for you. "+
					"Ask your administrator to create or activate your account here.",
				provisionErr(err, s))
			return
		}
	}
	if err := sp.startSession(r.Context(), w, s); err != nil {
		sp.fail(w, r, err)
		return
	}
	eventOf(r).Session = s
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// isNavigation reports whether r is a top-level page load that can follow
// a redirect to Entra.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		return false
	}
	return true
}

// fail answers a failed SAML exchange: a generic page, the reason logged.
func (sp *SP) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, title, msg := http.StatusForbidden, "Sign-in failed", "We could not sign you in. Please try again; if it keeps failing, give your administrator the reference below."
	var se *StatusError
	var e *Error
	switch {
	case errors.As(err, &se):
		msg = "Microsoft Entra ID did not sign you in."
		if se.Code != "" {
			msg += " Error " + se.Code + "."
		}
		if e, ok := aadstsTable[se.Code]; ok {
			msg += " " + e.meaning + " For your administrator: " + e.fix
		}
	case errors.Is(err, ErrStore):
		status, title, msg = http.StatusServiceUnavailable, "Sign-in is unavailable", "Sign-in is temporarily unavailable. Please try again in a minute."
	case errors.As(err, &e) && e.TooLarge():
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformed):
		status = http.StatusBadRequest
	case errors.Is(err, ErrConfig), errors.Is(err, ErrMetadata):
		status = http.StatusInternalServerError
	}
	sp.failStatus(w, r, status, title, msg, err)
}

func (sp *SP) failStatus(w http.ResponseWriter, r *http.Request, status int, title, msg string, err error) {
	var id [8]byte
	rand.Read(id[:])
	ref := hex.EncodeToString(id[:])
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	if !noteFailure(r, err, status, ref) { // else the event's record has it
		sp.logger.Log(r.Context(), level, "entrasaml: "+strings.ToLower(title), "status", status, "correlation_id", ref,
			"err", err, "entity_id", sp.entityID, "path", r.URL.Path)
	}
	page.Write(w, status, title, msg, ref, sp.cookiePath)
}

// provisionErr is the error logged when Config.Provision refuses s: err
// itself when it already says ErrNotProvisioned, else err wrapped in it.
func provisionErr(err error, s *Session) error {
	if errors.Is(err, ErrNotProvisioned) {
		return err
	}
	return wrapErr(ErrNotProvisioned, err, "Config.Provision refused %s", quote(s.NameID))
}

type sessionKey struct{}

// ContextWithSession returns a copy of ctx carrying s, as RequireAccount
// does; use it to unit-test handlers that call SessionFromContext.
func ContextWithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFromContext returns the session RequireAccount or LoadSession put
// into ctx. The Session may be shared between requests: treat it as
// read-only.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

func (sp *SP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		sp.failStatus(w, r, http.StatusMethodNotAllowed, "Method not allowed", "", newErr(ErrMalformed, "%s to the metadata URL", r.Method))
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(sp.SPMetadata())
}
