package raftcluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMembersApply: a leader may propose a kind newer than the baseline only
// when every member advertises it; a member on an older binary (advertising
// nothing, or a lower version) or one that cannot be asked holds it back, and
// the error names that member.
func TestMembersApply(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	// n3 starts as an "older binary": it advertises nothing.
	advertised := map[string]map[string]int{
		"n1": {"new_kind": 2, "other": 1},
		"n2": {"new_kind": 2},
		"n3": nil,
	}
	tc := newTestCluster(t, func(c *Config) { c.Commands = advertised[c.NodeID] })
	tc.form("n1", "n2", "n3")
	l := tc.mustLeader(10 * time.Second)
	ctx := ctxFor(t, 20*time.Second)

	cases := []struct {
		name    string
		kind    string
		version int
		// the member the refusal must name ("" = allowed)
		blocker string
	}{
		{"older binary advertises nothing", "new_kind", 1, "n3"},
		{"unknown kind everywhere", "nobody_has_it", 1, "n"},
	}
	for _, c := range cases {
		err := l.c.MembersApply(ctx, c.kind, c.version)
		if !errors.Is(err, ErrNotUpgraded) || !strings.Contains(err.Error(), "node "+c.blocker) {
			t.Errorf("%s: MembersApply(%s v%d) = %v, want ErrNotUpgraded naming %s", c.name, c.kind, c.version, err, c.blocker)
		}
	}

	// "Upgrade" n3: restart it with the new binary's advertisement.
	n3 := tc.nodes["n3"]
	tc.stop(n3, true)
	advertised["n3"] = map[string]int{"new_kind": 1}
	tc.start(n3, false)
	tc.voters(10*time.Second, "n1", "n2", "n3")
	l = tc.mustLeader(10 * time.Second)
	eventually(t, 10*time.Second, "all members apply new_kind v1", func() error {
		return l.c.MembersApply(ctx, "new_kind", 1)
	})
	if err := l.c.MembersApply(ctx, "new_kind", 2); !errors.Is(err, ErrNotUpgraded) || !strings.Contains(err.Error(), "node n3") {
		t.Errorf("new_kind v2 with n3 at v1: %v, want ErrNotUpgraded naming n3", err)
	}
	// Any member may ask (a follower too), with the same answer.
	for _, f := range tc.followers() {
		if err := f.c.MembersApply(ctx, "new_kind", 1); err != nil {
			t.Errorf("asked on follower %s: %v", f.id, err)
		}
	}

	// A member that is down counts with what it last advertised to the
	// asking node; one the asking node never heard from cannot vouch.
	var down *testNode
	for _, f := range tc.followers() {
		down = f
		break
	}
	tc.stop(down, false)
	l = tc.mustLeader(10 * time.Second)
	if err := l.c.MembersApply(ctx, "new_kind", 1); err != nil {
		t.Errorf("with %s down after it advertised new_kind v1: %v", down.id, err)
	}
	if err := l.c.MembersApply(ctx, "new_kind", 2); !errors.Is(err, ErrNotUpgraded) {
		t.Errorf("new_kind v2 with %s down: %v, want ErrNotUpgraded", down.id, err)
	}
	l.c.adv.mu.Lock()
	l.c.adv.m = nil // as on a node that has just become leader
	l.c.adv.mu.Unlock()
	if err := l.c.MembersApply(ctx, "new_kind", 1); !errors.Is(err, ErrNotUpgraded) || !strings.Contains(err.Error(), "node "+down.id+" could not be asked") {
		t.Errorf("with %s down and never heard from: %v, want ErrNotUpgraded (could not be asked)", down.id, err)
	}
}
