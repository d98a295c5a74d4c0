package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// Safety holds: a moderator's action on a child's account. After an
// escalation (a grooming pattern, a disclosure) a moderator may need the
// child's chat to stop until the family has been reached: a hold makes
// every child route answer that Daisy is resting (the API's child
// middleware reads it with the device check), shows the parent that the
// profile is on hold, and keeps everything already stored. Only moderators
// and administrators place or lift one; the reason is from a fixed list
// (no free text: nothing a child wrote can end up in it); every change is
// audit-logged.

// KindSetSafetyHold is newer than the upgrade baseline (upgrade.go).
const KindSetSafetyHold = "set_safety_hold"

// Hold reasons.
const (
	HoldUnderReview          = "under_review"           // a moderator is looking into an escalation
	HoldParentContactPending = "parent_contact_pending" // waiting until the family has been reached
)

// HoldReasons lists the reasons a hold may give.
var HoldReasons = []string{HoldUnderReview, HoldParentContactPending}

// SetSafetyHold places a hold on a child (Reason) or lifts it (Reason "").
// StaffID is the moderator or administrator who does it.
type SetSafetyHold struct {
	ChildID string `json:"child"`
	StaffID string `json:"staff"`
	Reason  string `json:"reason,omitempty"`
	Now     int64  `json:"at"`
}

func (SetSafetyHold) Kind() string { return KindSetSafetyHold }
func (SetSafetyHold) Version() int { return 1 }

// SafetyHold is a child's hold after the command: Reason "" when there is
// none; Previous the reason before ("" when there was none).
type SafetyHold struct {
	ChildID  string `json:"child_id"`
	Reason   string `json:"reason"`
	Since    int64  `json:"since"`
	By       string `json:"by"`
	Previous string `json:"previous"`
}

const (
	qChildHold = "SELECT COALESCE(hold_reason, ''), COALESCE(hold_at, 0), COALESCE(hold_by, '') FROM children WHERE id=?"
	qSetHold   = "UPDATE children SET hold_reason=?, hold_at=?, hold_by=? WHERE id=?"
)

// holdStatements are checked against full scans (explain_test.go).
var holdStatements = [...]string{qChildHold, qSetHold}

func applySafetyHold(a *txApplier, c *SetSafetyHold) (SafetyHold, error) {
	if c.Reason != "" && !slices.Contains(HoldReasons, c.Reason) {
		return SafetyHold{}, outcome(fmt.Errorf("storage: unknown safety hold reason %q", c.Reason))
	}
	if _, err := moderatingRole(a, c.StaffID); err != nil {
		return SafetyHold{}, err
	}
	var cur SafetyHold
	switch err := a.row(qChildHold, c.ChildID).Scan(&cur.Reason, &cur.Since, &cur.By); {
	case errors.Is(err, sql.ErrNoRows):
		return SafetyHold{}, outcome(ErrNotFound)
	case err != nil:
		return SafetyHold{}, err
	}
	cur.ChildID, cur.Previous = c.ChildID, cur.Reason
	if c.Reason == cur.Reason {
		return cur, nil // no change
	}
	next := SafetyHold{ChildID: c.ChildID, Reason: c.Reason, Previous: cur.Reason}
	var err error
	if c.Reason == "" {
		_, err = a.exec(qSetHold, nil, nil, nil, c.ChildID)
	} else {
		next.Since, next.By = c.Now, c.StaffID
		_, err = a.exec(qSetHold, c.Reason, c.Now, c.StaffID, c.ChildID)
	}
	if err != nil {
		return SafetyHold{}, err
	}
	// The child middleware's cached row holds the hold too.
	if err := touchChildDevices(a, c.ChildID); err != nil {
		return SafetyHold{}, err
	}
	return next, nil
}

func auditOfSafetyHold(c Command, result any) (AuditEvent, bool) {
	hc, ok := c.(*SetSafetyHold)
	if !ok {
		return AuditEvent{}, false
	}
	r, done := result.(SafetyHold)
	if !done || r.Reason == r.Previous {
		return AuditEvent{}, false // refused, or nothing changed
	}
	action := "place_safety_hold:" + r.Reason
	if r.Reason == "" {
		action = "lift_safety_hold:" + r.Previous
	}
	return AuditEvent{At: hc.Now, Actor: "staff:" + hc.StaffID, Action: action, Target: "child:" + hc.ChildID}, true
}
