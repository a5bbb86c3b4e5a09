package entrasaml

// aadstsEntry is what this package knows about one AADSTS error code that
// a SAML application meets: what it means, and what the customer's
// administrator (or, for a few, the application's developer) must do.
type aadstsEntry struct {
	meaning string // what went wrong, in one sentence
	fix     string // what to change, in the admin's words
}

// aadstsTable is the one table behind [StatusError.Hint], the sign-in
// error page and the entrasaml command's explain. Read-only.
var aadstsTable = map[string]aadstsEntry{
	"AADSTS50011": {"The Reply URL this application sent is not registered on the Entra application.",
		"In the Entra admin center, open Enterprise applications > the application > Single sign-on > Basic SAML Configuration and add this application's ACS URL under Reply URL (Assertion Consumer Service URL), exactly (scheme, host, port, path, no trailing slash)."},
	"AADSTS700016": {"No application in the tenant has the Identifier this application sent, or the user signed in to another tenant than the one where the application is set up.",
		"In Basic SAML Configuration, set Identifier (Entity ID) to this application's entity ID exactly, and check that the application was added in the user's tenant."},
	"AADSTS75011": {"The way the user signed in (password, MFA, certificate, passwordless) differs from the authentication context the application requested.",
		"The application should not send RequestedAuthnContext (AuthnOptions.AuthnContextClassRefs); if it must, request only a method the users actually sign in with."},
	"AADSTS50105": {"The signed-in user is not assigned to the application, and the application requires assignment.",
		"In Enterprise applications > the application > Users and groups, assign the user or one of their groups (or set Properties > Assignment required to No)."},
	"AADSTS50058": {"A passive (IsPassive) sign-in found no signed-in session at Entra.",
		"Nothing to change in Entra: the user must sign in interactively; the application should retry without IsPassive."},
	"AADSTS90023": {"Entra found the sign-in request invalid (for example an unsupported binding or a request it cannot decode).",
		"Start sign-in from the application again; if it persists, capture the request with 'entrasaml decode' and check it is a deflated, base64 SAMLRequest sent with the HTTP-Redirect binding."},
	"AADSTS750054": {"The SAML message did not arrive as a SAMLRequest or SAMLResponse query parameter of the HTTP-Redirect binding.",
		"Check that the application sends users to the Login URL from the metadata with the SAMLRequest in the query string, and that no proxy strips the query."},
	"AADSTS75005": {"Entra does not support the SAML request the application sent (it is not a valid SAML 2.0 message for Entra).",
		"Capture the request with 'entrasaml decode' and compare it with Entra's SAML protocol requirements; this is a fix for the application's developer, not the admin."},
	"AADSTS7500514": {"Entra found no SAML message of a supported type (a SAML 2.0 Response or Assertion) where it expected one, typically from a federated identity provider that issues SAML 1.1 tokens.",
		"If the user's domain is federated to another identity provider (AD FS, PingFederate, ...), configure it to issue SAML 2.0 tokens; otherwise check that the application sends a SAML 2.0 AuthnRequest."},
	"AADSTS50126": {"The user entered a wrong user name or password.",
		"The user should retry or reset the password; for a federated domain, check the user's on-premises identity provider."},
	"AADSTS53003": {"A Conditional Access policy blocked the sign-in.",
		"In Entra, open Sign-in logs for this user and sign-in, see which Conditional Access policy blocked it and why (device, location, risk), and adjust the policy or the user's device."},
	"AADSTS900236": {"The sign-in request contains a property Entra does not support (such as Subject or Scoping).",
		"The application must not send that element in its AuthnRequest; use the login_hint query parameter to suggest a user instead of Subject."},
	"AADSTS7500529": {"The SAML request ID starts with a digit, which Entra refuses.",
		"Fix in the application: request IDs must start with a letter or underscore (this library's do)."},
	"AADSTS75008": {"The request's Destination is not Entra's sign-on URL.",
		"Use the Login URL of the application's own federation metadata; check for a sovereign cloud host (login.microsoftonline.us, ...)."},
	"AADSTS75016": {"The requested NameID format is not supported by Entra.",
		"Request persistent, emailAddress, unspecified or transient (AuthnOptions.NameIDFormat), or none."},
	"AADSTS76021": {"The request is not signed but the Entra application requires signed requests.",
		"Either set Config.Key and upload its certificate under Single sign-on > Verification certificates, or turn off Require verification certificates there."},
	"AADSTS50076": {"Multi-factor authentication is required.",
		"The user must complete MFA; nothing to change in the application."},
	"AADSTS50079": {"The user must register for multi-factor authentication.",
		"The user must register an MFA method (https://aka.ms/mfasetup) before signing in."},
	"AADSTS50020": {"The user account does not exist in the application's tenant and is not a guest there.",
		"Invite the user as a guest in the tenant, or sign in with an account of that tenant."},
	"AADSTS50034": {"The user account does not exist in the directory.",
		"Check the user name, or create the user in the tenant."},
	"AADSTS50057": {"The user account is disabled.",
		"Enable the user in Entra (Users > the user > Account enabled)."},
	"AADSTS53000": {"Conditional Access requires a compliant or managed device.",
		"The user must sign in from a compliant device; see the policy in Sign-in logs."},
}

// aadstsHint returns the meaning and fix for code ("AADSTS50105"), or "".
func aadstsHint(code string) string {
	e, ok := aadstsTable[code]
	if !ok {
		return ""
	}
	return e.meaning + " " + e.fix
}
