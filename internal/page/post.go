package page

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// submitScript posts the page's form on load; the Content-Security-Policy
// allows it by its hash and nothing else.
const submitScript = "document.forms[0].submit()"

func submitScriptHash() string {
	h := sha256.Sum256([]byte(submitScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

var postTmpl = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><form method="post" action="{{.Action}}">{{range .Fields}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<noscript><button type="submit">Continue to sign in</button></noscript></form>
<script>` + submitScript + `</script></body></html>
`))

// Field is a hidden form field.
type Field struct{ Name, Value string }

// WritePost answers with a page that posts fields to action (the SAML
// HTTP-POST binding): at once with its one script, or with a button when
// scripts are off. It cannot be framed.
func WritePost(w http.ResponseWriter, action string, fields ...Field) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src '"+submitScriptHash()+"'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	postTmpl.Execute(w, struct {
		Action string
		Fields []Field
	}{action, fields})
}
