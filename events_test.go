package entrasaml_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// sentinelsByName are the package's sentinel errors by Go name.
// TestReasonCodes checks that it lists every one declared in the package.
var sentinelsByName = map[string]error{
	"ErrInvalidSignature":    entrasaml.ErrInvalidSignature,
	"ErrUnknownSigner":       entrasaml.ErrUnknownSigner,
	"ErrExpired":             entrasaml.ErrExpired,
	"ErrNotYetValid":         entrasaml.ErrNotYetValid,
	"ErrAudienceMismatch":    entrasaml.ErrAudienceMismatch,
	"ErrIssuerMismatch":      entrasaml.ErrIssuerMismatch,
	"ErrDestinationMismatch": entrasaml.ErrDestinationMismatch,
	"ErrRequestIDMismatch":   entrasaml.ErrRequestIDMismatch,
	"ErrUnsolicited":         entrasaml.ErrUnsolicited,
	"ErrReplay":              entrasaml.ErrReplay,
	"ErrMalformed":           entrasaml.ErrMalformed,
	"ErrMetadata":            entrasaml.ErrMetadata,
	"ErrConfig":              entrasaml.ErrConfig,
	"ErrNotProvisioned":      entrasaml.ErrNotProvisioned,
	"ErrDecryption":          entrasaml.ErrDecryption,
	"ErrStore":               entrasaml.ErrStore,
}

// declaredSentinels returns the names of the package-level Err… variables
// that the package's non-test files declare with errors.New.
func declaredSentinels(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Err") || !id.IsExported() || i >= len(vs.Values) {
						continue
					}
					if c, ok := vs.Values[i].(*ast.CallExpr); ok {
						if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" {
							names = append(names, id.Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestReasonCodes: every sentinel declared in the package has a reason
// code, its Go name, which an error wrapping it yields too, and no two
// share one.
func TestReasonCodes(t *testing.T) {
	t.Parallel()
	declared := declaredSentinels(t)
	if len(declared) < 16 {
		t.Fatalf("found only %d sentinels in the source: %v", len(declared), declared)
	}
	var listed []string
	for name := range sentinelsByName {
		listed = append(listed, name)
	}
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Fatalf("the package declares the sentinels %v; this test lists %v", declared, listed)
	}
	seen := map[string]string{}
	for _, name := range declared {
		s := sentinelsByName[name]
		for _, err := range []error{
			s,
			&entrasaml.Error{Err: s, Reason: "what failed"},
			fmt.Errorf("handler: %w", &entrasaml.Error{Err: s, Reason: "what failed"}),
			fmt.Errorf("provision: %w", s),
			errors.Join(errors.New("context"), s),
		} {
			if got := entrasaml.ReasonCode(err); got != name {
				t.Errorf("ReasonCode(%v) = %q, want %q", err, got, name)
			}
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("%s and %s share a code", prev, name)
		}
		seen[name] = name
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, entrasaml.ReasonOK},
		{&entrasaml.StatusError{Code: "AADSTS50105"}, entrasaml.ReasonStatus},
		{fmt.Errorf("x: %w", &entrasaml.StatusError{}), entrasaml.ReasonStatus},
		{errors.New("something else"), entrasaml.ReasonUnknown},
		// The outermost *Error decides, as it says what failed.
		{&entrasaml.Error{Err: entrasaml.ErrNotProvisioned, Reason: "refused"}, "ErrNotProvisioned"},
	} {
		if got := entrasaml.ReasonCode(tc.err); got != tc.want {
			t.Errorf("ReasonCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// eventLog collects the events given to Config.OnEvent and the records
// logged to Config.Logger, as JSON objects.
type eventLog struct {
	mu     sync.Mutex
	events []entrasaml.Event
	buf    bytes.Buffer
}

func (l *eventLog) onEvent(_ context.Context, e entrasaml.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *eventLog) configure(cfg *entrasaml.Config) {
	cfg.OnEvent = l.onEvent
	cfg.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// take returns the events and records so far, and forgets them.
func (l *eventLog) take(t *testing.T) ([]entrasaml.Event, []map[string]any) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var recs []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, m)
	}
	evs := l.events
	l.events, l.buf = nil, bytes.Buffer{}
	return evs, recs
}

var pageRef = regexp.MustCompile(`Reference: <code>([0-9a-f]+)</code>`)

// TestSignInEvents: each ACS request is one event, with one log record
// carrying the same reason code, entity ID and reference id as the hook's
// Event and the user's error page.
func TestSignInEvents(t *testing.T) {
	t.Parallel()
	var log eventLog
	a := newApp(t, false, log.configure)
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/inbox")
	acs, form := signIn(t, c, resp)
	log.take(t) // nothing logged so far

	type want struct {
		status             int
		outcome, reason    string
		flow, aadsts, code string
	}
	requestID := ""
	for _, tc := range []struct {
		name string
		send func() (*http.Response, string)
		want want
	}{
		{"success", func() (*http.Response, string) { return post(t, c, acs, form) },
			want{http.StatusSeeOther, entrasaml.OutcomeSuccess, "ok", "sp_initiated", "", ""}},
		{"the same response again", func() (*http.Response, string) { return post(t, c, acs, form) },
			want{http.StatusForbidden, entrasaml.OutcomeFailure, "ErrRequestIDMismatch", "", "", ""}},
		{"not base64", func() (*http.Response, string) { return post(t, c, acs, url.Values{"SAMLResponse": {"%%%"}}) },
			want{http.StatusBadRequest, entrasaml.OutcomeFailure, "ErrMalformed", "", "", ""}},
		{"GET", func() (*http.Response, string) { return get(t, c, acs) },
			want{http.StatusMethodNotAllowed, entrasaml.OutcomeFailure, "ErrMalformed", "", "", ""}},
		{"AADSTS status", func() (*http.Response, string) {
			c := a.browser(t) // signed out
			resp, _ := get(t, c, a.srv.URL+"/")
			loc, _ := url.Parse(resp.Header.Get("Location"))
			req, err := entratest.ParseAuthnRequest(loc.Query())
			if err != nil {
				t.Fatal(err)
			}
			requestID = req.ID
			v, err := a.idp.ErrorResponse(acs, req.ID, entratest.StatusRequester, "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
				"AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted access.")
			if err != nil {
				t.Fatal(err)
			}
			return post(t, c, acs, url.Values{"SAMLResponse": {v}, "RelayState": {loc.Query().Get("RelayState")}})
		}, want{http.StatusForbidden, entrasaml.OutcomeFailure, "StatusError", "", "AADSTS50105", ""}},
	} {
		resp, page := tc.send()
		if resp.StatusCode != tc.want.status {
			t.Fatalf("%s: HTTP %d, want %d\n%s", tc.name, resp.StatusCode, tc.want.status, page)
		}
		evs, recs := log.take(t)
		if len(evs) != 1 || len(recs) != 1 {
			t.Fatalf("%s: %d events and %d log records, want one each: %v", tc.name, len(evs), len(recs), recs)
		}
		e, rec := evs[0], recs[0]
		if e.Kind != entrasaml.EventSignIn || e.Outcome != tc.want.outcome || e.Reason != tc.want.reason ||
			e.EntityID != "https://app.example/saml" || e.HTTPStatus != tc.want.status || e.Flow != tc.want.flow ||
			e.AADSTS != tc.want.aadsts || e.Duration <= 0 || e.Time.IsZero() {
			t.Errorf("%s: event %+v", tc.name, e)
		}
		if got := entrasaml.ReasonCode(e.Err); got != e.Reason {
			t.Errorf("%s: Reason %q but the error %v has code %q", tc.name, e.Reason, e.Err, got)
		}
		ref := ""
		if m := pageRef.FindStringSubmatch(page); m != nil {
			ref = m[1]
		}
		if e.RefID != ref || (tc.want.outcome == entrasaml.OutcomeFailure) != (ref != "") {
			t.Errorf("%s: RefID %q, the page shows %q", tc.name, e.RefID, ref)
		}
		if tc.want.outcome == entrasaml.OutcomeSuccess {
			if e.Session == nil || e.Session.NameID == "" || e.Err != nil {
				t.Errorf("%s: session %+v, err %v", tc.name, e.Session, e.Err)
			}
		} else if e.Session != nil || e.Err == nil {
			t.Errorf("%s: session %+v, err %v", tc.name, e.Session, e.Err)
		}
		// The log record has the same facts under the documented keys.
		for k, v := range map[string]any{"event": "sign_in", "outcome": e.Outcome, "reason": e.Reason,
			"entity_id": e.EntityID, "status": float64(e.HTTPStatus)} {
			if rec[k] != v {
				t.Errorf("%s: record %s = %v, want %v (%v)", tc.name, k, rec[k], v, rec)
			}
		}
		if _, ok := rec["duration"].(float64); !ok {
			t.Errorf("%s: record without a duration: %v", tc.name, rec)
		}
		for k, v := range map[string]string{"correlation_id": e.RefID, "flow": e.Flow, "aadsts": e.AADSTS} {
			if got, _ := rec[k].(string); got != v {
				t.Errorf("%s: record %s = %q, want %q", tc.name, k, got, v)
			}
		}
		if (rec["err"] != nil) != (e.Err != nil) {
			t.Errorf("%s: record err %v, event err %v", tc.name, rec["err"], e.Err)
		}
		wantLevel := "INFO"
		if e.Err != nil {
			wantLevel = "WARN"
		}
		if rec["level"] != wantLevel {
			t.Errorf("%s: level %v, want %s", tc.name, rec["level"], wantLevel)
		}
	}
	if requestID == "" {
		t.Error("the AADSTS case did not run")
	}
}

// TestEventHookPanics: a panicking hook is logged and the sign-in still
// succeeds.
func TestEventHookPanics(t *testing.T) {
	t.Parallel()
	var log eventLog
	a := newApp(t, false, func(cfg *entrasaml.Config) {
		log.configure(cfg)
		cfg.OnEvent = func(context.Context, entrasaml.Event) { panic("metrics backend is broken") }
	})
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	if resp, body := post(t, c, acs, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACS: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, c, a.srv.URL+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "hello") {
		t.Fatalf("after sign-in: %d %s", resp.StatusCode, body)
	}
	_, recs := log.take(t)
	var msgs []string
	for _, r := range recs {
		msgs = append(msgs, fmt.Sprint(r["level"], " ", r["msg"], " ", r["panic"]))
	}
	if !slices.Contains(msgs, "INFO entrasaml: signed in <nil>") ||
		!slices.Contains(msgs, "ERROR entrasaml: Config.OnEvent panicked metrics backend is broken") {
		t.Errorf("log: %q", msgs)
	}
}

// TestCertificateEvents: New reports each IdP certificate that expires
// within 30 days, and each expired one, with its thumbprint.
func TestCertificateEvents(t *testing.T) {
	t.Parallel()
	now := time.Now()
	soon, err := entratest.NewKey(2048, now.AddDate(-1, 0, 0), now.AddDate(0, 0, 12).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := entratest.NewKey(2048, now.AddDate(-1, 0, 0), now.AddDate(0, 0, -3).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	later, err := entratest.NewKey(2048, now.AddDate(-1, 0, 0), now.AddDate(2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entratest.New(entratest.Options{Key: later})
	if err != nil {
		t.Fatal(err)
	}
	idp.AddKey(soon)
	idp.AddKey(expired)
	var log eventLog
	newSP(t, entrasaml.Config{EntityID: "https://app.example/saml", BaseURL: "https://app.example",
		Metadata: idp.Metadata(), Now: func() time.Time { return now }}, log.configure)
	evs, recs := log.take(t)
	if len(evs) != 2 || len(recs) != 2 {
		t.Fatalf("%d events, %d records, want 2 each: %v", len(evs), len(recs), recs)
	}
	for i, want := range []struct {
		key           *entratest.Key
		reason, level string
		days          float64
	}{{soon, "CertificateExpiring", "WARN", 12}, {expired, "CertificateExpired", "ERROR", -3}} {
		e, rec := evs[i], recs[i]
		if e.Kind != entrasaml.EventCertificate || e.Outcome != entrasaml.OutcomeWarning || e.Reason != want.reason ||
			!e.Certificate.Equal(want.key.Certificate) || e.EntityID != "https://app.example/saml" || !e.Time.Equal(now) {
			t.Errorf("event %d: %+v", i, e)
		}
		if rec["level"] != want.level || rec["event"] != "certificate" || rec["reason"] != want.reason ||
			rec["days_left"] != want.days || rec["outcome"] != "warning" ||
			!regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(fmt.Sprint(rec["thumbprint"])) {
			t.Errorf("record %d: %v", i, rec)
		}
	}
}

// TestEventOnPanic: a handler that panics (here Config.Provision) is a
// failed sign-in, and the panic goes on to net/http, which drops the
// connection.
func TestEventOnPanic(t *testing.T) {
	t.Parallel()
	var log eventLog
	a := newApp(t, false, func(cfg *entrasaml.Config) {
		log.configure(cfg)
		cfg.Provision = func(context.Context, *entrasaml.Session) error { panic("accounts table is gone") }
	})
	c := a.browser(t)
	resp, _ := get(t, c, a.srv.URL+"/")
	acs, form := signIn(t, c, resp)
	if resp, err := c.PostForm(acs, form); err == nil {
		resp.Body.Close()
		t.Fatalf("the ACS answered %d despite the panic", resp.StatusCode)
	}
	evs, recs := log.take(t)
	if len(evs) != 1 || len(recs) != 1 {
		t.Fatalf("%d events, %d records: %v", len(evs), len(recs), recs)
	}
	if e := evs[0]; e.Outcome != entrasaml.OutcomeFailure || e.Reason != entrasaml.ReasonUnknown || e.Session != nil ||
		!strings.Contains(fmt.Sprint(e.Err), "accounts table is gone") {
		t.Errorf("event %+v", e)
	}
}
