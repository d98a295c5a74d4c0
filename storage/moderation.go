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

// EventReview is a safety event's review (the command's result).
type EventReview struct {
	EventID    string `json:"event_id"`
	Outcome    string `json:"outcome"`
	ReviewedAt int64  `json:"reviewed_at"`
	ReviewedBy string `json:"reviewed_by"`
}

// moderationStatements are checked against full scans (explain_test.go).
var moderationStatements = [...]string{qReviewerRole, qReviewEvent, qOpenEvents, qOpenOldest, qReviewedBy,
	fmt.Sprintf(qFlaggedTurns, ""), fmt.Sprintf(qFlaggedTurns, "AND e.reviewed_at IS NULL"), fmt.Sprintf(qFlaggedTurns, "AND e.reviewed_at IS NOT NULL")}

const (
	qReviewerRole = "SELECT role FROM staff WHERE id=?"
	qReviewEvent  = "UPDATE safety_events SET reviewed_at=?, reviewed_by=?, outcome=? WHERE id=?"
	qOpenEvents   = `SELECT kind, categories, created_at FROM safety_events WHERE reviewed_at IS NULL ORDER BY created_at`
	qOpenOldest   = `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM safety_events WHERE reviewed_at IS NULL`
	qReviewedBy   = `SELECT outcome, policy_version, COUNT(*) FROM safety_events
		WHERE reviewed_at >= ? GROUP BY outcome, policy_version`
)

func applyModeration(a *txApplier, c Command) (any, bool, error) {
	rc, ok := c.(*ReviewSafetyEvent)
	if !ok {
		return nil, false, nil
	}
	if !slices.Contains(ReviewOutcomes, rc.Outcome) {
		return nil, true, outcome(fmt.Errorf("storage: unknown review outcome %q", rc.Outcome))
	}
	var role string
	err := a.row(qReviewerRole, rc.StaffID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && Role(role) != RoleModerator && Role(role) != RoleAdmin) {
		return nil, true, outcome(ErrForbidden)
	}
	if err != nil {
		return nil, true, err
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

func auditOfModeration(c Command, result any) (AuditEvent, bool) {
	if rc, ok := c.(*ReviewSafetyEvent); ok {
		if _, done := result.(EventReview); done {
			return AuditEvent{At: rc.Now, Actor: "staff:" + rc.StaffID, Action: "review_safety_event:" + rc.Outcome, Target: "event:" + rc.EventID}, true
		}
	}
	return AuditEvent{}, false
}

// ModerationSummary is the moderation queue in numbers (no content).
type ModerationSummary struct {
	Open          int            `json:"open"`
	OpenByKind    map[string]int `json:"open_by_kind"`
	OpenByCat     map[string]int `json:"open_by_category"`
	OldestOpenAt  int64          `json:"-"` // 0: none open
	ReviewedSince int64          `json:"-"`
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
	s := ModerationSummary{OpenByKind: map[string]int{}, OpenByCat: map[string]int{}, ReviewedSince: since,
		Reviewed: map[string]int{}, FalsePositivesPolicy: map[string]int{}}
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return s, ErrForbidden
	}
	rows, err := db.query(ctx, qOpenEvents)
	if err != nil {
		return s, fmt.Errorf("storage: moderation summary: %w", err)
	}
	for rows.Next() {
		var kind, cats string
		var at int64
		if err := rows.Scan(&kind, &cats, &at); err != nil {
			rows.Close()
			return s, fmt.Errorf("storage: moderation summary: %w", err)
		}
		if s.Open == 0 {
			s.OldestOpenAt = at
		}
		s.Open++
		s.OpenByKind[kind]++
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
var usageStatements = [...]string{qUsageFamilies, qUsageChildren, qUsageDevices, qUsageTurns, qUsageEvents}

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
