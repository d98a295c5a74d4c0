package raftcluster

import (
	"fmt"
	"testing"
	"time"
)

// noNoticeTimer makes hashicorp/raft's own commit timer irrelevant: with
// it, a follower learns of a commit only from an AppendEntries that
// carries entries (heartbeats carry no commit index). Any follower that
// applies a write in these tests learned of its commit from the leader's
// notice, or from a later write.
func noNoticeTimer(c *Config) { c.CommitTimeout = time.Hour }

// noticeCluster forms three nodes and returns the cluster, its leader, a
// follower and how many notices the leader has appended so far.
func noticeCluster(t *testing.T, tune func(*Config)) (tc *testCluster, leader, follower *testNode, notices uint64) {
	t.Helper()
	tc = newTestCluster(t, tune)
	tc.form("n1", "n2", "n3")
	leader = tc.mustLeader(10 * time.Second)
	return tc, leader, tc.followers()[0], leader.c.notice.notices.Load()
}

// TestFollowerAppliesItsForwardedWriteWithoutCommitTimer: a write
// forwarded by a follower, with no write after it, is applied on that
// follower (read-your-writes) because the leader announces the commit.
func TestFollowerAppliesItsForwardedWriteWithoutCommitTimer(t *testing.T) {
	t.Parallel()
	_, leader, f, before := noticeCluster(t, noNoticeTimer)
	for i := range 3 { // one at a time: each is the last write for a while
		resp, err := f.c.Apply(ctxFor(t, 10*time.Second), []byte(fmt.Sprintf("w%d", i)))
		if err != nil || resp.Code != "" {
			t.Fatalf("forwarded write %d: %+v, %v", i, resp, err)
		}
		if err := f.c.WaitApplied(ctxFor(t, 10*time.Second), resp.Index); err != nil {
			t.Fatalf("follower never applied its own forwarded write %d (index %d): %v", i, resp.Index, err)
		}
	}
	if got := leader.c.notice.notices.Load() - before; got == 0 {
		t.Fatal("the follower applied its writes, but the leader appended no notice: something else carried the commit index")
	}
}

// TestFollowerReadIndexWithoutCommitTimer: a follower's linearizable read
// (SyncRead: ask the leader for its read index, then apply up to it)
// completes after a write that the leader made itself, with no later
// write and no commit timer: the barrier behind the read index carries
// the commit (no notice is needed, and followerWaits is not called).
func TestFollowerReadIndexWithoutCommitTimer(t *testing.T) {
	t.Parallel()
	tc, leader, _, _ := noticeCluster(t, noNoticeTimer)
	resp, err := leader.c.Apply(ctxFor(t, 10*time.Second), []byte("leader's own"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tc.followers() {
		if err := f.c.SyncRead(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatalf("%s: linearizable read never completed: %v", f.id, err)
		}
		if err := f.c.WaitApplied(ctxFor(t, time.Second), resp.Index); err != nil {
			t.Fatalf("%s: after SyncRead it has not applied the leader's write: %v", f.id, err)
		}
	}
}

// TestNoNoticesWithoutWaitingFollowers: writes made on the leader, with
// nobody waiting on a follower, append no notices (they cost nothing to a
// cluster whose clients all reach the leader).
func TestNoNoticesWithoutWaitingFollowers(t *testing.T) {
	t.Parallel()
	_, leader, _, _ := noticeCluster(t, nil)
	n := leader.c.notice
	eventually(t, 10*time.Second, "what forming the cluster awaited is announced", func() error {
		if a, b := n.awaited.Load(), n.announced.Load(); a > b {
			return fmt.Errorf("awaited %d, announced %d", a, b)
		}
		return nil
	})
	before := n.notices.Load()
	for i := range 20 {
		if _, err := leader.c.Apply(ctxFor(t, 10*time.Second), []byte(fmt.Sprintf("l%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.notices.Load() - before; got != 0 {
		t.Fatalf("%d notices appended for writes no follower waits on", got)
	}
}

// TestAppliedIndexReachesCommitAfterNotices: a notice is an entry every
// state machine counts as applied, so once writes stop every node's
// applied index reaches the leader's commit index (what operators and the
// e2e tests wait for). A Raft barrier would leave it one entry behind
// until the next write.
func TestAppliedIndexReachesCommitAfterNotices(t *testing.T) {
	t.Parallel()
	tc, leader, f, before := noticeCluster(t, nil)
	if _, err := f.c.Apply(ctxFor(t, 10*time.Second), []byte("forwarded")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a notice was appended", func() error {
		if leader.c.notice.notices.Load() == before {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	eventually(t, 10*time.Second, "every node applied the leader's commit index", func() error {
		commit := leader.c.Status().CommitIndex
		for _, n := range tc.nodes {
			if got := n.c.Status().AppliedIndex; got < commit {
				return fmt.Errorf("%s applied %d, leader committed %d", n.id, got, commit)
			}
		}
		return nil
	})
}
