package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Moderation reviews: a moderator (or administrator) records the outcome
// of a safety event after looking at it, so the queue of flagged turns has
// an end — open events are the work left — and false positives are
// counted per policy version. A review holds no free text (no note that
// could carry a child's words or a family's details): an outcome from a
// fixed list, who and when. A later review replaces the earlier one; the
// audit log keeps every review. The state machine checks the reviewer is
// staff with a moderating role.

// KindReviewSafetyEvent is newer than the upgrade baseline (upgrade.go).
const KindReviewSafetyEvent = "review_safety_event"

// Review outcomes.
const (
	OutcomeNoAction        = "no_action"        // looked at; nothing to do
	OutcomeFalsePositive   = "false_positive"   // the policy was wrong
	OutcomeParentContacted = "parent_contacted" // the family was contacted
	OutcomeReported        = "reported"         // reported outside (e.g. to authorities)
)

// ReviewOutcomes lists the outcomes a review may record.
var ReviewOutcomes = []string{OutcomeNoAction, OutcomeFalsePositive, OutcomeParentContacted, OutcomeReported}

// ReviewSafetyEvent records a staff member's review of a safety event.
type ReviewSafetyEvent struct {
	EventID string `json:"event"`
	StaffID string `json:"staff"`
	Outcome string `json:"outcome"`
	Now     int64  `json:"at"`
}

func (ReviewSafetyEvent) Kind() string { return KindReviewSafetyEvent }
func (ReviewSafetyEvent) Version() int { return 1 }

// KindAssignSafetyEvent is newer than the upgrade baseline (upgrade.go).
const KindAssignSafetyEvent = "assign_safety_event"

// AssignSafetyEvent gives an open safety event to a moderator (Assignee),
// or takes it back (Assignee ""), so that two moderators do not work on
// the same event: the moderation queue can be split by who holds what.
// StaffID is who does it (applyAssign says who may).
type AssignSafetyEvent struct {
	EventID  string `json:"event"`
	StaffID  string `json:"staff"`
	Assignee string `json:"assignee,omitempty"`
	Now      int64  `json:"at"`
}

func (AssignSafetyEvent) Kind() string { return KindAssignSafetyEvent }
func (AssignSafetyEvent) Version() int { return 1 }

// EventAssignment is who holds a safety event (the command's result):
// AssignedTo "" when nobody does; Previous who held it before.
type EventAssignment struct {
	EventID    string `json:"event_id"`
	AssignedTo string `json:"assigned_to"`
	AssignedAt int64  `json:"assigned_at"`
	Previous   string `json:"previous"`
}

// ErrInvalidAssignee: an event assigned to someone who is not a moderator
// or administrator.
var ErrInvalidAssignee = errors.New("storage: the assignee is not a moderator or administrator")

// EventReview is a safety event's review (the command's result).
type EventReview struct {
	EventID    string `json:"event_id"`
	Outcome    string `json:"outcome"`
	ReviewedAt int64  `json:"reviewed_at"`
	ReviewedBy string `json:"reviewed_by"`
}

// moderationStatements are checked against full scans (explain_test.go).
var moderationStatements = func() []string {
	st := []string{qReviewerRole, qReviewEvent, qOpenEvents, qOpenOldest, qReviewedBy, qEventAssignment, qAssignEvent}
	for _, status := range []string{FlaggedAll, FlaggedOpen, FlaggedReviewed} {
		for _, who := range []string{"", AssigneeNone, "st_x"} {
			where, _ := flaggedWhere(FlaggedFilter{Status: status, Assignee: who})
			st = append(st, fmt.Sprintf(qFlaggedTurns, where))
		}
	}
	return st
}()

const (
	qReviewerRole    = "SELECT role FROM staff WHERE id=?"
	qReviewEvent     = "UPDATE safety_events SET reviewed_at=?, reviewed_by=?, outcome=? WHERE id=?"
	qEventAssignment = "SELECT COALESCE(assigned_to, ''), COALESCE(assigned_at, 0), reviewed_at IS NOT NULL FROM safety_events WHERE id=?"
	qAssignEvent     = "UPDATE safety_events SET assigned_to=?, assigned_at=? WHERE id=?"
	qOpenEvents      = `SELECT kind, categories, created_at, COALESCE(assigned_to, '') FROM safety_events WHERE reviewed_at IS NULL ORDER BY created_at`
	qOpenOldest      = `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM safety_events WHERE reviewed_at IS NULL`
	qReviewedBy      = `SELECT outcome, policy_version, COUNT(*) FROM safety_events
		WHERE reviewed_at >= ? GROUP BY outcome, policy_version`
)

func applyModeration(a *txApplier, c Command) (any, bool, error) {
	if ac, ok := c.(*AssignSafetyEvent); ok {
		v, err := applyAssign(a, ac)
		return v, true, err
	}
	if hc, ok := c.(*SetSafetyHold); ok {
		v, err := applySafetyHold(a, hc)
		return v, true, err
	}
	rc, ok := c.(*ReviewSafetyEvent)
	if !ok {
		return nil, false, nil
	}
	if !slices.Contains(ReviewOutcomes, rc.Outcome) {
		return nil, true, outcome(fmt.Errorf("storage: unknown review outcome %q", rc.Outcome))
	}
	role, err := moderatingRole(a, rc.StaffID)
	if err != nil {
		return nil, true, err
	}
	// An event assigned to someone else is theirs to review; an
	// administrator may still close it. (Only events assigned after every
	// member applies AssignSafetyEvent have an assignee, so every binary
	// that can meet this check applies it.)
	var assignee string
	var assignedAt int64
	var reviewed bool
	switch err := a.row(qEventAssignment, rc.EventID).Scan(&assignee, &assignedAt, &reviewed); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, true, outcome(ErrNotFound)
	case err != nil:
		return nil, true, err
	}
	if assignee != "" && assignee != rc.StaffID && role != RoleAdmin {
		return nil, true, outcome(ErrConflict)
	}
	res, err := a.exec(qReviewEvent, rc.Now, rc.StaffID, rc.Outcome, rc.EventID)
	if err != nil {
		return nil, true, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, true, outcome(ErrNotFound)
	}
	return EventReview{EventID: rc.EventID, Outcome: rc.Outcome, ReviewedAt: rc.Now, ReviewedBy: rc.StaffID}, true, nil
}

// moderatingRole returns the role of a staff member who moderates
// (moderator or administrator); anyone else is ErrForbidden.
func moderatingRole(a *txApplier, staffID string) (Role, error) {
	var role string
	err := a.row(qReviewerRole, staffID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && Role(role) != RoleModerator && Role(role) != RoleAdmin) {
		return "", outcome(ErrForbidden)
	}
	if err != nil {
		return "", err
	}
	return Role(role), nil
}

// applyAssign assigns an open safety event to a moderator, or releases
// it. A moderator may take an event nobody holds and give back their own;
// an administrator may assign an open event to any moderator or
// administrator, take it from one, or release it. Reviewed events are
// closed (ErrConflict); so is an event someone else holds, for a
// moderator. Assigning an event to whoever holds it changes nothing.
func applyAssign(a *txApplier, ac *AssignSafetyEvent) (EventAssignment, error) {
	role, err := moderatingRole(a, ac.StaffID)
	if err != nil {
		return EventAssignment{}, err
	}
	var held string
	var heldAt int64
	var reviewed bool
	switch err := a.row(qEventAssignment, ac.EventID).Scan(&held, &heldAt, &reviewed); {
	case errors.Is(err, sql.ErrNoRows):
		return EventAssignment{}, outcome(ErrNotFound)
	case err != nil:
		return EventAssignment{}, err
	}
	if reviewed {
		return EventAssignment{}, outcome(ErrConflict)
	}
	if role != RoleAdmin {
		if ac.Assignee != "" && ac.Assignee != ac.StaffID {
			return EventAssignment{}, outcome(ErrForbidden) // a moderator assigns only themselves
		}
		if held != "" && held != ac.StaffID {
			return EventAssignment{}, outcome(ErrConflict)
		}
	}
	if ac.Assignee == held {
		return EventAssignment{EventID: ac.EventID, AssignedTo: held, AssignedAt: heldAt, Previous: held}, nil // no change
	}
	if ac.Assignee == "" {
		if _, err := a.exec(qAssignEvent, nil, nil, ac.EventID); err != nil {
			return EventAssignment{}, err
		}
		return EventAssignment{EventID: ac.EventID, Previous: held}, nil
	}
	if ac.Assignee != ac.StaffID {
		if _, err := moderatingRole(a, ac.Assignee); err != nil {
			return EventAssignment{}, outcome(ErrInvalidAssignee)
		}
	}
	if _, err := a.exec(qAssignEvent, ac.Assignee, ac.Now, ac.EventID); err != nil {
		return EventAssignment{}, err
	}
	return EventAssignment{EventID: ac.EventID, AssignedTo: ac.Assignee, AssignedAt: ac.Now, Previous: held}, nil
}

func auditOfModeration(c Command, result any) (AuditEvent, bool) {
	if ev, ok := auditOfSafetyHold(c, result); ok {
		return ev, true
	}
	if ac, ok := c.(*AssignSafetyEvent); ok {
		r, done := result.(EventAssignment)
		if !done || r.AssignedTo == r.Previous {
			return AuditEvent{}, false // nothing changed
		}
		action := "assign_safety_event:staff:" + r.AssignedTo
		if r.AssignedTo == "" {
			action = "release_safety_event:staff:" + r.Previous
		}
		return AuditEvent{At: ac.Now, Actor: "staff:" + ac.StaffID, Action: action, Target: "event:" + ac.EventID}, true
	}
	if rc, ok := c.(*ReviewSafetyEvent); ok {
		if _, done := result.(EventReview); done {
			return AuditEvent{At: rc.Now, Actor: "staff:" + rc.StaffID, Action: "review_safety_event:" + rc.Outcome, Target: "event:" + rc.EventID}, true
		}
	}
	return AuditEvent{}, false
}

// ModerationSummary is the moderation queue in numbers (no content).
type ModerationSummary struct {
	Open int `json:"open"`
	// OpenUnassigned counts the open events nobody holds; OpenByAssignee
	// the others by the staff ID holding them.
	OpenUnassigned int            `json:"open_unassigned"`
	OpenByAssignee map[string]int `json:"open_by_assignee"`
	OpenByKind     map[string]int `json:"open_by_kind"`
	OpenByCat      map[string]int `json:"open_by_category"`
	OldestOpenAt   int64          `json:"-"` // 0: none open
	ReviewedSince  int64          `json:"-"`
	// Reviewed counts the reviews since ReviewedSince by outcome, and the
	// false positives by the policy version that flagged them.
	Reviewed             map[string]int `json:"reviewed_by_outcome"`
	FalsePositivesPolicy map[string]int `json:"false_positives_by_policy"`
}

// ModerationSummary counts the open safety events (by kind and category)
// and the reviews since `since` (by outcome; false positives by policy
// version). Moderators and administrators only; it reads no content.
func (db *DB) ModerationSummary(ctx context.Context, actor Actor, since int64) (ModerationSummary, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	s := ModerationSummary{OpenByKind: map[string]int{}, OpenByCat: map[string]int{}, OpenByAssignee: map[string]int{}, ReviewedSince: since,
		Reviewed: map[string]int{}, FalsePositivesPolicy: map[string]int{}}
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return s, ErrForbidden
	}
	rows, err := db.query(ctx, qOpenEvents)
	if err != nil {
		return s, fmt.Errorf("storage: moderation summary: %w", err)
	}
	for rows.Next() {
		var kind, cats, holder string
		var at int64
		if err := rows.Scan(&kind, &cats, &at, &holder); err != nil {
			rows.Close()
			return s, fmt.Errorf("storage: moderation summary: %w", err)
		}
		if s.Open == 0 {
			s.OldestOpenAt = at
		}
		s.Open++
		s.OpenByKind[kind]++
		if holder == "" {
			s.OpenUnassigned++
		} else {
			s.OpenByAssignee[holder]++
		}
		for _, c := range strings.Split(cats, ",") {
			if c != "" {
				s.OpenByCat[c]++
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("storage: moderation summary: %w", err)
	}
	rows, err = db.query(ctx, qReviewedBy, since)
	if err != nil {
		return s, fmt.Errorf("storage: moderation summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oc, version string
		var n int
		if err := rows.Scan(&oc, &version, &n); err != nil {
			return s, fmt.Errorf("storage: moderation summary: %w", err)
		}
		s.Reviewed[oc] += n
		if oc == OutcomeFalsePositive {
			s.FalsePositivesPolicy[version] += n
		}
	}
	return s, rows.Err()
}

// OpenSafetyEvents reports how many safety events wait for a review and
// when the oldest was raised (0: none), for the node's metrics.
func (db *DB) OpenSafetyEvents(ctx context.Context) (n int, oldest int64, err error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if err := db.queryRow(ctx, qOpenOldest).Scan(&n, &oldest); err != nil {
		return 0, 0, fmt.Errorf("storage: open safety events: %w", err)
	}
	return n, oldest, nil
}

// UsageTotals are the service's use in aggregate (charter §6: analytics
// are aggregates without identifiers), for the staff dashboard.
type UsageTotals struct {
	Families       int            `json:"families"`
	Children       int            `json:"children"`
	ChildrenByTier map[string]int `json:"children_by_tier"`
	DevicesLinked  int            `json:"devices_linked"`
	// Since the given time (the last 24 hours on the dashboard).
	Turns          int `json:"turns"`
	ActiveChildren int `json:"active_children"`
	SafetyEvents   int `json:"safety_events"`
}

const (
	qUsageFamilies = "SELECT COUNT(*) FROM families"
	qUsageChildren = "SELECT age_tier, COUNT(*) FROM children GROUP BY age_tier"
	qUsageDevices  = "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL"
	qUsageTurns    = "SELECT COUNT(*), COUNT(DISTINCT child_id) FROM turns WHERE created_at >= ?"
	qUsageEvents   = "SELECT COUNT(*) FROM safety_events WHERE created_at >= ?"
)

// usageStatements scan whole tables by design (counts for the staff
// dashboard, which caches them for a minute): explain_test.go allows them.
var usageStatements = [...]string{qUsageFamilies, qUsageChildren, qUsageDevices, qUsageTurns, qUsageEvents, qDailyTurns, qDailyEvents, qDailyIntents}

// UsageTotals counts families, children by age tier, linked devices, and
// the turns, children who chatted and safety events since `since`. Staff
// only; it reads no personal data.
func (db *DB) UsageTotals(ctx context.Context, actor Actor, since int64) (UsageTotals, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	u := UsageTotals{ChildrenByTier: map[string]int{}}
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return u, ErrForbidden
	}
	wrap := func(err error) error { return fmt.Errorf("storage: usage totals: %w", err) }
	if err := db.queryRow(ctx, qUsageFamilies).Scan(&u.Families); err != nil {
		return u, wrap(err)
	}
	rows, err := db.query(ctx, qUsageChildren)
	if err != nil {
		return u, wrap(err)
	}
	for rows.Next() {
		var tier string
		var n int
		if err := rows.Scan(&tier, &n); err != nil {
			rows.Close()
			return u, wrap(err)
		}
		u.ChildrenByTier[tier] = n
		u.Children += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return u, wrap(err)
	}
	if err := db.queryRow(ctx, qUsageDevices).Scan(&u.DevicesLinked); err != nil {
		return u, wrap(err)
	}
	if err := db.queryRow(ctx, qUsageTurns, since).Scan(&u.Turns, &u.ActiveChildren); err != nil {
		return u, wrap(err)
	}
	if err := db.queryRow(ctx, qUsageEvents, since).Scan(&u.SafetyEvents); err != nil {
		return u, wrap(err)
	}
	return u, nil
}

// SafetyEventAssignment reads who holds a safety event and whether it was
// reviewed (to explain a refused assignment or review). Moderators and
// administrators only.
func (db *DB) SafetyEventAssignment(ctx context.Context, actor Actor, eventID string) (EventAssignment, bool, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return EventAssignment{}, false, ErrForbidden
	}
	r := EventAssignment{EventID: eventID}
	var reviewed bool
	err := db.queryRow(ctx, qEventAssignment, eventID).Scan(&r.AssignedTo, &r.AssignedAt, &reviewed)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, ErrNotFound
	}
	if err != nil {
		return r, false, fmt.Errorf("storage: safety event assignment: %w", err)
	}
	return r, reviewed, nil
}
