package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/entrasaml/entrasaml"
)

// runSettings prints what the customer's administrator types into the
// Entra application's Basic SAML Configuration.
func runSettings(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("settings", "settings -base-url URL [-entity-id ID] [-json]", stderr)
	asJSON := fs.Bool("json", false, "print the settings as JSON")
	baseURL := fs.String("base-url", "", "the application's external origin, e.g. https://acme.vendor.example (required)")
	entityID := fs.String("entity-id", "", "the SP's Identifier (Entity ID) (default BASE-URL/saml/metadata)")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageErr(stderr, fs, "unexpected argument %q", pos[0])
	}
	if *baseURL == "" {
		return usageErr(stderr, fs, "-base-url is required")
	}
	id := *entityID
	if id == "" {
		id = strings.TrimRight(*baseURL, "/") + "/saml/metadata"
	}
	s, err := entrasaml.NewEntraSettings(id, *baseURL)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	if *asJSON {
		writeJSON(stdout, s)
		return exitOK
	}
	fmt.Fprintf(stdout, `In the Entra admin center: Enterprise applications > the application >
Single sign-on > SAML > Basic SAML Configuration > Edit:

  Identifier (Entity ID):                     %s
  Reply URL (Assertion Consumer Service URL): %s
  Sign on URL:                                %s
  Logout Url (Optional):                      %s

Instead of typing them, the administrator may download the SP metadata from
%s and use "Upload metadata file" (the Sign on URL must still be typed in).
`, s.Identifier, s.ReplyURL, s.SignOnURL, s.LogoutURL, s.SPMetadataURL)
	return exitOK
}
