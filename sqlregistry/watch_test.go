package sqlregistry_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/sqlregistry"
)

// watch runs r.Watch until the test ends and returns the keys it reports,
// after the first changed("").
func watch(t *testing.T, r *sqlregistry.Registry) <-chan string {
	t.Helper()
	keys := make(chan string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, func(k string) { keys <- k }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case k := <-keys:
		if k != "" {
			t.Fatalf("first report %q, want \"\"", k)
		}
	case err := <-done:
		t.Fatalf("Watch: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not subscribe")
	}
	return keys
}

func expectKey(t *testing.T, keys <-chan string, want string) {
	t.Helper()
	deadline := time.After(propagationBound)
	for {
		select {
		case k := <-keys:
			if k == want {
				return
			}
		case <-deadline:
			t.Fatalf("%q not reported within %v", want, propagationBound)
		}
	}
}

// A write whose notification never came (here: committed without
// NOTIFY, as by a tool writing the tables) is still reported, by the
// version poll; on SQLite that poll is the only way.
func TestWatchWithoutNotify(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := open(t, b.dsn(t), sqlregistry.Options{})
			keys := watch(t, r)
			ctx := testCtx(t)
			tx, err := r.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			var v int64
			if err := tx.QueryRowContext(ctx, "UPDATE registry_state SET version = version + 1 WHERE id = 1 RETURNING version").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO customer_changes (version, key, op, changed_us) VALUES ("+
				itoa(v)+", 'silent.example', 'put', 0)"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			expectKey(t, keys, "silent.example")
		})
	}
}

// Writes whose journal rows are gone (pruned while a watcher was behind)
// are reported as changed(""): anything may have changed.
func TestWatchJournalGap(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := open(t, b.dsn(t), sqlregistry.Options{})
			keys := watch(t, r)
			if _, err := r.DB().ExecContext(testCtx(t), "UPDATE registry_state SET version = version + 5 WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			expectKey(t, keys, "")
		})
	}
}

// Every write leaves an audit row: who (As), what, which version; the
// metadata itself is identified by its digest, not copied. Record adds
// events that are not writes; AuditLog reads them back, newest first.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := open(t, b.dsn(t), sqlregistry.Options{})
			ctx := testCtx(t)
			c := simpleCustomer("audited.example")
			v1, err := r.As("alice (operator)").Put(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			c.Version = v1
			c.Enforced = true
			v2, err := r.As("bob (admin)").Put(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			v3, err := r.Disable(ctx, c.Key)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.As("alice (operator)").Delete(ctx, c.Key); err != nil {
				t.Fatal(err)
			}
			if err := r.As("bob (admin)").Record(ctx, c.Key, "test-sign-in", map[string]string{"outcome": "refused: wrong tenant"}); err != nil {
				t.Fatal(err)
			}
			log, err := r.AuditLog(ctx, c.Key, 0)
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				version       int64
				actor, action string
			}
			var got []row
			var details []string
			for i := len(log) - 1; i >= 0; i-- { // oldest first
				e := log[i]
				if e.Key != c.Key || e.At.IsZero() {
					t.Errorf("entry %+v", e)
				}
				got, details = append(got, row{e.Version, e.Actor, e.Action}), append(details, string(e.Detail))
			}
			want := []row{{v1, "alice (operator)", "create"}, {v2, "bob (admin)", "put"}, {v3, "", "disable"},
				{v3 + 1, "alice (operator)", "delete"}, {0, "bob (admin)", "test-sign-in"}}
			if len(got) != len(want) {
				t.Fatalf("audit rows %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("audit row %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			if !strings.Contains(details[4], "wrong tenant") {
				t.Errorf("recorded detail %s", details[4])
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(details[1]), &d); err != nil {
				t.Fatal(err)
			}
			if d["enforced"] != true || d["metadata_sha256"] == nil || d["metadata"] != nil || strings.Contains(details[1], "EntityDescriptor") {
				t.Errorf("audit detail %s: want the settings and the metadata's digest, not the metadata", details[1])
			}
		})
	}
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A Watch that loses its database says so (returns an error) instead of
// staying silent, which would mean "nothing changed": on PostgreSQL when
// its connection is reset, and when it goes silent (a partition), within
// a PollInterval plus the poll query's timeout.
func TestWatchNoticesOutage(t *testing.T) {
	t.Parallel()
	dsn := postgresURL(t)
	for _, partition := range []bool{false, true} {
		t.Run(map[bool]string{false: "reset", true: "partition"}[partition], func(t *testing.T) {
			t.Parallel()
			watchOutage(t, dsn, partition)
		})
	}
}

func watchOutage(t *testing.T, dsn string, partition bool) {
	p := newProxy(t, dsn)
	r := open(t, p.dsn, sqlregistry.Options{})
	done := make(chan error, 1)
	subscribed := make(chan struct{}, 1)
	go func() {
		done <- r.Watch(context.Background(), func(k string) {
			if k == "" {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}
		})
	}()
	select {
	case <-subscribed:
	case err := <-done:
		t.Fatalf("Watch: %v", err)
	}
	if partition {
		p.freeze()
	} else {
		p.cut()
	}
	start := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Watch returned nil")
		}
		t.Logf("Watch returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(sqlregistry.DefaultPollInterval + time.Second + propagationBound):
		t.Fatal("Watch did not notice the outage")
	}
}

// Closing the Registry ends its Watches with ErrClosed.
func TestWatchClosed(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := open(t, b.dsn(t), sqlregistry.Options{})
			done := make(chan error, 1)
			subscribed := make(chan struct{}, 1)
			go func() {
				done <- r.Watch(context.Background(), func(string) {
					select {
					case subscribed <- struct{}{}:
					default:
					}
				})
			}()
			<-subscribed
			r.Close()
			select {
			case err := <-done:
				if !errors.Is(err, sqlregistry.ErrClosed) {
					t.Errorf("Watch after Close: %v, want ErrClosed", err)
				}
			case <-time.After(propagationBound):
				t.Fatal("Watch did not return after Close")
			}
		})
	}
}
