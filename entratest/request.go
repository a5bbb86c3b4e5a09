package entratest

import "net/url"

// AuthnRequest is what the fake reads from a service provider's
// AuthnRequest: enough to answer it with [IdP.Response].
type AuthnRequest struct {
	// ID is the request's ID, echoed as the response's InResponseTo.
	ID string
	// Issuer is the SP's Identifier (Entity ID).
	Issuer string
	// ACSURL is the AssertionConsumerServiceURL, where the response goes.
	ACSURL string
	// Destination is the endpoint the SP addressed, "" when the request
	// names none.
	Destination string
	// RelayState is the RelayState parameter that came with the request,
	// to return unchanged with the response; "" when there was none.
	RelayState string
}

// ParseAuthnRequest reads an AuthnRequest sent with the HTTP-Redirect
// binding: q is the sign-on URL's query, whose SAMLRequest is the
// DEFLATE-compressed, base64-encoded request and whose RelayState, if any,
// is copied into the result. It applies the checks the sign-on endpoint of
// [Server] applies (the ID must be present and must not start with a digit,
// an Issuer and an AssertionConsumerServiceURL are required, a
// NameIDPolicy Format must be one Entra accepts) but not the Destination
// check: compare Destination with [IdP.SignOnURL] when it is not empty.
// SigAlg and Signature are ignored, as by an Entra application that does
// not require signed requests.
//
// On failure the error's text is the message Entra would show the user,
// starting with its AADSTS code (e.g. "AADSTS7500529: ...").
func ParseAuthnRequest(q url.Values) (*AuthnRequest, error) {
	return readAuthnRequest(q.Get("SAMLRequest"), q.Get("RelayState"), true)
}

// Audience returns the Audience Entra sends to the requesting SP: the
// Issuer itself when it is a URI, else "spn:" + Issuer.
func (r *AuthnRequest) Audience() string { return audienceFor(r.Issuer) }

// Response returns the [Response] that answers r for user u, with ACSURL,
// Audience and InResponseTo filled in and every other field zero
// (Entra's defaults). Pass it, changed as the test needs, to
// [IdP.Response].
func (r *AuthnRequest) Response(u User) Response {
	return Response{ACSURL: r.ACSURL, Audience: r.Audience(), InResponseTo: r.ID, User: u}
}

// readAuthnRequest decodes (inflating for the redirect binding) and checks
// an encoded AuthnRequest. An error's text is the message for the browser.
func readAuthnRequest(encoded, relayState string, inflate bool) (*AuthnRequest, error) {
	if encoded == "" {
		return nil, requestError("AADSTS750054: SAMLRequest or SAMLResponse must be present as query string parameters in HTTP request for SAML Redirect binding.")
	}
	raw, err := decodeRequest(encoded, inflate)
	if err != nil {
		return nil, requestError("AADSTS750036: Unable to parse the SAML request: " + err.Error() + ".")
	}
	req, msg := parseAuthnRequest(raw)
	if req == nil {
		return nil, requestError(msg)
	}
	req.RelayState = relayState
	return req, nil
}

// requestError is a refused AuthnRequest: its text is the message Entra
// would show, which ends with a full stop.
type requestError string

func (e requestError) Error() string { return string(e) }
