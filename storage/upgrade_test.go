package storage

import (
	"errors"
	"fmt"
	"testing"
)

// TestNewerKindsAreTheHighestThisBinaryApplies: what a node advertises must
// be exactly what it can apply — each kind at its version decodes, the next
// version does not (an advertisement too high would let a leader propose an
// entry this node stops on).
func TestNewerKindsAreTheHighestThisBinaryApplies(t *testing.T) {
	kinds := NewerKinds()
	if len(kinds) == 0 {
		t.Fatal("no newer kinds: the retention command is newer than the baseline")
	}
	for kind, v := range kinds {
		for _, tc := range []struct {
			version int
			ok      bool
		}{{v, true}, {v + 1, false}} {
			_, err := Decode([]byte(fmt.Sprintf(`{"t":%q,"v":%d,"b":{}}`, kind, tc.version)))
			if got := !errors.Is(err, ErrUnsupported); got != tc.ok {
				t.Errorf("%s v%d: decode error %v, want applicable=%t", kind, tc.version, err, tc.ok)
			}
		}
	}
}

// TestMustWaitForMembers: an encoded command of a kind newer than the
// baseline is recognised from its envelope, with its version; baseline
// kinds and bytes that are no command are not.
func TestMustWaitForMembers(t *testing.T) {
	gate := MustWaitForMembers(NewerKinds())
	enc := func(c Command) []byte {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		cmd  []byte
		kind string
		v    int
		ok   bool
	}{
		{"retention", enc(&ApplyRetention{TurnsBefore: 1, Limit: 10, Now: 2}), KindApplyRetention, 2, true},
		{"chat turn", enc(&ChatTurn{ChildID: "c", TurnID: "t"}), "", 0, false},
		{"sign-up", enc(&SignUp{FamilyID: "f"}), "", 0, false},
		{"not a command", []byte("DELETE FROM turns"), "", 0, false},
		{"empty", nil, "", 0, false},
	} {
		kind, v, ok := gate(tc.cmd)
		if kind != tc.kind || v != tc.v || ok != tc.ok {
			t.Errorf("%s: (%q, %d, %t), want (%q, %d, %t)", tc.name, kind, v, ok, tc.kind, tc.v, tc.ok)
		}
	}
}
