package storage

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestChatTurnCompareAndSet: a turn carrying StateBase applies only while
// the stored state version still equals it; a stale one stores nothing
// (no turn, no state) and reports ErrStale, which is a conflict.
func TestChatTurnCompareAndSet(t *testing.T) {
	f := scopeWorld(t)
	dek := f.deks["fam-a"]
	base := func(v int64) *int64 { return &v }
	version := func() int64 {
		row, err := f.db.Companion(f.ctx, scopeActors["parent A"], "ch-a")
		if err != nil {
			t.Fatal(err)
		}
		return row.StateVersion
	}
	for i, tc := range []struct {
		name        string
		base        *int64
		state       bool
		wantErr     error
		wantVersion int64
	}{
		{"first write from version 0", base(0), true, nil, 1},
		{"stale: still thinks 0", base(0), true, ErrStale, 1},
		{"from the current version", base(1), true, nil, 2},
		{"ahead of the store", base(7), true, ErrStale, 2},
		{"no base: last write wins", nil, true, nil, 3},
		{"checked turn without new state keeps the version", base(3), false, nil, 3},
		{"stale turn without new state", base(2), false, ErrStale, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "cas" + string(rune('a'+i))
			c := f.turnCmd("fam-a", "ch-a", "dev-a", id, "hi")
			c.StateBase = tc.base
			if tc.state {
				c.Companion = f.seal(dek, `{"n":`+string(rune('0'+i))+`}`, FieldCompanion, "ch-a")
			}
			res := f.apply(c)
			if !errors.Is(res[0].Err, tc.wantErr) || (tc.wantErr == nil && res[0].Err != nil) {
				t.Fatalf("err = %v, want %v", res[0].Err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(res[0].Err, ErrConflict) {
				t.Fatalf("a stale turn must be a conflict: %v", res[0].Err)
			}
			stored := f.count("SELECT COUNT(*) FROM turns WHERE id=?", id)
			if (tc.wantErr == nil) != (stored == 1) {
				t.Fatalf("turn stored %d times, err %v", stored, res[0].Err)
			}
			if got := version(); got != tc.wantVersion {
				t.Fatalf("state version %d, want %d", got, tc.wantVersion)
			}
		})
	}
	// A base travels in the log entry as version 3.
	c := f.turnCmd("fam-a", "ch-a", "dev-a", "enc", "hi")
	c.StateBase = base(3)
	data, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &env); err != nil || env.V != 3 {
		t.Fatalf("envelope version %d (%v), want 3", env.V, err)
	}
	got, err := Decode(data)
	if err != nil || got.(*ChatTurn).StateBase == nil || *got.(*ChatTurn).StateBase != 3 {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}
