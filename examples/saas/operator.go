package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
	"github.com/entrasaml/entrasaml/tenants"
)

// maxMetadataUpload bounds the metadata an operator pastes or uploads.
// Entra's Federation Metadata XML is a few KB.
const maxMetadataUpload = 1 << 20

// onboardResult is what the console shows after an onboarding attempt.
type onboardResult struct {
	Slug, Name string
	Errors     []string                // about the form, in plain words
	Report     *onboard.Report         // nil when the metadata was not checked
	Customer   *customer               // set once onboarded
	Origin     string                  // the customer's site
	Settings   entrasaml.EntraSettings // what the customer's admin types into Entra
	Replaced   bool
	typedName  string // the name as the operator typed it
}

type operatorData struct {
	Result     *onboardResult
	Customers  []customerRow
	BaseDomain string
	DemoSlug   string // a suggestion for the demo button
	Form       struct{ Slug, Name string }
}

// customerRow is a line of the console's customer table.
type customerRow struct {
	*customer
	Origin, Tenant, Expires string
	DaysLeft                int           // until the first certificate expires
	SSO                     string        // from the registry: off, on, required
	LastSignIn              string        // the last successful sign-in, or ""
	Failures                []reasonCount // failed sign-ins in the last 24 hours, by reason
}

// ssoState is a customer's SSO switches as the console shows them.
func ssoState(rc tenants.Customer) string {
	switch {
	case rc.Key == "":
		return "not in the registry"
	case rc.Enforced:
		return "required (v" + strconv.FormatInt(rc.Version, 10) + ")"
	case rc.Enabled:
		return "on (v" + strconv.FormatInt(rc.Version, 10) + ")"
	}
	return "off (v" + strconv.FormatInt(rc.Version, 10) + ")"
}

func (a *app) serveOperator(w http.ResponseWriter, r *http.Request) {
	a.renderOperator(w, http.StatusOK, nil)
}

func (a *app) renderOperator(w http.ResponseWriter, status int, res *onboardResult) {
	d := operatorData{Result: res, BaseDomain: a.cfg.baseDomain}
	for _, c := range a.reg.list() {
		row := customerRow{customer: c, Origin: a.cfg.origin(c.Slug)}
		// The registry says what is live (an admin may have changed it on
		// any instance); the SP the Cache built from it, else the one built
		// when the customer was added, gives the figures.
		sp := c.sp
		if live, rc, err := a.cache.Lookup(context.Background(), a.reg.customerKey(c.Slug)); err != nil {
			row.SSO = "registry unavailable"
		} else {
			row.SSO = ssoState(rc)
			if live != nil {
				sp = live
			}
		}
		if sp != nil {
			md := sp.IdPMetadata()
			row.Tenant = md.TenantID
			var first time.Time
			for _, cert := range md.Certificates {
				if first.IsZero() || cert.NotAfter.Before(first) {
					first = cert.NotAfter
				}
			}
			row.Expires = first.UTC().Format(time.DateOnly)
			row.DaysLeft = int(math.Floor(time.Until(first).Hours() / 24))
			last, failures := a.reg.obs.summary(sp.EntityID())
			if !last.IsZero() {
				row.LastSignIn = last.UTC().Format("2006-01-02 15:04:05 MST")
			}
			row.Failures = failures
		}
		d.Customers = append(d.Customers, row)
	}
	for _, s := range extraDemos {
		if a.reg.get(s) == nil {
			d.DemoSlug = s
			break
		}
	}
	if res != nil && res.Customer == nil {
		d.Form.Slug, d.Form.Name = res.Slug, res.typedName
	}
	render(w, a.logger, status, operatorPage, d)
}

// serveOnboard onboards a customer from pasted or uploaded Federation
// Metadata XML: onboard.Check checks it, and when the report is Ready
// the customer's SP is built and its host served at once.
func (a *app) serveOnboard(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxMetadataUpload+64<<10)
	metadata, err := readMetadata(r)
	res := a.formResult(r)
	if err != nil {
		status := http.StatusBadRequest
		msg := "The form could not be read. Paste the Federation Metadata XML, or upload the file."
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
			msg = "The metadata is larger than 1 MiB: this is not Entra's Federation Metadata XML, which is a few KB."
		}
		res.Errors = append(res.Errors, msg)
		a.renderOperator(w, status, res)
		return
	}
	replace := r.FormValue("replace") != ""
	if old := a.reg.get(res.Slug); old != nil && !replace {
		res.Errors = append(res.Errors, "A customer with the slug "+res.Slug+" exists. Tick \"Replace\" to give it this metadata instead.")
	}
	res.Report = onboard.Check(r.Context(), onboard.Input{Metadata: metadata, Now: time.Now})
	if res.Report.Ready && len(res.Errors) == 0 {
		c := &customer{Slug: res.Slug, Name: res.Name, Metadata: res.Report.Metadata, Added: time.Now()}
		res.Replaced = a.reg.get(res.Slug) != nil
		a.finish(r, res, c, a.reg.add(r.Context(), c, nil, replace))
	}
	a.renderResult(w, res)
}

// serveDemo creates a demo tenant (a development IdP on a port of its own)
// and onboards it by its App Federation Metadata Url, as an operator would
// with a URL the customer's admin sent.
func (a *app) serveDemo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	res := a.formResult(r)
	if len(res.Errors) == 0 && a.reg.get(res.Slug) != nil {
		res.Errors = append(res.Errors, "A customer with the slug "+res.Slug+" exists: pick another one.")
	}
	if len(res.Errors) > 0 {
		a.renderResult(w, res)
		return
	}
	t := demoFor(res.Slug)
	if r.FormValue("name") == "" {
		res.Name = t.name
	}
	dev, stop, err := a.idps.start(res.Slug, t)
	if err != nil {
		a.logger.Error("starting a development IdP", "err", err)
		res.Errors = append(res.Errors, "The development IdP could not be started.")
		a.renderResult(w, res)
		return
	}
	res.Report = onboard.Check(r.Context(), onboard.Input{MetadataURL: dev.MetadataURL(), HTTPClient: loopbackClient, Now: time.Now})
	if !res.Report.Ready {
		stop()
		a.renderResult(w, res)
		return
	}
	c := &customer{Slug: res.Slug, Name: res.Name, Metadata: res.Report.Metadata, Added: time.Now(),
		metadataURL: dev.MetadataURL(), dev: dev, stopDev: stop}
	err = a.reg.add(r.Context(), c, loopbackClient, false)
	if err != nil {
		stop()
	} else {
		err = a.seedCustomer(r.Context(), c)
	}
	a.finish(r, res, c, err)
	a.renderResult(w, res)
}

func (a *app) serveRemove(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !a.reg.remove(r.PostFormValue("slug")) {
		http.Error(w, "no such customer", http.StatusNotFound)
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// formResult reads and checks the slug and name of an onboarding form.
func (a *app) formResult(r *http.Request) *onboardResult {
	res := &onboardResult{Slug: strings.ToLower(strings.TrimSpace(r.FormValue("slug"))), Name: strings.TrimSpace(r.FormValue("name"))}
	res.typedName = res.Name
	if msg := checkSlug(res.Slug); msg != "" {
		res.Errors = append(res.Errors, msg)
	} else if res.Name == "" {
		res.Name = strings.ToUpper(res.Slug[:1]) + res.Slug[1:]
	}
	if utf8.RuneCountInString(res.Name) > 100 || !utf8.ValidString(res.Name) {
		res.Errors = append(res.Errors, "The name must be valid text of at most 100 characters.")
	}
	return res
}

// finish records the outcome of adding customer c.
func (a *app) finish(r *http.Request, res *onboardResult, c *customer, err error) {
	switch {
	case errors.Is(err, errExists):
		res.Errors = append(res.Errors, "A customer with the slug "+res.Slug+" was added meanwhile.")
	case err != nil:
		a.logger.ErrorContext(r.Context(), "creating the SP", "slug", c.Slug, "err", err)
		res.Errors = append(res.Errors, "The metadata passed the checks, but the SP could not be created: "+err.Error())
	default:
		res.Customer, res.Origin, res.Settings = c, a.cfg.origin(c.Slug), c.sp.EntraSettings()
	}
}

func (a *app) renderResult(w http.ResponseWriter, res *onboardResult) {
	status := http.StatusOK
	if res.Customer == nil {
		status = http.StatusUnprocessableEntity
	}
	a.renderOperator(w, status, res)
}

var errTooLarge = errors.New("too large")

// readMetadata parses the onboarding form (multipart, or urlencoded
// without a file) and returns the uploaded file, or else the pasted text.
func readMetadata(r *http.Request) ([]byte, error) {
	err := r.ParseMultipartForm(2 * maxMetadataUpload)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, errTooLarge
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		return nil, err
	}
	if f, _, err := r.FormFile("metadata_file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxMetadataUpload+1))
		switch {
		case err != nil:
			return nil, err
		case len(b) > maxMetadataUpload:
			return nil, errTooLarge
		case len(b) > 0:
			return b, nil
		}
	} else if !errors.Is(err, http.ErrMissingFile) {
		return nil, err
	}
	b := []byte(r.FormValue("metadata"))
	if len(b) > maxMetadataUpload {
		return nil, errTooLarge
	}
	return b, nil
}
