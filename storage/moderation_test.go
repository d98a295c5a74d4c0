package storage

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

// moderationFixture is a cluster's state with an administrator (st_admin),
// moderators st_mod and st_mod2, a parent (pa_1) and four safety events
// ev_1..ev_4 raised by child ch_1 (ev_3 a policy failure).
func moderationFixture(t *testing.T) *fixture {
	t.Helper()
	f := staffFixture(t)
	for _, id := range []string{"st_mod", "st_mod2"} {
		f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("inv" + id), Now: baseTime, ExpiresAt: baseTime + 1e9})
		f.must(&CreateStaff{StaffID: id, Role: RoleModerator, EmailIndex: []byte(id), EmailSealed: []byte("s"),
			PasswordHash: "h", InviteHash: []byte("inv" + id), Now: baseTime})
	}
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
	return f
}

// Reviews close safety events: the open list and the counts shrink, the
// review is on the event, a later review replaces it, each is audit-logged;
// an unknown outcome, an unknown event and a reviewer who is not staff (or
// a parent's ID) are refused and change nothing; false positives are
// counted by the policy version that flagged them.
func TestModerationReviews(t *testing.T) {
	f := moderationFixture(t)
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

	open, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: FlaggedOpen}, 1<<62, 10)
	if err != nil || len(open) != 1 || open[0].EventID != "ev_3" || open[0].ReviewedAt != 0 {
		t.Fatalf("open list %+v %v", open, err)
	}
	done, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: FlaggedReviewed}, 1<<62, 10)
	if err != nil || len(done) != 3 || done[0].EventID != "ev_4" || done[0].Outcome != OutcomeFalsePositive || done[0].ReviewedBy != "st_mod" {
		t.Fatalf("reviewed list %+v %v", done, err)
	}
	if all, _ := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: FlaggedAll}, 1<<62, 10); len(all) != 4 {
		t.Fatalf("all: %d", len(all))
	}
	if _, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: "closed"}, 1<<62, 10); err == nil {
		t.Fatal("an unknown status was accepted")
	}
	for _, role := range []Role{RoleParent, RoleChild, RoleSystem} {
		if _, err := f.db.ModerationSummary(f.ctx, Actor{Role: role, ID: "x"}, 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("summary as %s: %v", role, err)
		}
	}
}

// Assignment splits the queue: a moderator takes an event nobody holds and
// gives back their own, never someone else's, and cannot review it while
// another holds it; an administrator assigns, reassigns and releases any
// open event, to moderators and administrators only; reviewed and unknown
// events are refused; every change is audit-logged, a no-op is not; the
// list filters by holder and the summary counts them.
func TestModerationAssignment(t *testing.T) {
	f := moderationFixture(t)
	mod := Actor{Role: RoleModerator, ID: "st_mod"}
	assign := func(ev, by, to string, at int64) Result {
		t.Helper()
		return f.apply(&AssignSafetyEvent{EventID: ev, StaffID: by, Assignee: to, Now: at})[0]
	}
	audit := func() int {
		return f.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'assign_safety_event:%' OR action LIKE 'release_safety_event:%'")
	}

	r := assign("ev_1", "st_mod", "st_mod", baseTime+10)
	if a, ok := r.Value.(EventAssignment); r.Err != nil || !ok || a.AssignedTo != "st_mod" || a.AssignedAt != baseTime+10 || a.Previous != "" {
		t.Fatalf("take: %+v", r)
	}
	if r := assign("ev_1", "st_mod", "st_mod", baseTime+20); r.Err != nil || r.Value.(EventAssignment).AssignedAt != baseTime+10 {
		t.Fatalf("taking it again changed it: %+v", r)
	}
	if n := audit(); n != 1 {
		t.Fatalf("%d assignment audit entries, want 1 (a no-op is not logged)", n)
	}
	for _, tc := range []struct {
		name       string
		ev, by, to string
		want       error
	}{
		{"another moderator's event", "ev_1", "st_mod2", "st_mod2", ErrConflict},
		{"releasing another's event", "ev_1", "st_mod2", "", ErrConflict},
		{"a moderator assigning someone else", "ev_2", "st_mod", "st_mod2", ErrForbidden},
		{"not staff", "ev_2", "pa_1", "pa_1", ErrForbidden},
		{"unknown staff", "ev_2", "st_nobody", "st_nobody", ErrForbidden},
		{"unknown event", "ev_nope", "st_mod", "st_mod", ErrNotFound},
		{"a parent as assignee", "ev_2", "st_admin", "pa_1", ErrInvalidAssignee},
	} {
		if r := assign(tc.ev, tc.by, tc.to, baseTime+30); !errors.Is(r.Err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
		}
	}
	if r := f.apply(&ReviewSafetyEvent{EventID: "ev_1", StaffID: "st_mod2", Outcome: OutcomeNoAction, Now: baseTime + 31})[0]; !errors.Is(r.Err, ErrConflict) {
		t.Fatalf("a moderator reviewed an event another holds: %v", r.Err)
	}
	if n := audit(); n != 1 {
		t.Fatalf("refused assignments wrote audit entries: %d", n)
	}

	// The administrator moves ev_1 to st_mod2 and gives ev_2 to herself.
	if r := assign("ev_1", "st_admin", "st_mod2", baseTime+40); r.Err != nil || r.Value.(EventAssignment).Previous != "st_mod" {
		t.Fatalf("reassign: %+v", r)
	}
	if r := assign("ev_2", "st_admin", "st_admin", baseTime+41); r.Err != nil {
		t.Fatalf("admin takes: %+v", r)
	}
	s, err := f.db.ModerationSummary(f.ctx, mod, 0)
	if err != nil || s.Open != 4 || s.OpenUnassigned != 2 || !maps.Equal(s.OpenByAssignee, map[string]int{"st_mod2": 1, "st_admin": 1}) {
		t.Fatalf("summary %+v %v", s, err)
	}
	list := func(who string) []string {
		t.Helper()
		rows, err := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: FlaggedOpen, Assignee: who}, 1<<62, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.EventID+"@"+r.AssignedTo)
		}
		return ids
	}
	if got := list("st_mod2"); !slices.Equal(got, []string{"ev_1@st_mod2"}) {
		t.Fatalf("st_mod2 holds %v", got)
	}
	if got := list(AssigneeNone); !slices.Equal(got, []string{"ev_4@", "ev_3@"}) {
		t.Fatalf("nobody holds %v", got)
	}
	if got := list(""); len(got) != 4 {
		t.Fatalf("open: %v", got)
	}

	// The holder reviews; an administrator may review what another holds.
	f.must(&ReviewSafetyEvent{EventID: "ev_1", StaffID: "st_mod2", Outcome: OutcomeNoAction, Now: baseTime + 50})
	f.must(&ReviewSafetyEvent{EventID: "ev_2", StaffID: "st_admin", Outcome: OutcomeReported, Now: baseTime + 51})
	if r := assign("ev_1", "st_admin", "st_mod", baseTime+52); !errors.Is(r.Err, ErrConflict) {
		t.Fatalf("assigning a reviewed event: %v", r.Err)
	}
	done, _ := f.db.FlaggedTurnsIn(f.ctx, mod, FlaggedFilter{Status: FlaggedReviewed, Assignee: "st_mod2"}, 1<<62, 10)
	if len(done) != 1 || done[0].EventID != "ev_1" || done[0].ReviewedBy != "st_mod2" {
		t.Fatalf("reviewed by its holder: %+v", done)
	}
	if a, reviewed, err := f.db.SafetyEventAssignment(f.ctx, mod, "ev_1"); err != nil || !reviewed || a.AssignedTo != "st_mod2" {
		t.Fatalf("assignment of ev_1: %+v %v %v", a, reviewed, err)
	}

	// Releasing: a moderator their own, an administrator anyone's.
	assign("ev_3", "st_mod", "st_mod", baseTime+60)
	if r := assign("ev_3", "st_mod", "", baseTime+61); r.Err != nil || r.Value.(EventAssignment).AssignedTo != "" {
		t.Fatalf("release own: %+v", r)
	}
	assign("ev_4", "st_mod", "st_mod", baseTime+62)
	if r := assign("ev_4", "st_admin", "", baseTime+63); r.Err != nil || r.Value.(EventAssignment).Previous != "st_mod" {
		t.Fatalf("admin releases: %+v", r)
	}
	if a, reviewed, err := f.db.SafetyEventAssignment(f.ctx, mod, "ev_4"); err != nil || reviewed || a.AssignedTo != "" || a.AssignedAt != 0 {
		t.Fatalf("released ev_4: %+v %v %v", a, reviewed, err)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action = 'release_safety_event:staff:st_mod' AND actor = 'staff:st_admin' AND target = 'event:ev_4'"); n != 1 {
		t.Fatalf("release audit entries: %d", n)
	}
	if n := audit(); n != 7 {
		t.Fatalf("%d assignment audit entries, want 7", n)
	}
	if _, _, err := f.db.SafetyEventAssignment(f.ctx, Actor{Role: RoleParent, ID: "pa_1"}, "ev_4"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a parent read an assignment: %v", err)
	}
	if _, _, err := f.db.SafetyEventAssignment(f.ctx, mod, "ev_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
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
