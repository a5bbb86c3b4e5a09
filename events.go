package entrasaml

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind string

// The kinds of [Event].
const (
	// EventSignIn: a POST to the ACS, accepted (a session started) or
	// refused.
	EventSignIn EventKind = "sign_in"
	// EventLogout: a request to the logout URL: a user signing out
	// (Flow "sp_initiated"), the IdP's LogoutResponse to that
	// ("logout_response") or a LogoutRequest from the IdP
	// ("idp_initiated").
	EventLogout EventKind = "logout"
	// EventMetadataRefresh: a fetch of Config.MetadataURL after New, that
	// replaced the metadata or kept the last good copy.
	EventMetadataRefresh EventKind = "metadata_refresh"
	// EventCertificate: an IdP signing certificate in newly loaded metadata
	// (by New or a refresh) expires within 30 days, or has expired.
	EventCertificate EventKind = "certificate"
)

// Event outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeWarning = "warning" // EventCertificate
)

// Reason codes that are not a sentinel's name. See [ReasonCode].
const (
	// ReasonOK is the Reason of every successful event.
	ReasonOK = "ok"
	// ReasonStatus: Entra answered with a non-Success status
	// ([*StatusError]); Event.AADSTS has its code.
	ReasonStatus = "StatusError"
	// ReasonCertificateExpiring and ReasonCertificateExpired are the
	// Reasons of EventCertificate.
	ReasonCertificateExpiring = "CertificateExpiring"
	ReasonCertificateExpired  = "CertificateExpired"
	// ReasonUnknown: an error that matches none of the package's
	// sentinels (this package returns none such), or a panic while serving
	// the request: a bug if seen.
	ReasonUnknown = "Unknown"
)

// Event is one thing that happened to an [SP], for logs, metrics and
// audit: every sign-in attempt at the ACS, every request to the logout
// URL, every metadata refresh and every certificate warning. The SP
// delivers each to Config.Logger as one record and to Config.OnEvent.
//
// The record's message is for people; its attributes are for machines and
// keep the same keys: "event" (Kind), "outcome", "reason", "entity_id",
// "duration", then, when set, "correlation_id" (RefID), "status"
// (HTTPStatus), "flow", "trigger", "aadsts", "err", and for certificates
// "subject", "thumbprint" (SHA-1, uppercase hex, as Entra shows it),
// "not_after" and "days_left". Successes are logged at Info, failures and
// expiring certificates at Warn, failures answered with a 5xx status and
// expired certificates at Error. The record leaves out Session (personal
// data); the hook gets it.
//
// Events come from the SP's HTTP handlers and its metadata loading:
// calling [SP.Verify] directly reports none (its caller knows the outcome).
type Event struct {
	Kind EventKind
	// Outcome is OutcomeSuccess or OutcomeFailure, or OutcomeWarning for
	// EventCertificate.
	Outcome string
	// Reason is a stable, machine-readable code: ReasonOK on success, else
	// [ReasonCode] of Err (the sentinel's Go name, such as
	// "ErrAudienceMismatch"), or ReasonCertificateExpiring or
	// ReasonCertificateExpired. The set of codes is closed: use it as a
	// metric label.
	Reason string
	// EntityID is the SP's (Config.EntityID): which customer.
	EntityID string
	// Time is when the event started, by Config.Now.
	Time time.Time
	// Duration is how long the SP took: for a sign-in, from the ACS request
	// to its answer (verification, Config.Provision and the Store); for a
	// refresh, the fetch and parse. It is measured with the monotonic
	// clock, not Config.Now (which only decides validity); 0 for
	// EventCertificate.
	Duration time.Duration
	// RefID is the correlation id shown to the user on the error page
	// ("Reference: …"), so that support can find this event; "" when no
	// error page was shown.
	RefID string
	// HTTPStatus is the status the SP answered with (303 for a sign-in
	// that redirects into the app); 0 for refreshes and certificates.
	HTTPStatus int
	// Err is the failure (nil on success, and for EventCertificate). Its
	// Error text is for logs: never show it to users.
	Err error
	// Flow says how a sign-in or logout started: "sp_initiated" or
	// "idp_initiated" (for a sign-in only known once it succeeded), or
	// "logout_response" for the IdP's answer to a LogoutRequest.
	Flow string
	// Trigger says why a refresh ran: "stale" (older than
	// Config.MetadataMaxAge), "unknown_signer" (a response signed by a
	// certificate the metadata lacks) or "explicit" ([SP.RefreshMetadata]).
	Trigger string
	// AADSTS is the Entra error code of a [*StatusError] (e.g.
	// "AADSTS50105"), or "". It comes from an unsigned message: do not
	// use it as a metric label, which anyone could make unbounded.
	AADSTS string
	// Session is the session a successful sign-in started (nil
	// otherwise). Treat it as read-only.
	Session *Session
	// Certificate is the IdP signing certificate of an EventCertificate.
	Certificate *x509.Certificate
}

// sentinelCodes name each sentinel by its Go name: the reason codes.
var sentinelCodes = [...]struct {
	err  error
	code string
}{
	{ErrInvalidSignature, "ErrInvalidSignature"},
	{ErrUnknownSigner, "ErrUnknownSigner"},
	{ErrExpired, "ErrExpired"},
	{ErrNotYetValid, "ErrNotYetValid"},
	{ErrAudienceMismatch, "ErrAudienceMismatch"},
	{ErrIssuerMismatch, "ErrIssuerMismatch"},
	{ErrDestinationMismatch, "ErrDestinationMismatch"},
	{ErrRequestIDMismatch, "ErrRequestIDMismatch"},
	{ErrUnsolicited, "ErrUnsolicited"},
	{ErrReplay, "ErrReplay"},
	{ErrMalformed, "ErrMalformed"},
	{ErrMetadata, "ErrMetadata"},
	{ErrConfig, "ErrConfig"},
	{ErrNotProvisioned, "ErrNotProvisioned"},
	{ErrDecryption, "ErrDecryption"},
	{ErrStore, "ErrStore"},
}

// ReasonCode returns the stable reason code of err: ReasonOK for nil, the
// Go name of the sentinel it matches (e.g. "ErrAudienceMismatch"; for an
// [*Error], the sentinel in its Err), ReasonStatus for a [*StatusError], and
// ReasonUnknown for anything else. Codes never change once released.
func ReasonCode(err error) string {
	if err == nil {
		return ReasonOK
	}
	var e *Error
	if errors.As(err, &e) {
		for _, s := range sentinelCodes {
			if e.Err == s.err {
				return s.code
			}
		}
	}
	var se *StatusError
	if errors.As(err, &se) {
		return ReasonStatus
	}
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return s.code
		}
	}
	return ReasonUnknown
}

// startRefreshEvent begins the event of a metadata refresh that mode
// started, and returns the function that reports its outcome.
func (sp *SP) startRefreshEvent(ctx context.Context, mode refreshMode) func(error) {
	ev := &Event{Kind: EventMetadataRefresh, EntityID: sp.entityID, Time: sp.now(), Trigger: "explicit"}
	switch mode {
	case refreshStale:
		ev.Trigger = "stale"
	case refreshUnknownSigner:
		ev.Trigger = "unknown_signer"
	}
	start := time.Now()
	return func(err error) {
		ev.Duration, ev.Err = time.Since(start), err
		sp.emit(ctx, ev)
	}
}

type eventKey struct{}

// startEvent begins the event of an HTTP request: it returns w, which
// records the status, and r with the event in its context, where
// failStatus and noteFailure find it, and the function that reports the
// event when the handler is done.
func (sp *SP) startEvent(w http.ResponseWriter, r *http.Request, kind EventKind, flow string) (http.ResponseWriter, *http.Request, func()) {
	ev := &Event{Kind: kind, EntityID: sp.entityID, Time: sp.now(), Flow: flow}
	start := time.Now()
	ctx := context.WithValue(r.Context(), eventKey{}, ev)
	sw := &statusWriter{ResponseWriter: w}
	return sw, r.WithContext(ctx), func() { // deferred: recover works here
		ev.Duration = time.Since(start)
		if ev.HTTPStatus == 0 {
			ev.HTTPStatus = sw.status
		}
		p := recover()
		if p != nil { // a panic in the handler (say in Config.Provision) is no success
			ev.Err, ev.Session = fmt.Errorf("entrasaml: panic serving %s: %v", r.URL.Path, p), nil
		}
		sp.emit(ctx, ev)
		if p != nil {
			panic(p) // on to net/http, which logs it with the stack
		}
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// eventOf returns the event r is serving, or nil.
func eventOf(r *http.Request) *Event {
	ev, _ := r.Context().Value(eventKey{}).(*Event)
	return ev
}

// noteFailure records the first failure of r's event: the error, the
// status answered and the reference id on the page. It reports whether r
// has an event (which then logs the failure).
func noteFailure(r *http.Request, err error, status int, ref string) bool {
	ev := eventOf(r)
	if ev == nil {
		return false
	}
	if ev.Err == nil {
		ev.Err, ev.HTTPStatus, ev.RefID = err, status, ref
	}
	return true
}

// emit completes ev and delivers it to Config.Logger and Config.OnEvent.
func (sp *SP) emit(ctx context.Context, ev *Event) {
	if ev.Reason == "" {
		ev.Reason = ReasonCode(ev.Err)
	}
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
		if ev.Err != nil {
			ev.Outcome = OutcomeFailure
		}
	}
	var se *StatusError
	if errors.As(ev.Err, &se) {
		ev.AADSTS = se.Code
	}
	if ev.Kind == EventSignIn && ev.Session != nil && ev.Flow == "" {
		ev.Flow = "sp_initiated"
		if ev.Session.InResponseTo == "" {
			ev.Flow = "idp_initiated"
		}
	}
	sp.logEvent(ctx, ev)
	if sp.onEvent != nil {
		sp.callHook(ctx, *ev)
	}
}

// callHook runs Config.OnEvent, recovering a panic: a broken metrics or
// audit hook must not fail sign-ins, nor crash the process from a
// metadata refresh's goroutine.
func (sp *SP) callHook(ctx context.Context, ev Event) {
	defer func() {
		if p := recover(); p != nil {
			sp.logger.ErrorContext(ctx, "entrasaml: Config.OnEvent panicked", "panic", p,
				"event", string(ev.Kind), "entity_id", ev.EntityID)
		}
	}()
	sp.onEvent(ctx, ev)
}

// eventMessage is the log message of an event that succeeded or failed.
func eventMessage(kind EventKind, ok bool) string {
	switch {
	case kind == EventSignIn && ok:
		return "entrasaml: signed in"
	case kind == EventSignIn:
		return "entrasaml: sign-in failed"
	case kind == EventLogout && ok:
		return "entrasaml: signed out"
	case kind == EventLogout:
		return "entrasaml: sign-out failed"
	case ok:
		return "entrasaml: metadata refreshed"
	}
	return "entrasaml: metadata refresh failed; keeping the last good metadata"
}

func (sp *SP) logEvent(ctx context.Context, ev *Event) {
	level, msg := slog.LevelInfo, ""
	switch {
	case ev.Kind == EventCertificate && ev.Reason == ReasonCertificateExpired:
		level, msg = slog.LevelError, "entrasaml: an IdP signing certificate has expired; "+
			"create and activate a new SAML signing certificate in the Entra application"
	case ev.Kind == EventCertificate:
		level, msg = slog.LevelWarn, "entrasaml: an IdP signing certificate expires soon; "+
			"create and activate a new SAML signing certificate in the Entra application"
	case ev.Outcome == OutcomeSuccess:
		msg = eventMessage(ev.Kind, true)
	default:
		level, msg = slog.LevelWarn, eventMessage(ev.Kind, false)
		if ev.HTTPStatus >= 500 {
			level = slog.LevelError
		}
	}
	if !sp.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs, slog.String("event", string(ev.Kind)), slog.String("outcome", ev.Outcome),
		slog.String("reason", ev.Reason), slog.String("entity_id", ev.EntityID), slog.Duration("duration", ev.Duration))
	for _, a := range [...]struct{ k, v string }{
		{"correlation_id", ev.RefID}, {"flow", ev.Flow}, {"trigger", ev.Trigger}, {"aadsts", ev.AADSTS},
	} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	if ev.HTTPStatus != 0 {
		attrs = append(attrs, slog.Int("status", ev.HTTPStatus))
	}
	if ev.Kind == EventMetadataRefresh {
		attrs = append(attrs, slog.String("url", sp.metadataURL))
	}
	if c := ev.Certificate; c != nil {
		sum := sha1.Sum(c.Raw)
		attrs = append(attrs, slog.String("subject", c.Subject.String()),
			slog.String("thumbprint", strings.ToUpper(hex.EncodeToString(sum[:]))),
			slog.String("not_after", c.NotAfter.UTC().Format(time.RFC3339)),
			slog.Int("days_left", daysLeft(c.NotAfter, ev.Time)))
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.Any("err", ev.Err))
	}
	sp.logger.LogAttrs(ctx, level, msg, attrs...)
}

// daysLeft is the number of whole days from now until t, negative once t
// has passed.
func daysLeft(t, now time.Time) int {
	return int(math.Floor(t.Sub(now).Hours() / 24))
}

// certificateEvents reports the certificates of st that expire within
// certExpiryWarning of now, or have expired.
func (sp *SP) certificateEvents(ctx context.Context, st *idpState, now time.Time) {
	for _, c := range st.md.Certificates {
		if !c.NotAfter.Before(now.Add(certExpiryWarning)) {
			continue
		}
		reason := ReasonCertificateExpiring
		if !now.Before(c.NotAfter) {
			reason = ReasonCertificateExpired
		}
		sp.emit(ctx, &Event{Kind: EventCertificate, Outcome: OutcomeWarning, Reason: reason,
			EntityID: sp.entityID, Time: now, Certificate: c})
	}
}
