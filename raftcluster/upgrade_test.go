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
	// Client.Members: every member's own answer, and which one did not answer.
	st, answers, err := NewClient(l.ident).Members(ctx, l.addr)
	if err != nil || len(st.Nodes) != 3 || len(answers) != 3 {
		t.Fatalf("Members: %+v %d answers, %v", st, len(answers), err)
	}
	for _, a := range answers {
		switch {
		case a.ID == down.id && a.Err == nil:
			t.Errorf("Members: the stopped %s answered", a.ID)
		case a.ID != down.id && (a.Err != nil || a.Status.NodeID != a.ID || len(a.Status.TrustedCAs) != 1 || a.Status.IssuerCA != tc.ca.Fingerprint()):
			t.Errorf("Members: %s answered %+v, %v", a.ID, a.Status, a.Err)
		}
	}
	if _, _, err := NewClient(l.ident).Members(ctx, down.addr); err == nil {
		t.Error("Members through a stopped node answered")
	}
	// The same from inside the leader (the staff dashboard's view).
	inside := l.c.MemberStatuses(ctx, time.Second)
	if len(inside) != 3 {
		t.Fatalf("MemberStatuses: %d answers", len(inside))
	}
	for _, a := range inside {
		if (a.ID == down.id) != (a.Err != nil) || a.Err == nil && a.Status.NodeID != a.ID {
			t.Errorf("MemberStatuses: %s answered %+v, %v", a.ID, a.Status, a.Err)
		}
		if a.ID == l.id && a.Status.State != "Leader" {
			t.Errorf("MemberStatuses: the leader answers for itself as %q", a.Status.State)
		}
	}
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

// TestApplyWaitsForMembers: with Config.Gated, Apply itself refuses a
// command of a newer kind while a member cannot apply it — on the leader
// and forwarded from a follower, whatever code proposes it — and appends
// nothing; other commands pass; once the member is upgraded the command
// goes through (within the answers' reuse period).
func TestApplyWaitsForMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	advertised := map[string]map[string]int{"n1": {"new_kind": 1}, "n2": {"new_kind": 1}, "n3": nil}
	gated := func(cmd []byte) (string, int, bool) {
		if strings.HasPrefix(string(cmd), "new:") {
			return "new_kind", 1, true
		}
		return "", 0, false
	}
	tc := newTestCluster(t, func(c *Config) { c.Commands = advertised[c.NodeID]; c.Gated = gated })
	tc.form("n1", "n2", "n3")
	l := tc.mustLeader(10 * time.Second)
	ctx := ctxFor(t, 30*time.Second)

	before := l.c.Status().LastLogIndex
	for _, n := range append([]*testNode{l}, tc.followers()...) {
		if _, err := n.c.Apply(ctx, []byte("new:from-"+n.id)); !errors.Is(err, ErrNotUpgraded) || !strings.Contains(err.Error(), "node n3") {
			t.Errorf("gated command via %s with n3 older: %v, want ErrNotUpgraded naming n3", n.id, err)
		}
	}
	if after := l.c.Status().LastLogIndex; after != before {
		t.Errorf("refused commands were appended: last index %d → %d", before, after)
	}
	if _, err := l.c.Apply(ctx, []byte("plain")); err != nil {
		t.Fatalf("an ungated command: %v", err)
	}
	// An operator tool's command (Client.Submit, with a node certificate)
	// through a follower's cluster port: gated like the node's own, applied
	// through the leader otherwise.
	f := tc.followers()[0]
	cl := NewClient(l.ident)
	before = l.c.Status().LastLogIndex
	if _, err := cl.Submit(ctx, f.addr, []byte("new:submitted")); err == nil || !strings.Contains(err.Error(), "node n3") {
		t.Errorf("gated command submitted with n3 older: %v, want a refusal naming n3", err)
	}
	if after := l.c.Status().LastLogIndex; after != before {
		t.Errorf("a refused submission was appended: last index %d → %d", before, after)
	}
	resp, err := cl.Submit(ctx, f.addr, []byte("plain-submitted"))
	if err != nil || resp.Index == 0 {
		t.Fatalf("an ungated submission: %+v %v", resp, err)
	}
	if got := l.sm.get(resp.Index); got != "plain-submitted" {
		t.Fatalf("the leader applied %q at the submission's index %d", got, resp.Index)
	}

	n3 := tc.nodes["n3"]
	tc.stop(n3, true)
	advertised["n3"] = map[string]int{"new_kind": 1}
	tc.start(n3, false)
	tc.voters(10*time.Second, "n1", "n2", "n3")
	eventually(t, 2*gateTTL+10*time.Second, "the gated command to go through once n3 is upgraded", func() error {
		l, err := tc.leader()
		if err != nil {
			return err
		}
		_, err = l.c.Apply(ctx, []byte("new:after"))
		return err
	})
}
