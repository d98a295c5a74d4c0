package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"daisydog/storage"
)

// allTurnIDs reads every stored turn of a child directly from a node's database.
func allTurnIDs(t *testing.T, n *testNode, childID string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	var before int64
	for {
		rows, err := n.DB().Turns(context.Background(), storage.Actor{Role: storage.RoleSystem}, childID, before, 100)
		if err != nil {
			t.Fatalf("turns on %s: %v", n.nf.NodeID, err)
		}
		for _, r := range rows {
			ids[r.ID] = true
		}
		if len(rows) < 100 {
			return ids
		}
		before = rows[len(rows)-1].Seq
	}
}

func leaderOf(t *testing.T, nodes []*testNode) (*testNode, []*testNode) {
	t.Helper()
	var leader *testNode
	var followers []*testNode
	for _, n := range nodes {
		if n.Cluster().IsLeader() {
			leader = n
		} else {
			followers = append(followers, n)
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	return leader, followers
}

func TestClusterWritesSurviveLeaderLoss(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	nodes := startCluster(t, 3, func(c *Config) {
		c.SnapshotThreshold = 40
		c.TrailingLogs = 10
		c.SnapshotInterval = 200 * time.Millisecond
	})
	leader, followers := leaderOf(t, nodes)
	fam := newFamily(t, followers[0], "failover@example.test", "Pip", "9-12")

	acked := map[string]bool{}
	send := func(via []*testNode, count int) {
		for i := 0; i < count; i++ {
			n := via[i%len(via)]
			deadline := time.Now().Add(15 * time.Second)
			for {
				st, tr := n.chat(t, fam.childToken, fmt.Sprintf("hello daisy number %d", len(acked)))
				if st == 200 {
					acked[tr.Turn.ID] = true
					break
				}
				if st != 503 || time.Now().After(deadline) {
					t.Fatalf("chat via %s: status %d", n.nf.NodeID, st)
				}
			}
		}
	}
	send(nodes, 30)

	// Lose the leader; a follower must take over and writes continue.
	leader.stop(t)
	waitFor(t, 30*time.Second, "new leader", func() error {
		for _, f := range followers {
			if f.Cluster().IsLeader() {
				return nil
			}
		}
		return fmt.Errorf("no leader among survivors")
	})
	send(followers, 60) // enough entries to force a snapshot and log trim

	// Every acknowledged turn is on every survivor.
	for _, f := range followers {
		waitFor(t, 10*time.Second, "survivor has all turns", func() error {
			got := allTurnIDs(t, f, fam.childID)
			for id := range acked {
				if !got[id] {
					return fmt.Errorf("%s misses %s (%d/%d)", f.nf.NodeID, id, len(got), len(acked))
				}
			}
			return nil
		})
	}

	// The old leader restarts with no flags beyond its data dir and catches up
	// (from a snapshot: its log position was trimmed away meanwhile).
	restarted := startTestNode(t, leader.dir, func(c *Config) { c.SnapshotThreshold = 40; c.TrailingLogs = 10 })
	waitFor(t, 30*time.Second, "restarted node catches up", func() error {
		got := allTurnIDs(t, restarted, fam.childID)
		if len(got) != len(acked) {
			return fmt.Errorf("has %d of %d turns", len(got), len(acked))
		}
		for id := range acked {
			if !got[id] {
				return fmt.Errorf("misses %s", id)
			}
		}
		return nil
	})
	// Its history is readable through its own API, too.
	var hist struct{ Turns []struct{ ID string } }
	if st, _ := restarted.call(t, "GET", "/v1/chat?limit=100", fam.childToken, nil, &hist); st != 200 || len(hist.Turns) != 90 {
		t.Fatalf("history on restarted node: %d, %d turns", st, len(hist.Turns))
	}
}
