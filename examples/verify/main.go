// Command verify walks through an SP-initiated Entra sign-in without a
// browser or a tenant: a built-in Entra-like IdP (package entratest) serves
// federation metadata and a sign-on endpoint on loopback; the SP loads the
// metadata from its URL, builds an AuthnRequest, "follows" the redirect, and
// verifies the signed response that the IdP's auto-submit form would post
// to the ACS. It prints each step and the verified session.
//
//	go run ./examples/verify
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"os"
	"regexp"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// The development IdP: a fake Entra tenant on a loopback port.
	idp := entratest.NewServer()
	defer idp.Close()
	idp.SetUser(entratest.User{
		ObjectID: "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10", UPN: "adele@contoso.example",
		Email: "adele.vance@contoso.example", DisplayName: "Adele Vance",
		GivenName: "Adele", Surname: "Vance",
		Groups: []string{"0b7cc495-fc1e-480d-9bb6-c289fda37380"}, Roles: []string{"Admin"},
	})
	fmt.Fprintln(out, "IdP metadata URL:", idp.MetadataURL())

	// The SP, configured as a customer's admin would hand it over.
	sp, err := entrasaml.New(ctx, entrasaml.Config{
		EntityID:    "https://acme.vendor.example/saml",
		BaseURL:     "https://acme.vendor.example",
		MetadataURL: idp.MetadataURL(),
	})
	if err != nil {
		return err
	}
	md := sp.IdPMetadata()
	fmt.Fprintf(out, "tenant %s, sign-on URL %s, %d signing certificate(s)\n", md.TenantID, md.SignOnURL, len(md.Certificates))

	// Step 1: the redirect to Entra.
	u, requestID, err := sp.AuthnRequestURL("/orders/42")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "AuthnRequest ID:", requestID)

	// Step 2: Entra signs the user in and answers with an auto-submit form.
	resp, err := http.Get(u.String())
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	samlResponse, relayState := formValue(body, "SAMLResponse"), formValue(body, "RelayState")
	if samlResponse == "" {
		return errors.New("the IdP answered without a SAMLResponse")
	}
	fmt.Fprintf(out, "Entra posts %d bytes of SAMLResponse to %s, RelayState %q\n", len(samlResponse), sp.ACSURL(), relayState)

	// Step 3: the ACS verifies it.
	s, err := sp.Verify(ctx, samlResponse, requestID)
	if err != nil {
		return err
	}
	j, _ := json.MarshalIndent(s, "", "  ")
	fmt.Fprintf(out, "verified session:\n%s\n", j)

	// The same response again is refused.
	_, err = sp.Verify(ctx, samlResponse, requestID)
	fmt.Fprintln(out, "posting it again:", err)
	return nil
}

// formValue extracts a hidden input's value from the IdP's form page.
func formValue(page []byte, name string) string {
	re := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"\s+value="([^"]*)"|value="([^"]*)"\s+name="` + regexp.QuoteMeta(name) + `"`)
	m := re.FindSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]) + string(m[2]))
}
