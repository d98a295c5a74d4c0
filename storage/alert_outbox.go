package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The parent-alert outbox (charter §3: side effects go through replicated
// state and are delivered by the leader). A turn the policy escalates is
// already recorded by the state machine — its safety event and a
// `safety_escalation` entry in the audit log, in the same transaction as
// the turn, on every node — so the outbox needs no copy of it: the audit
// log's sequence is the queue (append-only, identical on every replica,
// kept by VACUUM), and the outbox is a cursor into it plus each child's
// last alert (the 15-minute throttle, now cluster-wide).
//
// The leader delivers escalations after the cursor, then proposes
// MarkAlertsDelivered. A leader that dies between sending and marking
// leaves them for the next one: delivery is at least once, never lost for
// a node's crash.
//
// Both commands are newer than the upgrade baseline: until every member
// applies them, alerts go out the older way (the node that took the turn,
// right after it). StartAlertOutbox switches over at one log index: an
// escalation committed before it is its node's to send, after it the
// outbox's (AlertOutboxStart).

// Outbox command kinds (newer than the baseline: upgrade.go).
const (
	KindStartAlertOutbox = "start_alert_outbox"
	KindMarkAlerts       = "mark_alerts_delivered"
)

// StartAlertOutbox makes the outbox deliver every escalation committed
// after this entry. A second one changes nothing.
type StartAlertOutbox struct {
	Now int64 `json:"at"`
}

func (StartAlertOutbox) Kind() string { return KindStartAlertOutbox }
func (StartAlertOutbox) Version() int { return 1 }

// MarkAlertsDelivered moves the cursor to UpTo (an audit sequence number):
// every escalation up to it was sent or deliberately not (throttled, an
// abuse disclosure, no verified parent). Sent records each child alerted,
// for the throttle. A cursor already past UpTo changes nothing (a new
// leader proposing what an old one already marked).
type MarkAlertsDelivered struct {
	UpTo int64       `json:"upto"`
	Sent []AlertSent `json:"sent,omitempty"`
	Now  int64       `json:"at"`
}

// AlertSent is one child whose parents were alerted, and the time of the
// escalation the alert was about.
type AlertSent struct {
	ChildID string `json:"child"`
	At      int64  `json:"at"`
}

func (MarkAlertsDelivered) Kind() string { return KindMarkAlerts }
func (MarkAlertsDelivered) Version() int { return 1 }

// AlertOutbox is the outbox's state.
type AlertOutbox struct {
	Started    bool
	StartIndex uint64 // the log index of StartAlertOutbox
	Done       int64  // audit sequence every escalation up to which is handled
	// New: this StartAlertOutbox started it (a later one changes nothing).
	New bool `json:",omitempty"`
}

func newAlertCommand(kind string) Command {
	switch kind {
	case KindStartAlertOutbox:
		return &StartAlertOutbox{}
	case KindMarkAlerts:
		return &MarkAlertsDelivered{}
	}
	return nil
}

const (
	qOutboxState  = "SELECT start_index, done_seq FROM alert_outbox WHERE id=1"
	qStartOutbox  = "INSERT INTO alert_outbox(id, start_index, done_seq) SELECT 1, ?, COALESCE(MAX(seq), 0) FROM audit_log"
	qMarkOutbox   = "UPDATE alert_outbox SET done_seq=? WHERE id=1 AND done_seq < ?"
	qThrottleSent = `INSERT INTO alert_throttle(child_id, last_at) SELECT id, ? FROM children WHERE id=?
		ON CONFLICT(child_id) DO UPDATE SET last_at=MAX(last_at, excluded.last_at)`
	qPendingAlerts = `SELECT a.seq, t.id, t.child_id, t.in_categories, t.created_at, c.family_id, c.nickname_sealed,
		COALESCE(th.last_at, 0)
		FROM audit_log a
		JOIN turns t ON t.id = substr(a.target, 6)
		JOIN children c ON c.id = t.child_id
		LEFT JOIN alert_throttle th ON th.child_id = t.child_id
		WHERE a.seq > ? AND a.seq <= ? AND a.action = 'safety_escalation' AND a.target LIKE 'turn:%'
		UNION ALL
		SELECT a.seq, '', c.id, '', a.at, c.family_id, c.nickname_sealed, COALESCE(th.last_at, 0)
		FROM audit_log a
		JOIN children c ON c.id = substr(a.target, 7)
		LEFT JOIN alert_throttle th ON th.child_id = c.id
		WHERE a.seq > ? AND a.seq <= ? AND a.action = 'place_safety_hold:parent_contact_pending' AND a.target LIKE 'child:%'
		ORDER BY 1`
	qMaxAuditSeq = "SELECT COALESCE(MAX(seq), 0) FROM audit_log"
)

// alertStatements are the outbox's statements (checked against full scans:
// explain_test.go).
var alertStatements = [...]string{qOutboxState, qStartOutbox, qMarkOutbox, qThrottleSent, qPendingAlerts, qMaxAuditSeq}

func applyAlertOutbox(a *txApplier, c Command) (any, bool, error) {
	switch c := c.(type) {
	case *StartAlertOutbox:
		var start uint64
		var done int64
		err := a.row(qOutboxState).Scan(&start, &done)
		if err == nil {
			return AlertOutbox{Started: true, StartIndex: start, Done: done}, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, true, err
		}
		if _, err := a.exec(qStartOutbox, int64(a.index)); err != nil {
			return nil, true, err
		}
		err = a.row(qOutboxState).Scan(&start, &done)
		return AlertOutbox{Started: true, StartIndex: start, Done: done, New: true}, true, err
	case *MarkAlertsDelivered:
		res, err := a.exec(qMarkOutbox, c.UpTo, c.UpTo)
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, nil // not started, or already past UpTo
		}
		for _, s := range c.Sent {
			if _, err := a.exec(qThrottleSent, s.At, s.ChildID); err != nil {
				return nil, true, err
			}
		}
		return nil, true, nil
	}
	return nil, false, nil
}

func auditOfAlerts(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *StartAlertOutbox:
		if o, ok := result.(AlertOutbox); ok && o.New {
			return AuditEvent{At: c.Now, Actor: "system", Action: "alert_outbox_started", Target: "alerts"}, true
		}
	case *MarkAlertsDelivered:
		if len(c.Sent) > 0 {
			return AuditEvent{At: c.Now, Actor: "system", Action: "safety_alerts_sent", Target: fmt.Sprintf("children:%d", len(c.Sent))}, true
		}
		return AuditEvent{}, false
	}
	return auditOfRetentionSetting(c)
}

// AlertOutboxState reads the outbox (Started false before it was started).
func (db *DB) AlertOutboxState(ctx context.Context) (AlertOutbox, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var o AlertOutbox
	var start int64
	err := db.queryRow(ctx, qOutboxState).Scan(&start, &o.Done)
	if errors.Is(err, sql.ErrNoRows) {
		return AlertOutbox{}, nil
	}
	if err != nil {
		return o, fmt.Errorf("storage: alert outbox: %w", err)
	}
	o.Started, o.StartIndex = true, uint64(start)
	return o, nil
}

// PendingAlert is one escalation the outbox has not handled yet.
type PendingAlert struct {
	Seq            int64 // its audit entry
	TurnID         string
	ChildID        string
	FamilyID       string
	NicknameSealed []byte
	Categories     []string
	At             int64 // when the turn was taken
	LastAlertAt    int64 // the child's last alert before this batch (0: none)
	// HoldPlaced: the entry is not an escalation but a moderator's safety
	// hold asking to reach the family (reason parent_contact_pending; see
	// hold.go): At is when it was placed, TurnID and Categories are empty.
	HoldPlaced bool
}

// PendingAlerts returns the escalations — and the safety holds placed to
// reach the family — among the audit entries after `after`, at most
// `window` of them, oldest first, and the last audit sequence it looked at
// (the window's end, or the last entry there is: the cursor may move there
// once they are handled). Entries whose turn or child was deleted
// meanwhile are not returned.
func (db *DB) PendingAlerts(ctx context.Context, after, window int64) ([]PendingAlert, int64, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var maxSeq int64
	if err := db.queryRow(ctx, qMaxAuditSeq).Scan(&maxSeq); err != nil {
		return nil, 0, fmt.Errorf("storage: pending alerts: %w", err)
	}
	// Bounded by what exists now: an escalation committed after this read
	// is beyond the returned end, so the caller cannot mark it unseen.
	upTo := max(after, min(after+window, maxSeq))
	rows, err := db.query(ctx, qPendingAlerts, after, upTo, after, upTo)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: pending alerts: %w", err)
	}
	defer rows.Close()
	var out []PendingAlert
	for rows.Next() {
		var p PendingAlert
		var cats string
		if err := rows.Scan(&p.Seq, &p.TurnID, &p.ChildID, &cats, &p.At, &p.FamilyID, &p.NicknameSealed, &p.LastAlertAt); err != nil {
			return nil, 0, fmt.Errorf("storage: pending alerts: %w", err)
		}
		p.Categories = splitList(cats)
		p.HoldPlaced = p.TurnID == ""
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("storage: pending alerts: %w", err)
	}
	return out, upTo, nil
}

// ChildAlertRecipients returns the verified parents of a child, for the
// outbox (the system actor's read; the API's is AlertRecipients).
func (db *DB) ChildAlertRecipients(ctx context.Context, childID string) ([]AlertRecipient, error) {
	if strings.TrimSpace(childID) == "" {
		return nil, ErrNotFound
	}
	return db.AlertRecipients(ctx, Actor{Role: RoleChild, ID: childID})
}
