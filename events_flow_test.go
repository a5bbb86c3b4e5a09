package entrasaml_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// TestLogoutEvents: each request to the logout URL that signs out, or
// fails to, is one logout event with its flow; the "Sign out?" page for a
// cross-site request is none.
func TestLogoutEvents(t *testing.T) {
	t.Parallel()
	var log eventLog
	a, c := signedInApp(t, log.configure)
	logout := a.srv.URL + "/saml/logout"
	log.take(t)

	var requestID string
	success := "urn:oasis:names:tc:SAML:2.0:status:Success"
	withLogoutCookie := func() *http.Client { // each LogoutResponse consumes the cookie
		cl := a.browser(t)
		u, _ := url.Parse(logout)
		cl.Jar.SetCookies(u, c.Jar.Cookies(u))
		return cl
	}
	for _, tc := range []struct {
		name                   string
		send                   func() (*http.Response, string)
		status                 int
		flow, outcome, reason  string
		wantEvent, wantPageRef bool
	}{
		{"cross-site link", func() (*http.Response, string) {
			return do(t, c, http.MethodGet, logout, "cross-site", "", "")
		}, http.StatusOK, "", "", "", false, false},
		{"sign-out link", func() (*http.Response, string) {
			resp, body := clickSignOut(t, c, logout)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			requestID = redirectMessage(t, loc, "SAMLRequest").SelectAttrValue("ID", "")
			return resp, body
		}, http.StatusSeeOther, "sp_initiated", "success", "ok", true, false},
		{"LogoutResponse to another request", func() (*http.Response, string) {
			return get(t, withLogoutCookie(), idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), "_other", success), "", nil))
		}, http.StatusForbidden, "logout_response", "failure", "ErrRequestIDMismatch", true, true},
		{"LogoutResponse with a failed status", func() (*http.Response, string) {
			return get(t, withLogoutCookie(), idpRedirect(t, logout, "SAMLResponse",
				logoutResponseXML(loginIssuer(a), requestID, "urn:oasis:names:tc:SAML:2.0:status:Responder"), "", a.idp.SigningKey()))
		}, http.StatusSeeOther, "logout_response", "failure", "StatusError", true, false},
		{"LogoutResponse", func() (*http.Response, string) {
			return get(t, withLogoutCookie(), idpRedirect(t, logout, "SAMLResponse", logoutResponseXML(loginIssuer(a), requestID, success), "", a.idp.SigningKey()))
		}, http.StatusSeeOther, "logout_response", "success", "ok", true, false},
		{"IdP-initiated", func() (*http.Response, string) {
			return get(t, a.browser(t), idpRedirect(t, logout, "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "", a.idp.SigningKey()))
		}, http.StatusSeeOther, "idp_initiated", "success", "ok", true, false},
		{"IdP-initiated, forged", func() (*http.Response, string) {
			return get(t, a.browser(t), idpRedirect(t, logout, "SAMLRequest", logoutRequestXML(a.idp.EntityID(), "adele@contoso.example", ""), "", otherKeyOf(t)))
		}, http.StatusForbidden, "idp_initiated", "failure", "ErrInvalidSignature", true, true},
	} {
		resp, page := tc.send()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: HTTP %d, want %d\n%s", tc.name, resp.StatusCode, tc.status, page)
		}
		evs, recs := log.take(t)
		if !tc.wantEvent {
			if len(evs) != 0 || len(recs) != 0 {
				t.Errorf("%s: events %+v, log %v", tc.name, evs, recs)
			}
			continue
		}
		if len(evs) != 1 || len(recs) != 1 {
			t.Fatalf("%s: %d events and %d log records, want one each: %v", tc.name, len(evs), len(recs), recs)
		}
		e, rec := evs[0], recs[0]
		ref := ""
		if m := pageRef.FindStringSubmatch(page); m != nil {
			ref = m[1]
		}
		if e.Kind != entrasaml.EventLogout || e.Flow != tc.flow || e.Outcome != tc.outcome || e.Reason != tc.reason ||
			e.HTTPStatus != tc.status || e.RefID != ref || (ref != "") != tc.wantPageRef || e.Duration <= 0 ||
			e.EntityID != "https://app.example/saml" || (e.Err == nil) != (tc.outcome == "success") {
			t.Errorf("%s: event %+v (page ref %q)", tc.name, e, ref)
		}
		if rec["event"] != "logout" || rec["flow"] != tc.flow || rec["reason"] != tc.reason || rec["status"] != float64(tc.status) {
			t.Errorf("%s: record %v", tc.name, rec)
		}
	}
}

// TestRefreshEvents: every metadata fetch after New is one event with its
// trigger and outcome, delivered before RefreshMetadata returns.
func TestRefreshEvents(t *testing.T) {
	t.Parallel()
	clk := &clock{now: fxNow}
	idp, err := entratest.New(entratest.Options{Key: newKey(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ms := newMetadataServer(t, idp)
	var log eventLog
	sp := newSP(t, entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, MetadataURL: ms.URL, Now: clk.Now,
		Store: forgetfulStore{}}, log.configure)
	if evs, _ := log.take(t); len(evs) != 0 {
		t.Fatalf("New: %+v", evs)
	}

	check := func(name, trigger, outcome, reason string) {
		t.Helper()
		evs, recs := log.take(t)
		if len(evs) != 1 || len(recs) != 1 {
			t.Fatalf("%s: %d events, %d records: %v", name, len(evs), len(recs), recs)
		}
		e, rec := evs[0], recs[0]
		if e.Kind != entrasaml.EventMetadataRefresh || e.Trigger != trigger || e.Outcome != outcome || e.Reason != reason ||
			e.EntityID != fxEntityID || e.Duration <= 0 || !e.Time.Equal(clk.Now()) || e.HTTPStatus != 0 {
			t.Errorf("%s: event %+v", name, e)
		}
		if rec["event"] != "metadata_refresh" || rec["trigger"] != trigger || rec["reason"] != reason || rec["url"] != ms.URL {
			t.Errorf("%s: record %v", name, rec)
		}
	}
	if err := sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("explicit", "explicit", "success", "ok")

	ms.set("down")
	if err := sp.RefreshMetadata(context.Background()); err == nil {
		t.Fatal("RefreshMetadata with the server down succeeded")
	}
	check("down", "explicit", "failure", "ErrMetadata")

	// A new signing key: the response's unknown signer triggers a refresh.
	ms.set("")
	k2 := newKey(t)
	idp.UseKey(k2)
	clk.Advance(6 * time.Minute)
	if err := verifyWith(t, sp, idp, k2); err != nil {
		t.Fatal(err)
	}
	check("unknown signer", "unknown_signer", "success", "ok")

	// A day later the copy is stale; the next response refreshes it.
	clk.Advance(25 * time.Hour)
	if err := verifyWith(t, sp, idp, k2); err != nil {
		t.Fatal(err)
	}
	check("stale", "stale", "success", "ok")
}

// BenchmarkACSRefused posts a validly signed response that answers no
// request of this browser: the whole verification, then a refusal, its
// error page and its event (logged to a discarding logger).
func BenchmarkACSRefused(b *testing.B) {
	sp := fixtureSP(b, func(c *entrasaml.Config) { c.Store = forgetfulStore{} })
	body := url.Values{"SAMLResponse": {fixtureB64(b, "response-assertion-signed.xml")}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, fxACS, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		sp.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			b.Fatal(rec.Code)
		}
	}
}
