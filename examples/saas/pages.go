package main

import "html/template"

// The app's pages. html/template escapes every value: the onboarding
// report and the session hold what a customer's admin or IdP sent,
// unverified in the report's case.
var (
	customerPage = template.Must(template.Must(layout.Clone()).New("customer").Parse(customerHTML))
	operatorPage = template.Must(template.Must(layout.Clone()).New("operator").Parse(operatorHTML))
	layout       = template.Must(template.New("layout").Parse(layoutHTML))
)

const layoutHTML = `{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;justify-content:space-between;border-bottom:1px solid #ddd;padding-bottom:.5rem}
dt{font-weight:600}dd{margin:0 0 .5rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}
code{font-size:13px;word-break:break-all}textarea{width:100%;font:12px monospace}
.warn{background:#fff4ce;padding:.4rem .6rem}.ok{background:#dff6dd;padding:.4rem .6rem}
.bad,.error{background:#fde7e9;padding:.4rem .6rem}.warning{background:#fff4ce}
form.inline{display:inline}label{display:block;margin:.4rem 0}</style></head><body>
{{end}}`

const customerHTML = `{{template "head" (print "Parcelry · " .C.Name)}}
<nav><strong>Parcelry for <span id="customer">{{.C.Name}}</span></strong><a id="signout" href="/saml/logout">Sign out</a></nav>
<h1>Hello, <span id="displayname">{{.S.DisplayName}}</span></h1>
<dl>
<dt>Customer</dt><dd><span id="customer-name">{{.C.Name}}</span> (<code id="slug">{{.C.Slug}}</code>)</dd>
<dt>Entra tenant id</dt><dd><code id="tenant">{{.S.TenantID}}</code>{{if ne .S.TenantID .Tenant}} (the customer onboarded tenant <code>{{.Tenant}}</code>){{end}}</dd>
<dt>NameID</dt><dd id="nameid">{{.S.NameID}}</dd>
<dt>Groups</dt><dd id="groups">{{len .S.Groups}} groups{{if .S.GroupsOverage}}; overage: resolve them with Microsoft Graph{{end}}</dd>
<dt>Roles</dt><dd id="roles">{{range $i, $r := .S.Roles}}{{if $i}}, {{end}}{{$r}}{{else}}none{{end}}</dd>
<dt>App user id (set by Provision)</dt><dd><code id="userid">{{.S.UserID}}</code></dd>
<dt>Session</dt><dd>issued by <code>{{.S.Issuer}}</code>, expires {{.Expires}}</dd>
</dl>
<p>No parcels on their way yet. This page stands for every page of the customer's site: each is behind
<code>Router.RequireAccount</code>, and a session here is valid on no other customer's host.</p>
</body></html>
`

const operatorHTML = `{{template "head" "Parcelry · operator console"}}
<nav><strong>Parcelry operator console</strong><span>{{len .Customers}} customers</span></nav>
<p class="warn">This console is not behind sign-in in this example. A real app must protect it (single sign-on for the vendor's staff, a private network).</p>
{{with .Result}}<section id="result">
{{if .Customer}}<p class="ok" id="outcome">Onboarded <strong>{{.Customer.Name}}</strong>{{if .Replaced}} (metadata replaced){{end}}: live at <a id="site" href="{{.Origin}}/">{{.Origin}}/</a></p>
<h2>Values for the customer's Entra administrator</h2>
<p>Entra admin center → Enterprise applications → the application → Single sign-on → SAML → Basic SAML Configuration:</p>
<table id="entra-settings">
<tr><th>Identifier (Entity ID)</th><td><code id="identifier">{{.Settings.Identifier}}</code></td></tr>
<tr><th>Reply URL (Assertion Consumer Service URL)</th><td><code id="reply-url">{{.Settings.ReplyURL}}</code></td></tr>
<tr><th>Sign on URL</th><td><code id="sign-on-url">{{.Settings.SignOnURL}}</code></td></tr>
<tr><th>Logout URL</th><td><code id="logout-url">{{.Settings.LogoutURL}}</code></td></tr>
</table>
<p>Or send the SP metadata file, which Entra can upload: <a id="sp-metadata" href="{{.Settings.SPMetadataURL}}">{{.Settings.SPMetadataURL}}</a></p>
{{else}}<p class="bad" id="outcome">Not onboarded{{if .Slug}}: {{.Slug}}{{end}}.</p>{{end}}
{{range .Errors}}<p class="bad form-error">{{.}}</p>{{end}}
{{with .Report}}<h2>Onboarding report</h2>
<dl id="report">
<dt>Ready</dt><dd id="ready">{{if .Ready}}yes{{else}}no{{end}}</dd>
{{if .IdP}}<dt>Identity provider</dt><dd id="report-idp">{{.IdP}}</dd>{{end}}
<dt>Tenant id</dt><dd><code id="report-tenant">{{.TenantID}}</code></dd>
{{if .AppID}}<dt>Application id</dt><dd><code>{{.AppID}}</code></dd>{{end}}
<dt>IdP entity ID</dt><dd><code id="report-entity-id">{{.EntityID}}</code></dd>
<dt>Sign-on URL</dt><dd><code id="report-sign-on-url">{{.SignOnURL}}</code></dd>
<dt>Logout URL</dt><dd><code id="report-logout-url">{{.LogoutURL}}</code></dd>
{{if .MetadataURL}}<dt>Metadata URL</dt><dd><code>{{.MetadataURL}}</code></dd>{{end}}
</dl>
<h3>Signing certificates</h3>
<table id="certificates"><tr><th>Subject</th><th>SHA-1 thumbprint</th><th>Expires</th><th>Days left</th></tr>
{{range .Certificates}}<tr><td>{{.Subject}}</td><td><code class="thumbprint">{{.ThumbprintSHA1}}</code></td><td>{{.NotAfter.Format "2006-01-02 15:04 MST"}}</td><td>{{.DaysLeft}}</td></tr>
{{else}}<tr><td colspan="4">none found</td></tr>{{end}}</table>
{{if .Notes}}<h3>Notes</h3>
<ul id="notes">{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>{{end}}
<h3>Problems</h3>
<ul id="problems">{{range .Problems}}<li class="{{.Severity}}" data-code="{{.Code}}"><strong>{{.Severity}}:</strong> {{.Message}}</li>
{{else}}<li>None.</li>{{end}}</ul>
{{end}}
<p><a href="/operator">Back to the console</a></p>
</section>{{end}}

<h2>Customers</h2>
<table id="customers"><tr><th>Slug</th><th>Name</th><th>Site</th><th>SSO</th><th>Entra tenant</th><th>First certificate expiry</th>
<th>Last successful sign-in</th><th>Failed sign-ins, last 24 h</th><th></th></tr>
{{range .Customers}}<tr data-slug="{{.Slug}}"><td><code>{{.Slug}}</code></td><td>{{.Name}}{{if .Demo}}<br><small>demo tenant (development IdP)</small>{{end}}</td>
<td>{{if .Problem}}<span class="bad">not served: {{.Problem}}</span>{{else}}<a href="{{.Origin}}/">{{.Origin}}/</a>{{end}}</td>
<td class="sso">{{.SSO}}</td><td><code>{{.Tenant}}</code></td><td>{{.Expires}}{{if .Expires}}<br><span class="days-left{{if lt .DaysLeft 30}} bad{{end}}">{{.DaysLeft}} days left</span>{{end}}</td>
<td class="last-sign-in">{{or .LastSignIn "none yet"}}</td>
<td><ul class="failures">{{range .Failures}}<li data-reason="{{.Reason}}"><code>{{.Reason}}</code>: {{.N}}</li>{{else}}<li>none</li>{{end}}</ul></td>
<td><form class="inline" method="post" action="/operator/remove"><input type="hidden" name="slug" value="{{.Slug}}"><button>Remove</button></form></td></tr>
{{else}}<tr><td colspan="9">No customers.</td></tr>{{end}}</table>
<p>Metrics for Prometheus: <a href="/metrics">/metrics</a> (sign-ins by outcome, reason and customer; days until each customer's IdP certificate expires).</p>

<h2>Onboard a customer</h2>
<p>From what the customer's Entra administrator sends: the application's <strong>Federation Metadata XML</strong>
(Single sign-on → SAML Certificates → Download). The report says what is wrong, if anything; when it is ready the
customer's site works at once.</p>
<form id="onboard" method="post" action="/operator/onboard" enctype="multipart/form-data">
<label>Slug (the subdomain) <input id="slug" name="slug" value="{{.Form.Slug}}" required maxlength="32" autocomplete="off">.{{.BaseDomain}}</label>
<label>Name <input id="name" name="name" value="{{.Form.Name}}" maxlength="100"></label>
<label>Paste the Federation Metadata XML <textarea id="metadata" name="metadata" rows="8" spellcheck="false"></textarea></label>
<label>or upload the file (at most 1 MiB) <input id="metadata-file" type="file" name="metadata_file" accept=".xml,application/xml,text/xml"></label>
<label><input type="checkbox" name="replace" value="1"> Replace the metadata of an existing customer with this slug (its users stay signed in)</label>
<button id="onboard-submit" type="submit">Check and onboard</button>
</form>

<h2>Try it with a demo tenant</h2>
<form id="demo" method="post" action="/operator/demo">
<label>Slug <input name="slug" value="{{.DemoSlug}}" required maxlength="32"></label>
<button id="demo-submit" type="submit">Create a demo tenant (a development IdP) and onboard it by its metadata URL</button>
</form>
</body></html>
`
