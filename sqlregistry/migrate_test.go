package sqlregistry_test

import (
	"context"
	"sync"
	"testing"

	"github.com/entrasaml/entrasaml/sqlregistry"
)

// migrationCount is the number of files in migrations/<dialect>/.
const migrationCount = 1

func appliedMigrations(t *testing.T, r *sqlregistry.Registry) int {
	t.Helper()
	var n int
	if err := r.DB().QueryRowContext(testCtx(t), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Opening migrates; opening again (a restart, a second instance) finds
// nothing to do and keeps the data.
func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			r1 := open(t, dsn, sqlregistry.Options{})
			if _, err := r1.Put(testCtx(t), simpleCustomer("kept.example")); err != nil {
				t.Fatal(err)
			}
			r1.Close()
			r2 := open(t, dsn, sqlregistry.Options{})
			if n := appliedMigrations(t, r2); n != migrationCount {
				t.Errorf("schema_migrations has %d rows, want %d", n, migrationCount)
			}
			if _, err := r2.Lookup(testCtx(t), "kept.example"); err != nil {
				t.Errorf("after a second Open: %v", err)
			}
		})
	}
}

// Instances starting at once on an empty database: one migrates, the
// others wait for its lock and find the schema done; all of them work.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			const instances = 4
			regs := make([]*sqlregistry.Registry, instances)
			errs := make([]error, instances)
			var wg sync.WaitGroup
			for i := range instances {
				wg.Go(func() {
					regs[i], errs[i] = sqlregistry.Open(context.Background(), dsn, sqlregistry.Options{})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("instance %d: %v", i, err)
				}
				t.Cleanup(func() { regs[i].Close() })
			}
			if n := appliedMigrations(t, regs[0]); n != migrationCount {
				t.Errorf("schema_migrations has %d rows, want %d", n, migrationCount)
			}
			for i, r := range regs {
				if _, err := r.Put(testCtx(t), simpleCustomer(string(rune('a'+i))+".example")); err != nil {
					t.Errorf("instance %d: Put: %v", i, err)
				}
			}
		})
	}
}

// SkipMigrations opens a database without touching its schema.
func TestSkipMigrations(t *testing.T) {
	t.Parallel()
	r := open(t, sqlitePath(t), sqlregistry.Options{SkipMigrations: true})
	var n int
	err := r.DB().QueryRowContext(testCtx(t), "SELECT count(*) FROM sqlite_master WHERE name = 'customers'").Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("customers table: %d, %v; want none", n, err)
	}
	if _, err := r.Lookup(testCtx(t), "a.example"); err == nil {
		t.Error("Lookup without a schema succeeded")
	}
}
