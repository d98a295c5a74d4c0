package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ackLog records every chat turn a client saw acknowledged (HTTP 200).
type ackLog struct {
	seq map[string]int64 // turn id → seq
}

func newAckLog() *ackLog { return &ackLog{seq: map[string]int64{}} }

func (a *ackLog) add(t testing.TB, tu turn) {
	t.Helper()
	if prev, dup := a.seq[tu.ID]; dup {
		t.Errorf("turn id %s acknowledged twice (seq %d and %d)", tu.ID, prev, tu.Seq)
	}
	a.seq[tu.ID] = tu.Seq
}

// chatUntilAcked sends one message through n until it is acknowledged. 503
// (with Retry-After) and transport errors are retried within the bound;
// any other status fails the test.
func (c *cluster) chatUntilAcked(n *node, f *family, msg string, bound time.Duration) (turn, int) {
	c.t.Helper()
	deadline := time.Now().Add(bound)
	retries := 0
	for {
		r, err := c.chat(n, f, msg)
		switch {
		case err != nil:
			c.t.Logf("chat via %s: %v (retrying)", n.id, err)
		case r.Status == 200:
			return turnOf(c.t, r), retries
		case r.Status == 503:
			if r.Header.Get("Retry-After") == "" {
				c.t.Errorf("chat via %s: 503 without Retry-After: %s", n.id, r)
			}
		default:
			c.t.Fatalf("chat via %s: want 200 or 503, got %s", n.id, r)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("chat via %s not acknowledged within %v (last: %v %s)", n.id, bound, err, r)
		}
		retries++
		time.Sleep(200 * time.Millisecond) // client back-off between retries
	}
}

// checkHistory reads the child's full history from n through the parent
// endpoint and checks that every acknowledged turn is there with its seq and
// that ids and seqs are unique. It returns the set of turn ids n holds.
func (c *cluster) checkHistory(n *node, f *family, acked *ackLog) map[string]int64 {
	c.t.Helper()
	got := map[string]int64{}
	seqs := map[int64]string{}
	for _, tu := range c.history(n, f, true) {
		if _, dup := got[tu.ID]; dup {
			c.t.Errorf("%s: turn %s listed twice", n.id, tu.ID)
		}
		if other, dup := seqs[tu.Seq]; dup {
			c.t.Errorf("%s: turns %s and %s share seq %d", n.id, other, tu.ID, tu.Seq)
		}
		got[tu.ID], seqs[tu.Seq] = tu.Seq, tu.ID
	}
	var missing []string
	for id, seq := range acked.seq {
		s, ok := got[id]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s(seq %d)", id, seq))
		case s != seq:
			c.t.Errorf("%s: turn %s has seq %d, acknowledged with seq %d", n.id, id, s, seq)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		c.t.Errorf("%s lost %d of %d acknowledged turns: %s", n.id, len(missing), len(acked.seq), strings.Join(missing, ", "))
	}
	return got
}

// TestClusterFailover kills the leader of a three-node cluster in the middle
// of a stream of chat turns and checks that every acknowledged turn is on
// every node once the killed node is back.
func TestClusterFailover(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 3)
	leader, _ := c.waitLeader(c.nodes, 0)
	follower := c.others(leader)[0]
	f := c.newFamily(follower, "", "") // every setup write goes through a follower
	// Reads (the child's device, context) are local: let every node apply the setup.
	c.converge(c.nodes)

	acked := newAckLog()
	begin := time.Now()
	for i := 0; i < 50; i++ {
		n := c.nodes[i%len(c.nodes)]
		r, err := c.chat(n, f, fmt.Sprintf("Hi Daisy! Message %d: can you do a trick?", i))
		if err != nil || r.Status != 200 {
			t.Fatalf("chat %d via %s on a healthy cluster: %v %s", i, n.id, err, r)
		}
		acked.add(t, turnOf(t, r))
	}
	t.Logf("50 turns on a healthy cluster in %v", time.Since(begin).Round(time.Millisecond))

	leader, lst := c.waitLeader(c.nodes, 0)
	c.kill(leader)
	survivors := c.others(leader)
	killedAt := time.Now()

	// Write straight through the election: the first turns may wait or get 503.
	retries := 0
	for i := 0; i < 10; i++ {
		tu, r := c.chatUntilAcked(survivors[i%2], f, fmt.Sprintf("Daisy, are you there? Message %d after the crash.", i), 60*time.Second)
		acked.add(t, tu)
		retries += r
	}
	t.Logf("first 10 turns after killing leader %s acknowledged %v after the kill (%d retries)", leader.id, time.Since(killedAt).Round(time.Millisecond), retries)
	newLeader, nst := c.waitLeader(survivors, lst.Term+1)
	t.Logf("new leader %s at term %d (was %s at term %d)", newLeader.id, nst.Term, leader.id, lst.Term)
	for i := 10; i < 50; i++ {
		tu, r := c.chatUntilAcked(survivors[i%2], f, fmt.Sprintf("Tell me a joke, Daisy. Message %d after the crash.", i), 60*time.Second)
		acked.add(t, tu)
		retries += r
	}
	if retries > 0 {
		t.Logf("%d retries (503 or transport errors) while writing through the failover", retries)
	}

	c.restart(leader)
	c.waitReady(leader)
	idx := c.converge(c.nodes)
	t.Logf("%s restarted and applied index %d", leader.id, idx)

	var sets []map[string]int64
	for _, n := range c.nodes {
		sets = append(sets, c.checkHistory(n, f, acked))
	}
	for i := 1; i < len(sets); i++ {
		if len(sets[i]) != len(sets[0]) {
			t.Errorf("%s holds %d turns, %s holds %d", c.nodes[0].id, len(sets[0]), c.nodes[i].id, len(sets[i]))
		}
		for id := range sets[0] {
			if _, ok := sets[i][id]; !ok {
				t.Errorf("turn %s is on %s but not on %s", id, c.nodes[0].id, c.nodes[i].id)
			}
		}
	}
	t.Logf("%d acknowledged turns; each node holds %d", len(acked.seq), len(sets[0]))
}

// snapshotMeta is the part of hashicorp/raft's meta.json the tests read.
type snapshotMeta struct {
	ID    string `json:"ID"`
	Index uint64 `json:"Index"`
	Term  uint64 `json:"Term"`
}

// snapshots lists the complete snapshots in a node's data directory.
func snapshots(dir string) []snapshotMeta {
	root := filepath.Join(dir, "raft", "snapshots")
	ents, _ := os.ReadDir(root)
	var out []snapshotMeta
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m snapshotMeta
		if json.Unmarshal(b, &m) == nil {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "state.bin")); err == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func maxSnapshotIndex(dir string) uint64 {
	var idx uint64
	for _, m := range snapshots(dir) {
		idx = max(idx, m.Index)
	}
	return idx
}

// TestRestartCatchesUpFromSnapshot stops a follower, writes enough for the
// leader to snapshot and trim the entries the follower misses, restarts the
// follower and checks it catches up (through a snapshot install).
func TestRestartCatchesUpFromSnapshot(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	const trailing = 5
	c := startCluster(t, 3, "--snapshot-threshold", "20", "--trailing-logs", strconv.Itoa(trailing), "--snapshot-interval", "1s")
	leader, _ := c.waitLeader(c.nodes, 0)
	f := c.newFamily(leader, "", "")
	follower := c.others(leader)[0]
	c.converge(c.nodes)
	fst, err := c.status(follower)
	if err != nil {
		t.Fatal(err)
	}
	c.stop(follower)
	live := c.others(follower)

	acked := newAckLog()
	begin := time.Now()
	for i := 0; i < 100; i++ {
		tu, _ := c.chatUntilAcked(live[i%2], f, fmt.Sprintf("Daisy, can we play fetch? Round %d.", i), 30*time.Second)
		acked.add(t, tu)
	}
	t.Logf("100 turns with %s down in %v", follower.id, time.Since(begin).Round(time.Millisecond))

	// The leader must have a snapshot far enough past the follower's last
	// index that the entries it misses were trimmed from the log.
	leader, _ = c.waitLeader(live, 0)
	need := max(fst.AppliedIndex, fst.LastLogIndex) + 2*trailing + 1
	waitFor(t, 30*time.Second, fmt.Sprintf("a snapshot at index >= %d on leader %s", need, leader.id), func() (bool, string) {
		c.mustRun(leader)
		idx := maxSnapshotIndex(leader.dir)
		return idx >= need, fmt.Sprintf("latest snapshot index %d", idx)
	})
	snapIdx := maxSnapshotIndex(leader.dir)
	t.Logf("leader %s snapshotted at index %d; %s stopped at %s", leader.id, snapIdx, follower.id, fst)

	c.restart(follower)
	c.waitReady(follower)
	idx := c.converge(c.nodes)
	t.Logf("%s caught up to index %d", follower.id, idx)

	c.checkHistory(follower, f, acked)
	// The child's own view on the restarted node too.
	own := map[string]bool{}
	for _, tu := range c.history(follower, f, false) {
		own[tu.ID] = true
	}
	for id := range acked.seq {
		if !own[id] {
			t.Errorf("%s: turn %s missing from the child's own history", follower.id, id)
		}
	}
	// The leader had trimmed what the follower missed, so it can only have
	// caught up by installing the leader's snapshot.
	if !strings.Contains(follower.proc.stderrText(), `"snapshot restored"`) {
		t.Errorf("%s caught up but never logged \"snapshot restored\": expected a snapshot install", follower.id)
	}
	if got := maxSnapshotIndex(follower.dir); got < snapIdx {
		t.Errorf("%s's snapshot store holds index %d, want >= the installed %d", follower.id, got, snapIdx)
	}
}

// TestCLIClusterStatusAndRemove checks `daisydog cluster status` and
// `daisydog cluster remove` against a running cluster.
func TestCLIClusterStatusAndRemove(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 3)
	leader, st := c.waitLeader(c.nodes, 0)
	if len(st.Nodes) != 3 {
		t.Fatalf("status lists %d nodes, want 3: %s", len(st.Nodes), st)
	}
	if st.Term == 0 || st.AppliedIndex == 0 || st.CommitIndex == 0 || st.LastLogIndex < st.CommitIndex {
		t.Errorf("status indexes look wrong: %s", st)
	}
	if st.NodeID != leader.id || st.State != "Leader" || st.LeaderAddr != leader.raftAddr {
		t.Errorf("leader's own status: %s (leader_addr %q), want node %s, state Leader, leader_addr %s", st, st.LeaderAddr, leader.id, leader.raftAddr)
	}
	leaders := 0
	for _, m := range st.Nodes {
		n := c.byID(m.ID)
		switch {
		case n == nil:
			t.Errorf("status lists unknown node %q", m.ID)
		case m.Address != n.raftAddr || m.Suffrage != "Voter":
			t.Errorf("status lists %s at %s as %s, want %s as Voter", m.ID, m.Address, m.Suffrage, n.raftAddr)
		}
		if m.Leader {
			leaders++
			if m.ID != leader.id {
				t.Errorf("status flags %s as leader, leader_id is %s", m.ID, leader.id)
			}
		}
	}
	if leaders != 1 {
		t.Errorf("status flags %d nodes as leader, want 1", leaders)
	}
	for _, n := range c.others(leader) {
		fs, err := c.status(n)
		if err != nil {
			t.Fatal(err)
		}
		if fs.State != "Follower" || fs.LeaderID != leader.id || fs.Term != st.Term || len(fs.Nodes) != 3 {
			t.Errorf("follower %s status %s, want Follower of %s at term %d with 3 nodes", n.id, fs, leader.id, st.Term)
		}
	}

	// Remove a follower, asking through the other follower (forwarded to the leader).
	victim, asker := c.others(leader)[1], c.others(leader)[0]
	out, err := cli("cluster", "remove", "--data", asker.dir, victim.id)
	if err != nil {
		t.Fatalf("cluster remove: %v", err)
	}
	if !strings.Contains(out, victim.id) {
		t.Errorf("cluster remove printed %q, want it to name %s", out, victim.id)
	}
	remaining := c.others(victim)
	c.waitMembers(remaining, 2)
	for _, n := range remaining {
		s, err := c.status(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range s.Nodes {
			if m.ID == victim.id {
				t.Errorf("%s still lists removed node %s: %s", n.id, victim.id, s)
			}
		}
	}
	c.stop(victim)

	// Removing a node that is not a member fails with a non-zero exit.
	if out, err := cli("cluster", "remove", "--data", leader.dir, "n9"); err == nil {
		t.Errorf("removing a non-member succeeded: %q", out)
	}
	// The two remaining voters still take writes (sign-up goes through Raft).
	c.api.must(201, "POST", asker.url("/v1/parents/signup"), "", map[string]string{
		"email": "after-remove-" + randLetters(8) + "@example.test", "password": "correct horse battery staple",
	})
	s, err := c.status(leader)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 2 || s.LeaderID == "" {
		t.Errorf("after removal and a write: %s, want 2 nodes and a leader", s)
	}
}
