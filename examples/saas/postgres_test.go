package main

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
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, for creating test databases
)

// The PostgreSQL server of the tests: ENTRASAML_POSTGRES_URL (.ci/run
// starts one), else one started with .ci/postgres.sh, stopped when the
// test binary's process ends (the script's PID argument). Without
// PostgreSQL installed the test skips, except under CI=true.
var pgServer = sync.OnceValues(func() (*pgAdmin, error) {
	u := os.Getenv("ENTRASAML_POSTGRES_URL")
	if u == "" {
		dir, err := os.MkdirTemp("", "parcelry-pg-")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("bash", "../../.ci/postgres.sh", "start", dir, fmt.Sprint(os.Getpid()))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return nil, errNoPostgres
		} else if err != nil {
			return nil, fmt.Errorf(".ci/postgres.sh start: %v", err)
		}
		u = strings.TrimSpace(string(out))
	}
	db, err := sql.Open("pgx", u)
	return &pgAdmin{url: u, db: db}, err
})

type pgAdmin struct {
	url string // the server's admin URL
	db  *sql.DB
}

var errNoPostgres = errors.New("PostgreSQL is not installed (bash .ci/postgres.sh install)")

// postgresURL returns the URL of a new database, dropped when the test
// ends.
func postgresURL(t *testing.T) string {
	t.Helper()
	pg, err := pgServer()
	switch {
	case errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true":
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "parcelry_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pg.db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pg.db.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(pg.url)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
