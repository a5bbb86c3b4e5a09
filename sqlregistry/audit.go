package sqlregistry

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// AuditEntry is one row of the audit log: a registry write (Version set)
// or an event recorded with [Registry.Record] (Version 0).
type AuditEntry struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Key     string          `json:"key"`
	Version int64           `json:"version,omitempty"`
	Actor   string          `json:"actor"`  // Registry.As; "" when unknown
	Action  string          `json:"action"` // create, put, disable, delete, refresh, or Record's
	Detail  json.RawMessage `json:"detail"` // for writes: the customer as stored, its metadata by SHA-256
}

// Record adds an event that is not a registry write to the audit log, as
// made by r's actor (see As): for example an admin's test sign-in and its
// outcome. detail is stored as JSON; keep secrets and raw SAML out of it.
func (r *Registry) Record(ctx context.Context, key, action string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = r.s.db.ExecContext(ctx, r.s.d.q("INSERT INTO audit_log (at_us, key, version, actor, action, detail) VALUES ($1, $2, NULL, $3, $4, $5)"),
		r.s.now().UnixMicro(), key, r.actor, action, string(b))
	if err != nil {
		return r.s.fail("recording an audit event", err)
	}
	return nil
}

// AuditLog returns the audit log of the customer at key, newest first, at
// most limit entries (0: 100), including the entries of a deleted
// customer.
func (r *Registry) AuditLog(ctx context.Context, key string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := r.s.db.QueryContext(ctx, r.s.d.q(`SELECT id, at_us, key, version, actor, action, detail
		FROM audit_log WHERE key = $1 ORDER BY id DESC LIMIT $2`), key, limit)
	if err != nil {
		return nil, r.s.fail("reading the audit log", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e       AuditEntry
			atUS    int64
			version sql.NullInt64
			detail  []byte
		)
		if err := rows.Scan(&e.ID, &atUS, &e.Key, &version, &e.Actor, &e.Action, &detail); err != nil {
			return nil, r.s.fail("reading the audit log", err)
		}
		e.At, e.Version, e.Detail = time.UnixMicro(atUS).UTC(), version.Int64, json.RawMessage(detail)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.fail("reading the audit log", err)
	}
	return out, nil
}
