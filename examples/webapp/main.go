// Command webapp is a web app whose users sign in with Microsoft Entra ID
// over SAML 2.0: every page outside /saml/ needs a signed-in user and shows
// who it is. Copy this file into your app; see README.md for Entra's side.
// Without -metadata it starts a development IdP (a fake Entra tenant with a
// "Pick an account" page, package entratest). Flags have environment
// variables (see -h); a flag wins over its variable.
package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run runs the app until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// 1. Flags, with the WEBAPP_* environment variables as defaults.
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", cmp.Or(getenv("WEBAPP_ADDR"), "127.0.0.1:8080"), "listen `address` [WEBAPP_ADDR]")
	rootURL := fs.String("root-url", getenv("WEBAPP_ROOT_URL"), "the app's URL as browsers see it [WEBAPP_ROOT_URL] (default http://localhost:<port of -addr>)")
	entityID := fs.String("entity-id", getenv("WEBAPP_ENTITY_ID"), "the app's Identifier (Entity ID) in Entra [WEBAPP_ENTITY_ID] (default ROOT/saml/metadata)")
	metadata := fs.String("metadata", getenv("WEBAPP_METADATA"), "Entra's Federation Metadata XML `file`, or the App Federation Metadata Url [WEBAPP_METADATA] (default: start a development IdP)")
	redisURL := fs.String("redis", getenv("WEBAPP_REDIS_URL"), "keep sessions and used assertion IDs in the Redis at this `URL` (redis://HOST:PORT/DB), shared by every instance [WEBAPP_REDIS_URL] (default: in memory)")
	keys := fs.String("session-key", "", "cookie sealing keys, 64 `hex` digits each, comma-separated for rotation (the first seals) [WEBAPP_SESSION_KEY] (default: random)")
	allowIdPInitiated, _ := strconv.ParseBool(getenv("WEBAPP_ALLOW_IDP_INITIATED"))
	fs.BoolVar(&allowIdPInitiated, "allow-idp-initiated", allowIdPInitiated, "accept sign-ins started in Entra (My Apps) [WEBAPP_ALLOW_IDP_INITIATED]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keys == "" { // read here, not as the default: -h must not print a secret
		*keys = getenv("WEBAPP_SESSION_KEY")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	// 2. Listen first: the default root URL names the port.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *rootURL == "" {
		*rootURL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	if *rootURL = strings.TrimRight(*rootURL, "/"); *entityID == "" {
		*entityID = *rootURL + "/saml/metadata"
	}

	// 3. The service provider. Provision maps each verified user to an
	// account of the app. SessionKeys seal the cookies: instances behind
	// one load balancer need the same keys, and the same Store for the
	// sessions and the replay cache (-redis); without -redis each instance
	// keeps its own sessions in memory, lost when it stops.
	cfg := entrasaml.Config{EntityID: *entityID, BaseURL: *rootURL, AllowIdPInitiated: allowIdPInitiated, Provision: provision, Logger: logger}
	if *keys != "" { // else random keys
		for k := range strings.SplitSeq(*keys, ",") {
			b, err := hex.DecodeString(strings.TrimSpace(k))
			if err != nil || len(b) != entrasaml.SessionKeySize {
				return fmt.Errorf("-session-key: each key is %d hex digits", 2*entrasaml.SessionKeySize)
			}
			cfg.SessionKeys = append(cfg.SessionKeys, b)
		}
	}
	if *redisURL != "" {
		opts, err := redis.ParseURL(*redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		cfg.Store = redisstore.New(redis.NewClient(opts), redisstore.Options{})
	}

	// 4. The IdP: Entra's metadata (a URL entrasaml fetches and refreshes,
	// or a file), or else a development IdP.
	var devIdP *entratest.Server
	switch m := *metadata; {
	case strings.HasPrefix(m, "https://") || strings.HasPrefix(m, "http://"):
		cfg.MetadataURL = m
	case m != "":
		if cfg.Metadata, err = os.ReadFile(m); err != nil {
			return err
		}
	default:
		if devIdP, err = startDevIdP(*rootURL); err != nil {
			return err
		}
		defer devIdP.Close()
		cfg.Metadata = devIdP.Metadata()
	}
	sp, err := entrasaml.New(ctx, cfg)
	if err != nil {
		return err
	}
	if devIdP != nil {
		devIdP.SetLogoutURL(sp.LogoutURL()) // the Logout URL you would register in Entra
	}

	// 5. Routes: the SP serves /saml/ (ACS, metadata, logout), and
	// RequireAccount sends every visitor without a session to Entra, then
	// back to the page they asked for.
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(http.HandlerFunc(home)))

	// 6. Serve until ctx is done (SIGTERM), then shut down gracefully.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("webapp started", "root_url", *rootURL, "entity_id", sp.EntityID(), "acs_url", sp.ACSURL(), "idp", sp.IdPMetadata().EntityID)
	if devIdP != nil {
		fmt.Fprintf(stdout, "development IdP (fake Entra tenant %s) at %s/\n", devIdP.TenantID(), devIdP.URL)
	}
	fmt.Fprintf(stdout, "open %s/\n", *rootURL)
	select {
	case err = <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err = srv.Shutdown(shutdownCtx); errors.Is(err, context.DeadlineExceeded) {
		return srv.Close() // a browser's pre-opened, unused connection can hold Shutdown
	}
	return err
}

// provision is Config.Provision: look the verified user up in your
// database (by tenant and object id) and set UserID, or refuse with
// ErrNotProvisioned (a 403 "not set up" page). Here everyone has an
// account but the development IdP's Ursula.
func provision(_ context.Context, s *entrasaml.Session) error {
	if s.ObjectID == ursulaObjectID {
		return fmt.Errorf("%w: no account for object id %s", entrasaml.ErrNotProvisioned, s.ObjectID)
	}
	s.UserID = "demo:" + s.ObjectID
	return nil
}

// home shows the signed-in user: RequireAccount put the Session in the
// request's context. html/template escapes every claim.
func home(w http.ResponseWriter, r *http.Request) {
	s, _ := entrasaml.SessionFromContext(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // personal data
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	_ = homePage.Execute(w, map[string]any{"S": s, "Path": r.URL.RequestURI()})
}

var homePage = template.Must(template.New("").Parse(`<!doctype html><meta charset="utf-8"><title>webapp</title>
<p><a id="signout" href="/saml/logout">Sign out</a> (of this app, then of Entra)
<h1>Signed in as <span id="nameid">{{.S.NameID}}</span></h1>
<p>{{.S.DisplayName}}, app user <code id="userid">{{.S.UserID}}</code> at <code id="path">{{.Path}}</code>
<p id="groups">{{len .S.Groups}} groups{{if .S.GroupsOverage}}; overage: more than 150, ask Microsoft Graph{{end}}
<table id="attributes">{{range $name, $values := .S.Attributes}}<tr><td>{{$name}}<td>{{range $values}}{{.}}<br>{{end}}{{end}}</table>`))

// startDevIdP starts a development IdP on a free loopback port, named on
// another site than the app at rootURL, so that the browser's POST to the
// ACS is cross-site, as with Entra.
func startDevIdP(rootURL string) (*entratest.Server, error) {
	idp, err := entratest.NewUnstartedServer(entratest.Options{TenantID: "9188040d-6c67-4c5b-b112-36a304b66dad"})
	if err != nil {
		return nil, err
	}
	if idp.URL, err = entratest.CrossSiteURL(rootURL, idp.Listener.Addr()); err != nil {
		idp.Close()
		return nil, err
	}
	idp.Start()
	return idp, idp.SetPicker(&entratest.Picker{TenantName: "Contoso", Accounts: demoAccounts()})
}

// The development IdP's accounts; the app refuses Ursula (see provision).
const ursulaObjectID = "c8f2b4f4-1d5e-4a2b-9b8e-7d3c6a5f0e19"

func demoAccounts() []entratest.Account {
	user := func(oid, first, last string, groups ...string) entratest.User {
		upn := first + last[:1] + "@contoso.onmicrosoft.com"
		return entratest.User{ObjectID: oid, UPN: upn, Email: upn, GivenName: first, Surname: last, DisplayName: first + " " + last, Groups: groups}
	}
	megan := make([]string, 150) // Entra's maximum before the overage claim
	for i := range megan {
		megan[i] = fmt.Sprintf("0000beef-0000-4000-8000-%012d", i)
	}
	adele := user("6e7b768e-07e2-4810-8459-485f84f8f204", "Adele", "Vance", "sales", "managers", "all staff")
	adele.Roles = []string{"Admin"}
	grady := user("e8ffb3b7-37cf-4ea6-a0f3-0c4a56b7e5a2", "Grady", "Overage")
	grady.GroupsOverage = true
	return []entratest.Account{
		{Key: "adele", Note: "3 groups, role Admin", User: adele, Attributes: []entratest.Attribute{{Name: "department", Values: []string{"R&D <Labs>"}}}},
		{Key: "megan", Note: "150 groups", User: user("48d31887-5fad-4d73-a9f5-3c356e68a038", "Megan", "Bowen", megan...)},
		{Key: "ursula", Note: "the app has no account for her", User: user(ursulaObjectID, "Ursula", "Unprovisioned")},
		{Key: "grady", Note: "over 150 groups: Entra sends groups.link", User: grady},
	}
}
