package entratest

import (
	"encoding/base64"

	"github.com/beevik/etree"
)

// utf8BOM starts Entra's federation metadata documents.
const utf8BOM = "\xef\xbb\xbf"

const (
	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// claimTypesOffered adds the WS-Federation claim list of Entra's metadata
// to parent.
func claimTypesOffered(parent *etree.Element) {
	offered := parent.CreateElement("fed:ClaimTypesOffered")
	// URI, display name, description.
	for _, c := range [...][3]string{
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "Name", "The mutable display name of the user."},
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", "Subject", "An immutable, globally unique, non-reusable identifier of the user that is unique to the application for which a token is issued."},
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "Given Name", "First name of the user."},
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "Surname", "Last name of the user."},
		{"http://schemas.microsoft.com/identity/claims/displayname", "Display Name", "Display name of the user."},
		{"http://schemas.microsoft.com/identity/claims/nickname", "Nick Name", "Nick name of the user."},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/authenticationinstant", "Authentication Instant", "The time (UTC) when the user is authenticated to Windows Azure Active Directory."},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/authenticationmethod", "Authentication Method", "The method that Windows Azure Active Directory uses to authenticate users."},
		{"http://schemas.microsoft.com/identity/claims/objectidentifier", "ObjectIdentifier", "Primary identifier for the user in the directory. Immutable, globally unique, non-reusable."},
		{"http://schemas.microsoft.com/identity/claims/tenantid", "TenantId", "Identifier for the user's tenant."},
		{"http://schemas.microsoft.com/identity/claims/identityprovider", "IdentityProvider", "Identity provider for the user."},
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "Email", "Email address of the user."},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "Groups", "Groups of the user."},
		{"http://schemas.microsoft.com/identity/claims/accesstoken", "External Access Token", "Access token issued by external identity provider."},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/expiration", "External Access Token Expiration", "UTC expiration time of access token issued by external identity provider."},
		{"http://schemas.microsoft.com/identity/claims/openid2_id", "External OpenID 2.0 Identifier", "OpenID 2.0 identifier issued by external identity provider."},
		{"http://schemas.microsoft.com/claims/groups.link", "GroupsOverageClaim", "Issued when number of user's group claims exceeds return limit."},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "Role Claim", "Roles that the user or Service Principal is attached to"},
		{"http://schemas.microsoft.com/ws/2008/06/identity/claims/wids", "RoleTemplate Id Claim", "Role template id of the Built-in Directory Roles that the user is a member of"},
	} {
		ct := offered.CreateElement("auth:ClaimType")
		ct.CreateAttr("Uri", c[0])
		ct.CreateAttr("xmlns:auth", nsAuth)
		ct.CreateElement("auth:DisplayName").SetText(c[1])
		ct.CreateElement("auth:Description").SetText(c[2])
	}
}

// Metadata returns the application's federation metadata as Entra serves it
// at MetadataURL: a UTF-8 byte-order mark, an XML declaration, then an
// EntityDescriptor (ID "_<random guid>", entityID EntityID, no validUntil)
// holding an enveloped signature made with SigningKey (exclusive c14n,
// RSA-SHA256), two WS-Federation RoleDescriptors and the IDPSSODescriptor,
// whose endpoints are all SignOnURL. Each of the three descriptors lists one
// signing KeyDescriptor per published key (see Keys), in order. Each call
// makes a new document with a new ID.
//
// Metadata cannot fail with keys accepted by New, AddKey and UseKey; it
// panics if signing fails anyway.
func (idp *IdP) Metadata() []byte {
	login, keys, signing := idp.state()
	tenantBase := login + "/" + idp.tenantID
	wsfed := tenantBase + "/wsfed"
	saml2 := tenantBase + "/saml2"

	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	ed := doc.CreateElement("EntityDescriptor")
	ed.CreateAttr("ID", "_"+newGUID())
	ed.CreateAttr("entityID", idp.EntityID())
	ed.CreateAttr("xmlns", nsMetadata)

	sts := wsfedRole(ed, "fed:SecurityTokenServiceType", keys)
	claimTypesOffered(sts)
	endpointRef(sts.CreateElement("fed:SecurityTokenServiceEndpoint"), wsfed)
	endpointRef(sts.CreateElement("fed:PassiveRequestorEndpoint"), wsfed)

	app := wsfedRole(ed, "fed:ApplicationServiceType", keys)
	endpointRef(app.CreateElement("fed:TargetScopes"), idp.EntityID())
	endpointRef(app.CreateElement("fed:ApplicationServiceEndpoint"), wsfed)
	endpointRef(app.CreateElement("fed:PassiveRequestorEndpoint"), wsfed)

	sso := ed.CreateElement("IDPSSODescriptor")
	sso.CreateAttr("protocolSupportEnumeration", nsProtocol)
	keyDescriptors(sso, keys)
	for _, s := range [][2]string{
		{"SingleLogoutService", bindingRedirect},
		{"SingleSignOnService", bindingRedirect},
		{"SingleSignOnService", bindingPOST},
	} {
		e := sso.CreateElement(s[0])
		e.CreateAttr("Binding", s[1])
		e.CreateAttr("Location", saml2)
	}

	if err := signEnveloped(ed, signing, false); err != nil {
		panic(err)
	}
	b, err := writeDoc(doc)
	if err != nil {
		panic(err)
	}
	return append([]byte(utf8BOM), b...)
}

// wsfedRole adds a WS-Federation RoleDescriptor of the given xsi:type with
// its key descriptors.
func wsfedRole(parent *etree.Element, typ string, keys []*Key) *etree.Element {
	rd := parent.CreateElement("RoleDescriptor")
	rd.CreateAttr("xsi:type", typ)
	rd.CreateAttr("protocolSupportEnumeration", nsFed)
	rd.CreateAttr("xmlns:xsi", nsXSI)
	rd.CreateAttr("xmlns:fed", nsFed)
	keyDescriptors(rd, keys)
	return rd
}

func keyDescriptors(parent *etree.Element, keys []*Key) {
	for _, k := range keys {
		kd := parent.CreateElement("KeyDescriptor")
		kd.CreateAttr("use", "signing")
		ki := kd.CreateElement("KeyInfo")
		ki.CreateAttr("xmlns", nsDSig)
		ki.CreateElement("X509Data").CreateElement("X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(k.Certificate.Raw))
	}
}

func endpointRef(parent *etree.Element, address string) {
	ref := parent.CreateElement("wsa:EndpointReference")
	ref.CreateAttr("xmlns:wsa", nsWSA)
	ref.CreateElement("wsa:Address").SetText(address)
}
