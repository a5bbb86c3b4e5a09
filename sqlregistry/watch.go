package sqlregistry

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Watch reports committed writes to customers, from any instance, by
// calling changed(key), as [tenants.Watcher] says: changed("") once
// subscribed and whenever a write may have been missed, then each changed
// key. On PostgreSQL it LISTENs on its own connection (changes arrive
// when their transaction commits) and reads the registry-wide version
// every PollInterval to catch up on anything missed and to prove the
// connection alive; on SQLite it reads the version every PollInterval and
// the journal of keys behind it. A change is reported within
// PollInterval plus one query. Watch returns ctx.Err() when ctx is done,
// ErrClosed when the Registry is closed, and any database error as soon
// as it sees one: at once when its connection is reset, and at the latest
// PollInterval plus the poll's timeout (PollInterval, at least 1 s) after
// the database stops answering.
func (r *Registry) Watch(ctx context.Context, changed func(key string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.s.closed, cancel)()
	var err error
	if r.s.pg != nil {
		err = r.s.listen(ctx, changed)
	} else {
		err = r.s.pollLoop(ctx, changed)
	}
	if r.s.closed.Err() != nil {
		return ErrClosed
	}
	return err
}

// pollLoop is Watch by polling the version.
func (s *shared) pollLoop(ctx context.Context, changed func(string)) error {
	last, err := s.version(ctx)
	if err != nil {
		return err
	}
	changed("")
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		v, err := s.version(ctx)
		if err != nil {
			return err
		}
		if last, err = s.catchUp(ctx, last, v, changed); err != nil {
			return err
		}
	}
}

// version reads the registry-wide version, within a PollInterval.
func (s *shared) version(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, max(s.poll, time.Second))
	defer cancel()
	var v int64
	if err := s.db.QueryRowContext(ctx, "SELECT version FROM registry_state WHERE id = 1").Scan(&v); err != nil {
		return 0, s.fail("reading the registry version", err)
	}
	return v, nil
}

// catchUp reports the keys written by versions last+1 to now, from the
// journal, and changed("") if the journal no longer has all of them (or
// the version went back: a restored database). It returns the version to
// continue from.
func (s *shared) catchUp(ctx context.Context, last, now int64, changed func(string)) (int64, error) {
	switch {
	case now == last:
		return last, nil
	case now < last:
		changed("")
		return now, nil
	}
	ctx, cancel := context.WithTimeout(ctx, max(s.poll, time.Second))
	defer cancel()
	rows, err := s.db.QueryContext(ctx, s.d.q("SELECT key FROM customer_changes WHERE version > $1 AND version <= $2 ORDER BY version"), last, now)
	if err != nil {
		return last, s.fail("reading the change journal", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return last, s.fail("reading the change journal", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return last, s.fail("reading the change journal", err)
	}
	// Versions are contiguous: each committed write has one and journals it.
	if int64(len(keys)) != now-last {
		changed("")
	}
	for _, k := range keys {
		changed(k)
	}
	return now, nil
}

// listen is Watch on PostgreSQL: LISTEN on a connection of its own.
func (s *shared) listen(ctx context.Context, changed func(string)) error {
	cctx, cancel := context.WithTimeout(ctx, max(5*s.poll, 5*time.Second))
	conn, err := pgx.ConnectConfig(cctx, s.pg.Copy())
	cancel()
	if err != nil {
		return s.fail("connecting to LISTEN", err)
	}
	defer conn.Close(context.Background())
	lctx, cancel := context.WithTimeout(ctx, max(s.poll, time.Second))
	_, err = conn.Exec(lctx, "LISTEN "+notifyChannel)
	cancel()
	if err != nil {
		return s.fail("LISTEN", err)
	}
	// Subscribed: what is committed from now on is notified; what was
	// committed before may have been missed.
	last, err := connVersion(ctx, conn, s.poll)
	if err != nil {
		return s.fail("reading the registry version", err)
	}
	changed("")
	nextPoll := time.Now().Add(s.poll)
	for {
		wctx, cancel := context.WithDeadline(ctx, nextPoll)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			v, key, ok := parsePayload(n.Payload)
			if !ok {
				changed("")
				continue
			}
			if v > last+1 {
				// Notifications arrive in commit order, which is version
				// order; a gap means one went missing.
				if _, err := s.catchUp(ctx, last, v-1, changed); err != nil {
					return err
				}
			}
			changed(key)
			last = max(last, v)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			// No notification for a PollInterval: check that the
			// connection still works and that nothing was missed.
			v, err := connVersion(ctx, conn, s.poll)
			if err != nil {
				return s.fail("reading the registry version", err)
			}
			if last, err = s.catchUp(ctx, last, v, changed); err != nil {
				return err
			}
			nextPoll = time.Now().Add(s.poll)
		default:
			return s.fail("waiting for notifications", err)
		}
	}
}

func connVersion(ctx context.Context, conn *pgx.Conn, poll time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, max(poll, time.Second))
	defer cancel()
	var v int64
	err := conn.QueryRow(ctx, "SELECT version FROM registry_state WHERE id = 1").Scan(&v)
	return v, err
}

// payload is the NOTIFY payload of a write: "version key".
func payload(version int64, key string) string {
	return strconv.FormatInt(version, 10) + " " + key
}

func parsePayload(p string) (version int64, key string, ok bool) {
	v, key, ok := strings.Cut(p, " ")
	if !ok || key == "" {
		return 0, "", false
	}
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return version, key, true
}
