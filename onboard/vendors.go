package onboard

import (
	"net/url"
	"strings"
)

// vendor is an identity provider that metadata can be recognised as, and
// what to set there. Entra is the first-class path; the others are
// supported (tested with each one's real metadata and responses in its
// shape, testdata/idps) and get notes rather than problems.
type vendor struct {
	name  string
	match func(entityID string, signOn *url.URL) bool
	notes []string
}

func hostIs(u *url.URL, domains ...string) bool {
	if u == nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, d := range domains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

func pathHas(u *url.URL, parts ...string) bool {
	if u == nil {
		return false
	}
	for _, p := range parts {
		if !strings.Contains(strings.ToLower(u.Path), strings.ToLower(p)) {
			return false
		}
	}
	return true
}

// vendors is in matching order; the generic entry (match nil) is last.
func vendors() []vendor {
	return []vendor{
		{name: "Okta", match: func(id string, u *url.URL) bool {
			return strings.HasPrefix(id, "http://www.okta.com/") || hostIs(u, "okta.com", "oktapreview.com", "okta-emea.com")
		}, notes: []string{
			`In Okta (Applications, Create App Integration, SAML 2.0): "Single sign-on URL" is the Reply URL, "Audience URI (SP Entity ID)" the Identifier.`,
			`Attribute Statements "email", "firstName", "lastName" and a Group Attribute Statement "groups" fill Session.Email, GivenName, Surname and Groups.`,
			`Okta lists a Single Logout URL only once single logout is enabled in the app (it needs the SP's signing certificate: Config.Key).`,
		}},
		{name: "Google Workspace", match: func(id string, u *url.URL) bool {
			return strings.HasPrefix(id, "https://accounts.google.com/o/saml2") || hostIs(u, "accounts.google.com")
		}, notes: []string{
			`In the Google Admin console (Apps, Web and mobile apps, Add custom SAML app): "ACS URL" is the Reply URL, "Entity ID" the Identifier; Name ID: Basic Information, Primary email.`,
			`Attribute mapping "email" (and "groups" for Group membership) fills Session.Email (and Groups); without it Session.Email is empty and the NameID holds the email.`,
			`Google Workspace has no SAML single logout: signing out ends the app's session only.`,
		}},
		{name: "AD FS", match: func(id string, u *url.URL) bool {
			return strings.HasSuffix(strings.ToLower(id), "/adfs/services/trust") || pathHas(u, "/adfs/")
		}, notes: []string{
			`In AD FS Management (Relying Party Trusts, Add Relying Party Trust): "Relying party trust identifier" is the Identifier; Endpoints, "SAML Assertion Consumer" with binding POST is the Reply URL.`,
			`A claim rule "Send LDAP Attributes as Claims" (E-Mail-Addresses to E-Mail Address, Token-Groups to Group, Given-Name, Surname, User-Principal-Name to UPN) fills Session.Email, Groups, GivenName, Surname and Name.`,
		}},
		{name: "Keycloak", match: func(id string, u *url.URL) bool {
			return pathHas(u, "/realms/", "/protocol/saml")
		}, notes: []string{
			`In Keycloak (Clients, Create client, SAML): "Client ID" is the Identifier; "Valid redirect URIs" and "Assertion Consumer Service POST Binding URL" are the Reply URL.`,
			`Keycloak asks for signed AuthnRequests by default ("Client signature required"): set Config.Key and import its certificate in the client's Keys tab, or turn the switch off.`,
			`The X500 mappers (email, givenName, surname) fill Session.Email, GivenName and Surname; a "Group list" mapper named "groups" fills Groups.`,
		}},
		{name: "PingFederate / PingOne", match: func(id string, u *url.URL) bool {
			return hostIs(u, "pingone.com", "pingone.eu", "pingone.asia", "pingidentity.com") || pathHas(u, "/idp/sso.saml2")
		}, notes: []string{
			`In PingFederate (SP Connections): "Partner's Entity ID (Connection ID)" is the Identifier; an Assertion Consumer Service URL with binding POST is the Reply URL. In PingOne: "Entity ID" and "ACS URLs".`,
			`Attribute contract "mail", "givenName", "sn" and "memberOf" fill Session.Email, GivenName, Surname and Groups.`,
		}},
		{name: "OneLogin", match: func(id string, u *url.URL) bool {
			return strings.HasPrefix(id, "https://app.onelogin.com/saml/metadata/") || hostIs(u, "onelogin.com")
		}, notes: []string{
			`In OneLogin (SAML Custom Connector (Advanced), Configuration): "Audience (EntityID)" is the Identifier; "ACS (Consumer) URL", "ACS (Consumer) URL Validator" and "Recipient" are the Reply URL.`,
			`The default parameters "User.email", "User.FirstName", "User.LastName" and a "memberOf" parameter fill Session.Email, GivenName, Surname and Groups.`,
		}},
		{name: "JumpCloud", match: func(id string, u *url.URL) bool {
			return hostIs(u, "jumpcloud.com")
		}, notes: []string{
			`In JumpCloud (SSO Applications, Custom SAML App): "SP Entity ID" is the Identifier, "ACS URLs" the Reply URL; without "Declare Redirect Endpoint" ticked its metadata lists an HTTP-POST sign-on URL only, and sign-in posts the AuthnRequest there.`,
			`User attributes "email", "firstName", "lastName" and "Include group attribute" named "memberOf" fill Session.Email, GivenName, Surname and Groups.`,
		}},
		{name: "", notes: []string{
			`This is not Microsoft Entra ID's metadata; any SAML 2.0 identity provider that signs its responses or assertions with RSA-SHA256 works.`,
			`Give it the Identifier (the SP entity ID, "Audience") and the Reply URL (the assertion consumer service, HTTP-POST binding); the claim names that fill Session.Email, Name, GivenName, Surname, DisplayName and Groups are listed in the Session documentation.`,
		}},
	}
}

// recognise fills IdP and Notes of a report, by the entity ID and the
// sign-on URL.
func (rep *Report) recognise() {
	if rep.TenantID != "" {
		rep.IdP = "Microsoft Entra ID"
		return
	}
	u, _ := url.Parse(rep.SignOnURL)
	if u != nil && u.Host == "" {
		u = nil
	}
	for _, v := range vendors() {
		if v.match == nil || v.match(rep.EntityID, u) {
			rep.IdP, rep.Notes = v.name, v.notes
			return
		}
	}
}
