package entratest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
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

// A development IdP for trying an app in a browser: a "Pick an account"
// page, served on another site than the app, as Entra is.
func ExampleServer_SetPicker() {
	const appURL = "http://127.0.0.1:8080"
	idp, err := entratest.NewUnstartedServer(entratest.Options{})
	if err != nil {
		panic(err)
	}
	if idp.URL, err = entratest.CrossSiteURL(appURL, idp.Listener.Addr()); err != nil {
		panic(err)
	}
	idp.Start()
	defer idp.Close()
	err = idp.SetPicker(&entratest.Picker{TenantName: "Contoso", Accounts: []entratest.Account{
		{Key: "adele", Note: "role Admin", User: entratest.User{ObjectID: "6e7b768e-07e2-4810-8459-485f84f8f204",
			UPN: "AdeleV@contoso.example", DisplayName: "Adele Vance", Roles: []string{"Admin"}}},
	}})
	if err != nil {
		panic(err)
	}
	idp.SetLogoutURL(appURL + "/saml/logout") // as registered in Entra

	// The app's SP trusts idp.Metadata(); its sign-in redirects the browser
	// to the picker.
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: appURL + "/saml/metadata", BaseURL: appURL, Metadata: idp.Metadata()})
	if err != nil {
		panic(err)
	}
	u, _, err := sp.AuthnRequestURL("")
	if err != nil {
		panic(err)
	}
	res, err := idp.Client().Get(u.String())
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	fmt.Println(u.Hostname(), strings.Contains(string(page), "Pick an account"), strings.Contains(string(page), `value="adele"`))
	// Output: localhost true true
}
