// Package tooltest finds the programs some tests run beside Go: xmlsec1
// (the independent XML-DSig implementation), redis-server, Chromium and
// PostgreSQL. Without one, a test is skipped on a developer's machine with
// a message saying how to install it (Debian, macOS with Homebrew); under
// CI=true it fails instead, since on CI every test must run. bash .ci/run
// installs them on Debian, or lists the ones it cannot install.
package tooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool is a program the tests need, and how to install it.
type Tool struct {
	Name     string   // as shown in messages
	Commands []string // names or absolute paths tried in order
	Globs    []string // then paths off PATH (the last match wins: the newest version)
	Debian   string   // apt-get package
	Homebrew string   // brew install arguments
}

// XMLSec1 is xmlsec1, the reference XML-DSig implementation.
func XMLSec1() Tool {
	return Tool{Name: "xmlsec1", Commands: []string{"xmlsec1"}, Debian: "xmlsec1", Homebrew: "libxmlsec1"}
}

// RedisServer is redis-server.
func RedisServer() Tool {
	return Tool{Name: "redis-server", Commands: []string{"redis-server"}, Debian: "redis-server", Homebrew: "redis"}
}

// Chromium is a headless-capable Chromium (or Chrome) for the browser tests.
func Chromium() Tool {
	return Tool{Name: "Chromium", Commands: []string{"chromium", "chromium-browser", "google-chrome",
		"/Applications/Chromium.app/Contents/MacOS/Chromium", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
		Debian: "chromium", Homebrew: "--cask chromium"}
}

// PostgreSQL is the PostgreSQL server's pg_ctl (Debian keeps it off PATH,
// under /usr/lib/postgresql/<version>/bin).
func PostgreSQL() Tool {
	return Tool{Name: "PostgreSQL (initdb, pg_ctl)", Commands: []string{"pg_ctl"},
		Globs: []string{"/usr/lib/postgresql/*/bin/pg_ctl"}, Debian: "postgresql", Homebrew: "postgresql@17"}
}

// Install says how to install t.
func (t Tool) Install() string {
	return "Debian/Ubuntu: sudo apt-get install " + t.Debian + "; macOS: brew install " + t.Homebrew
}

// Find returns t's path, or "" when it is not installed.
func (t Tool) Find() string {
	for _, c := range t.Commands {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	for _, g := range t.Globs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[len(m)-1]
		}
	}
	return ""
}

// Need returns t's path, or skips tb (fails it under CI=true) saying how
// to install t.
func (t Tool) Need(tb testing.TB) string {
	tb.Helper()
	p := t.Find()
	if p == "" {
		Missing(tb, t.Name+" is not installed ("+t.Install()+")")
	}
	return p
}

// Missing skips tb because of why, or fails it when CI=true.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s; CI=true: every test must run", why)
	}
	tb.Skip("skipped: " + why)
}
