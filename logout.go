package entrasaml

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml/internal/page"
)

// logoutCookie remembers, for ten minutes, the ID of the LogoutRequest this
// browser was sent to Entra with. Entra's LogoutResponse comes back as a
// top-level GET, which carries SameSite=Lax cookies.
const logoutCookie = "entrasaml_logout"

// serveLogout serves the logout URL (BaseURL + Config.LogoutPath):
//
//   - without SAML parameters (the link a user clicks): when the request
//     comes from one of the application's own pages (see fromOwnPage),
//     ends the local session (in the Store too, so a copied cookie stops
//     working on every instance), then, when the IdP metadata lists a
//     logout URL and Config.LocalLogoutOnly is false, redirects to it with
//     a LogoutRequest; otherwise shows a signed-out page. From anywhere
//     else (another site's link, image or form) it ends nothing and shows
//     a page asking "Sign out?" whose button POSTs back here;
//   - GET with SAMLResponse: the IdP's LogoutResponse to that request:
//     signature checked when it has one, Issuer, Destination,
//     IssueInstant within Config.ClockSkew, InResponseTo and status; then
//     a redirect (303) to the clean signed-out URL (?signed-out=...), so
//     that a reload or Back does not replay the response;
//   - GET with signed-out (and no SAML parameters): the signed-out page,
//     or the "Sign out?" page when the browser still has a session;
//   - GET with SAMLRequest: a LogoutRequest from the IdP (the user signed
//     out of another application): see serveLogoutRequest.
func (sp *SP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, POST")
		sp.failStatus(w, r, http.StatusMethodNotAllowed, "Method not allowed", "", newErr(ErrMalformed, "%s to the logout URL", r.Method))
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && q.Has("SAMLResponse"):
		sp.serveLogoutResponse(w, r)
	case r.Method == http.MethodGet && q.Has("SAMLRequest"):
		sp.serveLogoutRequest(w, r)
	case r.Method != http.MethodPost && q.Has(signedOutParam):
		sp.serveSignedOut(w, r, q.Get(signedOutParam))
	case !sp.fromOwnPage(r):
		page.Write(w, http.StatusOK, "Sign out?", "Do you want to sign out of this application?", "", sp.cookiePath,
			page.Form{Action: sp.logoutPath, Button: "Sign out"})
	default:
		sp.startLogout(w, r)
	}
}

// fromOwnPage reports whether a sign-out request without SAML parameters
// comes from the application's own origin (BaseURL's scheme, host and
// port), so that another site cannot sign users out (logout CSRF):
//
//   - Sec-Fetch-Site, when sent (every current browser), must be
//     "same-origin", or "none" (typed, bookmarked) for a GET; "same-site"
//     is refused, since sibling subdomains may belong to other customers;
//   - Origin, when sent, must be BaseURL's origin ("null" is refused);
//   - without either, a Referer must be BaseURL's origin;
//   - with none of the three, a POST is accepted (browsers send Origin on
//     every cross-site POST, so this is not a browser's cross-site form)
//     and a GET is not: an old browser whose Referer was suppressed gets
//     the confirmation page, one click more.
func (sp *SP) fromOwnPage(r *http.Request) bool {
	site, origin, referer := r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin"), r.Header.Get("Referer")
	own := originOf(sp.baseURL)
	if site != "" && site != "same-origin" && (site != "none" || r.Method == http.MethodPost) {
		return false
	}
	if origin != "" && originOf(origin) != own {
		return false
	}
	switch {
	case site != "" || origin != "":
		return true
	case referer != "":
		return originOf(referer) == own
	}
	return r.Method == http.MethodPost
}

// originOf returns the origin of an absolute http(s) URL, lower-cased and
// without a default port; "" for anything else (such as "null").
func originOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	return scheme + "://" + host
}

func (sp *SP) signedOut(w http.ResponseWriter, msg string) {
	page.Write(w, http.StatusOK, "You are signed out", msg, "", sp.cookiePath)
}

// signedOutParam names the outcome of single logout on the clean URL the
// SP redirects to after the IdP's LogoutResponse: signedOutAll, or
// signedOutLocal when the IdP reported a failure.
const (
	signedOutParam = "signed-out"
	signedOutAll   = "all"
	signedOutLocal = "local"
)

// serveSignedOut shows the signed-out page for outcome. It changes
// nothing, and a browser that still has a session (a link from elsewhere)
// gets the "Sign out?" page instead of a page that would lie.
func (sp *SP) serveSignedOut(w http.ResponseWriter, r *http.Request, outcome string) {
	s, err := sp.sessionFromRequest(r)
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	if s != nil {
		page.Write(w, http.StatusOK, "Sign out?", "Do you want to sign out of this application?", "", sp.cookiePath,
			page.Form{Action: sp.logoutPath, Button: "Sign out"})
		return
	}
	switch outcome {
	case signedOutAll:
		sp.signedOut(w, "You have signed out of this application and of Microsoft Entra ID.")
	case signedOutLocal:
		sp.signedOut(w, "You have signed out of this application, but Microsoft Entra ID could not sign you out everywhere. "+
			"Close your browser to end your Microsoft session.")
	default:
		sp.signedOut(w, "You have signed out of this application.")
	}
}

func (sp *SP) startLogout(w http.ResponseWriter, r *http.Request) {
	w, r, done := sp.startEvent(w, r, EventLogout, "sp_initiated")
	defer done()
	s, err := sp.sessionFromRequest(r)
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	if err := sp.EndSession(w, r); err != nil {
		sp.failLogout(w, r, err)
		return
	}
	if s == nil || sp.localLogoutOnly || sp.idp.Load().md.LogoutURL == "" {
		sp.signedOut(w, "You have signed out of this application.")
		return
	}
	u, id, err := sp.LogoutRequestURL(s)
	if err != nil {
		noteFailure(r, err, 0, "") // signed out here, but not of Entra
		sp.signedOut(w, "You have signed out of this application.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: logoutCookie, Value: sp.sealer.seal(encodePayload(sp.now().Add(pendingTTL), id), sp.adLogout),
		Path: sp.logoutPath, MaxAge: int(pendingTTL / time.Second), HttpOnly: true, Secure: sp.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (sp *SP) serveLogoutResponse(w http.ResponseWriter, r *http.Request) {
	w, r, done := sp.startEvent(w, r, EventLogout, "logout_response")
	defer done()
	msg, err := sp.readRedirectMessage(r.URL.RawQuery, "SAMLResponse")
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	var requestID string
	if c, err := r.Cookie(logoutCookie); err == nil {
		requestID, _ = sp.sealer.openField(c.Value, sp.adLogout, sp.now())
	}
	http.SetCookie(w, &http.Cookie{Name: logoutCookie, Value: "", Path: sp.logoutPath, MaxAge: -1, HttpOnly: true,
		Secure: sp.secure, SameSite: http.SameSiteLaxMode})
	err = sp.checkLogoutResponse(msg.root, requestID)
	outcome := signedOutAll
	var se *StatusError
	switch {
	case err == nil:
	case errors.As(err, &se):
		noteFailure(r, err, 0, "") // the IdP reported a failed single logout
		outcome = signedOutLocal
	default:
		sp.failLogout(w, r, err)
		return
	}
	// A clean URL: reloading it, or going Back, shows the page again
	// instead of replaying a LogoutResponse whose request is gone.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, sp.logoutPath+"?"+signedOutParam+"="+outcome, http.StatusSeeOther)
}

// serveLogoutRequest handles a LogoutRequest from the IdP and answers it
// with a LogoutResponse. Its IssueInstant must lie within Config.ClockSkew
// of now (and NotOnOrAfter, when present, must not have passed): a
// captured URL cannot be played later. A request whose query-string signature verifies
// with the IdP's certificates ends every session of its NameID (and
// SessionIndex, when given), on every instance sharing the Store. An
// unsigned one can only end the session of the browser carrying it, and
// only when that session is of the same NameID and SessionIndex: a third
// party can then sign nobody else out. The ID of a signed request is
// remembered in the Store until it is too old anyway (namespaced per SP,
// like the assertion replay cache) and a second use is refused with
// ErrReplay; an unsigned one is not recorded, since anyone can make a new
// one. (Entra sends its front-channel
// LogoutRequests through the user's browser, which carries the session
// cookie on that top-level GET.)
func (sp *SP) serveLogoutRequest(w http.ResponseWriter, r *http.Request) {
	w, r, done := sp.startEvent(w, r, EventLogout, "idp_initiated")
	defer done()
	msg, err := sp.readRedirectMessage(r.URL.RawQuery, "SAMLRequest")
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	req, err := sp.parseLogoutRequest(msg.root)
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	if msg.signed {
		if err := sp.recordLogoutRequest(r.Context(), req); err != nil {
			sp.failLogout(w, r, err)
			return
		}
	}
	s, err := sp.sessionFromRequest(r)
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	if s != nil && s.NameID == req.nameID && (len(req.sessionIndex) == 0 || contains(req.sessionIndex, s.SessionIndex)) {
		if err := sp.EndSession(w, r); err != nil {
			sp.failLogout(w, r, err)
			return
		}
	}
	if msg.signed {
		if err := sp.endSessionsOf(r.Context(), req.nameID, req.sessionIndex); err != nil {
			sp.failLogout(w, r, err)
			return
		}
	}
	u, err := sp.logoutResponseURL(req.id, msg.relayState)
	if err != nil {
		sp.failLogout(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
