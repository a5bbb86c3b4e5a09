package entrasaml_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/entrasaml/entrasaml"
)

// In production, Config.MetadataURL is the Entra application's "App
// Federation Metadata Url" and Now is left nil. The examples pin the clock
// so that the committed test fixtures verify.
func ExampleNew() {
	metadata, err := os.ReadFile("testdata/entra-metadata.xml") // downloaded from Entra
	if err != nil {
		log.Fatal(err)
	}
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: metadata,
		Now:      func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	md := sp.IdPMetadata()
	fmt.Println("tenant:", md.TenantID)
	fmt.Println("reply URL:", sp.ACSURL())
	fmt.Println("signing certificates:", len(md.Certificates))
	// Output:
	// tenant: b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43
	// reply URL: https://acme.vendor.example/saml/acs
	// signing certificates: 2
}

func ExampleSP_AuthnRequestURL() {
	metadata, _ := os.ReadFile("testdata/entra-metadata.xml")
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: metadata,
	})
	if err != nil {
		log.Fatal(err)
	}
	// RelayState brings the user back to where they were going.
	u, requestID, err := sp.AuthnRequestURL("/orders/42")
	if err != nil {
		log.Fatal(err)
	}
	// Remember requestID for this browser (e.g. in a short-lived cookie),
	// then redirect the browser to u.
	_ = requestID
	fmt.Println(u.Scheme + "://" + u.Host + u.Path)
	fmt.Println(u.Query().Get("RelayState"))
	// Output:
	// https://login.microsoftonline.com/b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43/saml2
	// /orders/42
}

func ExampleSP_Verify() {
	metadata, _ := os.ReadFile("testdata/entra-metadata.xml")
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: metadata,
		Now:      func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	// In the ACS handler: samlResponse := r.PostFormValue("SAMLResponse"),
	// and the request IDs this browser has outstanding.
	xml, _ := os.ReadFile("testdata/response-assertion-signed.xml")
	samlResponse := base64.StdEncoding.EncodeToString(xml)
	requestID := "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e"

	s, err := sp.Verify(context.Background(), samlResponse, requestID)
	if err != nil {
		var status *entrasaml.StatusError
		if errors.As(err, &status) {
			log.Printf("sign-in refused by Entra: %s %s", status.Code, status.Hint())
		}
		log.Printf("SAML response refused: %v", err) // for logs only
		return
	}
	fmt.Println(s.NameID)
	fmt.Println(s.TenantID, s.ObjectID)
	fmt.Println(s.DisplayName, s.Roles)

	// The same response again is a replay.
	_, err = sp.Verify(context.Background(), samlResponse, requestID)
	fmt.Println(errors.Is(err, entrasaml.ErrReplay))
	// Output:
	// adele.vance@contoso.example
	// b9c7e2a4-3d1f-4e8a-9c6b-0f5d2e7a1c43 5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10
	// Adele Vance [Admin Reader]
	// true
}

// What to tell a new customer's admin to type into Entra, before their
// metadata is in.
func ExampleNewEntraSettings() {
	settings, err := entrasaml.NewEntraSettings("https://acme.vendor.example/saml", "https://acme.vendor.example")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(settings, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "identifier": "https://acme.vendor.example/saml",
	//   "reply_url": "https://acme.vendor.example/saml/acs",
	//   "reply_urls": [
	//     "https://acme.vendor.example/saml/acs"
	//   ],
	//   "sign_on_url": "https://acme.vendor.example/saml/login",
	//   "logout_url": "https://acme.vendor.example/saml/logout",
	//   "sp_metadata_url": "https://acme.vendor.example/saml/metadata"
	// }
}
