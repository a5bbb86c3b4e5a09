package entratest_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

func Example() {
	// A fake tenant with fixed ids; the signing key is generated.
	idp, err := entratest.New(entratest.Options{
		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		AppID:    "8b1e2f3a-0000-4000-8000-000000000001",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(idp.EntityID())
	fmt.Println(idp.SignOnURL())
	fmt.Println(idp.MetadataURL())

	// Give this to the SP under test as its Entra federation metadata.
	metadata := idp.Metadata()
	fmt.Println(bytes.HasPrefix(metadata, []byte("\xef\xbb\xbf<?xml")))

	// Post this as the SAMLResponse form value to the SP's ACS.
	samlResponse, err := idp.Response(entratest.Response{
		ACSURL:       "https://app.example/saml/acs",
		Audience:     "https://app.example/saml",
		InResponseTo: "_request-id-from-the-sp",
		User: entratest.User{
			ObjectID: "b7a1d8e0-5c3f-4a2e-9d61-0f2a3b4c5d6e",
			UPN:      "adele@contoso.example",
		},
	})
	if err != nil {
		panic(err)
	}
	xml, _ := base64.StdEncoding.DecodeString(samlResponse)
	fmt.Println(strings.HasPrefix(string(xml), "<samlp:Response "))
	// Output:
	// https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/
	// https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2
	// https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/federationmetadata/2007-06/federationmetadata.xml?appid=8b1e2f3a-0000-4000-8000-000000000001
	// true
	// true
}

func ExampleIdP_Response_expired() {
	// Pin the clock to build a response that expired an hour ago.
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	idp, err := entratest.New(entratest.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	xml, err := idp.ResponseXML(entratest.Response{
		ACSURL:       "https://app.example/saml/acs",
		Audience:     "https://app.example/saml",
		User:         entratest.User{UPN: "adele@contoso.example"},
		IssueInstant: now.Add(-2 * time.Hour),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(string(xml), `<Conditions NotBefore="2026-11-28T10:00:00.000Z" NotOnOrAfter="2026-11-28T11:00:00.000Z">`))
	// Output: true
}

func ExampleNewServer() {
	srv := entratest.NewServer()
	defer srv.Close()

	// Point the SP at srv.MetadataURL(); its sign-in redirects then land on
	// srv.SignOnURL(), which answers with the auto-posting form.
	res, err := srv.Client().Get(srv.MetadataURL())
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	fmt.Println(res.StatusCode == http.StatusOK, res.Header.Get("Content-Type"))
	fmt.Println(strings.HasPrefix(srv.SignOnURL(), srv.URL+"/"))
	// Output:
	// true application/xml; charset=utf-8
	// true
}
