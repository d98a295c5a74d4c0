package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// alertsTo counts the safety alerts to an address in every node's outbox
// file (a stopped node's too).
func alertsTo(t *testing.T, nodes []*testNode, to string) (n int, bodies []string) {
	t.Helper()
	for _, tn := range nodes {
		for _, e := range tn.outbox(t) {
			if e.To == to && e.Kind == "safety_alert" {
				n++
				bodies = append(bodies, e.Body)
			}
		}
	}
	return n, bodies
}

// Parent alerts through the replicated outbox: before it starts, the node
// that took an escalated turn sends the alert (the older way); once it has
// started, escalations are sent by the leader from replicated state — one
// committed while the leader is lost is sent by the next leader — with the
// throttle kept cluster-wide, none for an abuse disclosure, and never
// twice for one escalation.
func TestAlertOutboxAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, func(c *Config) { clock.config()(c); c.AlertEvery = -1 })
	leader, followers := leaderOf(t, nodes)
	const email = "alerts@example.test"
	fam := newFamily(t, followers[0], email, "Clover", "9-12") // verified parent, consent
	escalate := func(via *testNode, msg string) {
		t.Helper()
		if st, tr := via.chat(t, fam.childToken, msg); st != 200 || !tr.Turn.Safety.Escalated {
			t.Fatalf("chat %q via %s: %d, escalated %v", msg, via.nf.NodeID, st, tr.Turn.Safety.Escalated)
		}
	}

	// Before the outbox: the node that took the turn sends it.
	escalate(followers[0], "I want to kill myself")
	waitFor(t, 10*time.Second, "the alert from the node that took the turn", func() error {
		if n, _ := alertsTo(t, []*testNode{followers[0]}, email); n != 1 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	run, err := leader.DeliverAlerts(ctx)
	if err != nil || !run.Started || run.Sent != 0 {
		t.Fatalf("first run (starts the outbox): %+v %v", run, err)
	}
	if n, _ := alertsTo(t, nodes, email); n != 1 {
		t.Fatalf("%d alerts after the outbox started, want still 1 (the earlier turn is not the outbox's)", n)
	}

	// After it: nobody sends at once; the leader is lost before it runs;
	// the next leader sends it.
	clock.add(16 * time.Minute)
	escalate(followers[1], "a man in a car asked me to come with him")
	leader.stop(t)
	var next *testNode
	waitFor(t, 15*time.Second, "a new leader", func() error {
		for _, f := range followers {
			if f.Cluster().IsLeader() {
				next = f
				return nil
			}
		}
		return errors.New("no leader yet")
	})
	if n, _ := alertsTo(t, nodes, email); n != 1 {
		t.Fatalf("%d alerts before the outbox ran, want 1 (no node sent it at once)", n)
	}
	run, err = next.DeliverAlerts(ctx)
	if err != nil || run.Sent != 1 || run.Alerted != 1 {
		t.Fatalf("the new leader's run: %+v %v", run, err)
	}
	n, bodies := alertsTo(t, nodes, email)
	if n != 2 || !strings.Contains(bodies[len(bodies)-1], "secrets, gifts, photos or a meeting") || strings.Contains(strings.Join(bodies, ""), "car") {
		t.Fatalf("%d alerts %q", n, bodies)
	}
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 0 {
		t.Fatalf("a second run sent again: %+v %v", run, err)
	}
	if s := next.metrics.Snapshot(nil).Alerts; s["sent"] != 1 || s["failed"] != 0 {
		t.Fatalf("the new leader's alert counters %v", s)
	}

	// The throttle is the cluster's: an escalation through the other node
	// within 15 minutes is not sent; an abuse disclosure never; after 15
	// minutes again.
	other := followers[0]
	if other == next {
		other = followers[1]
	}
	escalate(other, "I cut myself")
	escalate(other, "my dad hits me")
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 0 || run.Skipped != 2 {
		t.Fatalf("throttled and disclosure run: %+v %v", run, err)
	}
	clock.add(16 * time.Minute)
	escalate(other, "i wanna die")
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 1 {
		t.Fatalf("run after 16 minutes: %+v %v", run, err)
	}
	if n, _ := alertsTo(t, nodes, email); n != 3 {
		t.Fatalf("%d alerts in all, want 3", n)
	}
	if run, _ := other.DeliverAlerts(ctx); run != (AlertRun{}) {
		t.Fatalf("a follower's run did something: %+v", run)
	}
}
