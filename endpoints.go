package entrasaml

import (
	"net/url"
	"strings"
)

// The SP's endpoint paths under BaseURL: the one place each is spelled.
const (
	pathACS      = "/saml/acs"      // Entra's Reply URL: responses are posted here
	pathMetadata = "/saml/metadata" // the SP's own metadata, for Entra's "Upload metadata file"
	pathLogout   = "/saml/logout"   // sign-out, and Entra's Logout Url
)

// endpoints are where an SP lives, from one parse of Config.BaseURL.
type endpoints struct {
	baseURL string // BaseURL without a trailing slash
	secure  bool   // BaseURL is https

	basePath   string // BaseURL's path, "" for an origin
	cookiePath string // "/" or basePath
	acsPath    string
	logoutPath string

	acsURL        string
	logoutURL     string
	spMetadataURL string
}

// parseBaseURL checks a BaseURL (an absolute http(s) URL without query,
// fragment or user info; a path prefix is allowed) and derives the SP's
// endpoints from it. It fails with ErrConfig.
func parseBaseURL(raw string) (endpoints, error) {
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return endpoints{}, newErr(ErrConfig, "BaseURL must be an absolute http(s) URL without query or fragment, e.g. https://acme.vendor.example")
	}
	ep := endpoints{baseURL: strings.TrimRight(raw, "/"), secure: base.Scheme == "https", basePath: strings.TrimRight(base.Path, "/")}
	ep.cookiePath = ep.basePath
	if ep.cookiePath == "" {
		ep.cookiePath = "/"
	}
	ep.acsPath, ep.logoutPath = ep.basePath+pathACS, ep.basePath+pathLogout
	ep.acsURL, ep.logoutURL, ep.spMetadataURL = ep.baseURL+pathACS, ep.baseURL+pathLogout, ep.baseURL+pathMetadata
	return ep, nil
}
