// Package page renders the short HTML pages that the SP and the tenant
// router answer browsers with: only the library's own text and a reference
// id, never input.
package page

import (
	"html/template"
	"net/http"
)

var tmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>{{.Title}}</h1>{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Ref}}<p>Reference: <code>{{.Ref}}</code></p>{{end}}
{{if .Home}}<p><a href="{{.Home}}">Return to the application</a></p>{{end}}</body></html>
`))

// Write renders a short page: only our own text and a reference id, never
// input. home is the application's root path ("" for no link).
func Write(w http.ResponseWriter, status int, title, message, ref, home string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	tmpl.Execute(w, struct{ Title, Message, Ref, Home string }{title, message, ref, home})
}
