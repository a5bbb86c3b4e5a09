package entrasaml

import "slices"

// EntraSettings are the values a customer's administrator types into the
// Entra application's Single sign-on > SAML > "Basic SAML Configuration"
// for one SP, as data for an onboarding page, an email or an API (JSON
// field names are stable). They are the values in the SP metadata
// ([SP.SPMetadata]), which the administrator may upload instead ("Upload
// metadata file"); the Sign on URL is not part of SAML metadata and must be
// typed in.
type EntraSettings struct {
	// Identifier is "Identifier (Entity ID)": Config.EntityID. Entra
	// refuses sign-in requests from any other Identifier (AADSTS700016).
	Identifier string `json:"identifier"`
	// ReplyURL is "Reply URL (Assertion Consumer Service URL)", the
	// default one: BaseURL + "/saml/acs" (the first of Config.ACSPaths),
	// where Entra posts the response. It must match exactly (AADSTS50011).
	ReplyURL string `json:"reply_url"`
	// ReplyURLs are all the ACS URLs the SP accepts, ReplyURL first: each
	// may be a Reply URL of the Entra application (an AuthnRequest names
	// the one it wants).
	ReplyURLs []string `json:"reply_urls"`
	// SignOnURL is "Sign on URL": BaseURL + "/saml/login"
	// (Config.LoginPath), the SP's sign-in endpoint. With it, My Apps tiles
	// and "Test this application" start an SP-initiated sign-in, whatever
	// the app's root page does, instead of posting an unsolicited
	// response, which the SP refuses unless Config.AllowIdPInitiated is
	// set. The user lands on the app's root afterwards.
	SignOnURL string `json:"sign_on_url"`
	// LogoutURL is "Logout Url (Optional)": BaseURL + "/saml/logout"
	// (Config.LogoutPath).
	LogoutURL string `json:"logout_url"`
	// SPMetadataURL is where the SP serves its own metadata: BaseURL +
	// "/saml/metadata" (Config.MetadataPath). Entra cannot fetch it; the
	// administrator may download it and upload the file instead of typing
	// the values. (The IdP's metadata URL is Config.MetadataURL.)
	SPMetadataURL string `json:"sp_metadata_url"`
}

// NewEntraSettings returns the settings of the SP that [New] would build
// from a Config with this EntityID and BaseURL, before it exists: to show a
// customer what to configure in Entra while their metadata is not in yet.
// It uses the default endpoint paths, and fails like New (ErrConfig) when
// entityID is empty or baseURL is not an absolute http(s) URL without
// query or fragment, or ends with an endpoint path.
func NewEntraSettings(entityID, baseURL string) (EntraSettings, error) {
	if entityID == "" {
		return EntraSettings{}, newErr(ErrConfig, "EntityID is required")
	}
	ep, err := parseBaseURL(baseURL, endpointPaths{})
	if err != nil {
		return EntraSettings{}, err
	}
	return entraSettings(entityID, ep), nil
}

// EntraSettings returns what to type into the customer's Entra application
// for this SP.
func (sp *SP) EntraSettings() EntraSettings { return entraSettings(sp.entityID, sp.endpoints) }

func entraSettings(entityID string, ep endpoints) EntraSettings {
	return EntraSettings{
		Identifier:    entityID,
		ReplyURL:      ep.acsURL,
		ReplyURLs:     slices.Clone(ep.acsURLs),
		SignOnURL:     ep.loginURL,
		LogoutURL:     ep.logoutURL,
		SPMetadataURL: ep.spMetadataURL,
	}
}
