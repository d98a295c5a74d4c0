package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The cluster's retention setting: how many days each configurable data
// class is kept, set by an administrator and replicated, so that every node
// publishes the same privacy notice and whichever node leads deletes by the
// same rule. Before an administrator sets it, each node uses its own
// --retain-* flags (the node package decides; this file only stores it).

// KindPutRetention is newer than the upgrade baseline (upgrade.go).
const KindPutRetention = "put_retention"

// MaxRetentionDays bounds each class's days (0 = until the parent deletes).
const MaxRetentionDays = 3650

// PutRetention sets the cluster's retention (days per class).
type PutRetention struct {
	StaffID      string `json:"staff"`
	TurnsDays    int    `json:"turns"`
	SafetyDays   int    `json:"safety"`
	SessionsDays int    `json:"sessions"`
	Now          int64  `json:"at"`
}

func (PutRetention) Kind() string { return KindPutRetention }
func (PutRetention) Version() int { return 1 }

// RetentionSetting is the replicated setting (Set false: never set).
type RetentionSetting struct {
	Set                                bool
	TurnsDays, SafetyDays, SessionDays int
	UpdatedAt                          int64
	UpdatedBy                          string
}

const (
	qPutRetention = `INSERT INTO retention_setting(id, turns_days, safety_days, sessions_days, updated_at, updated_by)
		VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET turns_days=excluded.turns_days,
		safety_days=excluded.safety_days, sessions_days=excluded.sessions_days,
		updated_at=excluded.updated_at, updated_by=excluded.updated_by`
	qRetentionSetting = "SELECT turns_days, safety_days, sessions_days, updated_at, updated_by FROM retention_setting WHERE id=1"
)

func applyRetentionSetting(a *txApplier, c Command) (any, bool, error) {
	p, ok := c.(*PutRetention)
	if !ok {
		return nil, false, nil
	}
	for _, d := range []int{p.TurnsDays, p.SafetyDays, p.SessionsDays} {
		if d < 0 || d > MaxRetentionDays {
			return nil, true, outcome(fmt.Errorf("storage: retention of %d days is not between 0 and %d", d, MaxRetentionDays))
		}
	}
	if p.StaffID == "" {
		return nil, true, outcome(fmt.Errorf("storage: retention set by no one"))
	}
	_, err := a.exec(qPutRetention, p.TurnsDays, p.SafetyDays, p.SessionsDays, p.Now, p.StaffID)
	return nil, true, err
}

func auditOfRetentionSetting(c Command) (AuditEvent, bool) {
	if p, ok := c.(*PutRetention); ok {
		return AuditEvent{At: p.Now, Actor: "staff:" + p.StaffID, Action: "retention_changed",
			Target: fmt.Sprintf("turns:%d safety:%d sessions:%d", p.TurnsDays, p.SafetyDays, p.SessionsDays)}, true
	}
	return AuditEvent{}, false
}

// RetentionSetting reads the cluster's retention setting.
func (db *DB) RetentionSetting(ctx context.Context) (RetentionSetting, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var s RetentionSetting
	err := db.queryRow(ctx, qRetentionSetting).Scan(&s.TurnsDays, &s.SafetyDays, &s.SessionDays, &s.UpdatedAt, &s.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return RetentionSetting{}, nil
	}
	if err != nil {
		return s, fmt.Errorf("storage: retention setting: %w", err)
	}
	s.Set = true
	return s, nil
}
