package main

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/entrasaml/entrasaml"
)

// provision is the app's Config.Provision: it maps a verified Entra user to
// an account of the app. In this example everyone has an account, except
// the development IdP's demo user Ursula Unprovisioned, recognised by her
// immutable object id, who is refused with the library's 403 "not set up"
// page. A real app would look the user up by tenant id and object id.
func provision(_ context.Context, s *entrasaml.Session) error {
	if s.ObjectID == ursulaObjectID {
		return fmt.Errorf("%w: no account for object id %s", entrasaml.ErrNotProvisioned, s.ObjectID)
	}
	id := s.ObjectID
	if id == "" {
		id = s.NameID
	}
	s.UserID = "demo:" + id
	return nil
}

// attribute is one row of the claims table.
type attribute struct {
	Name   string
	Values []string
}

type homeData struct {
	S          *entrasaml.Session
	Path       string
	Attributes []attribute
	Expires    string
}

// home shows the signed-in user: every page outside /saml/ is this page,
// behind sp.RequireAccount.
func home(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		serveHome(w, r, logger)
	}
}

func serveHome(w http.ResponseWriter, r *http.Request, logger *slog.Logger) {
	s, ok := entrasaml.SessionFromContext(r.Context())
	if !ok { // cannot happen behind RequireAccount
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	d := homeData{S: s, Path: r.URL.RequestURI(), Expires: s.ExpiresAt.Local().Format(time.RFC1123)}
	for _, name := range slices.Sorted(maps.Keys(s.Attributes)) {
		d.Attributes = append(d.Attributes, attribute{name, s.Attributes[name]})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if err := homePage.Execute(w, d); err != nil {
		logger.Warn("rendering the home page", "err", err)
	}
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>webapp: {{.S.NameID}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;justify-content:space-between;border-bottom:1px solid #ddd;padding-bottom:.5rem}
dt{font-weight:600}dd{margin:0 0 .5rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}
td ul{margin:0;padding-left:1.2rem;max-height:12rem;overflow:auto}code{font-size:13px;word-break:break-all}</style></head>
<body>
<nav><strong>webapp</strong><a id="signout" href="/saml/logout">Sign out</a></nav>
<h1>Signed in as <span id="nameid">{{.S.NameID}}</span></h1>
<dl>
<dt>Display name</dt><dd id="displayname">{{.S.DisplayName}}</dd>
<dt>App user id (set by Provision)</dt><dd id="userid">{{.S.UserID}}</dd>
<dt>Tenant id / object id</dt><dd><code>{{.S.TenantID}}</code> / <code id="objectid">{{.S.ObjectID}}</code></dd>
<dt>Groups</dt><dd id="groups">{{len .S.Groups}} groups{{if .S.GroupsOverage}}; overage: more than 150 groups, resolve them with Microsoft Graph{{end}}</dd>
<dt>Roles</dt><dd id="roles">{{range $i, $r := .S.Roles}}{{if $i}}, {{end}}{{$r}}{{else}}none{{end}}</dd>
<dt>Requested page</dt><dd><code id="path">{{.Path}}</code></dd>
<dt>Session</dt><dd>issued by <code>{{.S.Issuer}}</code>, expires {{.Expires}}</dd>
</dl>
<h2>All {{len .Attributes}} attributes</h2>
<table id="attributes"><tr><th>Name</th><th>Values</th></tr>
{{range .Attributes}}<tr><td><code>{{.Name}}</code></td><td><ul>{{range .Values}}<li>{{.}}</li>{{end}}</ul></td></tr>
{{end}}</table>
<p><a href="/saml/logout">Sign out</a> (of this app, then of Entra). SP metadata for Entra: <a href="/saml/metadata">/saml/metadata</a>.</p>
</body></html>
`))
