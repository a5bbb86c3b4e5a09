// Command saas is an example multi-tenant app, Parcelry, a made-up
// shipping platform whose customers each sign in with their own Microsoft
// Entra ID tenant, using package entrasaml. Each customer has a subdomain
// (http://acme.localhost:8081/); tenants.Router, resolving the Host
// header with a tenants.HostDirectory, hands each request to that
// customer's SP. An operator console (http://localhost:8081/operator)
// onboards new customers from the Federation Metadata XML their admin
// sends, while the app runs.
//
//	go run ./examples/saas      # then open http://acme.localhost:8081/ and http://globex.localhost:8081/
//
// It starts with two demo customers, Acme and Globex, each with its own
// development IdP (a fake Entra tenant with a "Pick an account" page:
// entratest's Server with a Picker) on a loopback port of its own. Browsers resolve
// *.localhost to the loopback address by themselves.
//
// Flags:
//
//	-addr          listen address of the app (default 127.0.0.1:8081)
//	-base-domain   customers at <slug>.DOMAIN, the console at DOMAIN (default localhost)
//	-port-in-urls  put the port of -addr in the URLs (default true)
//	-data          JSON file that keeps onboarded customers across restarts (default: memory only)
//	-idp-addr      listen address of the first development IdP, the next ones on the next ports (default 127.0.0.1:0)
//	-data-dir      directory of the SQLite database of customers, accounts and the audit log (default $TMPDIR/parcelry)
//	-postgres      PostgreSQL URL to keep them in instead, for several instances
//
// Each customer's admin signs in at http://<slug>.localhost:8081/admin
// with a local account (seeded: admin@<slug>.example, password printed at
// start), sets up SSO alone, tests it and turns on "Require SSO"; every
// change is in the audit log (see admin.go).
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
	"syscall"
	"time"

	"github.com/entrasaml/entrasaml/examples/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runWith(ctx, os.Args[1:], os.Stdout, os.Stderr, hooks{}); err != nil {
		var usage usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			return
		case errors.As(err, &usage):
			os.Exit(2) // the flag package printed the problem and the usage
		}
		fmt.Fprintln(os.Stderr, "saas:", err)
		os.Exit(1)
	}
}

// hooks let tests run the app in-process.
type hooks struct {
	// appListener, when set, is used instead of listening on -addr.
	appListener net.Listener
	// ready is called once the app accepts connections.
	ready func(*app)
	// wrap, when set, wraps the app's handler (to observe requests).
	wrap func(http.Handler) http.Handler
}

// runWith runs the app until ctx is cancelled, then shuts it down and
// returns nil. It returns an error when the configuration or the data
// file is unusable or a server cannot start.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln := h.appListener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.addr); err != nil {
			return err
		}
	}
	defer ln.Close()
	if err := cfg.complete(ln.Addr()); err != nil {
		return err
	}

	db, err := openDB(ctx, cfg.dataDir, cfg.postgres)
	if err != nil {
		return err
	}
	defer db.Close()
	a := newApp(cfg, db, logger)
	defer a.idps.shutdown()
	cacheCtx, stopCache := context.WithCancel(ctx)
	defer stopCache()
	go a.cache.Run(cacheCtx)
	if err := a.reg.load(ctx); err != nil {
		return err
	}
	if err := a.startBuiltinDemos(ctx); err != nil {
		return err
	}
	if err := a.seedAccounts(ctx); err != nil {
		return err
	}

	handler := a.handler()
	if h.wrap != nil {
		handler = h.wrap(handler)
	}
	srv := serve.NewServer(handler, logger.With("server", "app"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Parcelry is running. Customers:\n")
	for _, c := range a.reg.list() {
		fmt.Fprintf(stdout, "  %-20s %s/", c.Name, cfg.origin(c.Slug))
		if c.dev != nil {
			fmt.Fprintf(stdout, "  (development IdP, fake Entra tenant %s, at %s/)", c.dev.TenantID(), c.dev.LoginURL())
		}
		fmt.Fprintln(stdout)
	}
	for _, c := range a.reg.list() {
		if pw := a.adminPassword(c.Slug); pw != "" {
			fmt.Fprintf(stdout, "  admin of %-11s %s/admin  admin@%s.example / %s\n", c.Slug, cfg.origin(c.Slug), c.Slug, pw)
			if c.sp == nil && c.dev != nil {
				fmt.Fprintf(stdout, "    SSO not set up yet: paste the App Federation Metadata Url %s\n", c.dev.MetadataURL())
			}
		}
	}
	fmt.Fprintf(stdout, "Operator console: %s/operator\n", cfg.origin(""))
	if h.ready != nil {
		h.ready(a)
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
