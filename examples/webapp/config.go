package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/entrasaml/entrasaml"
)

// config is the parsed command line.
type config struct {
	addr, rootURL, entityID, metadataPath, idpAddr, storeDir, redisURL string
	sessionKeys                                                        [][]byte
	allowIdPInitiated                                                  bool
}

// parseFlags reads the flags, with the WEBAPP_* environment variables as
// defaults. rootURL and entityID may be left empty for complete.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := &config{}
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", env("WEBAPP_ADDR", "127.0.0.1:8080"), "listen `address` [WEBAPP_ADDR]")
	fs.StringVar(&cfg.rootURL, "root-url", env("WEBAPP_ROOT_URL", ""), "the app's origin as browsers see it [WEBAPP_ROOT_URL] (default http://localhost:<port of -addr>)")
	fs.StringVar(&cfg.entityID, "entity-id", env("WEBAPP_ENTITY_ID", ""), "the SP's Identifier (Entity ID) [WEBAPP_ENTITY_ID] (default ROOT/saml/metadata)")
	fs.StringVar(&cfg.metadataPath, "metadata", env("WEBAPP_METADATA", ""), "`file` with the Entra Federation Metadata XML, or its http(s) URL [WEBAPP_METADATA] (default: start the development IdP)")
	fs.StringVar(&cfg.idpAddr, "idp-addr", env("WEBAPP_IDP_ADDR", "127.0.0.1:0"), "listen `address` of the development IdP [WEBAPP_IDP_ADDR]")
	fs.StringVar(&cfg.storeDir, "store-dir", env("WEBAPP_STORE_DIR", ""), "`directory` for sessions and used assertion IDs, shared by instances [WEBAPP_STORE_DIR] (default: in memory; with -session-key, a directory named after the key in the user cache directory)")
	fs.StringVar(&cfg.redisURL, "redis", env("WEBAPP_REDIS_URL", ""), "Redis `URL` (redis://HOST:PORT/DB) for sessions and used assertion IDs, shared by every instance [WEBAPP_REDIS_URL] (takes precedence over -store-dir)")
	keys := fs.String("session-key", "", "cookie key: 64 `hex` digits, comma-separated for rotation (the first seals) [WEBAPP_SESSION_KEY] (default: random)")
	allowDefault, _ := strconv.ParseBool(getenv("WEBAPP_ALLOW_IDP_INITIATED"))
	fs.BoolVar(&cfg.allowIdPInitiated, "allow-idp-initiated", allowDefault, "accept unsolicited (IdP-initiated) responses [WEBAPP_ALLOW_IDP_INITIATED]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *keys == "" { // not a default: -h must not print a secret
		*keys = getenv("WEBAPP_SESSION_KEY")
	}
	for i, k := range strings.Split(*keys, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != entrasaml.SessionKeySize {
			return nil, fmt.Errorf("-session-key: key %d is not %d hex digits", i+1, 2*entrasaml.SessionKeySize)
		}
		cfg.sessionKeys = append(cfg.sessionKeys, b)
	}
	return cfg, nil
}

// usageError is a command line the flag package refused (and explained).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// complete fills in the defaults that depend on the address the app
// listens on, and checks the URLs.
func (cfg *config) complete(addr net.Addr) error {
	if cfg.rootURL == "" {
		tcp, ok := addr.(*net.TCPAddr)
		if !ok {
			return errors.New("-root-url is required when not listening on TCP")
		}
		cfg.rootURL = "http://localhost:" + strconv.Itoa(tcp.Port)
	}
	u, err := url.Parse(cfg.rootURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("-root-url %q must be an origin such as http://localhost:8080 (no path)", cfg.rootURL)
	}
	cfg.rootURL = u.Scheme + "://" + u.Host
	if cfg.entityID == "" {
		cfg.entityID = cfg.rootURL + "/saml/metadata"
	}
	return nil
}

// store returns the Store for the SP: a Redis store with -redis, else nil
// (entrasaml's in-memory default) or a fileStore shared by the instances
// that use the same directory.
func (cfg *config) store(logger *slog.Logger) (entrasaml.Store, error) {
	if cfg.redisURL != "" {
		return newRedisStore(cfg.redisURL, logger)
	}
	dir := cfg.storeDir
	if dir == "" && len(cfg.sessionKeys) > 0 {
		cache, err := os.UserCacheDir()
		if err != nil {
			logger.Warn("no user cache directory: sessions stay in memory, so other instances will not accept this one's cookies; set -store-dir", "err", err)
			return nil, nil
		}
		h := sha256.Sum256(append([]byte("entrasaml webapp store\x00"), cfg.sessionKeys[0]...))
		dir = filepath.Join(cache, "entrasaml-webapp", hex.EncodeToString(h[:8]))
	}
	if dir == "" {
		return nil, nil
	}
	logger.Info("sessions and used assertion IDs are kept in files", "dir", dir)
	return newFileStore(dir)
}
