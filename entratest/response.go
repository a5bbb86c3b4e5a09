package entratest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
)

// SignMode chooses what Entra signs, as in the application's "SAML Signing
// Certificate" settings. The zero value is Entra's default, [SignAssertion].
type SignMode int

const (
	// SignAssertion signs only the assertion ("Sign SAML assertion"),
	// Entra's default.
	SignAssertion SignMode = iota
	// SignResponse signs only the response ("Sign SAML response").
	SignResponse
	// SignBoth signs the assertion, then the response ("Sign SAML response
	// and assertion").
	SignBoth
	// SignNone signs nothing. Entra cannot do this: it is for negative tests.
	SignNone
)

// String returns the name of the constant, e.g. "SignAssertion".
func (m SignMode) String() string {
	switch m {
	case SignAssertion:
		return "SignAssertion"
	case SignResponse:
		return "SignResponse"
	case SignBoth:
		return "SignBoth"
	case SignNone:
		return "SignNone"
	}
	return fmt.Sprintf("SignMode(%d)", int(m))
}

// Claim (attribute) names Entra emits in SAML assertions, without
// NameFormat. [IdP.ResponseXML] sends them in this order, each only when it
// has a value.
const (
	ClaimTenantID         = "http://schemas.microsoft.com/identity/claims/tenantid"
	ClaimObjectID         = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	ClaimDisplayName      = "http://schemas.microsoft.com/identity/claims/displayname"
	ClaimIdentityProvider = "http://schemas.microsoft.com/identity/claims/identityprovider"
	ClaimAuthnMethods     = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	ClaimGivenName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	ClaimSurname          = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	ClaimEmail            = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	ClaimName             = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" // the UPN
	ClaimGroups           = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	ClaimRole             = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	ClaimGroupsLink       = "http://schemas.microsoft.com/claims/groups.link" // instead of groups on overage
)

// SAML status codes of Entra's responses: Success, and the top-level codes
// of its error responses (see [IdP.ErrorResponse]).
const (
	StatusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
)

// NameID formats Entra sends, and the only ones it accepts in an
// AuthnRequest's NameIDPolicy. NameIDEmail is the default of
// [Response.NameIDFormat].
const (
	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// AuthnContextPassword is the AuthnContextClassRef Entra sends after a
// password sign-in, the default of [Response.AuthnContextClassRef].
const AuthnContextPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"

// Values of the authnmethodsreferences claim: AuthnMethodPassword is the
// default of [User.AuthMethods]; Entra adds AuthnMethodMFA after
// multi-factor authentication.
const (
	AuthnMethodPassword = "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
	AuthnMethodMFA      = "http://schemas.microsoft.com/claims/multipleauthn"
)

const (
	subjectConfirmBearer   = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	defaultConditionsValid = time.Hour
	defaultSubjectValid    = 5 * time.Minute
)

// User holds the claims Entra emits for the signed-in user. Empty fields
// are left out of the assertion, as Entra leaves out claims without value;
// empty strings inside Groups, Roles and AuthMethods are dropped.
type User struct {
	ObjectID    string // objectidentifier: the immutable user id
	UPN         string // name: the user principal name
	Email       string // emailaddress
	GivenName   string // givenname
	Surname     string // surname
	DisplayName string // displayname
	Groups      []string
	Roles       []string

	// GroupsOverage sends the groups.link claim, pointing at the Graph
	// API, instead of the groups claim, as Entra does above 150 groups.
	GroupsOverage bool

	// IdentityProvider is the identityprovider claim. Default: the IdP's
	// EntityID (a member of the tenant); guests carry their home issuer.
	IdentityProvider string

	// AuthMethods is the authnmethodsreferences claim. Nil means
	// [AuthnMethodPassword]; a non-nil empty slice leaves the claim out.
	AuthMethods []string
}

// Attribute is an extra SAML attribute, sent without NameFormat as Entra
// sends its claims. An Attribute with no Values is sent empty.
type Attribute struct {
	Name   string
	Values []string
}

// Response describes one SAML Response. ACSURL and Audience are required;
// every other zero value gets Entra's default.
type Response struct {
	// ACSURL is the SP's assertion consumer service (Reply) URL. Required.
	// Destination and Recipient default to it.
	ACSURL string
	// Audience is the SP Identifier (Entity ID) as Entra sends it. Required.
	Audience string
	// InResponseTo is the AuthnRequest ID. Empty means IdP-initiated: the
	// attribute is left off the Response and the SubjectConfirmationData.
	InResponseTo string

	// User supplies the claims; its zero value sends only tenantid,
	// identityprovider and authnmethodsreferences.
	User User
	// NameID defaults to User.UPN, else User.Email; empty then is an error.
	NameID string
	// NameIDFormat defaults to [NameIDEmail].
	NameIDFormat string
	// Attributes are appended after the Entra claims.
	Attributes []Attribute

	// Sign chooses the signed elements; default [SignAssertion].
	Sign SignMode
	// SHA1 selects RSA-SHA1 with a SHA-1 digest instead of RSA-SHA256 with
	// SHA-256.
	SHA1 bool
	// Key signs instead of the IdP's SigningKey, e.g. a key the SP does not
	// know. Its certificate goes in KeyInfo.
	Key *Key
	// Encrypt, when set, encrypts the assertion to the SP's certificate
	// ("Token encryption"), after signing it and before signing the
	// Response, as Entra does. Default: not encrypted.
	Encrypt *Encryption

	// Destination (on the Response) and Recipient (on the
	// SubjectConfirmationData) default to ACSURL; "-" leaves the attribute
	// out.
	Destination, Recipient string
	// Issuer replaces the IdP's EntityID in both Issuer elements.
	Issuer string

	// IssueInstant defaults to the IdP's clock.
	IssueInstant time.Time
	// NotBefore and NotOnOrAfter bound the Conditions; defaults
	// IssueInstant and IssueInstant + 1h.
	NotBefore, NotOnOrAfter time.Time
	// SubjectNotOnOrAfter bounds the bearer confirmation; default
	// IssueInstant + 5m.
	SubjectNotOnOrAfter time.Time
	// SessionNotOnOrAfter goes on the AuthnStatement; default: left out, as
	// Entra usually does.
	SessionNotOnOrAfter time.Time
	// AuthnInstant defaults to IssueInstant - 1m.
	AuthnInstant time.Time
	// SessionIndex defaults to "_" + a random GUID.
	SessionIndex string
	// AuthnContextClassRef defaults to [AuthnContextPassword].
	AuthnContextClassRef string
	// ResponseID and AssertionID default to "_" + a random GUID.
	ResponseID, AssertionID string
}

// ResponseXML returns the SAML Response described by r as an XML document,
// signed as r.Sign says, without XML declaration or base64: the form to
// tamper with before encoding it with base64.StdEncoding.
//
// ResponseXML fails if ACSURL or Audience is empty, if no NameID can be
// derived, if r.Key is unusable, if a value holds characters XML cannot
// carry (control characters, invalid UTF-8), if r.Sign is unknown, or if
// r.Encrypt has no RSA Certificate or names an unknown algorithm.
func (idp *IdP) ResponseXML(r Response) ([]byte, error) {
	if r.ACSURL == "" {
		return nil, errors.New("entratest: Response.ACSURL is required")
	}
	if r.Audience == "" {
		return nil, errors.New("entratest: Response.Audience is required")
	}
	if r.Sign < SignAssertion || r.Sign > SignNone {
		return nil, fmt.Errorf("entratest: unknown %v", r.Sign)
	}
	key := r.Key
	if key == nil {
		key = idp.SigningKey()
	} else if err := key.check(); err != nil {
		return nil, err
	}
	r.applyDefaults(idp)
	if r.NameID == "" {
		return nil, errors.New("entratest: empty NameID: set Response.NameID, User.UPN or User.Email")
	}

	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:Response")
	resp.CreateAttr("ID", r.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", xmlTime(r.IssueInstant))
	optAttr(resp, "Destination", r.Destination)
	optAttr(resp, "InResponseTo", r.InResponseTo)
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	iss := resp.CreateElement("Issuer")
	iss.CreateAttr("xmlns", nsAssertion)
	iss.SetText(r.Issuer)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", StatusSuccess)

	a := resp.CreateElement("Assertion")
	a.CreateAttr("ID", r.AssertionID)
	a.CreateAttr("IssueInstant", xmlTime(r.IssueInstant))
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("xmlns", nsAssertion)
	a.CreateElement("Issuer").SetText(r.Issuer)

	subj := a.CreateElement("Subject")
	nameID := subj.CreateElement("NameID")
	nameID.CreateAttr("Format", r.NameIDFormat)
	nameID.SetText(r.NameID)
	sc := subj.CreateElement("SubjectConfirmation")
	sc.CreateAttr("Method", subjectConfirmBearer)
	scd := sc.CreateElement("SubjectConfirmationData")
	optAttr(scd, "InResponseTo", r.InResponseTo)
	scd.CreateAttr("NotOnOrAfter", xmlTime(r.SubjectNotOnOrAfter))
	optAttr(scd, "Recipient", r.Recipient)

	cond := a.CreateElement("Conditions")
	cond.CreateAttr("NotBefore", xmlTime(r.NotBefore))
	cond.CreateAttr("NotOnOrAfter", xmlTime(r.NotOnOrAfter))
	cond.CreateElement("AudienceRestriction").CreateElement("Audience").SetText(r.Audience)

	stmt := a.CreateElement("AttributeStatement")
	for _, at := range append(idp.claims(r.User), r.Attributes...) {
		ae := stmt.CreateElement("Attribute")
		ae.CreateAttr("Name", at.Name)
		for _, v := range at.Values {
			ae.CreateElement("AttributeValue").SetText(v)
		}
	}

	authn := a.CreateElement("AuthnStatement")
	authn.CreateAttr("AuthnInstant", xmlTime(r.AuthnInstant))
	if !r.SessionNotOnOrAfter.IsZero() {
		authn.CreateAttr("SessionNotOnOrAfter", xmlTime(r.SessionNotOnOrAfter))
	}
	authn.CreateAttr("SessionIndex", r.SessionIndex)
	authn.CreateElement("AuthnContext").CreateElement("AuthnContextClassRef").SetText(r.AuthnContextClassRef)

	if err := checkChars(resp); err != nil {
		return nil, err // before signing: etree would replace such characters after the digest
	}
	if r.Sign == SignAssertion || r.Sign == SignBoth {
		if err := signEnveloped(a, key, r.SHA1); err != nil {
			return nil, err
		}
	}
	if r.Encrypt != nil {
		if err := encryptAssertion(a, r.Encrypt); err != nil { // encrypt.go
			return nil, err
		}
	}
	if r.Sign == SignResponse || r.Sign == SignBoth {
		if err := signEnveloped(resp, key, r.SHA1); err != nil {
			return nil, err
		}
	}
	return writeDoc(doc)
}

// Response returns ResponseXML(r) encoded with base64.StdEncoding: the
// SAMLResponse form value Entra posts to the ACS. It fails as ResponseXML.
func (idp *IdP) Response(r Response) (string, error) {
	b, err := idp.ResponseXML(r)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ErrorResponse returns, base64-encoded, the unsigned Response without
// assertion that Entra posts when sign-in fails: a top-level StatusCode top
// (default [StatusRequester] when empty) holding a second-level StatusCode
// sub (left out when empty) and a StatusMessage msg (left out when empty),
// e.g. "AADSTS50105: ...". Destination is acsURL and InResponseTo is
// inResponseTo, each left out when empty. ErrorResponse fails only if a
// value holds characters XML cannot carry.
func (idp *IdP) ErrorResponse(acsURL, inResponseTo, top, sub, msg string) (string, error) {
	if top == "" {
		top = StatusRequester
	}
	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:Response")
	resp.CreateAttr("ID", "_"+newGUID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", xmlTime(idp.now()))
	optAttr(resp, "Destination", acsURL)
	optAttr(resp, "InResponseTo", inResponseTo)
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	iss := resp.CreateElement("Issuer")
	iss.CreateAttr("xmlns", nsAssertion)
	iss.SetText(idp.EntityID())
	status := resp.CreateElement("samlp:Status")
	code := status.CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", top)
	if sub != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", sub)
	}
	if msg != "" {
		status.CreateElement("samlp:StatusMessage").SetText(msg)
	}
	b, err := writeDoc(doc)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// applyDefaults fills in Entra's defaults for the zero fields of r.
func (r *Response) applyDefaults(idp *IdP) {
	if r.IssueInstant.IsZero() {
		r.IssueInstant = idp.now()
	}
	orDefault(&r.Destination, r.ACSURL)
	orDefault(&r.Recipient, r.ACSURL)
	orDefault(&r.Issuer, idp.EntityID())
	orDefault(&r.NameID, r.User.UPN)
	orDefault(&r.NameID, r.User.Email)
	orDefault(&r.NameIDFormat, NameIDEmail)
	orDefault(&r.SessionIndex, "_"+newGUID())
	orDefault(&r.AuthnContextClassRef, AuthnContextPassword)
	orDefault(&r.ResponseID, "_"+newGUID())
	orDefault(&r.AssertionID, "_"+newGUID())
	if r.NotBefore.IsZero() {
		r.NotBefore = r.IssueInstant
	}
	if r.NotOnOrAfter.IsZero() {
		r.NotOnOrAfter = r.IssueInstant.Add(defaultConditionsValid)
	}
	if r.SubjectNotOnOrAfter.IsZero() {
		r.SubjectNotOnOrAfter = r.IssueInstant.Add(defaultSubjectValid)
	}
	if r.AuthnInstant.IsZero() {
		r.AuthnInstant = r.IssueInstant.Add(-time.Minute)
	}
}

// claims returns the attributes Entra emits for u, in Entra's order,
// leaving out those without value.
func (idp *IdP) claims(u User) []Attribute {
	idpName := u.IdentityProvider
	if idpName == "" {
		idpName = idp.EntityID()
	}
	methods := u.AuthMethods
	if methods == nil {
		methods = []string{AuthnMethodPassword}
	}
	var out []Attribute
	add := func(name string, values ...string) {
		var vs []string
		for _, v := range values {
			if v != "" {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			out = append(out, Attribute{Name: name, Values: vs})
		}
	}
	add(ClaimTenantID, idp.tenantID)
	add(ClaimObjectID, u.ObjectID)
	add(ClaimDisplayName, u.DisplayName)
	add(ClaimIdentityProvider, idpName)
	add(ClaimAuthnMethods, methods...)
	add(ClaimGivenName, u.GivenName)
	add(ClaimSurname, u.Surname)
	add(ClaimEmail, u.Email)
	add(ClaimName, u.UPN)
	if u.GroupsOverage {
		add(ClaimGroupsLink, "https://graph.windows.net/"+idp.tenantID+"/users/"+u.ObjectID+"/getMemberObjects")
	} else {
		add(ClaimGroups, u.Groups...)
	}
	add(ClaimRole, u.Roles...)
	return out
}

func orDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// optAttr sets attribute key to v unless v is empty or "-".
func optAttr(el *etree.Element, key, v string) {
	if v != "" && v != "-" {
		el.CreateAttr(key, v)
	}
}
