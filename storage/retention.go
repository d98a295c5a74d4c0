package storage

import (
	"fmt"
)

// Retention: data is kept per class for a configured time and then deleted
// by a replicated command. The leader computes the cutoffs from its clock
// and proposes ApplyRetention; every node deletes exactly the rows the
// command selects (ordered by a unique index key, never by the clock or the
// physical row order), so replicas stay identical. Each command deletes at
// most Limit rows so a large backlog never stalls the state machine; the
// leader repeats the command until its result says nothing is left
// (More = false). The audit log is never pruned (append-only hash chain of
// pseudonymous IDs); each command appends one entry holding counts only.

// KindApplyRetention is the retention command's kind.
const KindApplyRetention = "apply_retention"

// MaxRetentionLimit bounds the rows one ApplyRetention may delete, so one
// log entry never holds the state machine for long.
const MaxRetentionLimit = 10_000

// ApplyRetention deletes, oldest first, at most Limit rows in total that are
// past their class's retention: chat turns (and the verdicts stored with
// them) created before TurnsBefore, safety events created before
// SafetyBefore, refresh tokens that expired before SessionsBefore and then
// sessions started before SessionsBefore that have no refresh token left.
// A zero cutoff keeps that class. Times are milliseconds since the epoch,
// computed by the leader; Now only dates the audit entry.
//
// Version 2 adds Credentials: with it, the same SessionsBefore cutoff also
// deletes the leftovers of signing in and linking — staff sessions that
// expired or were revoked before it, staff invites and device link codes
// that expired before it, and devices a parent unlinked before it. A
// version-1 entry (Credentials false) deletes what it always did.
type ApplyRetention struct {
	TurnsBefore    int64 `json:"turns,omitempty"`
	SafetyBefore   int64 `json:"safety,omitempty"`
	SessionsBefore int64 `json:"sessions,omitempty"`
	Credentials    bool  `json:"credentials,omitempty"`
	Limit          int   `json:"limit"`
	Now            int64 `json:"at"`
}

func (ApplyRetention) Kind() string { return KindApplyRetention }
func (ApplyRetention) Version() int { return 2 }

// AcceptsVersion: version-1 entries still apply (they never set
// Credentials).
func (ApplyRetention) AcceptsVersion(v int) bool { return v == 1 }

// RetentionResult is what one ApplyRetention deleted. More is true when it
// stopped at its limit: rows past their retention may remain, so the
// leader proposes the command again.
type RetentionResult struct {
	Turns         int  `json:"turns"`
	SafetyEvents  int  `json:"safety_events"`
	RefreshTokens int  `json:"refresh_tokens"`
	Sessions      int  `json:"sessions"`
	StaffSessions int  `json:"staff_sessions,omitempty"`
	StaffInvites  int  `json:"staff_invites,omitempty"`
	LinkCodes     int  `json:"link_codes,omitempty"`
	Devices       int  `json:"devices,omitempty"`
	More          bool `json:"more"`
}

// Total is the number of rows deleted.
func (r RetentionResult) Total() int {
	return r.Turns + r.SafetyEvents + r.RefreshTokens + r.Sessions + r.StaffSessions + r.StaffInvites + r.LinkCodes + r.Devices
}

// Add sums two results (More is the later one's).
func (r RetentionResult) Add(o RetentionResult) RetentionResult {
	return RetentionResult{Turns: r.Turns + o.Turns, SafetyEvents: r.SafetyEvents + o.SafetyEvents,
		RefreshTokens: r.RefreshTokens + o.RefreshTokens, Sessions: r.Sessions + o.Sessions,
		StaffSessions: r.StaffSessions + o.StaffSessions, StaffInvites: r.StaffInvites + o.StaffInvites,
		LinkCodes: r.LinkCodes + o.LinkCodes, Devices: r.Devices + o.Devices, More: o.More}
}

// Retention statements. Each selection is ordered by a unique key read from
// an index (turns_created, safety_events_created, refresh_tokens_expiry,
// sessions_created), so it is the same rows on every replica and no full
// scan (explain_test.go).
const (
	qRetentionTurns = `SELECT id, child_id, seq FROM turns WHERE created_at < ?
		ORDER BY created_at, id LIMIT ?`
	qDeleteTurn      = "DELETE FROM turns WHERE id=?"
	qRaiseTurnFloor  = "UPDATE children SET turn_seq_floor=MAX(turn_seq_floor, ?) WHERE id=?"
	qRetentionEvents = `DELETE FROM safety_events WHERE id IN (SELECT id FROM safety_events
		WHERE created_at < ? ORDER BY created_at, id LIMIT ?)`
	qRetentionRefresh = `DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens
		WHERE expires_at < ? ORDER BY expires_at, hash LIMIT ?)`
	qRetentionSessions = `DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s
		WHERE s.created_at < ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)
		ORDER BY s.created_at, s.id LIMIT ?)`
	// Version 2 (Credentials): each ordered by a unique key read from an
	// index of migration 17.
	qRetentionStaffSessions = `DELETE FROM staff_sessions WHERE id IN (SELECT id FROM staff_sessions
		WHERE expires_at < ? ORDER BY expires_at, id LIMIT ?)`
	qRetentionStaffRevoked = `DELETE FROM staff_sessions WHERE id IN (SELECT id FROM staff_sessions
		WHERE revoked_at < ? ORDER BY revoked_at, id LIMIT ?)`
	qRetentionInvites = `DELETE FROM staff_invites WHERE hash IN (SELECT hash FROM staff_invites
		WHERE expires_at < ? ORDER BY expires_at, hash LIMIT ?)`
	qRetentionLinkCodes = `DELETE FROM link_codes WHERE code_hash IN (SELECT code_hash FROM link_codes
		WHERE expires_at < ? ORDER BY expires_at, code_hash LIMIT ?)`
	qRetentionDevices = `DELETE FROM devices WHERE id IN (SELECT id FROM devices
		WHERE revoked_at < ? ORDER BY revoked_at, id LIMIT ?)`
)

// retentionStatements run about once an hour: not prepared at open, but
// checked for index use with the FSM's statements (explain_test.go).
var retentionStatements = [...]string{qRetentionTurns, qDeleteTurn, qRaiseTurnFloor, qRetentionEvents, qRetentionRefresh, qRetentionSessions,
	qRetentionStaffSessions, qRetentionStaffRevoked, qRetentionInvites, qRetentionLinkCodes, qRetentionDevices}

func applyRetention(a *txApplier, c *ApplyRetention) (any, error) {
	if c.Limit < 1 || c.Limit > MaxRetentionLimit {
		return nil, outcome(fmt.Errorf("storage: retention limit %d outside 1..%d", c.Limit, MaxRetentionLimit))
	}
	if c.TurnsBefore < 0 || c.SafetyBefore < 0 || c.SessionsBefore < 0 {
		return nil, outcome(fmt.Errorf("storage: negative retention cutoff"))
	}
	var res RetentionResult
	left := c.Limit
	var err error
	if c.TurnsBefore > 0 {
		if res.Turns, err = pruneTurns(a, c.TurnsBefore, left); err != nil {
			return nil, err
		}
		left -= res.Turns
	}
	type step struct {
		before int64
		q      string
		n      *int
	}
	steps := []step{
		{c.SafetyBefore, qRetentionEvents, &res.SafetyEvents},
		{c.SessionsBefore, qRetentionRefresh, &res.RefreshTokens},
		{c.SessionsBefore, qRetentionSessions, &res.Sessions},
	}
	var staffRevoked int
	if c.Credentials {
		steps = append(steps,
			step{c.SessionsBefore, qRetentionStaffSessions, &res.StaffSessions},
			step{c.SessionsBefore, qRetentionStaffRevoked, &staffRevoked},
			step{c.SessionsBefore, qRetentionInvites, &res.StaffInvites},
			step{c.SessionsBefore, qRetentionLinkCodes, &res.LinkCodes},
			step{c.SessionsBefore, qRetentionDevices, &res.Devices})
	}
	for _, step := range steps {
		if step.before == 0 || left == 0 {
			continue
		}
		r, err := a.exec(step.q, step.before, left)
		if err != nil {
			return nil, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return nil, err
		}
		*step.n = int(n)
		left -= int(n)
	}
	res.StaffSessions += staffRevoked
	// Stopping exactly at the limit may leave rows behind: say so, and the
	// leader asks again (a last command that finds nothing is cheap).
	res.More = left == 0
	return res, nil
}

// pruneTurns deletes up to limit turns created before the cutoff. A
// child's next turn number must never repeat a deleted one, even when every
// turn of the child is gone, so the child's turn_seq_floor is raised to the
// highest deleted seq (ChatTurn numbers from above it). The cached recent
// turns of each child concerned are invalidated (cache.go): the command
// cannot name them before it runs.
func pruneTurns(a *txApplier, before int64, limit int) (int, error) {
	rows, err := a.tx.QueryContext(a.ctx, qRetentionTurns, before, limit)
	if err != nil {
		return 0, err
	}
	type victim struct {
		id, child string
		seq       int64
	}
	var victims []victim
	for rows.Next() {
		var v victim
		if err := rows.Scan(&v.id, &v.child, &v.seq); err != nil {
			rows.Close()
			return 0, err
		}
		victims = append(victims, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	floor := map[string]int64{}
	var children []string
	for _, v := range victims {
		if s, ok := floor[v.child]; !ok || v.seq > s {
			if !ok {
				children = append(children, v.child) // first-seen order: the same on every node
			}
			floor[v.child] = v.seq
		}
	}
	keys := make([]string, len(children))
	for i, ch := range children {
		keys[i] = keyRecentTurns(ch)
	}
	if a.touch != nil {
		a.touch(keys)
	}
	for _, v := range victims {
		if _, err := a.exec(qDeleteTurn, v.id); err != nil {
			return 0, err
		}
	}
	for _, ch := range children {
		if _, err := a.exec(qRaiseTurnFloor, floor[ch], ch); err != nil {
			return 0, err
		}
	}
	return len(victims), nil
}

func auditRetention(c *ApplyRetention, result any) (AuditEvent, bool) {
	r, ok := result.(RetentionResult)
	if !ok {
		return AuditEvent{}, false
	}
	return AuditEvent{At: c.Now, Actor: "system", Action: "retention_applied",
		Target: retentionTarget(c, r)}, true
}

// retentionTarget is the audit entry's counts. A version-1 entry writes
// exactly what older binaries write for it: nodes of both kinds apply it
// during an upgrade, and the audit log must be the same on every node.
func retentionTarget(c *ApplyRetention, r RetentionResult) string {
	if !c.Credentials {
		return fmt.Sprintf("turns=%d safety_events=%d refresh_tokens=%d sessions=%d more=%t",
			r.Turns, r.SafetyEvents, r.RefreshTokens, r.Sessions, r.More)
	}
	return fmt.Sprintf("turns=%d safety_events=%d refresh_tokens=%d sessions=%d staff_sessions=%d staff_invites=%d link_codes=%d devices=%d more=%t",
		r.Turns, r.SafetyEvents, r.RefreshTokens, r.Sessions, r.StaffSessions, r.StaffInvites, r.LinkCodes, r.Devices, r.More)
}
