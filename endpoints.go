package entrasaml

import (
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// The SP's default endpoint paths under BaseURL: the one place each is
// spelled. Config.ACSPaths, LogoutPath, MetadataPath and LoginPath
// replace them.
const (
	pathACS      = "/saml/acs"      // Entra's Reply URL: responses are posted here
	pathMetadata = "/saml/metadata" // the SP's own metadata, for Entra's "Upload metadata file"
	pathLogout   = "/saml/logout"   // sign-out, and Entra's Logout Url
	pathLogin    = "/saml/login"    // starts sign-in: Entra's Sign on URL
)

// endpointPaths are the SP's endpoint paths relative to BaseURL, as
// configured; "" or nil means the default.
type endpointPaths struct {
	acs                     []string
	logout, metadata, login string
}

// endpoints are where an SP lives, from one parse of Config.BaseURL and
// the endpoint paths.
type endpoints struct {
	baseURL  string // BaseURL without a trailing slash
	baseHost string // BaseURL's host[:port], lower-cased
	secure   bool   // BaseURL is https

	basePath   string // BaseURL's path, "" for an origin
	cookiePath string // "/" or basePath

	// Paths relative to BaseURL (what ServeHTTP matches after basePath).
	acsRel                           []string
	logoutRel, metadataRel, loginRel string

	acsURLs       []string // acsURLs[0] is the default
	acsURL        string   // acsURLs[0]
	acsPath       string   // the default ACS's request path
	logoutPath    string   // request paths: basePath + the relative path
	loginPath     string
	logoutURL     string
	loginURL      string
	spMetadataURL string
}

// parseBaseURL checks a BaseURL (an absolute http(s) URL without query,
// fragment or user info; a path prefix is allowed, but not one that ends
// with an endpoint path, such as a pasted Reply URL) and derives the SP's
// endpoints from it and p. It fails with ErrConfig.
func parseBaseURL(raw string, p endpointPaths) (endpoints, error) {
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.RawQuery != "" || base.ForceQuery || base.Fragment != "" || base.User != nil {
		return endpoints{}, newErr(ErrConfig, "BaseURL must be an absolute http(s) URL without query or fragment, e.g. https://acme.vendor.example")
	}
	ep := endpoints{baseURL: strings.TrimRight(raw, "/"), baseHost: strings.ToLower(base.Host),
		secure: base.Scheme == "https", basePath: strings.TrimRight(base.Path, "/")}
	ep.cookiePath = ep.basePath
	if ep.cookiePath == "" {
		ep.cookiePath = "/"
	}

	ep.acsRel = slices.Clone(p.acs)
	if len(ep.acsRel) == 0 {
		ep.acsRel = []string{pathACS}
	}
	ep.logoutRel, ep.metadataRel, ep.loginRel = cmpOr(p.logout, pathLogout), cmpOr(p.metadata, pathMetadata), cmpOr(p.login, pathLogin)
	all := append(slices.Clone(ep.acsRel), ep.logoutRel, ep.metadataRel, ep.loginRel)
	for i, rel := range all {
		if !validEndpointPath(rel) {
			return endpoints{}, newErr(ErrConfig, "endpoint path %s must be a clean absolute path without query or fragment, e.g. %s", quote(rel), pathACS)
		}
		if slices.Contains(all[:i], rel) {
			return endpoints{}, newErr(ErrConfig, "endpoint path %s is configured twice", quote(rel))
		}
	}
	// A Reply URL pasted as BaseURL would give .../saml/acs/saml/acs.
	for _, rel := range append(all, pathACS, pathLogout, pathMetadata, pathLogin) {
		if ep.basePath == rel || strings.HasSuffix(ep.basePath, rel) {
			return endpoints{}, newErr(ErrConfig, "BaseURL %s ends with the endpoint path %s: BaseURL is the app's origin "+
				"(e.g. %s://%s), and the SP appends %s and the other paths itself", quote(raw), rel, base.Scheme, base.Host, ep.acsRel[0])
		}
	}

	for _, rel := range ep.acsRel {
		ep.acsURLs = append(ep.acsURLs, ep.baseURL+rel)
	}
	ep.acsURL, ep.acsPath = ep.acsURLs[0], ep.basePath+ep.acsRel[0]
	ep.logoutPath, ep.loginPath = ep.basePath+ep.logoutRel, ep.basePath+ep.loginRel
	ep.logoutURL, ep.loginURL, ep.spMetadataURL = ep.baseURL+ep.logoutRel, ep.baseURL+ep.loginRel, ep.baseURL+ep.metadataRel
	return ep, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validEndpointPath reports whether p can be an endpoint path: absolute,
// clean, not the root, with no query, fragment, percent-encoding or
// braces (a ServeMux pattern would read them as a wildcard).
func validEndpointPath(p string) bool {
	return len(p) > 1 && p[0] == '/' && path.Clean(p) == p && !strings.ContainsAny(p, "?#%\\ {}") && isSafePath(p)
}

// acsIndex returns the index of the ACS URL u among acsURLs, or -1.
func (ep *endpoints) acsIndex(u string) int { return slices.Index(ep.acsURLs, u) }

// sameHost reports whether r reached the SP under BaseURL's host name (or,
// behind a proxy, with X-Forwarded-Host naming it): then the cookies set
// on the response reach the ACS. Ports do not matter, since cookies are
// not bound to one.
func (ep *endpoints) sameHost(r *http.Request) bool {
	base := hostname(ep.baseHost)
	if strings.EqualFold(hostname(r.Host), base) {
		return true
	}
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return fwd != "" && strings.EqualFold(hostname(strings.TrimSpace(fwd)), base)
}

// hostname returns host without its port (and an IPv6 address without
// brackets).
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
