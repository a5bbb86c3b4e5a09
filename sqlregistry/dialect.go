package sqlregistry

import (
	"context"
	"database/sql"
	"strings"
)

// dialect is what differs between PostgreSQL and SQLite; everything else
// (the queries, the Go code) is shared. Queries are written with $1, $2…
// placeholders and rewritten once for SQLite (?1, ?2…, the same numbering).
type dialect struct {
	name string // "postgres" or "sqlite": the directory under migrations/
	// lock serializes migrations: PostgreSQL takes a transaction-scoped
	// advisory lock; SQLite's BEGIN IMMEDIATE (the DSN's _txlock) already
	// holds the database's write lock.
	lock func(ctx context.Context, tx *sql.Tx) error
	// notify, when set, runs in each write transaction: PostgreSQL's
	// pg_notify, delivered to listeners when the transaction commits.
	notify func(ctx context.Context, tx *sql.Tx, version int64, key string) error
}

// migrationLockID is the PostgreSQL advisory lock key of the registry's
// migrations (an arbitrary constant: "entrasaml" in ASCII, truncated).
const migrationLockID = 0x656e74726173616d

// notifyChannel is the PostgreSQL channel that carries "version key" for
// every committed write.
const notifyChannel = "entrasaml_registry"

var postgres = dialect{
	name: "postgres",
	lock: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockID))
		return err
	},
	notify: func(ctx context.Context, tx *sql.Tx, version int64, key string) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", notifyChannel, payload(version, key))
		return err
	},
}

var sqlite = dialect{
	name: "sqlite",
	lock: func(context.Context, *sql.Tx) error { return nil },
}

// q returns query in the dialect's placeholder syntax.
func (d *dialect) q(query string) string {
	if d.name == "sqlite" {
		return strings.ReplaceAll(query, "$", "?")
	}
	return query
}
