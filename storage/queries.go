package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is what an actor is.
type Role string

// Roles known to storage.
const (
	RoleParent Role = "parent"
	RoleChild  Role = "child"
	RoleSystem Role = "system"
)

// Actor is who a query runs for. Every read query takes one and scopes its SQL to it.
type Actor struct {
	Role      Role
	ID        string // parent ID or child ID
	FamilyID  string
	DeviceID  string // child devices only
	SessionID string // parents: the login session
}

// ErrForbidden is returned when an actor kind may not run a query at all.
var ErrForbidden = errors.New("storage: actor may not perform this read")

// ParentCredentials is what login needs.
type ParentCredentials struct {
	ParentID     string
	FamilyID     string
	PasswordHash string
}

// ParentByEmailIndex finds a parent for login by blind index (system actor only).
func (db *DB) ParentByEmailIndex(ctx context.Context, actor Actor, bidx []byte) (ParentCredentials, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleSystem {
		return ParentCredentials{}, ErrForbidden
	}
	var p ParentCredentials
	err := db.queryRow(ctx, "SELECT id, family_id, password_hash FROM parents WHERE email_bidx=?", bidx).
		Scan(&p.ParentID, &p.FamilyID, &p.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("storage: parent by email: %w", err)
	}
	return p, nil
}

// ChildRow is a child profile as stored (nickname sealed).
type ChildRow struct {
	ID             string
	FamilyID       string
	NicknameSealed []byte
	AgeTier        string
	CreatedAt      int64
	// ConsentID names the parental consent in force ("" = none; consent.go).
	ConsentID string
	// HoldReason is the safety hold a moderator placed ("" = none;
	// hold.go), HoldAt since when.
	HoldReason string
	HoldAt     int64
}

// OnHold reports whether a moderator's safety hold stops the child's chat.
func (c ChildRow) OnHold() bool { return c.HoldReason != "" }

// NeedsConsent reports whether the child may not chat for want of parental
// consent (under 13, none in force).
func (c ChildRow) NeedsConsent() bool { return UnderConsentAge(c.AgeTier) && c.ConsentID == "" }

const childCols = "c.id, c.family_id, c.nickname_sealed, c.age_tier, c.created_at, c.consent_id, COALESCE(c.hold_reason, ''), COALESCE(c.hold_at, 0)"

func scanChild(s interface{ Scan(...any) error }) (ChildRow, error) {
	var c ChildRow
	err := s.Scan(&c.ID, &c.FamilyID, &c.NicknameSealed, &c.AgeTier, &c.CreatedAt, &c.ConsentID, &c.HoldReason, &c.HoldAt)
	return c, err
}

// Child returns one child visible to the actor: a parent sees children of
// their own family, a child sees only itself. Anything else is ErrNotFound.
func (db *DB) Child(ctx context.Context, actor Actor, childID string) (ChildRow, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	return db.child(ctx, actor, childID)
}

func (db *DB) child(ctx context.Context, actor Actor, childID string) (ChildRow, error) {
	var (
		row *timedRow
		key string
		tok cacheToken
	)
	if actor.Role == RoleChild {
		// Every child request checks its device: the hottest read there is.
		key = keyChildDevice(childID, actor.DeviceID)
		var v any
		var hit bool
		if v, hit, tok = db.cache.get(key); hit && childID == actor.ID {
			return v.(ChildRow), nil
		}
	}
	switch actor.Role {
	case RoleParent:
		row = db.queryRow(ctx, "SELECT "+childCols+` FROM children c JOIN parents p ON p.family_id = c.family_id
			WHERE c.id=? AND p.id=?`, childID, actor.ID)
	case RoleChild:
		row = db.queryRow(ctx, "SELECT "+childCols+` FROM children c JOIN devices d ON d.child_id = c.id
			WHERE c.id=? AND c.id=? AND d.id=? AND d.revoked_at IS NULL`, childID, actor.ID, actor.DeviceID)
	case RoleSystem:
		row = db.queryRow(ctx, "SELECT "+childCols+" FROM children c WHERE c.id=?", childID)
	default:
		return ChildRow{}, ErrForbidden
	}
	c, err := scanChild(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("storage: child: %w", err)
	}
	if key != "" {
		db.cache.put(key, tok, c)
	}
	return c, nil
}

// Children lists the children of the parent actor's family.
func (db *DB) Children(ctx context.Context, actor Actor) ([]ChildRow, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleParent {
		return nil, ErrForbidden
	}
	rows, err := db.query(ctx, "SELECT "+childCols+` FROM children c JOIN parents p ON p.family_id = c.family_id
		WHERE p.id=? ORDER BY c.created_at, c.id`, actor.ID)
	if err != nil {
		return nil, fmt.Errorf("storage: children: %w", err)
	}
	defer rows.Close()
	var out []ChildRow
	for rows.Next() {
		c, err := scanChild(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: children: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TurnRow is a stored chat turn (texts sealed).
type TurnRow struct {
	ID            string
	ChildID       string
	Seq           int64
	CreatedAt     int64
	MessageSealed []byte
	ReplySealed   []byte
	Intent        string
	InAction      string
	InCategories  []string
	OutAction     string
	OutCategories []string
	Escalate      bool
	FailClosed    bool
	PolicyVersion string
}

// Turns returns up to limit turns of a child, newest first, with seq < beforeSeq
// (0 = from the newest). A child reads only its own turns, a parent only
// their own family's; anything else is ErrNotFound.
func (db *DB) Turns(ctx context.Context, actor Actor, childID string, beforeSeq int64, limit int) ([]TurnRow, error) {
	if limit < 1 {
		return nil, fmt.Errorf("storage: turns: limit must be positive")
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	if _, err := db.child(ctx, actor, childID); err != nil {
		return nil, err
	}
	if beforeSeq > 0 || limit > recentTurnsCap {
		return db.turns(ctx, actor, childID, beforeSeq, limit)
	}
	// The newest few (the policy's context on every chat turn): cached, and
	// kept current by the FSM as it applies turns (batchUpdates). The
	// actor's access was checked above, so the rows are the same for every
	// actor allowed to read them.
	key := keyRecentTurns(childID)
	v, hit, tok := db.cache.get(key)
	if !hit {
		rows, err := db.turns(ctx, actor, childID, 0, recentTurnsCap)
		if err != nil {
			return nil, err
		}
		v = recentTurns{rows: rows, complete: len(rows) < recentTurnsCap}
		if sealedBytes(rows) <= recentTurnsMaxBytes {
			db.cache.put(key, tok, v)
		}
	}
	r := v.(recentTurns)
	if len(r.rows) < limit && !r.complete {
		return db.turns(ctx, actor, childID, 0, limit)
	}
	return slices.Clone(r.rows[:min(limit, len(r.rows))]), nil
}

// turns reads turns from the database (the access check is the caller's).
func (db *DB) turns(ctx context.Context, actor Actor, childID string, beforeSeq int64, limit int) ([]TurnRow, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1<<62 - 1
	}
	const cols = `t.id, t.child_id, t.seq, t.created_at, t.message_sealed, t.reply_sealed, t.intent, t.in_action,
		t.in_categories, t.out_action, t.out_categories, t.escalate, t.fail_closed, t.policy_version`
	var rows *timedRows
	var err error
	switch actor.Role {
	case RoleChild:
		rows, err = db.query(ctx, "SELECT "+cols+` FROM turns t WHERE t.child_id=? AND t.child_id=? AND t.seq<?
			ORDER BY t.seq DESC LIMIT ?`, childID, actor.ID, beforeSeq, limit)
	case RoleParent:
		rows, err = db.query(ctx, "SELECT "+cols+` FROM turns t JOIN children c ON c.id = t.child_id
			JOIN parents p ON p.family_id = c.family_id WHERE t.child_id=? AND p.id=? AND t.seq<?
			ORDER BY t.seq DESC LIMIT ?`, childID, actor.ID, beforeSeq, limit)
	case RoleSystem:
		rows, err = db.query(ctx, "SELECT "+cols+` FROM turns t WHERE t.child_id=? AND t.seq<?
			ORDER BY t.seq DESC LIMIT ?`, childID, beforeSeq, limit)
	default:
		return nil, ErrForbidden
	}
	if err != nil {
		return nil, fmt.Errorf("storage: turns: %w", err)
	}
	defer rows.Close()
	var out []TurnRow
	for rows.Next() {
		var t TurnRow
		var inCats, outCats string
		if err := rows.Scan(&t.ID, &t.ChildID, &t.Seq, &t.CreatedAt, &t.MessageSealed, &t.ReplySealed, &t.Intent,
			&t.InAction, &inCats, &t.OutAction, &outCats, &t.Escalate, &t.FailClosed, &t.PolicyVersion); err != nil {
			return nil, fmt.Errorf("storage: turns: %w", err)
		}
		t.InCategories = splitList(inCats)
		t.OutCategories = splitList(outCats)
		out = append(out, t)
	}
	return out, rows.Err()
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// DeviceActive reports whether a child device is linked and not revoked.
func (db *DB) DeviceActive(ctx context.Context, deviceID, childID string) (bool, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var one int
	err := db.queryRow(ctx, "SELECT 1 FROM devices WHERE id=? AND child_id=? AND revoked_at IS NULL", deviceID, childID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: device: %w", err)
	}
	return true, nil
}

// SigningKey is a stored token-signing key.
type SigningKey struct {
	Kid           string
	PublicKey     []byte
	PrivateSealed []byte
	CreatedAt     int64
}

// SigningKeys returns all signing keys, newest first.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	v, hit, tok := db.cache.get(keySigningKeys)
	if hit {
		return slices.Clone(v.([]SigningKey)), nil
	}
	rows, err := db.query(ctx, "SELECT kid, public_key, private_sealed, created_at FROM signing_keys ORDER BY created_at DESC, kid")
	if err != nil {
		return nil, fmt.Errorf("storage: signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		if err := rows.Scan(&k.Kid, &k.PublicKey, &k.PrivateSealed, &k.CreatedAt); err != nil {
			return nil, fmt.Errorf("storage: signing keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	db.cache.put(keySigningKeys, tok, slices.Clone(out))
	return out, nil
}

// SafetyEventCount counts safety events of a kind (system view, for tests and metrics).
func (db *DB) SafetyEventCount(ctx context.Context, kind string) (int, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var n int
	err := db.queryRow(ctx, "SELECT COUNT(*) FROM safety_events WHERE kind=?", kind).Scan(&n)
	return n, err
}

// FamilyKey returns the unwrapped data key of a family, from cache or the database.
func (v *Vault) FamilyKey(ctx context.Context, familyID string) ([]byte, error) {
	v.mu.RLock()
	k, ok := v.deks[familyID]
	v.mu.RUnlock()
	if ok {
		return k, nil
	}
	var wrapped []byte
	v.db.swap.RLock()
	defer v.db.swap.RUnlock()
	err := v.db.queryRow(ctx, "SELECT wrapped_key FROM families WHERE id=?", familyID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: family key: %w", err)
	}
	k, err = v.keys.UnwrapDataKey(familyID, wrapped)
	if err != nil {
		return nil, err
	}
	v.Remember(familyID, k)
	return k, nil
}

// SessionActive reports whether a parent's login session is live (not revoked).
func (db *DB) SessionActive(ctx context.Context, parentID, sessionID string) (bool, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var one int
	err := db.queryRow(ctx, "SELECT 1 FROM sessions WHERE id=? AND parent_id=? AND revoked_at IS NULL", sessionID, parentID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: session: %w", err)
	}
	return true, nil
}

// LockedUntilMillis returns when logins for an e-mail blind index unlock (0 = not locked).
func (db *DB) LockedUntilMillis(ctx context.Context, bidx []byte) (int64, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var until int64
	err := db.queryRow(ctx, "SELECT locked_until FROM login_failures WHERE email_bidx=?", bidx).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: lockout: %w", err)
	}
	return until, nil
}

// CompanionRow is Daisy's stored per-child data. A nil StateSealed or
// Settings means it was never written (use the defaults).
type CompanionRow struct {
	ChildID     string
	StateSealed []byte // sealed under the family key, FieldAAD(FieldCompanion, ChildID)
	StateAt     int64
	// StateVersion counts writes of StateSealed (0: never written); a
	// ChatTurn with StateBase compares against it.
	StateVersion int64
	Settings     []byte // plain JSON
	SettingsAt   int64
}

// Companion returns a child's companion row, scoped like Child: a child
// reads only its own, a parent only their own family's; anything else is
// ErrNotFound. A child without a row yet gets an empty CompanionRow.
func (db *DB) Companion(ctx context.Context, actor Actor, childID string) (CompanionRow, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if _, err := db.child(ctx, actor, childID); err != nil {
		return CompanionRow{}, err
	}
	key := keyCompanion(childID)
	v, hit, tok := db.cache.get(key)
	if hit {
		return v.(CompanionRow), nil
	}
	row := CompanionRow{ChildID: childID}
	err := db.queryRow(ctx, "SELECT state_sealed, state_at, state_version, settings, settings_at FROM companions WHERE child_id=?", childID).
		Scan(&row.StateSealed, &row.StateAt, &row.StateVersion, &row.Settings, &row.SettingsAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return CompanionRow{}, fmt.Errorf("storage: companion: %w", err)
	}
	// "No row yet" is cached too: only PutChildSettings and ChatTurn create
	// one, and both invalidate this key.
	db.cache.put(key, tok, row)
	return row, nil
}

// DeviceRow is a linked child device.
type DeviceRow struct {
	ID        string
	CreatedAt int64
	RevokedAt int64 // 0 while active
}

// Devices lists the devices of a child, newest first: parents of the child's
// family only (anyone else: ErrNotFound for the child).
func (db *DB) Devices(ctx context.Context, actor Actor, childID string) ([]DeviceRow, error) {
	if actor.Role != RoleParent {
		return nil, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	if _, err := db.child(ctx, actor, childID); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, "SELECT id, created_at, COALESCE(revoked_at,0) FROM devices WHERE child_id=? ORDER BY created_at DESC, id", childID)
	if err != nil {
		return nil, fmt.Errorf("storage: devices: %w", err)
	}
	defer rows.Close()
	out := []DeviceRow{}
	for rows.Next() {
		var d DeviceRow
		if err := rows.Scan(&d.ID, &d.CreatedAt, &d.RevokedAt); err != nil {
			return nil, fmt.Errorf("storage: devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
