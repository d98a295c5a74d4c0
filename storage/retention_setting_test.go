package storage

import (
	"context"
	"testing"
)

func TestRetentionSetting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if s, err := f.db.RetentionSetting(ctx); err != nil || s.Set {
		t.Fatalf("before any: %+v %v", s, err)
	}
	for _, bad := range []PutRetention{
		{StaffID: "st-1", TurnsDays: -1},
		{StaffID: "st-1", SafetyDays: MaxRetentionDays + 1},
		{TurnsDays: 30},
	} {
		if r := f.apply(&bad)[0]; r.Err == nil || !isDeterministic(r.Err) {
			t.Errorf("%+v: %v, want a deterministic refusal", bad, r.Err)
		}
	}
	f.must(&PutRetention{StaffID: "st-1", TurnsDays: 30, SafetyDays: 60, SessionsDays: 7, Now: baseTime})
	f.must(&PutRetention{StaffID: "st-2", TurnsDays: 90, SafetyDays: 0, SessionsDays: 14, Now: baseTime + 1})
	s, err := f.db.RetentionSetting(ctx)
	if err != nil || s != (RetentionSetting{Set: true, TurnsDays: 90, SafetyDays: 0, SessionDays: 14, UpdatedAt: baseTime + 1, UpdatedBy: "st-2"}) {
		t.Fatalf("setting %+v %v", s, err)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action='retention_changed' AND target='turns:90 safety:0 sessions:14'"); n != 1 {
		t.Fatalf("%d audit entries for the change", n)
	}
}
