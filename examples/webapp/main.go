// Command webapp is an example web application that signs its users in
// with Microsoft Entra ID over SAML 2.0, using package entrasaml. Every page
// outside /saml/ requires a signed-in user and shows who signed in, with
// every claim of the assertion.
//
// With no -metadata it also starts a development IdP (a fake Entra tenant,
// package devidp, built on entratest) on a second local port, on another site than the app
// (127.0.0.1 when the app is on localhost, localhost when the app is on
// 127.0.0.1), so the sign-in works like the real thing: a redirect to a
// "Pick an account" page, then a cross-site form POST to the ACS.
//
//	go run ./examples/webapp            # then open http://localhost:8080/
//
// With a real Entra application, register the Identifier (-entity-id) and
// the Reply URL (ROOT/saml/acs), download its Federation Metadata XML, and
// run
//
//	go run ./examples/webapp -root-url https://app.example -entity-id https://app.example/saml -metadata app.xml
//
// Flags (environment variables in brackets; a flag wins over its variable):
//
//	-addr                listen address [WEBAPP_ADDR] (default 127.0.0.1:8080)
//	-root-url            the app's origin as browsers see it [WEBAPP_ROOT_URL] (default http://localhost:<port of -addr>)
//	-entity-id           the SP's Identifier [WEBAPP_ENTITY_ID] (default ROOT/saml/metadata)
//	-metadata            file with the Entra Federation Metadata XML, or the App Federation Metadata Url [WEBAPP_METADATA] (default: start the development IdP)
//	-idp-addr            listen address of the development IdP [WEBAPP_IDP_ADDR] (default 127.0.0.1:0, a free port)
//	-session-key         64 hex digits (32 bytes), comma-separated for rotation [WEBAPP_SESSION_KEY] (default: random)
//	-store-dir           directory for sessions and the replay cache [WEBAPP_STORE_DIR] (see below)
//	-allow-idp-initiated accept unsolicited responses [WEBAPP_ALLOW_IDP_INITIATED]
//
// Several instances behind one load balancer must share -root-url,
// -entity-id, -session-key and the store: entrasaml keeps sessions and used
// assertion IDs in its Store, and the cookie holds only a sealed session ID.
// So with -session-key the example keeps them in files under -store-dir,
// by default a directory in the user's cache directory named after the
// key, which every instance on the machine given the same key shares.
// Without -session-key they live in memory and die with the process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/examples/internal/devidp"
	"github.com/entrasaml/entrasaml/examples/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var usage usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			return
		case errors.As(err, &usage):
			os.Exit(2) // the flag package printed the problem and the usage
		}
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run runs the app until ctx is cancelled, then shuts it down and returns
// nil. It returns an error when the configuration is unusable or a
// server cannot start.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, os.Getenv, stdout, stderr, hooks{})
}

// hooks let tests run the app in-process.
type hooks struct {
	// appListener and idpListener, when set, are used instead of listening
	// on -addr and -idp-addr.
	appListener, idpListener net.Listener
	// ready is called once both servers accept connections, with the app's
	// root URL and the development IdP's origin ("" with -metadata).
	ready func(rootURL, idpURL string)
	// wrap, when set, wraps the app's handler (to observe requests).
	wrap func(http.Handler) http.Handler
}

func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, h hooks) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	appLn := h.appListener
	if appLn == nil {
		if appLn, err = net.Listen("tcp", cfg.addr); err != nil {
			return err
		}
	}
	defer appLn.Close()
	if err := cfg.complete(appLn.Addr()); err != nil {
		return err
	}

	metadata, idpLn, dev, err := loadMetadata(cfg, h.idpListener, logger)
	if err != nil {
		return err
	}
	if idpLn != nil {
		defer idpLn.Close()
	}

	store, err := cfg.store(logger)
	if err != nil {
		return err
	}
	spConfig := entrasaml.Config{
		EntityID:          cfg.entityID,
		BaseURL:           cfg.rootURL,
		Metadata:          metadata,
		Store:             store,
		SessionKeys:       cfg.sessionKeys,
		AllowIdPInitiated: cfg.allowIdPInitiated,
		Provision:         provision,
		Logger:            logger,
	}
	if metadata == nil {
		spConfig.MetadataURL = cfg.metadataPath
	}
	sp, err := entrasaml.New(ctx, spConfig)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/", sp.RequireAccount(home(logger)))
	var app http.Handler = mux
	if h.wrap != nil {
		app = h.wrap(app)
	}
	servers := []*http.Server{serve.NewServer(app, logger.With("server", "app"))}
	listeners := []net.Listener{appLn}
	idpURL := ""
	if dev != nil {
		idpURL = dev.LoginURL()
		servers = append(servers, serve.NewServer(dev, logger.With("server", "devidp")))
		listeners = append(listeners, idpLn)
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	logger.Info("webapp started", "root_url", cfg.rootURL, "entity_id", cfg.entityID, "acs_url", sp.ACSURL(),
		"idp", sp.IdPMetadata().EntityID, "sign_on_url", sp.IdPMetadata().SignOnURL)
	fmt.Fprintf(stdout, "open %s/\n", cfg.rootURL)
	if dev != nil {
		fmt.Fprintf(stdout, "development IdP (fake Entra tenant %s) at %s/, metadata %s\n", dev.TenantID(), idpURL, dev.MetadataURL())
	}
	if h.ready != nil {
		h.ready(cfg.rootURL, idpURL)
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadMetadata reads the -metadata file (nil for a URL, which entrasaml.New
// fetches) or, without -metadata, starts the development IdP (listening on
// idpLn, or on -idp-addr) and returns its metadata.
func loadMetadata(cfg *config, idpLn net.Listener, logger *slog.Logger) ([]byte, net.Listener, *devidp.IdP, error) {
	if p := cfg.metadataPath; strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
		return nil, nil, nil, nil
	} else if p != "" {
		b, err := os.ReadFile(p)
		if err == nil && len(b) == 0 {
			err = fmt.Errorf("-metadata %s is empty", p)
		}
		return b, nil, nil, err
	}
	if idpLn == nil {
		var err error
		if idpLn, err = net.Listen("tcp", cfg.idpAddr); err != nil {
			return nil, nil, nil, err
		}
	}
	origin, err := devidp.Origin(cfg.rootURL, idpLn.Addr())
	if err != nil {
		idpLn.Close()
		return nil, nil, nil, err
	}
	dev, err := newDevIdP(origin, logger.With("server", "devidp"))
	if err != nil {
		idpLn.Close()
		return nil, nil, nil, err
	}
	return dev.Metadata(), idpLn, dev, nil
}
