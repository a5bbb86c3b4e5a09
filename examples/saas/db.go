package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml/sqlregistry"
)

// appDB is the app's own data, in the registry's database (SQLite file or
// PostgreSQL): local accounts, local sessions, the admins' draft metadata
// and test results, and the sign-ins Provision refused. The customers' SSO
// configuration and the audit log are the registry's (package
// sqlregistry).
type appDB struct {
	reg    *sqlregistry.Registry
	db     *sql.DB
	sqlite bool
	now    func() time.Time
}

// openDB opens the registry: PostgreSQL at pgURL when set (several
// instances may share it), else the SQLite file parcelry.db in dataDir
// (created if needed), and creates the app's tables.
func openDB(ctx context.Context, dataDir, pgURL string) (*appDB, error) {
	var (
		reg *sqlregistry.Registry
		err error
	)
	if pgURL != "" {
		reg, err = sqlregistry.OpenPostgres(ctx, pgURL, sqlregistry.Options{})
	} else {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		reg, err = sqlregistry.OpenSQLite(ctx, filepath.Join(dataDir, "parcelry.db"), sqlregistry.Options{})
	}
	if err != nil {
		return nil, err
	}
	d := &appDB{reg: reg, db: reg.DB(), sqlite: pgURL == "", now: time.Now}
	for _, stmt := range appSchema {
		if _, err := d.db.ExecContext(ctx, stmt); err != nil {
			reg.Close()
			return nil, fmt.Errorf("creating the app's tables: %w", err)
		}
	}
	return d, nil
}

// appSchema works on both databases (TEXT and BIGINT only). Running it
// again is harmless.
var appSchema = []string{
	`CREATE TABLE IF NOT EXISTS saas_users (
		key TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL,
		admin BIGINT NOT NULL DEFAULT 0, password TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (key, email))`,
	`CREATE TABLE IF NOT EXISTS saas_sessions (
		id TEXT PRIMARY KEY, key TEXT NOT NULL, email TEXT NOT NULL, expires_us BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS saas_drafts (
		key TEXT PRIMARY KEY, metadata TEXT NOT NULL, metadata_url TEXT NOT NULL, digest TEXT NOT NULL,
		tested TEXT NOT NULL DEFAULT '', updated_us BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS saas_tests (
		id TEXT PRIMARY KEY, key TEXT NOT NULL, at_us BIGINT NOT NULL, ok BIGINT NOT NULL,
		digest TEXT NOT NULL, detail TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS saas_refused (
		key TEXT NOT NULL, at_us BIGINT NOT NULL, who TEXT NOT NULL, reason TEXT NOT NULL)`,
}

// q adapts PostgreSQL's $n placeholders to SQLite's ?n.
func (d *appDB) q(query string) string {
	if d.sqlite {
		return strings.ReplaceAll(query, "$", "?")
	}
	return query
}

func (d *appDB) Close() error { return d.reg.Close() }

// user is a local account of a customer's company in the app.
type user struct {
	Key, Email, Name string
	Admin            bool
}

// hashPassword returns salt$hash (PBKDF2-SHA256, 100,000 rounds).
func hashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	k, _ := pbkdf2.Key(sha256.New, pw, salt, 100_000, 32)
	return hex.EncodeToString(salt) + "$" + hex.EncodeToString(k)
}

func checkPassword(stored, pw string) bool {
	s, h, ok := strings.Cut(stored, "$")
	salt, err1 := hex.DecodeString(s)
	want, err2 := hex.DecodeString(h)
	if !ok || err1 != nil || err2 != nil || len(want) != 32 {
		return false
	}
	k, err := pbkdf2.Key(sha256.New, pw, salt, 100_000, 32)
	return err == nil && subtle.ConstantTimeCompare(k, want) == 1
}

// putUser creates or replaces a local account; password "" leaves it
// without one (it can only sign in with SSO).
func (d *appDB) putUser(ctx context.Context, u user, password string) error {
	pw := ""
	if password != "" {
		pw = hashPassword(password)
	}
	admin := 0
	if u.Admin {
		admin = 1
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO saas_users (key, email, name, admin, password) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (key, email) DO UPDATE SET name = excluded.name, admin = excluded.admin, password = excluded.password`),
		u.Key, strings.ToLower(u.Email), u.Name, admin, pw)
	return err
}

// findUser returns the account of email at key, and its password hash.
func (d *appDB) findUser(ctx context.Context, key, email string) (*user, string, error) {
	u := &user{Key: key}
	var admin int64
	var pw string
	err := d.db.QueryRowContext(ctx, d.q(`SELECT email, name, admin, password FROM saas_users WHERE key = $1 AND email = $2`),
		key, strings.ToLower(email)).Scan(&u.Email, &u.Name, &admin, &pw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	u.Admin = admin == 1
	return u, pw, nil
}

// Local sessions: the cookie holds a random ID, the table its SHA-256.
const localSessionTTL = 8 * time.Hour

func sessionDigest(id string) string { h := sha256.Sum256([]byte(id)); return hex.EncodeToString(h[:]) }

func (d *appDB) newSession(ctx context.Context, key, email string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO saas_sessions (id, key, email, expires_us) VALUES ($1, $2, $3, $4)`),
		sessionDigest(id), key, strings.ToLower(email), d.now().Add(localSessionTTL).UnixMicro())
	return id, err
}

// session returns the account signed in with id at key, or nil: a session
// of another customer is no session here.
func (d *appDB) session(ctx context.Context, key, id string) (*user, error) {
	var email string
	err := d.db.QueryRowContext(ctx, d.q(`SELECT email FROM saas_sessions WHERE id = $1 AND key = $2 AND expires_us > $3`),
		sessionDigest(id), key, d.now().UnixMicro()).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, _, err := d.findUser(ctx, key, email)
	return u, err
}

func (d *appDB) endSession(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, d.q(`DELETE FROM saas_sessions WHERE id = $1`), sessionDigest(id))
	return err
}

// draft is the metadata an admin gave and has not put live yet.
type draft struct {
	Metadata    []byte
	MetadataURL string
	Digest      string // SHA-256 of Metadata, hex
	Tested      string // Digest when a test sign-in passed with it
}

func metadataDigest(md []byte) string { h := sha256.Sum256(md); return hex.EncodeToString(h[:]) }

func (d *appDB) putDraft(ctx context.Context, key string, md []byte, mdURL string) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO saas_drafts (key, metadata, metadata_url, digest, tested, updated_us) VALUES ($1, $2, $3, $4, '', $5)
		ON CONFLICT (key) DO UPDATE SET metadata = excluded.metadata, metadata_url = excluded.metadata_url, digest = excluded.digest,
		tested = '', updated_us = excluded.updated_us`), key, string(md), mdURL, metadataDigest(md), d.now().UnixMicro())
	return err
}

func (d *appDB) draft(ctx context.Context, key string) (*draft, error) {
	var md string
	dr := &draft{}
	err := d.db.QueryRowContext(ctx, d.q(`SELECT metadata, metadata_url, digest, tested FROM saas_drafts WHERE key = $1`), key).
		Scan(&md, &dr.MetadataURL, &dr.Digest, &dr.Tested)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dr.Metadata = []byte(md)
	return dr, nil
}

func (d *appDB) deleteDraft(ctx context.Context, key string) error {
	_, err := d.db.ExecContext(ctx, d.q(`DELETE FROM saas_drafts WHERE key = $1`), key)
	return err
}

// markTested records that a test passed with the draft of that digest (if
// it is still the draft).
func (d *appDB) markTested(ctx context.Context, key, digest string) error {
	_, err := d.db.ExecContext(ctx, d.q(`UPDATE saas_drafts SET tested = digest WHERE key = $1 AND digest = $2`), key, digest)
	return err
}

// testResult is what the admin page shows of a test sign-in.
type testResult struct {
	At     time.Time
	OK     bool
	Digest string
	Detail string // JSON: testDetail
}

func (d *appDB) addTest(ctx context.Context, key string, ok bool, digest, detail string) (string, error) {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	okN := 0
	if ok {
		okN = 1
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO saas_tests (id, key, at_us, ok, digest, detail) VALUES ($1, $2, $3, $4, $5, $6)`),
		id, key, d.now().UnixMicro(), okN, digest, detail)
	return id, err
}

// lastTest returns the customer's latest test, or nil.
func (d *appDB) lastTest(ctx context.Context, key string) (*testResult, error) {
	var (
		t    testResult
		at   int64
		okN  int64
		rows = d.db.QueryRowContext(ctx, d.q(`SELECT at_us, ok, digest, detail FROM saas_tests WHERE key = $1 ORDER BY at_us DESC LIMIT 1`), key)
	)
	if err := rows.Scan(&at, &okN, &t.Digest, &t.Detail); errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	t.At, t.OK = time.UnixMicro(at), okN == 1
	return &t, nil
}

// passed reports whether a test passed with the metadata of digest.
func (d *appDB) passed(ctx context.Context, key, digest string) (bool, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, d.q(`SELECT COUNT(*) FROM saas_tests WHERE key = $1 AND digest = $2 AND ok = 1`), key, digest).Scan(&n)
	return n > 0, err
}

// refused is a sign-in Provision turned away.
type refused struct {
	At          time.Time
	Who, Reason string
}

func (d *appDB) addRefused(ctx context.Context, key, who, reason string) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO saas_refused (key, at_us, who, reason) VALUES ($1, $2, $3, $4)`),
		key, d.now().UnixMicro(), who, reason)
	return err
}

func (d *appDB) refusals(ctx context.Context, key string) ([]refused, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT at_us, who, reason FROM saas_refused WHERE key = $1 ORDER BY at_us DESC LIMIT 50`), key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []refused
	for rows.Next() {
		var r refused
		var at int64
		if err := rows.Scan(&at, &r.Who, &r.Reason); err != nil {
			return nil, err
		}
		r.At = time.UnixMicro(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
