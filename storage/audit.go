package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// The audit log records security-relevant events (sign-ups, logins and
// failures, lockouts, token reuse, logouts, child profiles, device links,
// safety escalations) in the same transaction as the command that caused
// them, so every node holds the identical log. Rows are append-only
// (triggers refuse UPDATE and DELETE) and hash-chained: each row's hash
// covers its content and the previous row's hash, so editing, deleting or
// reordering rows is detected by VerifyAudit. It holds IDs, never personal
// data (no e-mail, nickname or message text).

// AuditEvent is one audit entry before it is chained.
type AuditEvent struct {
	At     int64
	Actor  string // e.g. "parent:pa_…", "child:ch_…", "email:3f2a…" (blind index prefix), "system"
	Action string
	Target string
}

func auditHash(prev []byte, seq int64, e AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At))
	h.Write(n[:])
	for _, f := range []string{e.Actor, e.Action, e.Target} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// appendAudit chains an event onto the log inside the apply transaction.
func appendAudit(a *txApplier, e AuditEvent) error {
	var seq int64
	prev := make([]byte, sha256.Size)
	err := a.row(qLastAudit).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	seq++
	_, err = a.exec(qInsertAudit, seq, e.At, e.Actor, e.Action, e.Target, prev, auditHash(prev, seq, e))
	return err
}

// ErrAuditTampered is returned when the audit chain does not verify.
var ErrAuditTampered = errors.New("storage: audit log does not verify")

// VerifyAudit walks the whole audit chain and returns the number of entries.
func (db *DB) VerifyAudit(ctx context.Context) (int, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	return verifyAudit(ctx, db.rd())
}

// VerifyAuditFile verifies the audit chain of a database file opened
// read-only (it may belong to a running node).
func VerifyAuditFile(ctx context.Context, path string) (int, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return verifyAudit(ctx, conn)
}

func verifyAudit(ctx context.Context, q *sql.DB) (int, error) {
	rows, err := q.QueryContext(ctx, "SELECT seq, at, actor, action, target, prev, hash FROM audit_log ORDER BY seq")
	if err != nil {
		return 0, fmt.Errorf("storage: audit: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var n int64
	for rows.Next() {
		var seq int64
		var e AuditEvent
		var rowPrev, hash []byte
		if err := rows.Scan(&seq, &e.At, &e.Actor, &e.Action, &e.Target, &rowPrev, &hash); err != nil {
			return int(n), fmt.Errorf("storage: audit: %w", err)
		}
		// On a failure n is the number of entries verified before it.
		if seq != n+1 {
			return int(n), fmt.Errorf("%w: entry %d is missing (found %d)", ErrAuditTampered, n+1, seq)
		}
		if !bytes.Equal(rowPrev, prev) || !bytes.Equal(hash, auditHash(prev, seq, e)) {
			return int(n), fmt.Errorf("%w: entry %d was altered", ErrAuditTampered, seq)
		}
		n++
		prev = hash
	}
	return int(n), rows.Err()
}

// AuditEntry is a stored audit row (for the admin view and tests).
type AuditEntry struct {
	Seq int64
	AuditEvent
}

// AuditTail returns the newest audit entries, newest first (system/admin only).
func (db *DB) AuditTail(ctx context.Context, actor Actor, limit int) ([]AuditEntry, error) {
	if actor.Role != RoleSystem {
		return nil, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, "SELECT seq, at, actor, action, target FROM audit_log ORDER BY seq DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("storage: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Target); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
