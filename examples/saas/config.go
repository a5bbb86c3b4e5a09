package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// config is the parsed command line.
type config struct {
	addr       string // -addr
	baseDomain string // -base-domain, lowercase, no port
	portInURLs bool   // -port-in-urls
	dataPath   string // -data
	idpAddr    string // -idp-addr
	dataDir    string // -data-dir
	postgres   string // -postgres

	port string // the port the app listens on, set by complete
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("saas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8081", "listen `address` of the app (every customer and the operator console)")
	fs.StringVar(&cfg.baseDomain, "base-domain", "localhost", "customers are served at <slug>.`DOMAIN`, the operator console at DOMAIN; "+
		"URLs are http for localhost, else https (behind a TLS proxy)")
	fs.BoolVar(&cfg.portInURLs, "port-in-urls", true, "put the port of -addr in customer URLs (false behind a proxy on the default port)")
	fs.StringVar(&cfg.dataPath, "data", "", "JSON `file` that keeps onboarded customers across restarts (default: memory only)")
	fs.StringVar(&cfg.dataDir, "data-dir", filepath.Join(os.TempDir(), "parcelry"), "`directory` of the SQLite database (parcelry.db) that holds the customers' SSO configuration, "+
		"local accounts and the audit log")
	fs.StringVar(&cfg.postgres, "postgres", "", "PostgreSQL `URL` to keep them in instead, shared by several instances (postgres://user@host/db)")
	fs.StringVar(&cfg.idpAddr, "idp-addr", "127.0.0.1:0", "listen `address` of the first development IdP; each further one takes the next port (port 0: free ports)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	d := strings.TrimSuffix(strings.ToLower(cfg.baseDomain), ".")
	if !hostnameRE.MatchString(d) {
		return nil, fmt.Errorf("-base-domain %q must be a host name such as localhost or vendor.example (no scheme, no port)", cfg.baseDomain)
	}
	cfg.baseDomain = d
	if _, _, err := net.SplitHostPort(cfg.idpAddr); err != nil {
		return nil, fmt.Errorf("-idp-addr %q: %v", cfg.idpAddr, err)
	}
	return cfg, nil
}

var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// usageError is a command line the flag package refused (and explained).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// complete records the port the app listens on.
func (cfg *config) complete(addr net.Addr) error {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("listening on %v: not TCP", addr)
	}
	cfg.port = strconv.Itoa(tcp.Port)
	return nil
}

// scheme is http for localhost and its subdomains (browsers treat them as
// secure contexts), https for anything else.
func (cfg *config) scheme() string {
	if cfg.baseDomain == "localhost" || strings.HasSuffix(cfg.baseDomain, ".localhost") {
		return "http"
	}
	return "https"
}

// host returns the host name of the customer slug, or of the operator
// console for "".
func (cfg *config) host(slug string) string {
	if slug == "" {
		return cfg.baseDomain
	}
	return slug + "." + cfg.baseDomain
}

// origin returns the origin browsers use for the customer slug (the SP's
// BaseURL), or for the operator console with "".
func (cfg *config) origin(slug string) string {
	h := cfg.host(slug)
	if cfg.portInURLs && cfg.port != "" {
		h = net.JoinHostPort(h, cfg.port)
	}
	return cfg.scheme() + "://" + h
}

// slugOf returns the customer slug a Host header names, "" for the
// operator console, and ok false for a host outside the base domain.
func (cfg *config) slugOf(hostport string) (slug string, ok bool) {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == cfg.baseDomain {
		return "", true
	}
	slug, found := strings.CutSuffix(h, "."+cfg.baseDomain)
	return slug, found && slug != "" && !strings.Contains(slug, ".")
}

// slugRE is what a customer slug may be: one DNS label, lowercase.
var slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// reservedSlugs are host names the vendor keeps for itself.
var reservedSlugs = map[string]bool{"www": true, "ops": true, "operator": true, "admin": true, "api": true, "login": true}

// checkSlug says what is wrong with a customer slug, or "".
func checkSlug(slug string) string {
	switch {
	case slug == "":
		return "Give the customer a slug: it becomes their subdomain."
	case !slugRE.MatchString(slug):
		return "The slug must be 1 to 32 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
	case reservedSlugs[slug]:
		return "The slug " + strconv.Quote(slug) + " is reserved."
	}
	return ""
}
