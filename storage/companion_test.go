package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// TestCompanionScope: the companion row is visible exactly like the child.
func TestCompanionScope(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range scopeMatrix {
		t.Run(tc.actor+"/"+tc.target, func(t *testing.T) {
			row, err := f.db.Companion(f.ctx, scopeActors[tc.actor], tc.target)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Companion = %v, want %v", err, tc.want)
			}
			if tc.want == nil && (row.ChildID != tc.target || row.StateSealed != nil || row.Settings != nil) {
				t.Fatalf("fresh child row = %+v, want empty", row)
			}
		})
	}
}

func TestChatTurnStoresCompanionState(t *testing.T) {
	f := scopeWorld(t)
	parent := scopeActors["parent A"]
	dek := f.deks["fam-a"]
	for i, tc := range []struct {
		name  string
		state []byte // nil: a turn without state (v1 style) keeps the last one
		want  string
	}{
		{"first state", f.seal(dek, `{"hunger":2}`, FieldCompanion, "ch-a"), `{"hunger":2}`},
		{"no state keeps it", nil, `{"hunger":2}`},
		{"new state replaces it", f.seal(dek, `{"hunger":0}`, FieldCompanion, "ch-a"), `{"hunger":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.turnCmd("fam-a", "ch-a", "dev-a", "tc"+string(rune('0'+i)), "feed")
			c.Companion = tc.state
			f.must(c)
			row, err := f.db.Companion(f.ctx, parent, "ch-a")
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Unseal(dek, row.StateSealed, FieldAAD(FieldCompanion, "ch-a"))
			if err != nil {
				t.Fatal(err)
			}
			if string(plain) != tc.want {
				t.Fatalf("state = %s, want %s", plain, tc.want)
			}
			if tc.state != nil && !bytes.Equal(row.StateSealed, tc.state) {
				t.Fatal("the FSM must store the sealed state verbatim")
			}
		})
	}
	// Another child's state is untouched.
	if row, _ := f.db.Companion(f.ctx, scopeActors["parent B"], "ch-b"); row.StateSealed != nil {
		t.Fatal("state leaked to another child")
	}
	// A failed turn (revoked device) stores no state either.
	c := f.turnCmd("fam-a", "ch-a", "dev-a-old", "t-revoked", "x")
	c.Companion = []byte("nope")
	if res := f.apply(c); !errors.Is(res[0].Err, ErrNotFound) {
		t.Fatalf("turn on a revoked device: %v", res[0].Err)
	}
	if n := f.count("SELECT COUNT(*) FROM companions WHERE state_sealed=?", []byte("nope")); n != 0 {
		t.Fatal("a refused turn stored its state")
	}
}

// TestChatTurnVersion1StillApplies replays an entry written by a binary
// before ChatTurn version 2 (no companion field).
func TestChatTurnVersion1StillApplies(t *testing.T) {
	f := scopeWorld(t)
	c := f.turnCmd("fam-a", "ch-a", "dev-a", "t-old", "hello")
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte(`"companion"`)) {
		t.Fatal("a turn without state must not encode the companion field")
	}
	data, err := json.Marshal(envelope{T: KindChatTurn, V: 1, B: body})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := Decode(data)
	if err != nil {
		t.Fatalf("decode v1 chat turn: %v", err)
	}
	if got := cmd.(*ChatTurn); got.TurnID != "t-old" || got.Companion != nil {
		t.Fatalf("decoded %+v", got)
	}
	f.idx++
	res, err := f.db.ApplyBatch(f.ctx, []Entry{{Index: f.idx, Data: data}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("apply v1: %v %v", err, res[0].Err)
	}
	if n := f.count("SELECT COUNT(*) FROM turns WHERE id='t-old'"); n != 1 {
		t.Fatal("v1 turn not stored")
	}
	if n := f.count("SELECT COUNT(*) FROM companions"); n != 0 {
		t.Fatal("a v1 turn must not create companion state")
	}
}

func TestPutChildSettings(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range []struct {
		name          string
		parent, child string
		settings      string
		want          error
	}{
		{"own child", "par-a", "ch-a", `{"v":1,"a":1}`, nil},
		{"replace", "par-a", "ch-a", `{"v":1,"a":2}`, nil},
		{"sibling", "par-a", "ch-a2", `{"v":1,"s":1}`, nil},
		{"another family's child", "par-b", "ch-a", `{"evil":true}`, ErrNotFound},
		{"unknown child", "par-a", "ch-nope", `{}`, ErrNotFound},
		{"unknown parent", "par-nope", "ch-a", `{}`, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.apply(&PutChildSettings{ParentID: tc.parent, ChildID: tc.child, Settings: []byte(tc.settings), UpdatedAt: baseTime + int64(f.idx)})
			if !errors.Is(res[0].Err, tc.want) || (tc.want == nil && res[0].Err != nil) {
				t.Fatalf("err = %v, want %v", res[0].Err, tc.want)
			}
		})
	}
	row, err := f.db.Companion(f.ctx, scopeActors["child A (own device)"], "ch-a")
	if err != nil {
		t.Fatal(err)
	}
	if string(row.Settings) != `{"v":1,"a":2}` {
		t.Fatalf("settings = %s", row.Settings)
	}
	// Settings and state live side by side: a turn keeps the settings.
	c := f.turnCmd("fam-a", "ch-a", "dev-a", "t-s", "x")
	c.Companion = f.seal(f.deks["fam-a"], "{}", FieldCompanion, "ch-a")
	f.must(c)
	row, _ = f.db.Companion(f.ctx, scopeActors["parent A"], "ch-a")
	if string(row.Settings) != `{"v":1,"a":2}` || row.StateSealed == nil {
		t.Fatalf("after a turn: %+v", row)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action='update_child_settings'"); n != 3 {
		t.Fatalf("audit events = %d, want 3", n)
	}
}
