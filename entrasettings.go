package entrasaml

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
	// ReplyURL is "Reply URL (Assertion Consumer Service URL)":
	// BaseURL + "/saml/acs", where Entra posts the response. It must match
	// exactly (AADSTS50011).
	ReplyURL string `json:"reply_url"`
	// SignOnURL is "Sign on URL": BaseURL + "/", the app's root, which must
	// start sign-in (serve it with RequireAccount, or redirect to a page
	// that is). With it, My Apps tiles and "Test this application" start
	// an SP-initiated sign-in instead of posting an unsolicited response,
	// which the SP refuses unless Config.AllowIdPInitiated is set.
	SignOnURL string `json:"sign_on_url"`
	// LogoutURL is "Logout Url (Optional)": BaseURL + "/saml/logout".
	LogoutURL string `json:"logout_url"`
	// SPMetadataURL is where the SP serves its own metadata: BaseURL +
	// "/saml/metadata". Entra cannot fetch it; the administrator may
	// download it and upload the file instead of typing the values. (The
	// IdP's metadata URL is Config.MetadataURL.)
	SPMetadataURL string `json:"sp_metadata_url"`
}

// NewEntraSettings returns the settings of the SP that [New] would build
// from a Config with this EntityID and BaseURL, before it exists: to show a
// customer what to configure in Entra while their metadata is not in yet.
// It fails like New (ErrConfig) when entityID is empty or baseURL is not an
// absolute http(s) URL without query or fragment.
func NewEntraSettings(entityID, baseURL string) (EntraSettings, error) {
	if entityID == "" {
		return EntraSettings{}, newErr(ErrConfig, "EntityID is required")
	}
	ep, err := parseBaseURL(baseURL)
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
		SignOnURL:     ep.baseURL + "/",
		LogoutURL:     ep.logoutURL,
		SPMetadataURL: ep.spMetadataURL,
	}
}
