package entrasaml

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sessions live in the Store, keyed by a random 256-bit ID; the browser
// holds only that ID, sealed with Config.SessionKeys (AES-256-GCM) and bound
// to this SP, in a SameSite=Lax cookie of about 100 bytes (named with the
// __Host- or __Secure- prefix on https: see sessionCookieName). So a user with
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
		Name: sp.sessionCookieName(), Value: sp.sealer.seal(encodePayload(s.ExpiresAt, id), sp.adSession),
		Path: sp.cookiePath, MaxAge: int(ttl.Seconds()), HttpOnly: true, Secure: sp.secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// sessionID returns the session ID of r's cookie, or "" when there is no
// valid, unexpired one.
func (sp *SP) sessionID(r *http.Request) string {
	c, err := r.Cookie(sp.sessionCookieName())
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
	sp.clearCookie(w, sp.sessionCookieName(), sp.cookiePath)
	return nil
}

// The sessions of one NameID are indexed, so that an IdP-initiated logout
// (see serveLogoutRequest) finds them on every instance. The index is
// maxIndexed slots, each a Store key of its own (indexSlotKey) holding one
// indexLine and expiring with its session. A sign-in claims a free slot
// with SetIfAbsent, the Store's atomic one-time-use primitive, so that
// concurrent sign-ins of one user, on one instance or several, never
// overwrite each other's entry (a read-modify-write of one list would lose
// one). Any Store that meets the Store contract gets this: it needs no
// method of its own.
//
// Cost: a sign-in tries slots from a random one on, one SetIfAbsent each,
// about 1/(1 - live/maxIndexed) tries; an IdP-initiated logout reads every
// slot (maxIndexed Gets). When all slots are live, the entry that expires
// first is replaced (Get each, then Set): sign-ins racing for that place
// can still replace each other's entry, and an older session then ends
// only at its expiry, as with the bounded list before.

// indexSession adds session id to the index of its NameID's sessions.
func (sp *SP) indexSession(ctx context.Context, id string, s *Session) error {
	now := sp.now()
	line := []byte(indexLine(id, s.SessionIndex, s.ExpiresAt))
	ttl := s.ExpiresAt.Sub(now) + time.Second
	first := rand.IntN(maxIndexed)
	for i := range maxIndexed {
		ok, err := sp.store.SetIfAbsent(ctx, sp.indexSlotKey(s.NameID, (first+i)%maxIndexed), line, ttl)
		if err != nil {
			return wrapErr(ErrStore, err, "saving the session index")
		}
		if ok {
			return nil
		}
	}
	// Every slot is live: replace the entry that expires first.
	victim, earliest := first, int64(0)
	for i := range maxIndexed {
		raw, found, err := sp.store.Get(ctx, sp.indexSlotKey(s.NameID, i))
		if err != nil {
			return wrapErr(ErrStore, err, "loading the session index")
		}
		exp := int64(0) // an entry that vanished meanwhile, or is unreadable, goes first
		if f, ok := parseIndexLine(raw); found && ok {
			exp = f.exp
		}
		if i == 0 || exp < earliest {
			victim, earliest = i, exp
		}
	}
	if err := sp.store.Set(ctx, sp.indexSlotKey(s.NameID, victim), line, ttl); err != nil {
		return wrapErr(ErrStore, err, "saving the session index")
	}
	return nil
}

// endSessionsOf deletes every session of nameID whose SessionIndex is one
// of sessionIndex (all of them when sessionIndex is empty).
func (sp *SP) endSessionsOf(ctx context.Context, nameID string, sessionIndex []string) error {
	end := func(raw []byte) (bool, error) {
		f, ok := parseIndexLine(raw)
		if !ok || len(sessionIndex) > 0 && !contains(sessionIndex, f.sessionIndex) {
			return false, nil
		}
		sp.sessions.forget(f.id)
		if err := sp.store.Delete(ctx, sp.sessNS+f.id); err != nil {
			return false, wrapErr(ErrStore, err, "deleting a session")
		}
		return true, nil
	}
	for i := range maxIndexed {
		key := sp.indexSlotKey(nameID, i)
		raw, found, err := sp.store.Get(ctx, key)
		if err != nil {
			return wrapErr(ErrStore, err, "loading the session index")
		}
		if !found {
			continue
		}
		if ended, err := end(raw); err != nil {
			return err
		} else if ended {
			if err := sp.store.Delete(ctx, key); err != nil {
				return wrapErr(ErrStore, err, "updating the session index")
			}
		}
	}
	// Sessions indexed by an earlier version, in one list under
	// sessionIndexKey, until they expire (a rolling upgrade).
	raw, _, err := sp.store.Get(ctx, sp.sessionIndexKey(nameID))
	if err != nil {
		return wrapErr(ErrStore, err, "loading the session index")
	}
	for line := range strings.Lines(string(raw)) {
		if _, err := end([]byte(line)); err != nil {
			return err
		}
	}
	return nil
}

// indexSlotKey is the Store key of slot i of nameID's session index.
func (sp *SP) indexSlotKey(nameID string, i int) string {
	return sp.sessionIndexKey(nameID) + "/" + strconv.Itoa(i)
}

type indexEntry struct {
	id, sessionIndex string
	exp              int64 // Unix seconds
}

// maxIndexed bounds the sessions of one NameID that an IdP-initiated
// logout can find (see indexSession).
const maxIndexed = 32

// sessionIndexKey is the Store key listing the sessions of one NameID, so
// that an IdP-initiated logout reaches them on every instance.
func (sp *SP) sessionIndexKey(nameID string) string {
	h := sha256.Sum256([]byte(nameID))
	return sp.indexNS + base64.RawURLEncoding.EncodeToString(h[:16])
}

// indexLine is one session in a NameID's list: session ID, tab,
// SessionIndex, tab, expiry (Unix seconds).
func indexLine(id, sessionIndex string, exp time.Time) string {
	return id + "\t" + strings.NewReplacer("\n", " ", "\t", " ").Replace(sessionIndex) + "\t" + strconv.FormatInt(exp.Unix(), 10) + "\n"
}

// parseIndexLine reverses indexLine.
func parseIndexLine(raw []byte) (indexEntry, bool) {
	f := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\t")
	if len(f) != 3 || f[0] == "" {
		return indexEntry{}, false
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return indexEntry{}, false
	}
	return indexEntry{id: f[0], sessionIndex: f[1], exp: exp}, true
}
