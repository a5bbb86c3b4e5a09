package entrasaml

import (
	"slices"
	"time"
)

// Claim URIs (SAML attribute Names) that Entra ID emits and Session reads
// into its typed fields.
const (
	claimTenantID         = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimObjectID         = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimDisplayName      = "http://schemas.microsoft.com/identity/claims/displayname"
	claimIdentityProvider = "http://schemas.microsoft.com/identity/claims/identityprovider"
	claimAuthnMethods     = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	claimName             = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimEmail            = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	claimGivenName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	claimSurname          = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	claimGroups           = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	claimRole             = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	claimWIDs             = "http://schemas.microsoft.com/ws/2008/06/identity/claims/wids"
	claimGroupsLink       = "http://schemas.microsoft.com/claims/groups.link"
)

// NameID formats that Entra accepts in an AuthnRequest's NameIDPolicy.
const (
	NameIDFormatPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDFormatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDFormatTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// Session is a verified sign-in: what [SP.Verify] read from the assertion
// whose signature it verified. For a stable user key use TenantID together
// with ObjectID; NameID, Name and Email can change or be reassigned.
type Session struct {
	// NameID is the assertion's Subject NameID, and NameIDFormat its Format.
	NameID       string `json:"nameID"`
	NameIDFormat string `json:"nameIDFormat,omitempty"`
	// SessionIndex identifies the IdP session (used by single logout).
	SessionIndex string `json:"sessionIndex,omitempty"`
	// AuthnInstant is when the user authenticated at the IdP.
	AuthnInstant time.Time `json:"authnInstant"`
	// AuthnContextClassRef is how they authenticated, as the IdP reports it.
	AuthnContextClassRef string `json:"authnContextClassRef,omitempty"`
	// ExpiresAt is when the session ends: the earliest of the assertion's
	// SessionNotOnOrAfter and the verification time plus
	// Config.SessionMaxAge.
	ExpiresAt time.Time `json:"expiresAt"`
	// Issuer is the IdP's entity ID; AssertionID the verified assertion's ID.
	Issuer      string `json:"issuer"`
	AssertionID string `json:"assertionID"`
	// InResponseTo is the ID of the AuthnRequest the assertion answered,
	// or "" for an IdP-initiated sign-in.
	InResponseTo string `json:"inResponseTo,omitempty"`
	// UserID is the host application's own id for the user, set by
	// Config.Provision; "" otherwise.
	UserID string `json:"userID,omitempty"`

	// Typed claims, "" or nil when the claim was not sent. Each comes from
	// the attribute named beside it (Entra's claim URIs, shortened: ms/ is
	// http://schemas.microsoft.com/, soap/ is
	// http://schemas.xmlsoap.org/ws/2005/05/identity/claims/). When that
	// Entra claim was not sent, Name, Email, GivenName, Surname,
	// DisplayName and Groups are read from the names other IdPs commonly
	// use:
	//
	//	Name         http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn (AD FS)
	//	Email        urn:oid:0.9.2342.19200300.100.1.3 (mail), urn:oid:1.2.840.113549.1.9.1, email, mail, User.email
	//	GivenName    urn:oid:2.5.4.42, givenName, firstName, User.FirstName
	//	Surname      urn:oid:2.5.4.4, sn, surname, lastName, User.LastName
	//	DisplayName  urn:oid:2.16.840.1.113730.3.1.241 (displayName), displayName
	//	Groups       http://schemas.xmlsoap.org/claims/Group (AD FS), urn:oid:1.3.6.1.4.1.5923.1.5.1.1 (isMemberOf), groups, memberOf
	//
	// When several of those names are sent and disagree, the field stays
	// empty (Attributes keeps them all): no name silently wins. The other
	// typed fields come from Entra's claims only.
	TenantID         string   `json:"tenantID,omitempty"`         // ms/identity/claims/tenantid
	ObjectID         string   `json:"objectID,omitempty"`         // ms/identity/claims/objectidentifier: immutable user id
	Name             string   `json:"name,omitempty"`             // soap/name: usually the UPN; display only
	Email            string   `json:"email,omitempty"`            // soap/emailaddress
	GivenName        string   `json:"givenName,omitempty"`        // soap/givenname
	Surname          string   `json:"surname,omitempty"`          // soap/surname
	DisplayName      string   `json:"displayName,omitempty"`      // ms/identity/claims/displayname
	IdentityProvider string   `json:"identityProvider,omitempty"` // ms/identity/claims/identityprovider
	AuthnMethods     []string `json:"authnMethods,omitempty"`     // ms/claims/authnmethodsreferences
	Groups           []string `json:"groups,omitempty"`           // ms/ws/2008/06/identity/claims/groups: group object ids by default
	Roles            []string `json:"roles,omitempty"`            // ms/ws/2008/06/identity/claims/role: app roles
	// GroupsOverage is true when Entra sent ms/claims/groups.link instead of the
	// groups claim, as it does above 150 groups: Groups is then empty and
	// the app must resolve membership itself (e.g. through Microsoft Graph).
	GroupsOverage bool `json:"groupsOverage,omitempty"`

	// Attributes holds every attribute by its Name (claim URI), values in
	// document order, including the ones copied into the typed fields.
	Attributes map[string][]string `json:"attributes,omitempty"`
}

// Attribute returns the first value of the attribute name (the full
// claim URI, e.g.
// "http://schemas.microsoft.com/ws/2008/06/identity/claims/wids"), or "".
func (s *Session) Attribute(name string) string {
	if v := s.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// HasGroup reports whether the session's groups claim contains id.
func (s *Session) HasGroup(id string) bool { return contains(s.Groups, id) }

// HasRole reports whether the session's roles claim contains role.
func (s *Session) HasRole(role string) bool { return contains(s.Roles, role) }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// fillClaims fills the typed fields from Attributes, by the table in the
// Session doc.
func (s *Session) fillClaims() {
	s.TenantID = s.Attribute(claimTenantID)
	s.ObjectID = s.Attribute(claimObjectID)
	s.Name = s.claim(claimName, "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
	s.Email = s.claim(claimEmail, "urn:oid:0.9.2342.19200300.100.1.3", "urn:oid:1.2.840.113549.1.9.1", "email", "mail", "User.email")
	s.GivenName = s.claim(claimGivenName, "urn:oid:2.5.4.42", "givenName", "firstName", "User.FirstName")
	s.Surname = s.claim(claimSurname, "urn:oid:2.5.4.4", "sn", "surname", "lastName", "User.LastName")
	s.DisplayName = s.claim(claimDisplayName, "urn:oid:2.16.840.1.113730.3.1.241", "displayName")
	s.IdentityProvider = s.Attribute(claimIdentityProvider)
	s.AuthnMethods = s.Attributes[claimAuthnMethods]
	s.Groups = s.claims(claimGroups, "http://schemas.xmlsoap.org/claims/Group", "urn:oid:1.3.6.1.4.1.5923.1.5.1.1", "groups", "memberOf")
	s.Roles = s.Attributes[claimRole]
	_, s.GroupsOverage = s.Attributes[claimGroupsLink]
}

// claim returns the first value of the first claim that claims finds.
func (s *Session) claim(entra string, others ...string) string {
	if v := s.claims(entra, others...); len(v) > 0 {
		return v[0]
	}
	return ""
}

// claims returns the values of entra when it was sent; otherwise those of
// the other names present, provided they all agree, or nil.
func (s *Session) claims(entra string, others ...string) []string {
	if v, ok := s.Attributes[entra]; ok {
		return v
	}
	var found []string
	seen := false
	for _, n := range others {
		v, ok := s.Attributes[n]
		if !ok {
			continue
		}
		if seen && !slices.Equal(found, v) {
			return nil
		}
		found, seen = v, true
	}
	return found
}
