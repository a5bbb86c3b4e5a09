package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

func TestOperator(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	idp := startIdP(t)

	t.Run("paste", func(t *testing.T) {
		t.Parallel()
		c := apptest.Browser()
		resp, page := onboardCustomer(t, c, ta, "vandelay", "Vandelay Industries", idp.Metadata())
		site := ta.url("vandelay", "")
		sum := sha1.Sum(idp.SigningKey().Certificate.Raw)
		for _, want := range []string{
			`id="outcome">Onboarded <strong>Vandelay Industries</strong>`, `href="` + site + `/"`,
			idp.TenantID(), idp.SignOnURL(), strings.ToUpper(hex.EncodeToString(sum[:])), entratest.CertificateSubject,
			`id="identifier">` + site + "/saml/metadata<", `id="reply-url">` + site + "/saml/acs<",
			`id="sign-on-url">` + site + "/saml/login<", `id="logout-url">` + site + "/saml/logout<",
			`id="sp-metadata" href="` + site + `/saml/metadata"`, `<li>None.</li>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("report lacks %s", want)
			}
		}
		if resp.StatusCode != http.StatusOK || t.Failed() {
			t.Fatalf("onboarding: %d\n%s", resp.StatusCode, page)
		}
		// The new host works at once, with the customer's own tenant.
		page = signIn(t, apptest.Browser(), site, idp.SignOnURL(), "vera")
		for _, want := range []string{"Vandelay Industries", "Vera Vandelay", idp.TenantID(), "2 groups", "vandelay:" + testAccounts[0].User.ObjectID} {
			if !strings.Contains(page, want) {
				t.Errorf("customer page lacks %s", want)
			}
		}
		if _, md := apptest.Get(t, c, site+"/saml/metadata"); !strings.Contains(md, `entityID="`+site+`/saml/metadata"`) {
			t.Errorf("SP metadata:\n%s", md)
		}
		if _, page := apptest.Get(t, c, ta.url("", "/operator")); !strings.Contains(page, `data-slug="vandelay"`) {
			t.Error("the console does not list the new customer")
		}
	})

	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		resp, page := postMultipart(t, apptest.Browser(), ta.url("", "/operator/onboard"), map[string]string{"slug": "kramerica"}, idp.Metadata())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Onboarded <strong>Kramerica</strong>") {
			t.Fatalf("upload: %d\n%s", resp.StatusCode, page)
		}
		resp, _ = apptest.Get(t, apptest.Browser(), ta.url("kramerica", "/"))
		if !strings.HasPrefix(resp.Header.Get("Location"), idp.SignOnURL()+"?") {
			t.Errorf("kramerica: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		_, spMetadata := apptest.Get(t, apptest.Browser(), ta.url("acme", "/saml/metadata"))
		good := idp.Metadata()
		for _, c := range []struct {
			name, slug string
			metadata   []byte
			status     int
			want       string // a problem code or a form error
		}{
			{"HTML page", "html", []byte("<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body></body></html>"), 422, `data-code="html_page"`},
			{"SP metadata", "spmd", []byte(spMetadata), 422, `data-code="sp_metadata"`},
			{"not XML", "text", []byte("Hello, here is our metadata"), 422, `data-code="not_xml"`},
			{"nothing", "empty", nil, 422, `data-code="no_input"`},
			{"bad slug", "Not a slug!", good, 422, "The slug must be"},
			{"reserved slug", "ops", good, 422, "is reserved"},
			{"existing slug", "acme", good, 422, "exists"},
			{"too large", "huge", bytes.Repeat([]byte(" "), maxMetadataUpload+1), 413, "larger than 1 MiB"},
		} {
			resp, page := onboardCustomer(t, apptest.Browser(), ta, c.slug, "", c.metadata)
			if resp.StatusCode != c.status || !strings.Contains(page, `id="outcome">Not onboarded`) || !strings.Contains(page, c.want) {
				t.Errorf("%s: %d, want %d with %s\n%s", c.name, resp.StatusCode, c.status, c.want, page)
			}
			if c.slug != "acme" && ta.reg.get(strings.ToLower(c.slug)) != nil {
				t.Errorf("%s: a customer was created", c.name)
			}
		}
		// An upload beyond the form's limit.
		resp, page := postMultipart(t, apptest.Browser(), ta.url("", "/operator/onboard"), map[string]string{"slug": "huge"}, make([]byte, 2*maxMetadataUpload))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "larger than 1 MiB") || ta.reg.get("huge") != nil {
			t.Errorf("2 MiB upload: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := apptest.Get(t, apptest.Browser(), ta.url("html", "/")); resp.StatusCode != http.StatusNotFound {
			t.Errorf("refused customer's host: %d", resp.StatusCode)
		}
		// The console's forms cannot be posted from another site.
		req, _ := http.NewRequest(http.MethodPost, ta.url("", "/operator/onboard"), strings.NewReader(url.Values{"slug": {"csrf"}, "metadata": {string(good)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, _ := apptest.Do(t, apptest.Browser(), req); resp.StatusCode != http.StatusForbidden || ta.reg.get("csrf") != nil {
			t.Errorf("cross-site POST: %d", resp.StatusCode)
		}
	})

	t.Run("demo tenant", func(t *testing.T) {
		t.Parallel()
		resp, page := apptest.PostForm(t, apptest.Browser(), ta.url("", "/operator/demo"), url.Values{"slug": {"initech"}})
		c := ta.reg.get("initech")
		if resp.StatusCode != http.StatusOK || c == nil || c.dev == nil {
			t.Fatalf("demo tenant: %d\n%s", resp.StatusCode, page)
		}
		// Onboarded by its metadata URL, which is plain http: a warning.
		for _, want := range []string{html.EscapeString(c.dev.MetadataURL()), c.dev.AppID(), `class="warning" data-code="metadata_url"`} {
			if !strings.Contains(page, want) {
				t.Errorf("report lacks %s", want)
			}
		}
		page = signIn(t, apptest.Browser(), ta.url("initech", ""), c.dev.SignOnURL(), "milton")
		if !strings.Contains(page, "Initech") || !strings.Contains(page, "Milton Waddams") {
			t.Errorf("initech's page:\n%s", page)
		}
		for _, slug := range []string{"initech", "", "-x-"} {
			if resp, _ := apptest.PostForm(t, apptest.Browser(), ta.url("", "/operator/demo"), url.Values{"slug": {slug}}); resp.StatusCode != 422 {
				t.Errorf("demo tenant %q: %d, want 422", slug, resp.StatusCode)
			}
		}
	})

	t.Run("replace and remove", func(t *testing.T) {
		t.Parallel()
		site := ta.url("pendant", "")
		if resp, page := onboardCustomer(t, apptest.Browser(), ta, "pendant", "", idp.Metadata()); resp.StatusCode != http.StatusOK {
			t.Fatalf("onboarding: %d\n%s", resp.StatusCode, page)
		}
		b := apptest.Browser()
		signIn(t, b, site, idp.SignOnURL(), "vera")
		// New metadata, same EntityID and BaseURL: the user stays signed in.
		resp, page := postMultipart(t, apptest.Browser(), ta.url("", "/operator/onboard"),
			map[string]string{"slug": "pendant", "replace": "1", "metadata": string(idp.Metadata())}, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "(metadata replaced)") {
			t.Fatalf("replace: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := apptest.Get(t, b, site+"/"); resp.StatusCode != http.StatusOK {
			t.Errorf("after the replacement: %d", resp.StatusCode)
		}
		// Removed: 404 once the registry's change reaches the Cache (SQLite
		// is polled every 500 ms), signed in or not.
		if resp, _ := apptest.PostForm(t, apptest.Browser(), ta.url("", "/operator/remove"), url.Values{"slug": {"pendant"}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("remove: %d", resp.StatusCode)
		}
		for _, c := range []*http.Client{b, apptest.Browser()} {
			status := 0
			for deadline := time.Now().Add(3 * time.Second); status != http.StatusNotFound && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				resp, _ := apptest.Get(t, c, site+"/")
				status = resp.StatusCode
			}
			if status != http.StatusNotFound {
				t.Errorf("after removal: %d", status)
			}
		}
		if resp, _ := apptest.PostForm(t, apptest.Browser(), ta.url("", "/operator/remove"), url.Values{"slug": {"pendant"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("remove twice: %d", resp.StatusCode)
		}
	})
}

// Every value of the report comes from outside and is escaped: the IdP's
// entity ID, a certificate subject, the customer's name.
func TestOnboardEscaping(t *testing.T) {
	t.Parallel()
	ta := startApp(t)
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		Subject: pkix.Name{CommonName: "<script>alert('cn')</script>", Organization: []string{"Evil & <Co>"}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	idp, err := entratest.New(entratest.Options{Key: &entratest.Key{PrivateKey: priv, Certificate: cert}})
	if err != nil {
		t.Fatal(err)
	}
	md := bytes.Replace(idp.Metadata(), []byte(`entityID="`+idp.EntityID()+`"`),
		[]byte(`entityID="https://evil.example/&lt;script&gt;alert(1)&lt;/script&gt;"`), 1)

	name := `<img src=x onerror=alert(2)>`
	_, page := onboardCustomer(t, apptest.Browser(), ta, "evil", name, md)
	_, console := apptest.Get(t, apptest.Browser(), ta.url("", "/operator"))
	for what, p := range map[string]string{"report": page, "console": console} {
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(p, bad) {
				t.Errorf("%s holds %s unescaped:\n%s", what, bad, p)
			}
		}
	}
	text := html.UnescapeString(page)
	for _, want := range []string{"https://evil.example/<script>alert(1)</script>", `CN=\<script\>alert('cn')\</script\>`, `Evil & \<Co\>`, name} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	// Another IdP than Entra is supported: notes, not a problem.
	if !strings.Contains(page, `<ul id="notes">`) || !strings.Contains(html.UnescapeString(console), name) {
		t.Errorf("report or console incomplete:\n%s", page)
	}
}

// -data keeps onboarded customers (not the demo ones) across restarts.
func TestDataFile(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "customers.json")
	ta := startApp(t, "-data", data, "-data-dir", dir)
	if resp, page := onboardCustomer(t, apptest.Browser(), ta, "vandelay", "Vandelay Industries", idp.Metadata()); resp.StatusCode != http.StatusOK {
		t.Fatalf("onboarding: %d\n%s", resp.StatusCode, page)
	}
	var f dataFile
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil || len(f.Customers) != 1 || f.Customers[0].Slug != "vandelay" ||
		f.Customers[0].Name != "Vandelay Industries" || !strings.Contains(f.Customers[0].Metadata, idp.TenantID()) {
		t.Fatalf("data file (%v):\n%s", err, b)
	}

	// A restarted app serves it, with its demos; a stored customer whose
	// metadata no longer works is listed, not served.
	f.Customers = append(f.Customers, storedCustomer{Slug: "broken", Name: "Broken", Metadata: "<html></html>"})
	b, _ = json.Marshal(f)
	if err := os.WriteFile(data, b, 0o600); err != nil {
		t.Fatal(err)
	}
	again := startApp(t, "-data", data, "-data-dir", dir)
	site := again.url("vandelay", "")
	signIn(t, apptest.Browser(), site, idp.SignOnURL(), "vera")
	if again.reg.get("acme") == nil {
		t.Error("no demo customers with -data")
	}
	if resp, _ := apptest.Get(t, apptest.Browser(), again.url("broken", "/")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("broken customer: %d", resp.StatusCode)
	}
	if _, console := apptest.Get(t, apptest.Browser(), again.url("", "/operator")); !strings.Contains(console, "not served") {
		t.Error("the console does not show the broken customer")
	}

	// An unreadable file stops the app at once.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	err = runWith(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", bad}, io.Discard, io.Discard, hooks{})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt data file: %v", err)
	}
}
