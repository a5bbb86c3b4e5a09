package entratest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxSignInHops bounds the app's redirects before it reaches the IdP.
const maxSignInHops = 10

// SignIn signs client into the app at appURL as user, through the flow a
// browser follows, in one call. It GETs appURL (a page behind the app's
// RequireAccount, or its sign-in endpoint) and follows the app's
// redirects on its own origin until one reaches [IdP.SignOnURL] with an
// AuthnRequest; a redirect to any other host is an error, so a test never
// leaves the machine. It answers the request as Entra would, with a
// response for user carrying attrs signed by the IdP's signing key, and
// POSTs the SAMLResponse and RelayState to the request's
// AssertionConsumerServiceURL with client, as the browser does with
// Entra's auto-submitting form. The app's cookies (the pending-request
// cookie set before the redirect, the session cookie set by the ACS) live
// in client.Jar, which must not be nil: afterwards client's requests to
// the app are signed in as user.
//
// It succeeds when the ACS answers with a redirect (303), as the SP does
// on a verified sign-in, and does not follow it. It fails when the app
// never redirects to the IdP, when the AuthnRequest is one Entra would
// refuse (the same checks as a [Server]'s sign-on endpoint, including the
// Destination), or when the ACS answers anything else, with the status and
// the start of the page in the error. The app's BaseURL must be a URL
// client can reach (for an httptest server, the server's URL); http://
// apps work, as the SP then also sets its pending-request cookie without
// Secure.
//
// SignIn reads no state of a [Server] (its User or Picker): tests may sign
// different users in in parallel. It uses client's Transport and Jar, not
// its CheckRedirect.
func (idp *IdP) SignIn(ctx context.Context, client *http.Client, appURL string, user User, attrs ...Attribute) error {
	if client == nil || client.Jar == nil {
		return errors.New("entratest: SignIn needs a client with a cookie Jar (net/http/cookiejar)")
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	req, err := idp.followToSignOn(ctx, &c, appURL)
	if err != nil {
		return err
	}
	resp := req.Response(user)
	resp.Attributes = attrs
	samlResponse, err := idp.Response(resp)
	if err != nil {
		return err
	}
	form := url.Values{"SAMLResponse": {samlResponse}}
	if req.RelayState != "" {
		form.Set("RelayState", req.RelayState)
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, req.ACSURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("entratest: SignIn: the AssertionConsumerServiceURL %q: %w", req.ACSURL, err)
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Origin", idp.LoginURL()) // as a browser sends it from Entra's form
	r, err := c.Do(post)
	if err != nil {
		return fmt.Errorf("entratest: SignIn: posting to the ACS: %w", err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("entratest: SignIn: the ACS %s answered %s: %s", req.ACSURL, r.Status, pageStart(r.Body))
	}
	return nil
}

// followToSignOn GETs u and follows redirects until one goes to the IdP's
// sign-on URL, and returns the AuthnRequest it carries.
func (idp *IdP) followToSignOn(ctx context.Context, c *http.Client, u string) (*AuthnRequest, error) {
	signOn := idp.SignOnURL()
	for range maxSignInHops {
		get, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("entratest: SignIn: %w", err)
		}
		get.Header.Set("Accept", "text/html")
		r, err := c.Do(get)
		if err != nil {
			return nil, fmt.Errorf("entratest: SignIn: %w", err)
		}
		page := pageStart(r.Body)
		r.Body.Close()
		loc, err := r.Location()
		if err != nil {
			return nil, fmt.Errorf("entratest: SignIn: GET %s answered %s, not a redirect to the IdP: %s", u, r.Status, page)
		}
		target := *loc
		target.RawQuery, target.Fragment = "", ""
		if target.String() != signOn {
			// Follow the app's own redirects only: never another host.
			if from, _ := url.Parse(u); from == nil || loc.Scheme != from.Scheme || loc.Host != from.Host {
				return nil, fmt.Errorf("entratest: SignIn: GET %s redirects to %s, not to this IdP's sign-on URL %s (is the app configured with this IdP's metadata?)", u, target.String(), signOn)
			}
			u = loc.String()
			continue
		}
		req, err := ParseAuthnRequest(loc.Query())
		if err != nil {
			return nil, fmt.Errorf("entratest: SignIn: %w", err)
		}
		if req.Destination != "" && req.Destination != signOn {
			return nil, fmt.Errorf("entratest: SignIn: AADSTS75008: The request destination '%s' does not match the SAML endpoint '%s'", req.Destination, signOn)
		}
		return req, nil
	}
	return nil, fmt.Errorf("entratest: SignIn: more than %d redirects without reaching %s", maxSignInHops, signOn)
}

// pageStart returns the start of a response body, for an error message.
func pageStart(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 300))
	return strings.Join(strings.Fields(string(b)), " ")
}
