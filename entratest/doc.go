// Package entratest is a fake Microsoft Entra ID SAML identity provider for
// tests, shaped like net/http/httptest. It produces what a real Entra
// enterprise application produces, byte for byte where it matters:
// federation metadata (with the byte-order mark, the WS-Federation role
// descriptors and one key descriptor per certificate during rollover) and
// SAML responses (unprefixed default-namespace assertion, Entra's claim
// names, enveloped exclusive-c14n signatures on the assertion, the response
// or both, SHA-256 or SHA-1), plus Entra's error responses.
//
// # Testing a service provider
//
// Create an [IdP] and give its metadata to the service provider as an
// admin would paste the "App Federation Metadata Url" or upload the XML.
// To sign a test client into a running app (an httptest server with the
// SP's handler and RequireAccount), one call does what the browser does:
//
//	jar, _ := cookiejar.New(nil)
//	client := &http.Client{Jar: jar}
//	err := idp.SignIn(ctx, client, app.URL+"/orders", entratest.User{UPN: "adele@contoso.example"})
//	// client is now signed in to app as Adele
//
// [IdP.SignIn] follows the app's redirect to the sign-on URL, answers the
// AuthnRequest with a signed response and posts it to the ACS with the
// client's cookie jar, which holds the app's pending-request cookie: a
// response posted without that cookie (say, to a handler through
// httptest.NewRecorder) is refused as unsolicited. To test the SP's
// verification itself, build responses and give them to the SP's Verify (or
// post them with the pending-request cookie):
//
//	idp, err := entratest.New(entratest.Options{})
//	// ... configure the SP with idp.Metadata() (or a Server's MetadataURL)
//	resp, err := idp.Response(entratest.Response{
//		ACSURL:       "https://app.example/saml/acs",
//		Audience:     "https://app.example/saml", // the SP's Identifier
//		InResponseTo: requestID,                  // "" for IdP-initiated
//		User:         entratest.User{ObjectID: oid, UPN: "adele@contoso.example"},
//	})
//	session, err := sp.Verify(ctx, resp, requestID)
//
// Zero fields of [Response] take Entra's defaults (issued now, valid one
// hour, bearer confirmation five minutes, assertion signed with RSA-SHA256).
// Set fields to build the negative cases: an expired or future response,
// another audience or recipient, a response signed with a foreign [Key],
// [SignNone], [SignResponse] or SHA-1 for an SP that must refuse them.
// [IdP.ResponseXML] returns the document before base64 so a test can
// tamper with it after signing. [IdP.ErrorResponse] builds the unsigned
// failure responses ("AADSTS50105: ..."). Options.Now pins the clock.
//
// Key rollover: [IdP.AddKey] publishes a second certificate, [IdP.UseKey]
// switches signing to it, [IdP.RemoveKey] retires the old one.
//
// # Testing over HTTP
//
// [NewServer] starts an httptest server that plays login.microsoftonline.com:
// it serves the app federation metadata at [IdP.MetadataURL] and answers a
// redirect-binding AuthnRequest at [IdP.SignOnURL] by signing in the
// [Server.User] at once and returning Entra's auto-submitting form, the way
// a browser would see it. Close it when done. For a sign-on endpoint of your
// own, read the request with [ParseAuthnRequest] and answer it with
// [IdP.Response] of [AuthnRequest.Response].
//
// # A development IdP
//
// A [Server] with a [Picker] shows a "Pick an account" page and signs the
// picked [Account] in: run it beside an app to try "Sign in with
// Microsoft" in a browser without an Entra tenant. [NewUnstartedServer]
// lets it listen where you choose, and [CrossSiteURL] names it on another
// site than the app, so the browser's POST to the ACS is cross-site as
// with Entra:
//
//	idp, err := entratest.NewUnstartedServer(entratest.Options{})
//	idp.URL, err = entratest.CrossSiteURL(appURL, idp.Listener.Addr())
//	idp.Start()
//	defer idp.Close()
//	err = idp.SetPicker(&entratest.Picker{Accounts: []entratest.Account{{Key: "adele", User: adele}}})
//	idp.SetLogoutURL(sp.LogoutURL()) // as registered in Entra
//	// configure the app's SP with idp.Metadata()
//
// Development only: anyone who can reach it signs in as any account.
//
// # Fidelity and limits
//
// Namespaces are written as on the wire (http://, never the https:// of
// Microsoft's documentation samples). Entity IDs are
// "https://sts.windows.net/<tenant>/" with the trailing slash. The fake
// encrypts the assertion only when [Response.Encrypt] asks (AES-CBC or
// AES-GCM with RSA-OAEP, as Entra's token encryption does). Single logout:
// [ParseLogoutRequest], [IdP.LogoutRequestURL] and [IdP.LogoutResponseURL]
// build and read Entra's Redirect-binding messages, and a [Server] with
// [Server.SetLogoutURL] answers LogoutRequests. The fake does not check
// Identifiers or Reply URLs against a registration. Its keys are for tests only.
//
// The package has no package-level mutable state: every IdP and Server is
// independent, so tests can run in parallel.
package entratest
