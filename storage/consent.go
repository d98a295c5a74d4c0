package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Parental consent (charter §6): a profile of a child under 13 may not chat
// until a parent of its family has given verifiable consent, recorded with
// its method, time and the version of the privacy notice the parent saw.
// The consents table keeps every grant and its revocation (the history a
// parent reviews and exports); children.consent_id names the one in force
// ("" = none), so the hot path reads it with the child's row. The checks
// that make consent verifiable — the consenting parent belongs to the
// child's family and has a verified e-mail address — run in the state
// machine, so every replica reaches the same answer against the same state.

// Consent command kinds (both newer than the upgrade baseline: upgrade.go).
const (
	KindGrantConsent  = "grant_consent"
	KindRevokeConsent = "revoke_consent"
)

// ConsentEmailPlus is the method this build records: consent given by the
// logged-in account holder whose e-mail address is verified, followed by a
// confirmation e-mail to that address saying how to withdraw it (the FTC's
// "e-mail plus", for data that is not disclosed to third parties; any
// third-party sharing needs its own consent, off by default).
const ConsentEmailPlus = "email_plus"

// ErrEmailUnverified: the parent's e-mail address is not verified, so a
// consent given by the account cannot be confirmed to anyone.
var ErrEmailUnverified = errors.New("the parent's e-mail address is not verified")

// UnderConsentAge reports whether an age tier's children need parental
// consent before they can chat (under 13).
func UnderConsentAge(tier string) bool { return tier == "5-8" || tier == "9-12" }

// GrantConsent records a parent's consent for one child profile. A consent
// in force is superseded (revoked at the same time by the same parent):
// that is how a parent consents again to a newer notice.
type GrantConsent struct {
	ParentID      string `json:"parent"`
	ChildID       string `json:"child"`
	ConsentID     string `json:"id"`
	Method        string `json:"method"`
	NoticeVersion string `json:"notice"`
	Now           int64  `json:"at"`
}

func (GrantConsent) Kind() string { return KindGrantConsent }
func (GrantConsent) Version() int { return 1 }

// RevokeConsent withdraws the consent in force for a child: from then on
// the child's devices are refused (until a parent consents again).
type RevokeConsent struct {
	ParentID string `json:"parent"`
	ChildID  string `json:"child"`
	Now      int64  `json:"at"`
}

func (RevokeConsent) Kind() string { return KindRevokeConsent }
func (RevokeConsent) Version() int { return 1 }

// ConsentChange is the result of both commands: the consent granted or
// revoked, and the one it superseded ("" if none).
type ConsentChange struct {
	ConsentID  string
	Superseded string
}

// ConsentRow is one recorded consent.
type ConsentRow struct {
	ID            string
	ChildID       string
	ParentID      string
	Method        string
	NoticeVersion string
	GrantedAt     int64
	RevokedAt     int64 // 0: in force
	RevokedBy     string
}

func newConsentCommand(kind string) Command {
	switch kind {
	case KindGrantConsent:
		return &GrantConsent{}
	case KindRevokeConsent:
		return &RevokeConsent{}
	}
	return nil
}

const (
	qConsentChild = `SELECT c.consent_id, p.email_verified_at IS NOT NULL FROM children c
		JOIN parents p ON p.family_id = c.family_id WHERE c.id=? AND p.id=?`
	qInsertConsent = `INSERT INTO consents(id, child_id, parent_id, method, notice_version, granted_at)
		VALUES (?, ?, ?, ?, ?, ?)`
	qEndConsent    = "UPDATE consents SET revoked_at=?, revoked_by=? WHERE id=? AND revoked_at IS NULL"
	qSetConsent    = "UPDATE children SET consent_id=? WHERE id=?"
	qChildDevices  = "SELECT id FROM devices WHERE child_id=?"
	qConsentsChild = `SELECT id, child_id, parent_id, method, notice_version, granted_at, COALESCE(revoked_at, 0), COALESCE(revoked_by, '')
		FROM consents WHERE child_id=? ORDER BY granted_at, rowid`
)

// consentStatements are the consent commands' statements (checked against
// full scans with the others: explain_test.go).
var consentStatements = [...]string{qConsentChild, qInsertConsent, qEndConsent, qSetConsent, qChildDevices, qConsentsChild}

func applyConsent(a *txApplier, c Command) (any, bool, error) {
	switch c := c.(type) {
	case *GrantConsent:
		v, err := applyGrantConsent(a, c)
		return v, true, err
	case *RevokeConsent:
		v, err := applyRevokeConsent(a, c)
		return v, true, err
	}
	return nil, false, nil
}

// consentChild reads the child's consent in force as seen by parentID
// (ErrNotFound: not a child of the parent's family).
func consentChild(a *txApplier, childID, parentID string) (current string, verified bool, err error) {
	err = a.row(qConsentChild, childID, parentID).Scan(&current, &verified)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, outcome(ErrNotFound)
	}
	return current, verified, err
}

func applyGrantConsent(a *txApplier, c *GrantConsent) (any, error) {
	current, verified, err := consentChild(a, c.ChildID, c.ParentID)
	if err != nil {
		return nil, err
	}
	if !verified {
		return nil, outcome(ErrEmailUnverified)
	}
	if c.Method != ConsentEmailPlus || c.NoticeVersion == "" || c.ConsentID == "" {
		return nil, outcome(fmt.Errorf("storage: consent method %q, notice %q, id %q: not accepted", c.Method, c.NoticeVersion, c.ConsentID))
	}
	if current != "" {
		if _, err := a.exec(qEndConsent, c.Now, c.ParentID, current); err != nil {
			return nil, err
		}
	}
	if _, err := a.exec(qInsertConsent, c.ConsentID, c.ChildID, c.ParentID, c.Method, c.NoticeVersion, c.Now); err != nil {
		return nil, err
	}
	if err := setConsent(a, c.ChildID, c.ConsentID); err != nil {
		return nil, err
	}
	return ConsentChange{ConsentID: c.ConsentID, Superseded: current}, nil
}

func applyRevokeConsent(a *txApplier, c *RevokeConsent) (any, error) {
	current, _, err := consentChild(a, c.ChildID, c.ParentID)
	if err != nil {
		return nil, err
	}
	if current == "" {
		return ConsentChange{}, nil
	}
	if _, err := a.exec(qEndConsent, c.Now, c.ParentID, current); err != nil {
		return nil, err
	}
	if err := setConsent(a, c.ChildID, ""); err != nil {
		return nil, err
	}
	return ConsentChange{ConsentID: current}, nil
}

// setConsent names the child's consent in force and invalidates the cached
// child rows of each of its devices (the child middleware's hot read holds
// the consent too).
func setConsent(a *txApplier, childID, consentID string) error {
	if _, err := a.exec(qSetConsent, consentID, childID); err != nil {
		return err
	}
	return touchChildDevices(a, childID)
}

// touchChildDevices invalidates the cached child rows of each of the
// child's devices, for a change to the children row the child middleware
// reads (consent, safety hold).
func touchChildDevices(a *txApplier, childID string) error {
	if a.touch == nil {
		return nil
	}
	rows, err := a.tx.QueryContext(a.ctx, qChildDevices, childID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var dev string
		if err := rows.Scan(&dev); err != nil {
			return err
		}
		keys = append(keys, keyChildDevice(childID, dev))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	a.touch(keys)
	return nil
}

func auditOfConsent(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *GrantConsent:
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "grant_consent", Target: "child:" + c.ChildID}, true
	case *RevokeConsent:
		if r, ok := result.(ConsentChange); ok && r.ConsentID != "" {
			return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "revoke_consent", Target: "child:" + c.ChildID}, true
		}
		return AuditEvent{}, false
	}
	return auditOfAlerts(c, result)
}

// Consents lists every consent recorded for a child of the parent actor's
// family, oldest first (ErrNotFound: no such child of the family).
func (db *DB) Consents(ctx context.Context, actor Actor, childID string) ([]ConsentRow, error) {
	if actor.Role != RoleParent {
		return nil, ErrForbidden
	}
	if _, err := db.Child(ctx, actor, childID); err != nil {
		return nil, err
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, qConsentsChild, childID)
	if err != nil {
		return nil, fmt.Errorf("storage: consents: %w", err)
	}
	defer rows.Close()
	var out []ConsentRow
	for rows.Next() {
		var r ConsentRow
		if err := rows.Scan(&r.ID, &r.ChildID, &r.ParentID, &r.Method, &r.NoticeVersion, &r.GrantedAt, &r.RevokedAt, &r.RevokedBy); err != nil {
			return nil, fmt.Errorf("storage: consents: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: consents: %w", err)
	}
	return out, nil
}
