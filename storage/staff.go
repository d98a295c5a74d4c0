package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Staff: administrators and moderators. They are not family members: they
// never see a child's history, only what their role's endpoints show, and
// every read of a child's content they make is audit-logged. Staff must use
// TOTP (the API refuses a session until it is enrolled); codes are
// single-use: the last accepted time step is stored and an equal or older
// one is refused by the state machine, on every node alike.

// Staff roles.
const (
	RoleAdmin     Role = "admin"
	RoleModerator Role = "moderator"
)

// Staff command kinds.
const (
	KindCreateStaff       = "create_staff"
	KindStaffTOTPSecret   = "staff_totp_secret" // #nosec G101 -- a command kind's name, not a credential
	KindStaffLogin        = "staff_login"
	KindRevokeStaffTokens = "revoke_staff_sessions"
	KindCreateStaffInvite = "create_staff_invite"
	KindRecordAccess      = "record_access"
)

const staffMigration = `
CREATE TABLE staff (
	id             TEXT PRIMARY KEY,
	role           TEXT NOT NULL CHECK (role IN ('admin','moderator')),
	email_bidx     BLOB NOT NULL UNIQUE,
	email_sealed   BLOB NOT NULL,
	password_hash  TEXT NOT NULL,
	totp_sealed    BLOB,
	totp_enabled   INTEGER NOT NULL DEFAULT 0,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	invited_by     TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE TABLE staff_recovery_codes (
	hash     BLOB PRIMARY KEY,
	staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	used_at  INTEGER
);
CREATE INDEX staff_recovery_staff ON staff_recovery_codes(staff_id);
CREATE TABLE staff_sessions (
	id         TEXT PRIMARY KEY,
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);
CREATE TABLE staff_invites (
	hash       BLOB PRIMARY KEY,
	role       TEXT NOT NULL CHECK (role IN ('admin','moderator')),
	invited_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
`

// CreateStaff adds an administrator or moderator. Bootstrap creates the
// first administrator and is refused once any staff account exists; any
// other creation must redeem a live invitation for the same role.
type CreateStaff struct {
	StaffID      string `json:"staff"`
	Role         Role   `json:"role"`
	EmailIndex   []byte `json:"email_bidx"`
	EmailSealed  []byte `json:"email"`
	PasswordHash string `json:"pw"`
	Bootstrap    bool   `json:"bootstrap,omitempty"`
	InviteHash   []byte `json:"invite,omitempty"`
	Now          int64  `json:"at"`
}

func (CreateStaff) Kind() string { return KindCreateStaff }
func (CreateStaff) Version() int { return 1 }

// StaffTOTPSecret stores a new (not yet confirmed) TOTP secret, sealed by
// the receiving node. It is refused once TOTP is enabled: re-enrolment
// needs an administrator (not built yet) rather than a password alone.
type StaffTOTPSecret struct {
	StaffID string `json:"staff"`
	Sealed  []byte `json:"secret"`
	Now     int64  `json:"at"`
}

func (StaffTOTPSecret) Kind() string { return KindStaffTOTPSecret }
func (StaffTOTPSecret) Version() int { return 1 }

// StaffLogin completes a staff login after the second factor: a TOTP code
// accepted at Step (refused if Step is not after the last accepted one), or
// a recovery code (refused if unknown or used). Confirm enables TOTP and
// stores the recovery code hashes (first login). On success a session
// starts and the account's failed-login count is cleared.
type StaffLogin struct {
	StaffID        string   `json:"staff"`
	Step           int64    `json:"step,omitempty"`
	RecoveryHash   []byte   `json:"recovery,omitempty"`
	Confirm        bool     `json:"confirm,omitempty"`
	RecoveryHashes [][]byte `json:"recovery_codes,omitempty"`
	SessionID      string   `json:"session"`
	EmailIndex     []byte   `json:"email_bidx"`
	Now            int64    `json:"at"`
	ExpiresAt      int64    `json:"exp"`
}

func (StaffLogin) Kind() string { return KindStaffLogin }
func (StaffLogin) Version() int { return 1 }

// StaffLoginResult says whether the second factor was accepted. A refusal
// is a result (not an error) so every node reaches it and nothing is written.
type StaffLoginResult struct {
	Refused string // "" on success; "replayed", "bad_recovery_code", "not_enrolled", "no_account"
}

// RevokeStaffSessions ends one staff session, or all of a staff member's.
type RevokeStaffSessions struct {
	StaffID   string `json:"staff"`
	SessionID string `json:"session,omitempty"`
	Now       int64  `json:"at"`
}

func (RevokeStaffSessions) Kind() string { return KindRevokeStaffTokens }
func (RevokeStaffSessions) Version() int { return 1 }

// CreateStaffInvite records a single-use invitation (its hash) an
// administrator issued for a new administrator or moderator.
type CreateStaffInvite struct {
	AdminID   string `json:"admin"`
	Role      Role   `json:"role"`
	Hash      []byte `json:"hash"`
	Now       int64  `json:"at"`
	ExpiresAt int64  `json:"exp"`
}

func (CreateStaffInvite) Kind() string { return KindCreateStaffInvite }
func (CreateStaffInvite) Version() int { return 1 }

// RecordAccess audit-logs a read of children's content by someone who is
// neither the child nor its parent (who, what, when, why). The read is
// served only after this entry committed.
type RecordAccess struct {
	Actor  string `json:"actor"`  // e.g. "moderator:st_…"
	What   string `json:"what"`   // e.g. "flagged_excerpts"
	Target string `json:"target"` // e.g. "events:ev_…,ev_…" or "child:ch_…"
	Reason string `json:"reason"`
	Now    int64  `json:"at"`
}

func (RecordAccess) Kind() string { return KindRecordAccess }
func (RecordAccess) Version() int { return 1 }

func applyStaff(a *txApplier, c Command) (any, bool, error) {
	switch c := c.(type) {
	case *CreateStaff:
		return nil, true, applyCreateStaff(a, c)
	case *StaffTOTPSecret:
		res, err := a.exec("UPDATE staff SET totp_sealed=? WHERE id=? AND totp_enabled=0", c.Sealed, c.StaffID)
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, outcome(ErrConflict)
		}
		return nil, true, nil
	case *StaffLogin:
		v, err := applyStaffLogin(a, c)
		return v, true, err
	case *RevokeStaffSessions:
		var err error
		if c.SessionID != "" {
			_, err = a.exec("UPDATE staff_sessions SET revoked_at=? WHERE id=? AND staff_id=? AND revoked_at IS NULL", c.Now, c.SessionID, c.StaffID)
		} else {
			_, err = a.exec("UPDATE staff_sessions SET revoked_at=? WHERE staff_id=? AND revoked_at IS NULL", c.Now, c.StaffID)
		}
		return nil, true, err
	case *CreateStaffInvite:
		var n int
		if err := a.row("SELECT COUNT(*) FROM staff WHERE id=? AND role='admin'", c.AdminID).Scan(&n); err != nil {
			return nil, true, err
		}
		if n == 0 {
			return nil, true, outcome(ErrNotFound)
		}
		_, err := a.exec("INSERT INTO staff_invites(hash, role, invited_by, created_at, expires_at) VALUES (?,?,?,?,?)",
			c.Hash, string(c.Role), c.AdminID, c.Now, c.ExpiresAt)
		return nil, true, err
	case *RecordAccess:
		return nil, true, nil // the audit entry is the whole effect
	}
	return nil, false, nil
}

func applyCreateStaff(a *txApplier, c *CreateStaff) error {
	if c.Role != RoleAdmin && c.Role != RoleModerator {
		return outcome(fmt.Errorf("storage: unknown staff role %q", c.Role))
	}
	invitedBy := "bootstrap"
	if c.Bootstrap {
		var n int
		if err := a.row("SELECT COUNT(*) FROM staff").Scan(&n); err != nil {
			return err
		}
		if n > 0 || c.Role != RoleAdmin {
			return outcome(ErrConflict) // bootstrap is one-time
		}
	} else {
		var role string
		var exp int64
		var used sql.NullInt64
		err := a.row("SELECT role, invited_by, expires_at, used_at FROM staff_invites WHERE hash=?", c.InviteHash).
			Scan(&role, &invitedBy, &exp, &used)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (used.Valid || exp <= c.Now || Role(role) != c.Role)) {
			return outcome(ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := a.exec("UPDATE staff_invites SET used_at=? WHERE hash=?", c.Now, c.InviteHash); err != nil {
			return err
		}
	}
	var n int
	if err := a.row("SELECT COUNT(*) FROM staff WHERE email_bidx=?", c.EmailIndex).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return outcome(ErrConflict)
	}
	_, err := a.exec(`INSERT INTO staff(id, role, email_bidx, email_sealed, password_hash, invited_by, created_at)
		VALUES (?,?,?,?,?,?,?)`, c.StaffID, string(c.Role), c.EmailIndex, c.EmailSealed, c.PasswordHash, invitedBy, c.Now)
	return err
}

func applyStaffLogin(a *txApplier, c *StaffLogin) (any, error) {
	var enabled bool
	var last int64
	var hasSecret bool
	err := a.row("SELECT totp_enabled, totp_last_step, totp_sealed IS NOT NULL FROM staff WHERE id=?", c.StaffID).
		Scan(&enabled, &last, &hasSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return StaffLoginResult{Refused: "no_account"}, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case c.RecoveryHash != nil:
		if !enabled {
			return StaffLoginResult{Refused: "not_enrolled"}, nil
		}
		res, err := a.exec("UPDATE staff_recovery_codes SET used_at=? WHERE hash=? AND staff_id=? AND used_at IS NULL",
			c.Now, c.RecoveryHash, c.StaffID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return StaffLoginResult{Refused: "bad_recovery_code"}, nil
		}
	default:
		if !hasSecret || (!enabled && !c.Confirm) {
			return StaffLoginResult{Refused: "not_enrolled"}, nil
		}
		if c.Step <= last {
			return StaffLoginResult{Refused: "replayed"}, nil
		}
		if _, err := a.exec("UPDATE staff SET totp_last_step=? WHERE id=?", c.Step, c.StaffID); err != nil {
			return nil, err
		}
		if c.Confirm && !enabled {
			if _, err := a.exec("UPDATE staff SET totp_enabled=1 WHERE id=?", c.StaffID); err != nil {
				return nil, err
			}
			if _, err := a.exec("DELETE FROM staff_recovery_codes WHERE staff_id=?", c.StaffID); err != nil {
				return nil, err
			}
			for _, h := range c.RecoveryHashes {
				if _, err := a.exec("INSERT INTO staff_recovery_codes(hash, staff_id) VALUES (?,?)", h, c.StaffID); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, err := a.exec("INSERT INTO staff_sessions(id, staff_id, created_at, expires_at) VALUES (?,?,?,?)",
		c.SessionID, c.StaffID, c.Now, c.ExpiresAt); err != nil {
		return nil, err
	}
	if _, err := a.exec(qClearLoginFailures, c.EmailIndex); err != nil {
		return nil, err
	}
	return StaffLoginResult{}, nil
}

func auditOfStaff(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *CreateStaff:
		action := "staff_created_by_invite"
		if c.Bootstrap {
			action = "staff_bootstrap_admin"
		}
		return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: action, Target: "role:" + string(c.Role)}, true
	case *StaffTOTPSecret:
		return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "mfa_enrolment_started", Target: "totp"}, true
	case *StaffLogin:
		r, _ := result.(StaffLoginResult)
		switch {
		case r.Refused != "":
			return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "mfa_refused_" + r.Refused, Target: "session:" + c.SessionID}, true
		case c.Confirm:
			return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "mfa_enabled_login", Target: "session:" + c.SessionID}, true
		case c.RecoveryHash != nil:
			return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "login_recovery_code", Target: "session:" + c.SessionID}, true
		}
		return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "login_mfa", Target: "session:" + c.SessionID}, true
	case *RevokeStaffSessions:
		target := "session:" + c.SessionID
		if c.SessionID == "" {
			target = "all_sessions"
		}
		return AuditEvent{At: c.Now, Actor: "staff:" + c.StaffID, Action: "logout", Target: target}, true
	case *CreateStaffInvite:
		return AuditEvent{At: c.Now, Actor: "staff:" + c.AdminID, Action: "staff_invited", Target: "role:" + string(c.Role)}, true
	case *RecordAccess:
		return AuditEvent{At: c.Now, Actor: c.Actor, Action: "read_" + c.What, Target: c.Target + " reason:" + c.Reason}, true
	}
	return auditOfPrivacy(c, result)
}

// StaffCredentials is what a staff login needs.
type StaffCredentials struct {
	StaffID      string
	Role         Role
	PasswordHash string
	TOTPSealed   []byte // nil until enrolment started
	TOTPEnabled  bool
	EmailIndex   []byte
}

// StaffByEmailIndex finds a staff account for login (system actor only).
func (db *DB) StaffByEmailIndex(ctx context.Context, actor Actor, bidx []byte) (StaffCredentials, error) {
	return db.staffWhere(ctx, actor, "email_bidx=?", bidx)
}

// StaffByID loads a staff account (system actor only).
func (db *DB) StaffByID(ctx context.Context, actor Actor, id string) (StaffCredentials, error) {
	return db.staffWhere(ctx, actor, "id=?", id)
}

func (db *DB) staffWhere(ctx context.Context, actor Actor, where string, arg any) (StaffCredentials, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleSystem {
		return StaffCredentials{}, ErrForbidden
	}
	var s StaffCredentials
	var role string
	err := db.queryRow(ctx, "SELECT id, role, password_hash, totp_sealed, totp_enabled, email_bidx FROM staff WHERE "+where, arg).
		Scan(&s.StaffID, &role, &s.PasswordHash, &s.TOTPSealed, &s.TOTPEnabled, &s.EmailIndex)
	s.Role = Role(role)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("storage: staff: %w", err)
	}
	return s, nil
}

// StaffSessionActive reports whether a staff member's session is live and
// their role is still the one the token claims.
func (db *DB) StaffSessionActive(ctx context.Context, actor Actor, nowMillis int64) (bool, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleAdmin && actor.Role != RoleModerator {
		return false, ErrForbidden
	}
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
		WHERE ss.id=? AND ss.staff_id=? AND ss.revoked_at IS NULL AND ss.expires_at > ? AND s.role=? AND s.totp_enabled=1`,
		actor.SessionID, actor.ID, nowMillis, string(actor.Role)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: staff session: %w", err)
	}
	return n > 0, nil
}

// StaffMember is one row of the staff list an administrator sees.
type StaffMember struct {
	ID          string `json:"id"`
	Role        Role   `json:"role"`
	MFAEnabled  bool   `json:"mfa_enabled"`
	InvitedBy   string `json:"invited_by"`
	CreatedAtMs int64  `json:"-"`
}

// StaffList lists staff accounts (administrators only). E-mails stay sealed.
func (db *DB) StaffList(ctx context.Context, actor Actor) ([]StaffMember, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	rows, err := db.query(ctx, "SELECT id, role, totp_enabled, invited_by, created_at FROM staff ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("storage: staff list: %w", err)
	}
	defer rows.Close()
	var out []StaffMember
	for rows.Next() {
		var m StaffMember
		var role string
		if err := rows.Scan(&m.ID, &role, &m.MFAEnabled, &m.InvitedBy, &m.CreatedAtMs); err != nil {
			return nil, fmt.Errorf("storage: staff list: %w", err)
		}
		m.Role = Role(role)
		out = append(out, m)
	}
	return out, rows.Err()
}

// FlaggedTurn is a safety event with the (already policy-redacted) message
// of the turn that raised it, sealed under the family's key.
type FlaggedTurn struct {
	EventID       string
	ChildID       string
	FamilyID      string
	TurnID        string
	Kind          string
	Categories    string
	CreatedAt     int64
	MessageSealed []byte
	// The review, if any (moderation.go): ReviewedAt 0 means open.
	ReviewedAt int64
	ReviewedBy string
	Outcome    string
	// Who holds the event (AssignSafetyEvent): "" when nobody does.
	AssignedTo string
	AssignedAt int64
}

// Which flagged turns FlaggedTurnsIn lists.
const (
	FlaggedAll      = "all"
	FlaggedOpen     = "open"     // not reviewed yet: the moderation queue
	FlaggedReviewed = "reviewed" // reviewed
)

// AssigneeNone selects the events nobody holds (FlaggedFilter.Assignee).
const AssigneeNone = "none"

// FlaggedFilter selects the flagged turns FlaggedTurnsIn lists: by status
// (FlaggedAll, FlaggedOpen, FlaggedReviewed) and by who holds the event
// (Assignee: "" anyone or nobody, AssigneeNone nobody, else a staff ID).
type FlaggedFilter struct {
	Status   string
	Assignee string
}

// FlaggedTurns is FlaggedTurnsIn for every event, open or reviewed.
func (db *DB) FlaggedTurns(ctx context.Context, actor Actor, beforeMillis int64, limit int) ([]FlaggedTurn, error) {
	return db.FlaggedTurnsIn(ctx, actor, FlaggedFilter{Status: FlaggedAll}, beforeMillis, limit)
}

const qFlaggedTurns = `SELECT e.id, e.child_id, c.family_id, e.turn_id, e.kind, e.categories, e.created_at, t.message_sealed,
		COALESCE(e.reviewed_at, 0), COALESCE(e.reviewed_by, ''), COALESCE(e.outcome, ''),
		COALESCE(e.assigned_to, ''), COALESCE(e.assigned_at, 0)
		FROM safety_events e JOIN turns t ON t.id = e.turn_id JOIN children c ON c.id = e.child_id
		WHERE e.created_at < ? %s ORDER BY e.created_at DESC, e.id DESC LIMIT ?`

// flaggedWhere is the filter's condition for qFlaggedTurns; a staff ID in
// Assignee is a parameter after the cursor.
func flaggedWhere(f FlaggedFilter) (string, error) {
	var where []string
	switch f.Status {
	case FlaggedAll, "":
	case FlaggedOpen:
		where = append(where, "AND e.reviewed_at IS NULL")
	case FlaggedReviewed:
		where = append(where, "AND e.reviewed_at IS NOT NULL")
	default:
		return "", fmt.Errorf("storage: flagged turns: unknown status %q", f.Status)
	}
	switch f.Assignee {
	case "":
	case AssigneeNone:
		where = append(where, "AND e.assigned_to IS NULL")
	default:
		where = append(where, "AND e.assigned_to = ?")
	}
	return strings.Join(where, " "), nil
}

// FlaggedTurnsIn lists the most recent safety events for moderation —
// every one, the open ones or the reviewed ones, held by anyone, nobody
// or one staff member (FlaggedFilter) — newest first, before the cursor
// (created_at) when given. Only moderators and administrators may run it;
// the API audit-logs every call before returning any content.
func (db *DB) FlaggedTurnsIn(ctx context.Context, actor Actor, f FlaggedFilter, beforeMillis int64, limit int) ([]FlaggedTurn, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	where, err := flaggedWhere(f)
	if err != nil {
		return nil, err
	}
	args := []any{beforeMillis}
	if f.Assignee != "" && f.Assignee != AssigneeNone {
		args = append(args, f.Assignee)
	}
	rows, err := db.query(ctx, fmt.Sprintf(qFlaggedTurns, where), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("storage: flagged turns: %w", err)
	}
	defer rows.Close()
	var out []FlaggedTurn
	for rows.Next() {
		var f FlaggedTurn
		if err := rows.Scan(&f.EventID, &f.ChildID, &f.FamilyID, &f.TurnID, &f.Kind, &f.Categories, &f.CreatedAt, &f.MessageSealed,
			&f.ReviewedAt, &f.ReviewedBy, &f.Outcome, &f.AssignedTo, &f.AssignedAt); err != nil {
			return nil, fmt.Errorf("storage: flagged turns: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func newStaffCommand(kind string) Command {
	switch kind {
	case KindCreateStaff:
		return &CreateStaff{}
	case KindStaffTOTPSecret:
		return &StaffTOTPSecret{}
	case KindStaffLogin:
		return &StaffLogin{}
	case KindRevokeStaffTokens:
		return &RevokeStaffSessions{}
	case KindCreateStaffInvite:
		return &CreateStaffInvite{}
	case KindRecordAccess:
		return &RecordAccess{}
	}
	return nil
}
