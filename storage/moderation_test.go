package storage

import (
	"errors"
	"maps"
	"testing"
)

// Reviews close safety events: the open list and the counts shrink, the
// review is on the event, a later review replaces it, each is audit-logged;
// an unknown outcome, an unknown event and a reviewer who is not staff (or
// a parent's ID) are refused and change nothing; false positives are
// counted by the policy version that flagged them.
func TestModerationReviews(t *testing.T) {
	f := staffFixture(t)
	f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("inv"), Now: baseTime, ExpiresAt: baseTime + 1e9})
	f.must(&CreateStaff{StaffID: "st_mod", Role: RoleModerator, EmailIndex: []byte("mod"), EmailSealed: []byte("s"),
		PasswordHash: "h", InviteHash: []byte("inv"), Now: baseTime})
	f.signUp("fa_1", "pa_1", "p@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Ann")
	f.linkDevice("pa_1", "ch_1", "dv_1")
	for i, ev := range []struct {
		id, version string
		cats        []string
		failClosed  bool
	}{{"ev_1", "v1", []string{"self_harm"}, false}, {"ev_2", "v1", []string{"grooming", "pii_solicitation"}, false},
		{"ev_3", "v2", []string{"self_harm"}, true}, {"ev_4", "v2", []string{"profanity"}, false}} {
		c := f.turnCmd("fa_1", "ch_1", "dv_1", "tu_"+ev.id, "message")
		c.CreatedAt = baseTime + int64(i)
		c.EventID, c.Escalate, c.InCategories, c.FailClosed, c.PolicyVersion = ev.id, true, ev.cats, ev.failClosed, ev.version
		f.must(c)
	}
	mod := Actor{Role: RoleModerator, ID: "st_mod"}
	summary := func() ModerationSummary {
		t.Helper()
		s, err := f.db.ModerationSummary(f.ctx, mod, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := summary()
	if s.Open != 4 || s.OldestOpenAt != baseTime || s.OpenByKind["escalation"] != 3 || s.OpenByKind["policy_failure"] != 1 ||
		s.OpenByCat["self_harm"] != 2 || s.OpenByCat["grooming"] != 1 || len(s.Reviewed) != 0 {
		t.Fatalf("before any review: %+v", s)
	}
	if n, oldest, err := f.db.OpenSafetyEvents(f.ctx); err != nil || n != 4 || oldest != baseTime {
		t.Fatalf("open events %d, oldest %d, %v", n, oldest, err)
	}
	auditBefore := f.count("SELECT COUNT(*) FROM audit_log")

	for _, tc := range []struct {
		name string
		cmd  *ReviewSafetyEvent
		want error
	}{
		{"unknown outcome", &ReviewSafetyEvent{EventID: "ev_1", StaffID: "st_mod", Outcome: "ignored"}, nil},
		{"unknown event", &ReviewSafetyEvent{EventID: "ev_nope", StaffID: "st_mod", Outcome: OutcomeNoAction}, ErrNotFound},
		{"not staff", &ReviewSafetyEvent{EventID: "ev_1", StaffID: "st_nobody", Outcome: OutcomeNoAction}, ErrForbidden},
		{"a parent", &ReviewSafetyEvent{EventID: "ev_1", StaffID: "pa_1", Outcome: OutcomeNoAction}, ErrForbidden},
	} {
		r := f.apply(tc.cmd)[0]
		if r.Err == nil || (tc.want != nil && !errors.Is(r.Err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
		}
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log"); n != auditBefore {
		t.Fatalf("refused reviews wrote %d audit entries", n-auditBefore)
	}
	if s2 := summary(); s2.Open != 4 {
		t.Fatalf("refused reviews closed events: %+v", s2)
	}

	r := f.must(&ReviewSafetyEvent{EventID: "ev_1", StaffID: "st_mod", Outcome: OutcomeParentContacted, Now: baseTime + 100})
	if rv, ok := r.(EventReview); !ok || rv.Outcome != OutcomeParentContacted || rv.ReviewedBy != "st_mod" || rv.ReviewedAt != baseTime+100 {
		t.Fatalf("review result %#v", r)
	}
	f.must(&ReviewSafetyEvent{EventID: "ev_4", StaffID: "st_admin", Outcome: OutcomeNoAction, Now: baseTime + 101})
	f.must(&ReviewSafetyEvent{EventID: "ev_4", StaffID: "st_mod", Outcome: OutcomeFalsePositive, Now: baseTime + 102}) // replaces
	f.must(&ReviewSafetyEvent{EventID: "ev_2", StaffID: "st_mod", Outcome: OutcomeFalsePositive, Now: baseTime + 103})
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'review_safety_event:%' AND target LIKE 'event:ev_%'"); n != 4 {
		t.Fatalf("%d review audit entries, want 4", n)
	}

	s = summary()
	if s.Open != 1 || s.OpenByKind["policy_failure"] != 1 || s.OpenByKind["escalation"] != 0 || s.OldestOpenAt != baseTime+2 {
		t.Fatalf("after reviews: %+v", s)
	}
	if want := map[string]int{OutcomeParentContacted: 1, OutcomeFalsePositive: 2}; !maps.Equal(s.Reviewed, want) {
		t.Fatalf("reviewed %v, want %v", s.Reviewed, want)
	}
	if want := map[string]int{"v1": 1, "v2": 1}; !maps.Equal(s.FalsePositivesPolicy, want) {
		t.Fatalf("false positives by policy %v, want %v", s.FalsePositivesPolicy, want)
	}
	if later, _ := f.db.ModerationSummary(f.ctx, mod, baseTime+102); later.Reviewed[OutcomeFalsePositive] != 2 || later.Reviewed[OutcomeParentContacted] != 0 {
		t.Fatalf("reviews since a time: %+v", later.Reviewed)
	}

	open, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedOpen, 1<<62, 10)
	if err != nil || len(open) != 1 || open[0].EventID != "ev_3" || open[0].ReviewedAt != 0 {
		t.Fatalf("open list %+v %v", open, err)
	}
	done, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedReviewed, 1<<62, 10)
	if err != nil || len(done) != 3 || done[0].EventID != "ev_4" || done[0].Outcome != OutcomeFalsePositive || done[0].ReviewedBy != "st_mod" {
		t.Fatalf("reviewed list %+v %v", done, err)
	}
	if all, _ := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedAll, 1<<62, 10); len(all) != 4 {
		t.Fatalf("all: %d", len(all))
	}
	if _, err := f.db.FlaggedTurnsIn(f.ctx, mod, "closed", 1<<62, 10); err == nil {
		t.Fatal("an unknown status was accepted")
	}
	for _, role := range []Role{RoleParent, RoleChild, RoleSystem} {
		if _, err := f.db.ModerationSummary(f.ctx, Actor{Role: role, ID: "x"}, 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("summary as %s: %v", role, err)
		}
	}
}

// The staff dashboard's totals: whole-service counts and the activity
// since a time, for staff only.
func TestUsageTotals(t *testing.T) {
	f := scopeWorld(t) // two families, three children (9-12), devices, six turns at baseTime
	mod := Actor{Role: RoleModerator, ID: "st_m"}
	u, err := f.db.UsageTotals(f.ctx, mod, 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Families != 2 || u.Children != 3 || u.ChildrenByTier["9-12"] != 3 || u.DevicesLinked != 3 ||
		u.Turns != 6 || u.ActiveChildren != 3 || u.SafetyEvents != 0 {
		t.Fatalf("totals %+v", u)
	}
	late, err := f.db.UsageTotals(f.ctx, Actor{Role: RoleAdmin, ID: "st_a"}, baseTime+1e9)
	if err != nil || late.Turns != 0 || late.ActiveChildren != 0 || late.Children != 3 {
		t.Fatalf("totals since later %+v %v", late, err)
	}
	for _, role := range []Role{RoleParent, RoleChild, RoleSystem} {
		if _, err := f.db.UsageTotals(f.ctx, Actor{Role: role, ID: "x"}, 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("as %s: %v", role, err)
		}
	}
}
