package entrasaml

import (
	"context"
	"net/http"
)

// Sessions live in the Store, keyed by a random 256-bit ID; the browser
// holds only that ID, sealed with Config.SessionKeys (AES-256-GCM) and bound
// to this SP, in a SameSite=Lax cookie of about 100 bytes. So a user with
// 150 groups fits any browser, sign-out ends the session everywhere (a
// copied cookie finds nothing), and every instance sharing the Store and
// the keys accepts it.

// startSession stores s and sets the session cookie.
func (sp *SP) startSession(ctx context.Context, w http.ResponseWriter, s *Session) error {
	now := sp.now()
	ttl := s.ExpiresAt.Sub(now)
	if ttl <= 0 {
		return newErr(ErrExpired, "the session would expire at once")
	}
	raw := encodeSession(s)
	id := randomID()
	if err := sp.store.Set(ctx, sp.sessNS+id, raw, ttl); err != nil {
		return wrapErr(ErrStore, err, "saving the session")
	}
	if err := sp.indexSession(ctx, id, s); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: sp.sealer.seal(encodePayload(s.ExpiresAt, id), sp.adSession),
		Path: sp.cookiePath, MaxAge: int(ttl.Seconds()), HttpOnly: true, Secure: sp.secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// sessionID returns the session ID of r's cookie, or "" when there is no
// valid, unexpired one.
func (sp *SP) sessionID(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	id, _ := sp.sealer.openField(c.Value, sp.adSession, sp.now())
	return id
}

// sessionFromRequest returns r's session, nil when there is none, or an
// ErrStore error when the Store cannot be asked.
func (sp *SP) sessionFromRequest(r *http.Request) (*Session, error) {
	id := sp.sessionID(r)
	if id == "" {
		return nil, nil
	}
	raw, found, err := sp.store.Get(r.Context(), sp.sessNS+id)
	if err != nil {
		return nil, wrapErr(ErrStore, err, "loading the session")
	}
	if !found {
		return nil, nil // signed out, or expired
	}
	s := sp.sessions.decode(id, raw)
	if s == nil || !sp.now().Before(s.ExpiresAt) {
		return nil, nil
	}
	return s, nil
}

// Session returns the session of r's cookie, or nil when r has none.
func (sp *SP) Session(r *http.Request) (*Session, error) { return sp.sessionFromRequest(r) }

// EndSession signs the browser out of this application: it deletes the
// session from the Store (so a copy of the cookie stops working, on every
// instance) and clears the cookie. It does not sign the user out of Entra.
func (sp *SP) EndSession(w http.ResponseWriter, r *http.Request) error {
	if id := sp.sessionID(r); id != "" {
		sp.sessions.forget(id)
		if err := sp.store.Delete(r.Context(), sp.sessNS+id); err != nil {
			return wrapErr(ErrStore, err, "deleting the session")
		}
	}
	sp.clearCookie(w, sessionCookie, sp.cookiePath)
	return nil
}
