// Command entrasaml helps a support engineer answer "why did this SAML
// sign-in fail, and what must the customer change in Entra?".
//
// Usage:
//
//	entrasaml explain [-metadata FILE|URL] [-entity-id ID] [-acs URL] [-at TIME] [-json] [FILE|-]
//	entrasaml metadata [-at TIME] [-json] FILE|URL
//	entrasaml settings -base-url URL [-entity-id ID] [-json]
//	entrasaml decode [-json] URL
//
// explain reads a SAMLResponse as people copy it (base64 from the
// browser's network tab, with or without line breaks, URL-safe or
// URL-encoded, a whole form body "SAMLResponse=...&RelayState=...", or the
// XML), prints what it holds, unverified, and with the IdP metadata runs
// the library's full verification and says, for each failed check, which
// Entra setting to change. metadata prints the onboarding report of a
// Federation Metadata XML file or URL. settings prints what to type into
// the Entra application. decode reads an AuthnRequest, LogoutRequest or
// LogoutResponse out of a Redirect-binding URL.
//
// Every subcommand takes -json for a machine-readable report. Exit status:
// 0 nothing wrong, 1 a problem found, 2 a usage error.
//
// A metadata URL is fetched with an ordinary HTTP client (proxy settings
// from the environment, DefaultMetadataTimeout), not with
// onboard.PublicOnlyHTTPClient: the operator who runs the command chooses
// the URL, on their own machine, and may need a proxy or a test server on
// loopback.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/onboard"
)

const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `entrasaml: troubleshoot SAML sign-in with Microsoft Entra ID

Usage:
  entrasaml explain [-metadata FILE|URL] [-entity-id ID] [-acs URL] [-at TIME] [-json] [FILE|-]
  entrasaml metadata [-at TIME] [-json] FILE|URL
  entrasaml settings -base-url URL [-entity-id ID] [-json]
  entrasaml decode [-json] URL

Run "entrasaml COMMAND -h" for a command's flags.
Exit status: 0 nothing wrong, 1 a problem found, 2 usage error.
`

// run is the whole command, for tests: args without the program name.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx := context.Background()
	switch args[0] {
	case "explain":
		return runExplain(ctx, args[1:], stdin, stdout, stderr)
	case "metadata":
		return runMetadata(ctx, args[1:], stdout, stderr)
	case "settings":
		return runSettings(args[1:], stdout, stderr)
	case "decode":
		return runDecode(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "entrasaml: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// newFlagSet returns a FlagSet that reports errors to stderr and does not
// exit.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: entrasaml %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("explain resp.txt -metadata md.xml"), and returns the positional ones.
// ok is false after a usage error (already reported).
func parseFlags(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		if args[0] == "-" || !strings.HasPrefix(args[0], "-") {
			pos = append(pos, args[0])
			args = args[1:]
			if len(args) == 0 {
				return pos, 0, true
			}
			continue
		}
	}
}

func usageErr(stderr io.Writer, fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(stderr, "entrasaml %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// parseAt parses -at: RFC 3339, with or without fractional seconds, or a
// date. "" is now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("-at %q is not a time like 2026-01-02T15:04:05Z", s)
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// httpClient fetches metadata URLs the operator gives on the command line.
func httpClient() *http.Client {
	return &http.Client{Timeout: entrasaml.DefaultMetadataTimeout}
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// loadMetadata reads metadata from a file or URL and returns the onboarding
// report of it (which never fails; the problems are in it).
func loadMetadata(ctx context.Context, src string, now time.Time) (*onboard.Report, error) {
	in := onboard.Input{HTTPClient: httpClient(), Now: func() time.Time { return now }}
	if isURL(src) {
		in.MetadataURL = src
	} else {
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		in.Metadata = data
	}
	return onboard.Check(ctx, in), nil
}
