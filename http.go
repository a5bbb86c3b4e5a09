package entrasaml

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
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

// ServeHTTP serves the SAML endpoints under BaseURL, at the paths
// configured (defaults below). Mount it with mux.Handle("/saml/", sp) for
// the default paths, or mount each of [SP.Paths]:
//
//   - POST /saml/acs (each of Config.ACSPaths): the Reply URL. Verifies the
//     response (addressed to this ACS URL, the one its request named), runs
//     Config.Provision, starts the session and redirects (303) to the path
//     the user was going to.
//   - GET /saml/login?return=/path (Config.LoginPath): a page navigation
//     starts sign-in ([SP.StartSignIn]) and comes back to the path
//     (same-origin paths only; anything else becomes "/"); anything else
//     gets 400. Entra's Sign on URL.
//   - GET /saml/metadata (Config.MetadataPath): SP metadata to upload to
//     Entra.
//   - GET or POST /saml/logout (Config.LogoutPath): when the request comes
//     from the application's own origin, ends the local session (server-side
//     too, so a copied cookie stops working) and then, when the IdP metadata
//     lists a logout URL and Config.LocalLogoutOnly is false, redirects
//     (303) to the IdP with a LogoutRequest to sign out of Entra too;
//     otherwise shows a signed-out page. From anywhere else it shows a
//     "Sign out?" page whose button POSTs. The IdP's LogoutResponse comes
//     back here and is answered with a redirect (303) to a clean signed-out
//     URL, so a reload shows the signed-out page again; a LogoutRequest from
//     the IdP is answered with a LogoutResponse (single logout).
//
// Failures get a short generic page with a correlation id and the status
// that fits (400 malformed, 403 refused, 405 wrong method, 413 too large,
// 503 store down); Config.Logger gets the reason.
func (sp *SP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, sp.basePath)
	switch {
	case !ok:
		http.NotFound(w, r)
	case slices.Contains(sp.acsRel, p):
		sp.serveACS(w, r, sp.baseURL+p)
	case p == sp.metadataRel:
		sp.serveMetadata(w, r)
	case p == sp.logoutRel:
		sp.serveLogout(w, r)
	case p == sp.loginRel:
		sp.serveLogin(w, r)
	default:
		http.NotFound(w, r)
	}
}

// RequireAccount wraps next so that it only runs for signed-in users, with
// the [Session] in the request context ([SessionFromContext]). Without a
// session, a GET or HEAD page navigation is redirected (303) to Entra to
// sign in ([SP.StartSignIn]; by way of BaseURL's origin when the request
// came to another host), and comes back to the same path afterwards;
// anything else (other methods, fetch/XHR, Accept: application/json) gets
// 401, since it could not follow the redirect. If the Store is down the
// answer is 503.
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

// StartSignIn redirects the browser to Entra with a new AuthnRequest (for
// an IdP whose metadata lists an HTTP-POST sign-on URL only, it answers
// with a page that posts the request there) and
// remembers, in a short-lived cookie bound to this browser, the request ID
// and returnTo, the same-origin path to come back to (anything else becomes
// "/"). RequireAccount calls it; call it yourself for a "Sign in" button,
// or link to the sign-in endpoint (Config.LoginPath).
//
// The pending-request cookie must reach the ACS on Entra's cross-site POST,
// which carries no SameSite=Lax cookies, so it is SameSite=None; Secure;
// HttpOnly, scoped to the ACS path the request names and ten minutes.
// Browsers accept Secure cookies from http://localhost and
// http://127.0.0.1; for other http origins (and clients that ignore
// SameSite=None) a second copy without SameSite or Secure is set when
// BaseURL is http. Use https in production.
//
// A cookie set on another host than BaseURL's would never reach the ACS
// (the app opened as http://127.0.0.1:8080 with BaseURL
// http://localhost:8080, say). So when the request's host name (or
// X-Forwarded-Host's) is not BaseURL's, StartSignIn first redirects (303)
// to the sign-in endpoint on BaseURL's origin, which continues from there,
// and logs both hosts (level Debug). If the sign-in endpoint again sees
// another host (a proxy that rewrites Host), it goes on, since the browser
// is then on BaseURL's origin.
func (sp *SP) StartSignIn(w http.ResponseWriter, r *http.Request, returnTo string) {
	returnTo = safeReturnPath(returnTo)
	if !sp.sameHost(r) && !(r.URL.Path == sp.loginPath && r.URL.Query().Has(hopParam)) {
		sp.logger.DebugContext(r.Context(), "entrasaml: the request came to another host than BaseURL's; sending the browser to BaseURL's origin "+
			"to sign in, since the sign-in cookie must be set where the response will arrive", "host", r.Host, "base_url_host", sp.baseHost)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, sp.loginURL+"?"+url.Values{"return": {returnTo}, hopParam: {"1"}}.Encode(), http.StatusSeeOther)
		return
	}
	acs := max(sp.acsIndex(sp.authn.ACSURL), 0)
	acsPath := sp.basePath + sp.acsRel[acs]
	var tok [12]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	send, requestID, err := sp.authnRequestSender(token)
	if err != nil {
		sp.fail(w, r, err)
		return
	}
	now := sp.now()
	value := sp.sealer.seal(encodePayload(now.Add(pendingTTL), requestID, returnTo), sp.adRequest)

	name := sp.requestCookiePrefix() + token
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: acsPath, MaxAge: int(pendingTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
	if !sp.secure {
		http.SetCookie(w, &http.Cookie{Name: name + legacySuffix, Value: value, Path: acsPath,
			MaxAge: int(pendingTTL / time.Second), HttpOnly: true})
	}
	w.Header().Set("Cache-Control", "no-store")
	send(w, r)
}

// hopParam marks the redirect StartSignIn makes to BaseURL's origin, so
// that the sign-in endpoint does not redirect again behind a proxy that
// rewrites Host.
const hopParam = "hop"

// serveLogin serves the sign-in endpoint: GET ?return=/path, a page
// navigation, starts sign-in and comes back to the path.
func (sp *SP) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		sp.failStatus(w, r, http.StatusMethodNotAllowed, "Method not allowed", "", newErr(ErrMalformed, "%s to the sign-in URL", r.Method))
		return
	}
	if !isNavigation(r) {
		// An image or a fetch from another site would only pile up
		// pending-request cookies.
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "sign-in starts with a page navigation", http.StatusBadRequest)
		return
	}
	sp.StartSignIn(w, r, r.URL.Query().Get("return"))
}

type pendingRequest struct {
	cookie, requestID, returnTo string
	expires                     int64 // Unix seconds
}

// pendingRequests returns the sign-ins this browser has outstanding, and
// whether it sent any pending-request cookie at all (readable or not).
func (sp *SP) pendingRequests(r *http.Request) (out []pendingRequest, anyCookie bool) {
	now := sp.now()
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, sp.requestCookiePrefix()) {
			continue
		}
		anyCookie = true
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
	return out, anyCookie
}

// serveACS serves the ACS URL at.
func (sp *SP) serveACS(w http.ResponseWriter, r *http.Request, at string) {
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
	pending, anyCookie := sp.pendingRequests(r)
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.requestID
	}
	s, err := sp.verifyAt(r.Context(), at, r.PostForm.Get("SAMLResponse"), ids)
	if err != nil {
		if errors.Is(err, ErrRequestIDMismatch) && !anyCookie {
			err = newErr(ErrRequestIDMismatch, "no pending-request cookie reached the ACS, so the response answers no request "+
				"of this browser: the sign-in started on another host than BaseURL's (%s) or in another browser, "+
				"more than ten minutes ago, or the browser refused the cookie (SameSite=None needs Secure): %s", sp.baseHost, reasonOf(err))
		}
		sp.fail(w, r, err)
		return
	}
	acsPath := sp.basePath + strings.TrimPrefix(at, sp.baseURL)

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
		sp.clearCookie(w, p.cookie, acsPath)
		if !sp.secure {
			sp.clearCookie(w, p.cookie+legacySuffix, acsPath)
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

// failStatusOf is the HTTP status for a failed SAML exchange.
func failStatusOf(err error) int {
	var e *Error
	switch {
	case errors.Is(err, ErrStore):
		return http.StatusServiceUnavailable
	case errors.As(err, &e) && e.TooLarge():
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrConfig), errors.Is(err, ErrMetadata):
		return http.StatusInternalServerError
	}
	return http.StatusForbidden
}

// failLogout answers a failed sign-out: a generic page that speaks of
// signing out, the reason logged.
func (sp *SP) failLogout(w http.ResponseWriter, r *http.Request, err error) {
	status := failStatusOf(err)
	title, msg := "Sign-out failed", "We could not complete signing you out. Close your browser to end your session; "+
		"if it keeps failing, give your administrator the reference below."
	if status == http.StatusServiceUnavailable {
		title, msg = "Sign-out is unavailable", "Sign-out is temporarily unavailable. Please try again in a minute."
	}
	sp.failStatus(w, r, status, title, msg, err)
}

// fail answers a failed sign-in: a generic page, the reason logged.
func (sp *SP) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, title, msg := failStatusOf(err), "Sign-in failed", "We could not sign you in. Please try again; if it keeps failing, give your administrator the reference below."
	var se *StatusError
	switch {
	case errors.As(err, &se):
		msg = "Microsoft Entra ID did not sign you in."
		if se.Code != "" {
			msg += " Error " + se.Code + "."
		}
		if e, ok := aadstsTable[se.Code]; ok {
			msg += " " + e.meaning + " For your administrator: " + e.fix
		}
	case status == http.StatusServiceUnavailable:
		title, msg = "Sign-in is unavailable", "Sign-in is temporarily unavailable. Please try again in a minute."
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
