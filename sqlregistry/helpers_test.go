package sqlregistry_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/entrasaml/entrasaml/internal/tooltest"
	"github.com/entrasaml/entrasaml/sqlregistry"
	"github.com/entrasaml/entrasaml/tenants"
)

// The PostgreSQL server of the tests: ENTRASAML_POSTGRES_URL (.ci/run
// starts one with .ci/postgres.sh), else one that the first test needing
// it starts with the same script and TestMain stops. Without PostgreSQL
// installed, those tests skip, except under CI=true, where they fail.
var pg struct {
	once    sync.Once
	url     string // admin URL (database postgres)
	dir     string // set when the tests started the server
	skip    string
	err     error
	adminDB *sql.DB
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pg.adminDB != nil {
		pg.adminDB.Close()
	}
	if pg.dir != "" {
		exec.Command("bash", "../.ci/postgres.sh", "stop", pg.dir).Run()
	}
	os.Exit(code)
}

func startPostgres() {
	if pg.url = os.Getenv("ENTRASAML_POSTGRES_URL"); pg.url == "" {
		dir, err := os.MkdirTemp("", "entrasaml-pg-")
		if err != nil {
			pg.err = err
			return
		}
		cmd := exec.Command("bash", "../.ci/postgres.sh", "start", dir, fmt.Sprint(os.Getpid()))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ExitCode() == 3:
			os.RemoveAll(dir)
			pg.skip = "PostgreSQL is not installed (" + tooltest.PostgreSQL().Install() + ")"
			return
		case err != nil:
			os.RemoveAll(dir)
			pg.err = fmt.Errorf(".ci/postgres.sh start: %v", err)
			return
		}
		pg.dir, pg.url = dir, strings.TrimSpace(string(out))
	}
	pg.adminDB, pg.err = sql.Open("pgx", pg.url)
}

// postgresURL returns the URL of a new, empty database on the test
// server, dropped when the test ends.
func postgresURL(t testing.TB) string {
	t.Helper()
	pg.once.Do(startPostgres)
	switch {
	case pg.skip != "":
		tooltest.Missing(t, pg.skip)
	case pg.err != nil:
		t.Fatal(pg.err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := pg.adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := pg.adminDB.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(pg.url)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// sqlitePath returns the path of a new SQLite file in the test's temp dir.
func sqlitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "registry.db")
}

// backends are the databases every test runs on.
var backends = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"postgres", postgresURL},
	{"sqlite", sqlitePath},
}

func open(t testing.TB, dsn string, opts sqlregistry.Options) *sqlregistry.Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := sqlregistry.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// simpleCustomer returns a valid, enabled customer at host key whose
// metadata is placeholder bytes (the registry does not parse metadata).
func simpleCustomer(key string) tenants.Customer {
	return tenants.Customer{Key: key, EntityID: "https://" + key + "/saml", BaseURL: "https://" + key,
		Metadata: []byte(`<EntityDescriptor entityID="https://sts.windows.net/` + key + `/"/>`), Enabled: true}
}
