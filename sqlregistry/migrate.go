package sqlregistry

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// migration is one file of migrations/<dialect>/: NNNN_name.sql.
type migration struct {
	version int64
	name    string
	sql     string
}

func loadMigrations(d *dialect) ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlregistry: migration file %s is not NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.version - b.version) })
	return ms, nil
}

// migrate brings the schema up to date in one transaction: it takes the
// migration lock (PostgreSQL: an advisory lock; SQLite: the write lock of
// BEGIN IMMEDIATE), creates schema_migrations if needed, and applies, in
// order, each embedded migration it does not list. Instances that start
// together queue on the lock; the later ones find nothing to do. DDL is
// transactional on both databases, so a failed migration leaves nothing
// half-done.
func migrate(ctx context.Context, db *sql.DB, d *dialect, nowUS int64) (applied int, err error) {
	ms, err := loadMigrations(d)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := d.lock(ctx, tx); err != nil {
		return 0, fmt.Errorf("sqlregistry: taking the migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    bigint PRIMARY KEY,
	name       text   NOT NULL,
	applied_us bigint NOT NULL
)`); err != nil {
		return 0, fmt.Errorf("sqlregistry: creating schema_migrations: %w", err)
	}
	done := map[int64]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		done[v] = true
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("sqlregistry: migration %04d_%s: %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, d.q("INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)"),
			m.version, m.name, nowUS); err != nil {
			return 0, err
		}
		applied++
	}
	return applied, tx.Commit()
}
