package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml/onboard"
)

// runMetadata prints the onboarding report of a Federation Metadata XML
// file or URL. Exit 1 when the report lists any problem (an error, or a
// warning such as a certificate that expires within 30 days).
func runMetadata(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("metadata", "metadata [-at TIME] [-json] FILE|URL", stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	at := fs.String("at", "", "judge certificate expiry at this time (RFC 3339) instead of now")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageErr(stderr, fs, "give one metadata file or URL")
	}
	now, err := parseAt(*at)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	rep, err := loadMetadata(ctx, pos[0], now)
	if err != nil {
		fmt.Fprintf(stderr, "entrasaml metadata: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		writeJSON(stdout, rep)
	} else {
		printReport(stdout, pos[0], rep)
	}
	if !rep.Ready || len(rep.Problems) > 0 {
		return exitProblem
	}
	return exitOK
}

func printReport(w io.Writer, src string, rep *onboard.Report) {
	field(w, "Metadata:", src)
	ready := "yes"
	if !rep.Ready {
		ready = "NO: sign-in cannot work with this metadata"
	}
	field(w, "Ready:", ready)
	field(w, "IdP:", rep.IdP)
	field(w, "Tenant ID:", rep.TenantID)
	field(w, "App ID:", rep.AppID)
	field(w, "Entity ID:", rep.EntityID)
	field(w, "Login URL:", rep.SignOnURL)
	field(w, "Logout URL:", rep.LogoutURL)
	if len(rep.Certificates) > 0 {
		fmt.Fprintf(w, "Signing certificates:\n")
		for i, c := range rep.Certificates {
			fmt.Fprintf(w, "  %d. %s\n", i+1, c.Subject)
			fmt.Fprintf(w, "     Thumbprint: %s\n", c.ThumbprintSHA1)
			fmt.Fprintf(w, "     Valid:      %s to %s (%s)\n", c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly), daysLeft(c.DaysLeft))
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintf(w, "Notes:\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	if len(rep.Problems) == 0 {
		field(w, "Problems:", "none")
		return
	}
	fmt.Fprintf(w, "Problems:\n")
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  %s [%s]: %s\n", strings.ToUpper(string(p.Severity)), p.Code, p.Message)
	}
}

func daysLeft(d int) string {
	switch {
	case d < 0:
		return fmt.Sprintf("EXPIRED %d days ago", -d)
	case d == 1:
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", d)
}

// field prints a label and a value, if there is one. The value may come
// from an unverified message: control characters are escaped, so that it
// cannot add lines ("VERIFIED") or drive the terminal.
func field(w io.Writer, label, value string) {
	if value != "" {
		fmt.Fprintf(w, "%-15s %s\n", label, clean(value, false))
	}
}

// clean escapes control characters in s (keeping line breaks and tabs when
// lines is set) as Go's %q would.
func clean(s string, lines bool) string {
	return strings.Map(func(r rune) rune {
		if lines && (r == '\n' || r == '\t') {
			return r
		}
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return '\uFFFD'
		}
		return r
	}, s)
}
