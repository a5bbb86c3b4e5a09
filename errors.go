package entrasaml

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Sentinel errors. Every error returned by a function or method of this
// package matches exactly one of them with [errors.Is], except a
// non-Success SAML status from [SP.Verify], which is a [*StatusError], and
// the backend errors a [MemoryStore] returns as a [Store] (the SP wraps
// every Store error in ErrStore).
// The concrete type is [*Error], whose Reason says what failed.
var (
	// ErrInvalidSignature: no signature, a signature that does not verify,
	// or one outside the signature policy (placement, algorithms, transforms,
	// key size), and every layout that smells of signature wrapping.
	ErrInvalidSignature = errors.New("entrasaml: invalid signature")
	// ErrUnknownSigner: the message was signed with a certificate that the
	// IdP metadata does not list. With Entra this usually means the
	// tenant-level metadata was configured instead of the app's own
	// (…?appid=…), or the app's signing certificate was rolled.
	ErrUnknownSigner = errors.New("entrasaml: signed by a certificate not in the IdP metadata")
	// ErrExpired: a NotOnOrAfter (Conditions, SubjectConfirmationData or
	// SessionNotOnOrAfter) has passed, allowing for clock skew.
	ErrExpired = errors.New("entrasaml: assertion expired")
	// ErrNotYetValid: Conditions NotBefore, or a Response or Assertion
	// IssueInstant, is in the future, allowing for clock skew.
	ErrNotYetValid = errors.New("entrasaml: assertion not yet valid")
	// ErrAudienceMismatch: no Audience equals the SP's EntityID.
	ErrAudienceMismatch = errors.New("entrasaml: audience mismatch")
	// ErrIssuerMismatch: an Issuer differs from the IdP metadata's entity ID.
	ErrIssuerMismatch = errors.New("entrasaml: issuer mismatch")
	// ErrDestinationMismatch: the Response Destination or the
	// SubjectConfirmationData Recipient is not one of the SP's ACS URLs,
	// the two differ, or they are not the ACS URL the answered request
	// named or the one the response was posted to.
	ErrDestinationMismatch = errors.New("entrasaml: destination mismatch")
	// ErrRequestIDMismatch: InResponseTo names no request this browser has
	// outstanding (at the ACS, the Reason says when no pending-request
	// cookie arrived at all).
	ErrRequestIDMismatch = errors.New("entrasaml: InResponseTo does not match an outstanding request")
	// ErrUnsolicited: an IdP-initiated response (no InResponseTo) while
	// Config.AllowIdPInitiated is false.
	ErrUnsolicited = errors.New("entrasaml: unsolicited response")
	// ErrReplay: the assertion was already used.
	ErrReplay = errors.New("entrasaml: assertion replayed")
	// ErrMalformed: input that is not a well-formed, bounded SAML response
	// (size, base64, XML, DTDs, structure, unsupported constructs).
	ErrMalformed = errors.New("entrasaml: malformed SAML message")
	// ErrMetadata: IdP metadata that cannot be used, or cannot be fetched.
	ErrMetadata = errors.New("entrasaml: unusable IdP metadata")
	// ErrConfig: an invalid Config given to New (a BaseURL ending with an
	// endpoint path, such as a pasted Reply URL, included), invalid
	// AuthnOptions, or a Config.Key that fails to sign a request.
	ErrConfig = errors.New("entrasaml: invalid configuration")
	// ErrNotProvisioned: Config.Provision refused a verified user (no
	// account in the application, or a deactivated one).
	ErrNotProvisioned = errors.New("entrasaml: user not provisioned")
	// ErrDecryption: the Response holds an EncryptedAssertion that cannot be
	// decrypted. Either the SP has no Config.DecryptionKeys, or the assertion
	// uses an algorithm outside the policy (RSA-OAEP key transport, AES-128/256
	// in CBC or GCM mode), or it does not decrypt: the certificate uploaded to
	// Entra is not one of Config.DecryptionKeys, or the ciphertext was altered.
	// Every failure that depends on the keys or on the decrypted bytes gives
	// the same Reason, so that no error tells a padding failure from a wrong key
	// or from garbage plaintext (a padding or parsing oracle).
	ErrDecryption = errors.New("entrasaml: cannot decrypt the assertion")
	// ErrStore: the Store failed (for example Redis is down), so the
	// response could not be checked for replay; nothing was accepted.
	ErrStore = errors.New("entrasaml: store unavailable")
)

// Error is the concrete type of every failure except [*StatusError]. Err is
// one of the sentinels above; Reason says exactly what failed, for logs.
// Reason never contains raw XML, and values from the message only when they
// were covered by a verified signature (and then quoted and truncated).
// Show users a generic page, not Reason.
type Error struct {
	Err    error  // the sentinel
	Reason string // what failed, for logs
	cause  error  // an underlying error (I/O, x509, context), if any
	large  bool   // input exceeded a size limit
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Err.Error() + ": " + e.Reason + ": " + e.cause.Error()
	}
	return e.Err.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel and, if there is one, the underlying cause
// (never another sentinel of this package).
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}

// TooLarge reports whether the input exceeded a size limit (an HTTP layer
// answers 413).
func (e *Error) TooLarge() bool { return e.large }

func newErr(sentinel error, format string, args ...any) *Error {
	return &Error{Err: sentinel, Reason: fmt.Sprintf(format, args...)}
}

// wrapErr is newErr with an underlying cause. A cause that is itself one
// of this package's errors (a Store or a Provision hook may return one) is
// folded into Reason instead, so that the result still matches exactly one
// sentinel.
func wrapErr(sentinel error, cause error, format string, args ...any) *Error {
	e := &Error{Err: sentinel, Reason: fmt.Sprintf(format, args...), cause: cause}
	if ours := (*Error)(nil); errors.As(cause, &ours) {
		e.Reason, e.cause = e.Reason+": "+reasonOf(cause), nil
	}
	return e
}

// reasonOf returns an *Error's Reason, and a cause's message, without the
// sentinel's text.
func reasonOf(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.cause != nil {
		return e.Reason + ": " + e.cause.Error()
	}
	return e.Reason
}

// quote formats a value for an error Reason: quoted, escaped, truncated.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// stamp formats a time for an error Reason.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// StatusError is returned by [SP.Verify] for a Response whose status is not
// Success: Entra reports a sign-in failure this way (for example AADSTS50105,
// the user is not assigned to the application). Entra does not sign such
// responses: everything in it is unauthenticated. It is safe to show Code
// to the user; Message is for logs.
type StatusError struct {
	// Codes are the StatusCode values, outermost first, e.g.
	// ["urn:oasis:names:tc:SAML:2.0:status:Requester",
	// "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"].
	Codes []string
	// Message is the StatusMessage (truncated to 512 bytes).
	Message string
	// Code is the AADSTS error code found at the start of Message (e.g.
	// "AADSTS50105"), or "" when there is none.
	Code string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("entrasaml: IdP returned status ")
	b.WriteString(strings.Join(e.Codes, " / "))
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	return b.String()
}

// Hint returns what a well-known AADSTS code means and what the customer's
// administrator must change, or "" for a code this package does not know.
func (e *StatusError) Hint() string { return aadstsHint(e.Code) }

var aadstsCode = regexp.MustCompile(`^AADSTS[0-9]{1,9}\b`)
