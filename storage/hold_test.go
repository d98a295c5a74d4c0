package storage

import (
	"errors"
	"testing"
)

// A safety hold: moderators and administrators place, change and lift it;
// the child's own read (the API's child middleware, through the hot-read
// cache) sees each change at once; unknown reasons, unknown children and
// callers who are not moderating staff are refused and change nothing;
// every change is audit-logged, a no-op is not.
func TestSafetyHold(t *testing.T) {
	f := moderationFixture(t) // ch_1 of family fa_1 with device dv_1
	child := Actor{Role: RoleChild, ID: "ch_1", FamilyID: "fa_1", DeviceID: "dv_1"}
	read := func() ChildRow {
		t.Helper()
		c, err := f.db.Child(f.ctx, child, "ch_1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hold := func(by, reason string, at int64) Result {
		t.Helper()
		return f.apply(&SetSafetyHold{ChildID: "ch_1", StaffID: by, Reason: reason, Now: at})[0]
	}
	audit := func() int {
		return f.count("SELECT COUNT(*) FROM audit_log WHERE target = 'child:ch_1' AND (action LIKE 'place_safety_hold:%' OR action LIKE 'lift_safety_hold:%')")
	}
	if c := read(); c.OnHold() { // cached now: the hold must invalidate it
		t.Fatalf("on hold before any: %+v", c)
	}
	for _, tc := range []struct {
		name, by, reason, child string
		want                    error
	}{
		{"unknown reason", "st_mod", "punished", "ch_1", nil},
		{"a parent", "pa_1", HoldUnderReview, "ch_1", ErrForbidden},
		{"unknown staff", "st_nobody", HoldUnderReview, "ch_1", ErrForbidden},
		{"unknown child", "st_mod", HoldUnderReview, "ch_nope", ErrNotFound},
	} {
		r := f.apply(&SetSafetyHold{ChildID: tc.child, StaffID: tc.by, Reason: tc.reason, Now: baseTime})[0]
		if r.Err == nil || (tc.want != nil && !errors.Is(r.Err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
		}
	}
	if read().OnHold() || audit() != 0 {
		t.Fatal("a refused hold changed something")
	}

	r := hold("st_mod", HoldUnderReview, baseTime+10)
	if h, ok := r.Value.(SafetyHold); r.Err != nil || !ok || h.Reason != HoldUnderReview || h.Since != baseTime+10 || h.By != "st_mod" || h.Previous != "" {
		t.Fatalf("place: %+v", r)
	}
	if c := read(); !c.OnHold() || c.HoldReason != HoldUnderReview || c.HoldAt != baseTime+10 {
		t.Fatalf("the child's read after the hold: %+v", c)
	}
	if r := hold("st_mod2", HoldUnderReview, baseTime+20); r.Err != nil || r.Value.(SafetyHold).Since != baseTime+10 {
		t.Fatalf("placing the same hold again changed it: %+v", r)
	}
	if r := hold("st_admin", HoldParentContactPending, baseTime+30); r.Err != nil || r.Value.(SafetyHold).Previous != HoldUnderReview {
		t.Fatalf("another reason: %+v", r)
	}
	if c := read(); c.HoldReason != HoldParentContactPending {
		t.Fatalf("the child's read after the change: %+v", c)
	}
	parent, err := f.db.Children(f.ctx, Actor{Role: RoleParent, ID: "pa_1", FamilyID: "fa_1"})
	if err != nil || len(parent) != 1 || parent[0].HoldReason != HoldParentContactPending {
		t.Fatalf("the parent's list: %+v %v", parent, err)
	}
	if r := hold("st_mod2", "", baseTime+40); r.Err != nil || r.Value.(SafetyHold).Reason != "" || r.Value.(SafetyHold).Previous != HoldParentContactPending {
		t.Fatalf("lift: %+v", r)
	}
	if c := read(); c.OnHold() || c.HoldAt != 0 {
		t.Fatalf("the child's read after the lift: %+v", c)
	}
	if r := hold("st_mod", "", baseTime+50); r.Err != nil {
		t.Fatalf("lifting no hold: %v", r.Err)
	}
	if n := audit(); n != 3 {
		t.Fatalf("%d hold audit entries, want 3 (place, change, lift)", n)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action = 'lift_safety_hold:parent_contact_pending' AND actor = 'staff:st_mod2'"); n != 1 {
		t.Fatalf("lift audit entries: %d", n)
	}
}
