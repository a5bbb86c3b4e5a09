package main

// The customer's admin sets up SSO alone (issue 15): a local account signs
// in at /login; /admin shows what to type into Entra and the SP metadata,
// takes the App Federation Metadata URL (fetched from public addresses
// only) or the XML (at most 1 MiB) as a draft with its onboarding report,
// runs a test sign-in of the draft (entrasaml.SignInTest: the admin's own
// round trip, no session, nothing live changes), puts the draft live only
// after a test passed with it, and switches "Require SSO" on (only after a
// test passed with the live metadata) and off. Every change is a registry
// write or event made As the admin, so it is in the audit log.
//
// Security: every POST goes through http.CrossOriginProtection
// (Sec-Fetch-Site / Origin), the local session names its customer and is
// honoured only on that customer's host, and pages are html/template.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
)

const localCookie = "parcelry_local"

// adminRoutes adds the sign-in and admin pages to a customer's mux, every
// POST behind the cross-origin check.
func (a *app) adminRoutes(mux *http.ServeMux) {
	admin := http.NewServeMux()
	admin.HandleFunc("GET /login", a.serveLogin)
	admin.HandleFunc("POST /login", a.serveLoginPost)
	admin.HandleFunc("POST /logout", a.serveLogout)
	admin.HandleFunc("GET /admin", a.requireAdmin(a.serveAdmin))
	admin.HandleFunc("GET /admin/sp-metadata", a.requireAdmin(a.serveSPMetadata))
	admin.HandleFunc("POST /admin/metadata", a.requireAdmin(a.serveDraft))
	admin.HandleFunc("POST /admin/test", a.requireAdmin(a.serveStartTest))
	admin.HandleFunc("POST /admin/activate", a.requireAdmin(a.serveActivate))
	admin.HandleFunc("POST /admin/enforce", a.requireAdmin(a.serveEnforce))
	h := http.NewCrossOriginProtection().Handler(admin)
	for _, p := range []string{"/login", "/logout", "/admin", "/admin/"} {
		mux.Handle(p, h)
	}
}

// seedAccounts gives every customer an admin (admin@<slug>.example, a new
// random password each start, printed) and makes the demo tenants' people
// users of the app, except the last person of a customer whose SSO its
// admin sets up (initech), so that the refused list has someone in it.
func (a *app) seedAccounts(ctx context.Context) error {
	for _, c := range a.reg.list() {
		if err := a.seedCustomer(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// seedCustomer creates c's admin and its demo people's accounts.
func (a *app) seedCustomer(ctx context.Context, c *customer) error {
	key := a.reg.customerKey(c.Slug)
	pw := randomPassword()
	if err := a.db.putUser(ctx, user{Key: key, Email: "admin@" + c.Slug + ".example", Name: c.Name + " admin", Admin: true}, pw); err != nil {
		return err
	}
	a.mu.Lock()
	a.adminPasswords[c.Slug] = pw
	a.mu.Unlock()
	if !c.Demo() {
		return nil
	}
	t := demoFor(c.Slug)
	people := t.people
	if c.sp == nil && len(people) > 1 {
		people = people[:len(people)-1]
	}
	for _, p := range people {
		if err := a.db.putUser(ctx, user{Key: key, Email: p.key + "@" + t.domain, Name: p.first + " " + p.last}, ""); err != nil {
			return err
		}
	}
	return nil
}

// adminPassword returns the seeded admin password of slug.
func (a *app) adminPassword(slug string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.adminPasswords[slug]
}

func randomPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x", b[:3], b[3:6], b[6:])
}

// provision lets in only users with an account at the customer, and keeps
// a record of the others for the admin.
func (a *app) provision(ctx context.Context, s *entrasaml.Session) error {
	slug, _ := ctx.Value(slugKey{}).(string)
	if slug == "" {
		return errors.New("no customer in the request context")
	}
	key := a.reg.customerKey(slug)
	who := cmpOr(s.Email, s.Name, s.NameID)
	acct, _, err := a.db.findUser(ctx, key, who)
	if err != nil {
		return err
	}
	if acct == nil {
		reason := "no account in Parcelry for " + who + " (object id " + s.ObjectID + ")"
		if err := a.db.addRefused(ctx, key, who, reason); err != nil {
			a.logger.Error("recording a refused sign-in", "err", err)
		}
		return fmt.Errorf("%w: %s", entrasaml.ErrNotProvisioned, reason)
	}
	s.UserID = slug + ":" + s.ObjectID
	return nil
}

func cmpOr(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// customerOf returns the slug and registry key of r's host, "" for none.
func (a *app) customerOf(r *http.Request) (slug, key string) {
	slug, ok := a.cfg.slugOf(r.Host)
	if !ok || slug == "" {
		return "", ""
	}
	return slug, a.reg.customerKey(slug)
}

// localUser returns the local account signed in on r's host, or nil.
func (a *app) localUser(r *http.Request) *user {
	_, key := a.customerOf(r)
	c, err := r.Cookie(localCookie)
	if key == "" || err != nil {
		return nil
	}
	u, err := a.db.session(r.Context(), key, c.Value)
	if err != nil {
		a.logger.Error("reading a local session", "err", err)
		return nil
	}
	return u
}

// requireAdmin runs next only for an admin of the customer of r's host.
func (a *app) requireAdmin(next func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := a.localUser(r)
		if u == nil || !u.Admin {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?return=/admin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in as this customer's admin first.", http.StatusForbidden)
			return
		}
		next(w, r, u)
	}
}

// homeHandler serves a customer's pages: to a local account unless the
// customer requires SSO, else through SSO when it is on, else to the
// local sign-in page.
func (a *app) homeHandler(sso http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, key := a.customerOf(r)
		if key == "" {
			sso.ServeHTTP(w, r)
			return
		}
		_, rc, err := a.cache.Lookup(r.Context(), key)
		if err != nil {
			http.Error(w, "Sign-in is unavailable, try again in a minute.", http.StatusServiceUnavailable)
			return
		}
		if u := a.localUser(r); u != nil && (!rc.Enforced || u.Admin && r.URL.Path == "/") {
			render(w, a.logger, http.StatusOK, localHomePage, map[string]any{"U": u, "Enforced": rc.Enforced})
			return
		}
		if rc.Key == "" || rc.Enabled {
			sso.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

func (a *app) serveLogin(w http.ResponseWriter, r *http.Request) {
	a.renderLogin(w, r, http.StatusOK, "")
}

func (a *app) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	_, key := a.customerOf(r)
	_, rc, _ := a.cache.Lookup(r.Context(), key)
	render(w, a.logger, status, loginPage, map[string]any{"Msg": msg, "Enforced": rc.Enforced, "SSO": rc.Enabled,
		"Return": safeReturn(r.FormValue("return"))})
}

// safeReturn allows only the app's own two pages.
func safeReturn(p string) string {
	if p == "/admin" {
		return p
	}
	return "/"
}

func (a *app) serveLoginPost(w http.ResponseWriter, r *http.Request) {
	_, key := a.customerOf(r)
	if key == "" {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	u, pw, err := a.db.findUser(r.Context(), key, r.PostFormValue("email"))
	if err != nil {
		http.Error(w, "Sign-in is unavailable, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	if u == nil || pw == "" || !checkPassword(pw, r.PostFormValue("password")) {
		a.renderLogin(w, r, http.StatusUnauthorized, "Wrong email or password.")
		return
	}
	_, rc, err := a.cache.Lookup(r.Context(), key)
	if err != nil {
		http.Error(w, "Sign-in is unavailable, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	if rc.Enforced && !u.Admin {
		a.renderLogin(w, r, http.StatusForbidden, "Your company requires signing in with Microsoft.")
		return
	}
	id, err := a.db.newSession(r.Context(), key, u.Email)
	if err != nil {
		http.Error(w, "Sign-in is unavailable, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: localCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: a.cfg.scheme() == "https", MaxAge: int(localSessionTTL / time.Second)})
	http.Redirect(w, r, safeReturn(r.PostFormValue("return")), http.StatusSeeOther)
}

func (a *app) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(localCookie); err == nil {
		_ = a.db.endSession(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: localCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// adminData is what the admin page shows.
type adminData struct {
	U                      *user
	Slug, Origin           string
	Identifier, ReplyURL   string
	SignOnURL, LogoutURL   string
	Customer               tenants.Customer
	LiveDigest             string
	Draft                  *draft
	Report                 *onboard.Report
	Test                   *testResult
	TestDetail             testDetail
	CanActivate, CanEnable bool
	CanEnforce             bool
	Audit                  []sqlregistry.AuditEntry
	Refused                []refused
	Msg                    string
}

func (a *app) adminData(ctx context.Context, r *http.Request, u *user) (*adminData, error) {
	slug, key := a.customerOf(r)
	origin := a.cfg.origin(slug)
	d := &adminData{U: u, Slug: slug, Origin: origin, Identifier: origin + "/saml/metadata", ReplyURL: origin + "/saml/acs",
		SignOnURL: origin + "/saml/login", LogoutURL: origin + "/saml/logout"}
	rc, err := a.db.reg.Lookup(ctx, key)
	if err != nil && !errors.Is(err, tenants.ErrNotFound) {
		return nil, err
	}
	d.Customer = rc
	if len(rc.Metadata) > 0 {
		d.LiveDigest = metadataDigest(rc.Metadata)
	}
	if d.Draft, err = a.db.draft(ctx, key); err != nil {
		return nil, err
	}
	if d.Draft != nil {
		d.Report = onboard.Check(ctx, onboard.Input{Metadata: d.Draft.Metadata, Now: time.Now})
		d.CanActivate = d.Draft.Tested == d.Draft.Digest && d.Draft.Digest != d.LiveDigest
	}
	if d.Test, err = a.db.lastTest(ctx, key); err != nil {
		return nil, err
	}
	if d.Test != nil {
		_ = json.Unmarshal([]byte(d.Test.Detail), &d.TestDetail)
	}
	if rc.Enabled && !rc.Enforced && d.LiveDigest != "" {
		if d.CanEnforce, err = a.db.passed(ctx, key, d.LiveDigest); err != nil {
			return nil, err
		}
	}
	if d.Audit, err = a.db.reg.AuditLog(ctx, key, 50); err != nil {
		return nil, err
	}
	d.Refused, err = a.db.refusals(ctx, key)
	return d, err
}

func (a *app) renderAdmin(w http.ResponseWriter, r *http.Request, u *user, status int, msg string, rep *onboard.Report) {
	d, err := a.adminData(r.Context(), r, u)
	if err != nil {
		a.logger.Error("admin page", "err", err)
		http.Error(w, "The admin page is unavailable, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	d.Msg = msg
	if rep != nil {
		d.Report = rep
	}
	// "Test sign-in" posts here and is redirected to the draft's IdP, which
	// form-action must allow.
	formAction := "'self'"
	if d.Draft != nil {
		if u, err := url.Parse(onboard.Check(r.Context(), onboard.Input{Metadata: d.Draft.Metadata}).SignOnURL); err == nil && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	render(w, a.logger, status, adminPage, d)
}

func (a *app) serveAdmin(w http.ResponseWriter, r *http.Request, u *user) {
	a.renderAdmin(w, r, u, http.StatusOK, r.URL.Query().Get("msg"), nil)
}

// serveSPMetadata serves the SP metadata to upload to Entra: the live
// SP's, or one built with the draft, or none yet.
func (a *app) serveSPMetadata(w http.ResponseWriter, r *http.Request, u *user) {
	slug, key := a.customerOf(r)
	md := []byte(nil)
	if dr, err := a.db.draft(r.Context(), key); err == nil && dr != nil {
		md = dr.Metadata
	} else if rc, err := a.db.reg.Lookup(r.Context(), key); err == nil {
		md = rc.Metadata
	}
	if len(md) == 0 {
		http.Error(w, "Paste your metadata first: the SP metadata is built with it.", http.StatusNotFound)
		return
	}
	origin := a.cfg.origin(slug)
	sp, err := entrasaml.New(r.Context(), entrasaml.Config{EntityID: origin + "/saml/metadata", BaseURL: origin, Metadata: md,
		Store: a.reg.store, SessionKeys: a.reg.keys, Logger: a.logger})
	if err != nil {
		http.Error(w, "Your metadata cannot be used; see the report.", http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Content-Disposition", `attachment; filename="parcelry-`+slug+`.xml"`)
	w.Write(sp.SPMetadata())
}

// fetchClient fetches metadata URLs that admins paste: public addresses
// only (onboard.PublicOnlyHTTPClient), except the development IdPs this
// process runs itself.
func (a *app) fetchClient() *http.Client {
	pub := onboard.PublicOnlyHTTPClient()
	dev := a.idps.hosts()
	return &http.Client{Timeout: pub.Timeout, CheckRedirect: pub.CheckRedirect,
		Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
			if slices.Contains(dev, req.URL.Host) {
				return http.DefaultTransport.RoundTrip(req)
			}
			return pub.Transport.RoundTrip(req)
		})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serveDraft takes the pasted App Federation Metadata URL or the uploaded
// XML, checks it and keeps it as the draft when it is usable.
func (a *app) serveDraft(w http.ResponseWriter, r *http.Request, u *user) {
	_, key := a.customerOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxMetadataUpload)
	md, err := readMetadata(r)
	if errors.Is(err, errTooLarge) {
		a.renderAdmin(w, r, u, http.StatusRequestEntityTooLarge, "The file is larger than 1 MiB; Entra's Federation Metadata XML is a few KB.", nil)
		return
	} else if err != nil {
		a.renderAdmin(w, r, u, http.StatusBadRequest, "The form could not be read.", nil)
		return
	}
	in := onboard.Input{Metadata: md, Now: time.Now}
	mdURL := strings.TrimSpace(r.FormValue("metadata_url"))
	if len(md) == 0 {
		in.MetadataURL, in.HTTPClient = mdURL, a.fetchClient()
	}
	rep := onboard.Check(r.Context(), in)
	if !rep.Ready {
		a.renderAdmin(w, r, u, http.StatusUnprocessableEntity, "This metadata cannot be used yet; nothing was changed.", rep)
		return
	}
	if err := a.db.putDraft(r.Context(), key, rep.Metadata, in.MetadataURL); err != nil {
		http.Error(w, "Saving failed, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	_ = a.db.reg.As(u.Email).Record(r.Context(), key, "metadata-draft", map[string]any{
		"metadata_sha256": metadataDigest(rep.Metadata), "metadata_url": in.MetadataURL, "tenant_id": rep.TenantID})
	a.renderAdmin(w, r, u, http.StatusOK, "Metadata checked. Run a test sign-in before it goes live.", rep)
}

// signInTest builds the SignInTest of the customer's draft.
func (a *app) signInTest(ctx context.Context, slug string, dr *draft) (*entrasaml.SignInTest, error) {
	origin := a.cfg.origin(slug)
	return entrasaml.NewSignInTest(ctx, entrasaml.Config{EntityID: origin + "/saml/metadata", BaseURL: origin, Metadata: dr.Metadata,
		Store: a.reg.store, SessionKeys: a.reg.keys, Logger: a.logger.With("customer", slug, "test", true)},
		func(w http.ResponseWriter, r *http.Request, res *entrasaml.TestResult) { a.testDone(w, r, slug, res) })
}

func (a *app) serveStartTest(w http.ResponseWriter, r *http.Request, u *user) {
	slug, key := a.customerOf(r)
	dr, err := a.db.draft(r.Context(), key)
	if err != nil || dr == nil {
		a.renderAdmin(w, r, u, http.StatusConflict, "Paste your metadata first.", nil)
		return
	}
	t, err := a.signInTest(r.Context(), slug, dr)
	if err != nil {
		a.renderAdmin(w, r, u, http.StatusConflict, "This metadata cannot be tested: "+err.Error(), nil)
		return
	}
	_ = a.db.reg.As(u.Email).Record(r.Context(), key, "test-signin-started", map[string]any{"metadata_sha256": dr.Digest})
	// The return path is sealed in the test's cookie: it names the admin
	// who started the test, for the audit log.
	t.Start(w, r, "/admin?by="+url.QueryEscape(u.Email))
}

// serveTestACS routes a test sign-in's response to the SignInTest of the
// customer's draft.
func (a *app) serveTestACS(w http.ResponseWriter, r *http.Request) {
	slug, key := a.customerOf(r)
	dr, err := a.db.draft(r.Context(), key)
	if key == "" || err != nil || dr == nil {
		http.Error(w, "No test sign-in is pending for this customer.", http.StatusBadRequest)
		return
	}
	t, err := a.signInTest(r.Context(), slug, dr)
	if err != nil {
		http.Error(w, "No test sign-in is pending for this customer.", http.StatusBadRequest)
		return
	}
	t.ServeHTTP(w, r)
}

// slugKey is the context key of the customer whose ACS Provision runs for.
type slugKey struct{}

// samlHandler sends test sign-ins to serveTestACS, the rest to the
// customer's live SP.
func (a *app) samlHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && entrasaml.IsSignInTest(r) {
			a.serveTestACS(w, r)
			return
		}
		slug, _ := a.customerOf(r)
		a.router.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slugKey{}, slug)))
	})
}

// testDetail is what a test brought back, as the admin sees it.
type testDetail struct {
	OK       bool     `json:"ok"`
	NameID   string   `json:"name_id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Email    string   `json:"email,omitempty"`
	ObjectID string   `json:"object_id,omitempty"`
	TenantID string   `json:"tenant_id,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Claims   []string `json:"claims,omitempty"`
	HasUser  bool     `json:"has_account"`
	Problem  string   `json:"problem,omitempty"`
	Advice   string   `json:"advice,omitempty"`
	Metadata string   `json:"metadata_sha256"`
}

func (a *app) testDone(w http.ResponseWriter, r *http.Request, slug string, res *entrasaml.TestResult) {
	key := a.reg.customerKey(slug)
	actor := "unknown"
	if u, err := url.Parse(res.ReturnTo); err == nil && u.Query().Get("by") != "" {
		actor = u.Query().Get("by")
	}
	d := testDetail{OK: res.Err == nil, Metadata: res.Metadata}
	if s := res.Session; s != nil {
		d.NameID, d.Name, d.Email, d.ObjectID, d.TenantID, d.Groups, d.Roles = s.NameID, s.Name, s.Email, s.ObjectID, s.TenantID, s.Groups, s.Roles
		for k := range s.Attributes {
			d.Claims = append(d.Claims, k)
		}
		slices.Sort(d.Claims)
		acct, _, _ := a.db.findUser(r.Context(), key, cmpOr(s.Email, s.Name, s.NameID))
		d.HasUser = acct != nil
	} else {
		d.Problem, d.Advice = adviceFor(res.Err, a.cfg.origin(slug))
	}
	b, _ := json.Marshal(d)
	if _, err := a.db.addTest(r.Context(), key, d.OK, res.Metadata, string(b)); err != nil {
		a.logger.Error("recording a test sign-in", "err", err)
	}
	if d.OK {
		_ = a.db.markTested(r.Context(), key, res.Metadata)
	}
	_ = a.db.reg.As(actor).Record(r.Context(), key, "test-signin", map[string]any{
		"ok": d.OK, "user": d.NameID, "problem": d.Problem, "metadata_sha256": res.Metadata})
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// adviceFor says in an admin's words why a test sign-in failed, and what
// to do.
func adviceFor(err error, origin string) (problem, advice string) {
	var se *entrasaml.StatusError
	var e *entrasaml.Error
	reason := "unknown"
	if errors.As(err, &e) {
		reason = e.Reason
	}
	switch {
	case errors.As(err, &se):
		return "Microsoft Entra ID refused the sign-in (" + cmpOr(se.Code, "no code") + ").", cmpOr(se.Hint(), "See Entra's Sign-in logs for this user.")
	case errors.Is(err, entrasaml.ErrUnknownSigner), errors.Is(err, entrasaml.ErrInvalidSignature):
		return "The response is signed with a certificate that is not in the metadata you gave.",
			"Download the Federation Metadata XML of this Parcelry app again (Entra: Enterprise applications > Parcelry > Single sign-on > SAML Certificates) or paste its App Federation Metadata Url, then test again."
	case errors.Is(err, entrasaml.ErrAudienceMismatch):
		return "Entra sent the sign-in for another Identifier.", "In Entra, set Identifier (Entity ID) to " + origin + "/saml/metadata."
	case errors.Is(err, entrasaml.ErrDestinationMismatch):
		return "Entra sent the sign-in to another Reply URL.", "In Entra, set Reply URL to " + origin + "/saml/acs."
	case errors.Is(err, entrasaml.ErrIssuerMismatch):
		return "The sign-in came from another tenant than the metadata's.", "Paste the metadata of the Entra tenant your users sign in with."
	case errors.Is(err, entrasaml.ErrExpired), errors.Is(err, entrasaml.ErrNotYetValid):
		return "The sign-in was too old or from the future.", "Check the clock of the computer and try again."
	case errors.Is(err, entrasaml.ErrRequestIDMismatch), errors.Is(err, entrasaml.ErrUnsolicited):
		return "The answer did not match a test started in this browser with this metadata.", "Start the test again from this page, and finish it within ten minutes."
	case errors.Is(err, entrasaml.ErrReplay):
		return "This answer was already used.", "Start the test again."
	}
	return "The sign-in could not be verified: " + reason + ".", "Check the settings above in Entra, then test again."
}

// serveActivate puts the tested draft live and turns SSO on.
func (a *app) serveActivate(w http.ResponseWriter, r *http.Request, u *user) {
	slug, key := a.customerOf(r)
	dr, err := a.db.draft(r.Context(), key)
	if err != nil || dr == nil || dr.Tested != dr.Digest {
		a.renderAdmin(w, r, u, http.StatusConflict, "Run a successful test sign-in with this metadata first.", nil)
		return
	}
	origin := a.cfg.origin(slug)
	rc := tenants.Customer{Key: key, EntityID: origin + "/saml/metadata", BaseURL: origin}
	if old, err := a.db.reg.Lookup(r.Context(), key); err == nil {
		rc = old
	} else if !errors.Is(err, tenants.ErrNotFound) {
		http.Error(w, "Saving failed, try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	rc.Metadata, rc.MetadataURL, rc.MetadataFetchedAt, rc.Enabled = dr.Metadata, dr.MetadataURL, time.Time{}, true
	if rc.MetadataURL != "" {
		rc.MetadataFetchedAt = time.Now()
	}
	if _, err := a.db.reg.As(u.Email).Put(r.Context(), rc); err != nil {
		a.renderAdmin(w, r, u, http.StatusConflict, "Saving failed: "+err.Error(), nil)
		return
	}
	http.Redirect(w, r, "/admin?msg="+url.QueryEscape("SSO is on with the tested metadata."), http.StatusSeeOther)
}

// serveEnforce switches Require SSO: on only after a test passed with the
// live metadata.
func (a *app) serveEnforce(w http.ResponseWriter, r *http.Request, u *user) {
	_, key := a.customerOf(r)
	on := r.PostFormValue("require") == "on"
	rc, err := a.db.reg.Lookup(r.Context(), key)
	if err != nil {
		a.renderAdmin(w, r, u, http.StatusConflict, "Set up SSO first.", nil)
		return
	}
	if on {
		ok, err := a.db.passed(r.Context(), key, metadataDigest(rc.Metadata))
		if err != nil || !ok || !rc.Enabled {
			a.renderAdmin(w, r, u, http.StatusConflict, "Require SSO needs SSO on, with metadata a test sign-in passed with.", nil)
			return
		}
	}
	rc.Enforced = on
	if _, err := a.db.reg.As(u.Email).Put(r.Context(), rc); err != nil {
		a.renderAdmin(w, r, u, http.StatusConflict, "Saving failed: "+err.Error(), nil)
		return
	}
	msg := "Require SSO is off: your users may sign in with their Parcelry password again."
	if on {
		msg = "Require SSO is on: your users sign in with Microsoft only."
	}
	http.Redirect(w, r, "/admin?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

// hosts returns the host:port of every development IdP running.
func (p *idpPool) hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.servers {
		if u, err := url.Parse(s.URL); err == nil {
			out = append(out, u.Host)
		}
	}
	return out
}
