package storage

import (
	"errors"
	"fmt"
	"testing"
)

// privacyFixture: family fa_1 (parents pa_1, pa_2; children ch_1 with a
// device, settings and turns, ch_2) and family fa_2 (parent pa_3, child ch_3).
func privacyFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.signUp("fa_2", "pa_3", "three@example.test")
	// A second parent in fa_1, inserted directly (the invitation flow is not storage's).
	if _, err := f.db.wr().ExecContext(f.ctx, `INSERT INTO parents(id, family_id, email_bidx, email_sealed, password_hash, created_at)
		VALUES ('pa_2','fa_1',x'01',x'02','h2',?)`, baseTime+1); err != nil {
		t.Fatal(err)
	}
	f.createChild("fa_1", "pa_1", "ch_1", "Ann")
	f.createChild("fa_1", "pa_1", "ch_2", "Bob")
	f.createChild("fa_2", "pa_3", "ch_3", "Cid")
	f.linkDevice("pa_1", "ch_1", "dv_1")
	f.must(&PutChildSettings{ParentID: "pa_1", ChildID: "ch_1", Settings: []byte(`{"jokes":false}`), UpdatedAt: baseTime})
	for _, id := range []string{"tu_1", "tu_2", "tu_3"} {
		f.must(f.turnCmd("fa_1", "ch_1", "dv_1", id, "hello"))
	}
	return f
}

func TestExportFamily(t *testing.T) {
	f := privacyFixture(t)
	parent := Actor{Role: RoleParent, ID: "pa_2", FamilyID: "fa_1"}
	ex, err := f.db.ExportFamily(f.ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Parents) != 2 || ex.Parents[0].ID != "pa_1" || ex.Parents[1].ID != "pa_2" || len(ex.Parents[0].EmailSealed) == 0 {
		t.Fatalf("parents = %+v", ex.Parents)
	}
	if len(ex.Children) != 2 {
		t.Fatalf("children = %+v", ex.Children)
	}
	for _, c := range ex.Children {
		if c.FamilyID != "fa_1" {
			t.Fatalf("exported another family's child: %+v", c)
		}
	}
	if len(ex.Turns["ch_1"]) != 3 || len(ex.Turns["ch_2"]) != 0 {
		t.Fatalf("turns: ch_1 %d, ch_2 %d", len(ex.Turns["ch_1"]), len(ex.Turns["ch_2"]))
	}
	if len(ex.Devices["ch_1"]) != 1 || ex.Devices["ch_1"][0].ID != "dv_1" {
		t.Fatalf("devices = %+v", ex.Devices)
	}
	if string(ex.Settings["ch_1"]) != `{"jokes":false}` {
		t.Fatalf("settings ch_1 = %q", ex.Settings["ch_1"])
	}
	if _, ok := ex.Settings["ch_2"]; ok {
		t.Fatal("settings exported for a child that never had any")
	}

	for _, role := range []Role{RoleChild, RoleSystem, RoleAdmin} {
		if _, err := f.db.ExportFamily(f.ctx, Actor{Role: role, ID: "pa_1", FamilyID: "fa_1"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("ExportFamily as %s: %v, want ErrForbidden", role, err)
		}
	}
}

// More than one page of turns (500) is exported in full.
func TestExportFamilyPagesTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("applies 501 turns")
	}
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Ann")
	f.linkDevice("pa_1", "ch_1", "dv_1")
	cmds := make([]Command, 501)
	for i := range cmds {
		cmds[i] = f.turnCmd("fa_1", "ch_1", "dv_1", fmt.Sprintf("tu_%03d", i), "m")
	}
	for _, r := range f.apply(cmds...) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	ex, err := f.db.ExportFamily(f.ctx, Actor{Role: RoleParent, ID: "pa_1", FamilyID: "fa_1"})
	if err != nil {
		t.Fatal(err)
	}
	turns := ex.Turns["ch_1"]
	seen := map[string]bool{}
	for _, tr := range turns {
		seen[tr.ID] = true
	}
	if len(turns) != 501 || len(seen) != 501 {
		t.Fatalf("exported %d turns (%d distinct), want 501", len(turns), len(seen))
	}
}

func TestParentPasswordHash(t *testing.T) {
	f := privacyFixture(t)
	tests := []struct {
		name  string
		actor Actor
		want  string
		err   error
	}{
		{"own", Actor{Role: RoleParent, ID: "pa_2", FamilyID: "fa_1"}, "h2", nil},
		{"wrong family claim", Actor{Role: RoleParent, ID: "pa_2", FamilyID: "fa_2"}, "", ErrNotFound},
		{"unknown parent", Actor{Role: RoleParent, ID: "pa_9", FamilyID: "fa_1"}, "", ErrNotFound},
		{"child", Actor{Role: RoleChild, ID: "ch_1", FamilyID: "fa_1"}, "", ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, bidx, err := f.db.ParentPasswordHash(f.ctx, tc.actor)
			wantErr(t, err, tc.err)
			if h != tc.want {
				t.Fatalf("hash = %q, want %q", h, tc.want)
			}
			if wantIdx := tc.want != ""; wantIdx != (string(bidx) == "\x01") {
				t.Fatalf("e-mail index %x, want the parent's (x'01') = %v", bidx, wantIdx)
			}
		})
	}
}

func TestDeleteChild(t *testing.T) {
	tests := []struct {
		name   string
		cmd    *DeleteChild
		err    error
		remain int // children left in the database
	}{
		{"own child", &DeleteChild{ParentID: "pa_2", ChildID: "ch_1"}, nil, 2},
		{"other family's child", &DeleteChild{ParentID: "pa_1", ChildID: "ch_3"}, ErrNotFound, 3},
		{"unknown parent", &DeleteChild{ParentID: "pa_9", ChildID: "ch_1"}, ErrNotFound, 3},
		{"unknown child", &DeleteChild{ParentID: "pa_1", ChildID: "ch_9"}, ErrNotFound, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := privacyFixture(t)
			audit := f.count("SELECT COUNT(*) FROM audit_log")
			wantErr(t, f.apply(tc.cmd)[0].Err, tc.err)
			if n := f.count("SELECT COUNT(*) FROM children"); n != tc.remain {
				t.Fatalf("children = %d, want %d", n, tc.remain)
			}
			grew := f.count("SELECT COUNT(*) FROM audit_log") - audit
			if tc.err != nil {
				if grew != 0 {
					t.Fatalf("refused deletion wrote %d audit entries", grew)
				}
				return
			}
			for _, q := range []string{"SELECT COUNT(*) FROM turns WHERE child_id='ch_1'", "SELECT COUNT(*) FROM devices WHERE child_id='ch_1'",
				"SELECT COUNT(*) FROM companions WHERE child_id='ch_1'"} {
				if n := f.count(q); n != 0 {
					t.Fatalf("%s = %d after deletion", q, n)
				}
			}
			tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if e := tail[0]; grew != 1 || e.Action != "delete_child" || e.Actor != "parent:pa_2" || e.Target != "child:ch_1" {
				t.Fatalf("audit: %d new, last %+v", grew, e)
			}
		})
	}
}

func TestDeleteFamily(t *testing.T) {
	tests := []struct {
		name string
		cmd  *DeleteFamily
		err  error
	}{
		{"own family", &DeleteFamily{ParentID: "pa_1", FamilyID: "fa_1"}, nil},
		{"another family", &DeleteFamily{ParentID: "pa_1", FamilyID: "fa_2"}, ErrNotFound},
		{"unknown parent", &DeleteFamily{ParentID: "pa_9", FamilyID: "fa_1"}, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := privacyFixture(t)
			r := f.apply(tc.cmd)[0]
			wantErr(t, r.Err, tc.err)
			families := f.count("SELECT COUNT(*) FROM families")
			if tc.err != nil {
				if families != 2 || r.Value != nil {
					t.Fatalf("refused deletion: %d families, value %v", families, r.Value)
				}
				return
			}
			if v, ok := r.Value.(FamilyDeleted); !ok || v.FamilyID != "fa_1" {
				t.Fatalf("value = %#v, want FamilyDeleted{fa_1}", r.Value)
			}
			checks := map[string]int{
				"SELECT COUNT(*) FROM families":                        1,
				"SELECT COUNT(*) FROM parents WHERE family_id='fa_1'":  0,
				"SELECT COUNT(*) FROM children WHERE family_id='fa_1'": 0,
				"SELECT COUNT(*) FROM turns":                           0,
				"SELECT COUNT(*) FROM devices":                         0,
				"SELECT COUNT(*) FROM children WHERE family_id='fa_2'": 1,
			}
			for q, want := range checks {
				if n := f.count(q); n != want {
					t.Errorf("%s = %d, want %d", q, n, want)
				}
			}
			// The family key is gone: sealed data of the family can no longer be opened.
			if _, err := NewVault(f.keys, f.db).FamilyKey(f.ctx, "fa_1"); err == nil {
				t.Fatal("the deleted family's data key can still be unwrapped")
			}
		})
	}
}
