package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Fault scenarios on three processes on loopback, each under the load of
// checker_test.go and checked by it once healed. Every scenario logs a line
// starting with "SCENARIO" with its numbers (attempts, failures by kind, the
// longest window without an acknowledged write).

// failoverBudget is the longest a leader's loss may keep writes unavailable
// (issue 6: under 3 s). E2E_FAILOVER_BUDGET overrides it for slow machines.
func failoverBudget(t testing.TB) time.Duration {
	if v := os.Getenv("E2E_FAILOVER_BUDGET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("E2E_FAILOVER_BUDGET=%q: %v", v, err)
		}
		return d
	}
	return 3 * time.Second
}

// faultTuning is passed to every node of a fault scenario: the load signs up
// a family per child from one address, more than the default per-IP limit.
var faultTuning = []string{"--auth-rate", "-1"}

// ackStep is how many acknowledged turns each phase of a scenario waits for
// (about a second of load at the default rate).
const ackStep = 200

// containersRunIt skips a process-variant fault scenario when the Docker
// engine is here: its container twin (named) runs the same scenario
// function with the same load and checker, on separate hosts, and the
// process variant exists for machines without Docker. E2E_PROCESS_FAULTS=1
// (make e2e-processes) runs both. The partition scenario is not skipped:
// its mechanism (loopback proxies) differs from the containers'.
func containersRunIt(t *testing.T, twin string) {
	t.Helper()
	if os.Getenv("E2E_PROCESS_FAULTS") == "1" {
		return
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		t.Skipf("Docker is here, so %s runs this scenario on three containers; E2E_PROCESS_FAULTS=1 (make e2e-processes) runs the process variant too", twin)
	}
}

func startFaultCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	return startCluster(t, 3, append(append([]string{}, faultTuning...), extra...)...)
}

// TestFaultLeaderKill: kill -9 of the leader under load. The survivors elect
// a new leader; writes are unavailable for less than failoverBudget.
func TestFaultLeaderKill(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerLeaderKill")
	leaderKill(t, startFaultCluster(t), "leader kill")
}

func leaderKill(t *testing.T, c *cluster, name string) {
	leader, lst := c.waitLeader(c.nodes, 0)
	l := c.startLoad(defaultLoad(t), c.others(leader)[0])
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	c.kill(leader)
	killedAt := time.Now()
	l.waitAcks(ackStep, 60*time.Second, "after killing the leader")
	newLeader, nst := c.waitLeader(c.others(leader), lst.Term+1)
	t.Logf("new leader %s at term %d, %v after the kill", newLeader.id, nst.Term, time.Since(killedAt).Round(time.Millisecond))

	c.restart(leader)
	c.waitReady(leader)
	l.waitAcks(ackStep, 60*time.Second, "after the old leader returned")
	r := l.finish(name, nil)
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v after the leader was killed, want < %v", r.gap.Round(time.Millisecond), budget)
	}
}

// TestFaultFollowerKill: kill -9 of a follower under load, then restart it.
func TestFaultFollowerKill(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerFollowerKill")
	followerKill(t, startFaultCluster(t), "follower kill")
}

func followerKill(t *testing.T, c *cluster, name string) {
	leader, _ := c.waitLeader(c.nodes, 0)
	victim := c.others(leader)[0]
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	c.kill(victim)
	l.waitAcks(ackStep, 60*time.Second, "with "+victim.id+" down")
	c.restart(victim)
	c.waitReady(victim)
	l.waitAcks(ackStep, 60*time.Second, "after "+victim.id+" returned")
	r := l.finish(name, nil)
	// A follower's loss costs no election: only the requests it held die.
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v when a follower died, want < %v", r.gap.Round(time.Millisecond), budget)
	}
}

// TestFaultPowerCut: all three nodes killed -9 at once and restarted; no
// acknowledged turn may be lost.
func TestFaultPowerCut(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerPowerCut")
	powerCut(t, startFaultCluster(t), "power cut")
}

func powerCut(t *testing.T, c *cluster, name string) {
	leader, _ := c.waitLeader(c.nodes, 0)
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	for _, n := range c.nodes {
		c.kill(n)
	}
	cutAt := time.Now()
	t.Logf("power cut: killed %s", ids(c.nodes))
	for _, n := range c.nodes {
		c.restart(n)
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	t.Logf("all nodes ready %v after the power cut", time.Since(cutAt).Round(time.Millisecond))
	l.waitAcks(ackStep, 60*time.Second, "after the restart")
	r := l.finish(name, nil)
	t.Logf("power cut: writes unavailable for %v (includes three process restarts)", r.gap.Round(time.Millisecond))
}

// TestFaultRollingRestart: every node stopped gracefully and restarted in
// turn (followers first, the leader last), waiting until the restarted node
// caught up before the next one. Writes must keep flowing: failures are
// reported and bounded.
func TestFaultRollingRestart(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerRollingRestart")
	rollingRestart(t, startFaultCluster(t), "rolling restart")
}

func rollingRestart(t *testing.T, c *cluster, name string) {
	leader, _ := c.waitLeader(c.nodes, 0)
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	var restarts []restartWindow
	order := append(c.others(leader), leader)
	for _, n := range order {
		restarts = append(restarts, c.restartUnderLoad(l, n, n == leader, c.restart, "after restarting "+n.id))
	}
	r := l.finish(name, nil)
	perRestart := requireOnlyRestartRaces(t, l, restarts)
	t.Logf("%s: %d of %d requests failed (%v per restart of %s, all ambiguous)", name, r.failed(), r.attempts, perRestart, ids(order))
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v during the rolling restart, want < %v", r.gap.Round(time.Millisecond), budget)
	}
}

// restartWindow is when a node was being restarted: from its stop until it
// answered ready again. leader: it led when it was stopped.
type restartWindow struct {
	n          *node
	from, till time.Time
	leader     bool
}

// restartUnderLoad stops n gracefully, starts it again with start, waits
// until it is ready, the cluster converged and the load got another
// ackStep acknowledgements (what), and returns the window n was away.
func (c *cluster) restartUnderLoad(l *load, n *node, leader bool, start func(*node), what string) restartWindow {
	c.t.Helper()
	w := restartWindow{n: n, from: time.Now(), leader: leader}
	c.stop(n)
	start(n)
	c.waitReady(n)
	w.till = time.Now()
	c.converge(c.nodes)
	l.waitAcks(ackStep, 60*time.Second, what)
	return w
}

// requireOnlyRestartRaces fails the test for every request that failed
// other than by the inherent races of a restart, and returns the failures
// per restart. "Zero or near-zero" failed requests: two failures are
// inherent, both ambiguous (the client cannot tell whether the write
// happened, and the checker verified it is stored at most once): the HTTP
// keep-alive race (a request sent on an idle connection just as the
// stopping node closes it) and, while the leader stops, a write in flight
// when it hands leadership over. Each hits a client at most once per
// restart, so a follower's restart may fail one request per client and the
// leader's two: one of each kind (seen in CI: 12 keep-alive races and one
// write forwarded during the hand-over, 12 clients). A definite refusal, or
// any failure outside a restart, fails the test.
func requireOnlyRestartRaces(t *testing.T, l *load, restarts []restartWindow) []int {
	t.Helper()
	perRestart := make([]int, len(restarts))
	for _, a := range l.all() {
		if a.outcome == acked {
			continue
		}
		hit := -1
		for i, w := range restarts {
			if !a.end.Before(w.from) && !a.start.After(w.till) { // overlaps the restart
				hit = i
			}
		}
		if hit < 0 || a.outcome != ambiguous {
			t.Errorf("request failed outside the inherent races of a restart: %s via %s at +%v: %d %s", a.outcome, a.node, a.start.Sub(l.begin).Round(time.Millisecond), a.status, a.detail)
			continue
		}
		perRestart[hit]++
	}
	for i, n := range perRestart {
		races := 1 // the keep-alive race
		if restarts[i].leader {
			races = 2 // and the write in flight at the hand-over
		}
		if n > races*l.cfg.children {
			t.Errorf("%d requests failed while %s restarted, want at most %d per child (%d)", n, restarts[i].n.id, races, races*l.cfg.children)
		}
	}
	return perRestart
}

// TestFaultLongAbsence: a follower is killed, the others take enough writes
// to snapshot and trim the log past it, and on its return it catches up by
// installing the leader's snapshot, under load.
func TestFaultLongAbsence(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerLongAbsence")
	c := startFaultCluster(t, longAbsenceTuning...)
	longAbsence(t, c, "long absence", func(n *node) string { return n.proc.stderrText() })
}

const longAbsenceTrailing = 50

var longAbsenceTuning = []string{"--snapshot-threshold", "300", "--trailing-logs", fmt.Sprint(longAbsenceTrailing), "--snapshot-interval", "1s"}

// longAbsence: a follower killed under load stays away until the leader's
// latest snapshot (from its cluster status) is far past the follower's log,
// with the entries between trimmed; restarted, it must catch up through a
// snapshot install (logsOf returns its log output, which must say so).
func longAbsence(t *testing.T, c *cluster, name string, logsOf func(n *node) string) {
	const trailing = longAbsenceTrailing
	leader, _ := c.waitLeader(c.nodes, 0)
	victim := c.others(leader)[0]
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	c.kill(victim)
	vst := maxIndexInLog(t, c, c.others(victim))
	need := vst + 2*trailing + 300
	live := c.others(victim)
	waitFor(t, 90*time.Second, fmt.Sprintf("a snapshot at index >= %d on the leader", need), func() (bool, string) {
		ldr, st := c.waitLeader(live, 0)
		if ldr.dir != "" && c.statusOf == nil {
			// Cross-check the status against the files on disk.
			if files := maxSnapshotIndex(ldr.dir); files < st.LastSnapIdx {
				return false, fmt.Sprintf("leader %s reports snapshot %d but its newest file is %d", ldr.id, st.LastSnapIdx, files)
			}
		}
		return st.LastSnapIdx >= need, fmt.Sprintf("leader %s latest snapshot %d", ldr.id, st.LastSnapIdx)
	})
	c.restart(victim)
	c.waitReady(victim)
	l.waitAcks(ackStep, 60*time.Second, "after "+victim.id+" returned")
	l.finish(name, nil)
	if !strings.Contains(logsOf(victim), `"snapshot restored"`) {
		t.Errorf("%s caught up but never logged \"snapshot restored\": expected a snapshot install", victim.id)
	}
}

// maxIndexInLog returns the highest last-log index among nodes.
func maxIndexInLog(t *testing.T, c *cluster, nodes []*node) uint64 {
	t.Helper()
	var idx uint64
	for _, n := range nodes {
		st, err := c.status(n)
		if err != nil {
			t.Fatal(err)
		}
		idx = max(idx, st.LastLogIndex)
	}
	return idx
}

// TestFaultPartitionLeader: the leader is cut off from both followers (every
// Raft and RPC link, through the proxies of proxy_test.go) under load; see
// partitionLeader for what must hold.
func TestFaultPartitionLeader(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	requireProcNet(t)
	c := newCluster(t, 3, faultTuning...)
	ne := newNetem(t, c)
	c.boot()
	partitionLeader(t, c, "partition of the leader (loopback proxies)", func(leader *node) {
		ne.checkAttribution(t, leader)
		ne.isolate(leader)
	}, func(*node) { ne.heal() })
}

// partitionLeader runs the partition scenario on a started cluster: under
// load, isolate cuts the leader off from the other nodes (the API stays
// reachable). The majority elects a new leader and serves; the isolated
// node refuses writes with 503 quickly; after heal it catches up, and
// nothing it took while isolated is visible anywhere.
func partitionLeader(t *testing.T, c *cluster, name string, isolate, heal func(*node)) {
	t.Helper()
	leader, lst := c.waitLeader(c.nodes, 0)
	majority := c.others(leader)
	l := c.startLoad(defaultLoad(t), majority[0])
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	isolate(leader)
	cutAt := time.Now()
	t.Logf("isolated leader %s", leader.id)
	newLeader, nst := c.waitLeader(majority, lst.Term+1)
	t.Logf("majority elected %s at term %d, %v after the cut", newLeader.id, nst.Term, time.Since(cutAt).Round(time.Millisecond))
	l.waitAcks(ackStep, 60*time.Second, "majority serving")

	// The minority refuses writes: 503 with Retry-After and a clear error.
	waitFor(t, electionTimeout, leader.id+" to step down", func() (bool, string) {
		st, err := c.status(leader)
		if err != nil {
			return false, err.Error()
		}
		return st.State != "Leader", st.String()
	})
	var refusals []time.Duration
	for i := 0; i < 2; i++ {
		r, err := c.chat(leader, l.fams[0], fmt.Sprintf("Daisy, are you still there? Isolated try %d.", i))
		if err != nil {
			t.Fatalf("write on isolated %s: %v", leader.id, err)
		}
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("write on isolated %s answered %s (Retry-After %q), want 503 with Retry-After", leader.id, r, r.Header.Get("Retry-After"))
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		r.decode(t, &e)
		if e.Error.Code != "unavailable" || e.Error.Message == "" {
			t.Errorf("503 body %s, want code \"unavailable\" and a message", r)
		}
		if r.Elapsed > maxUnavailableAnswer {
			t.Errorf("isolated %s took %v to refuse a write, want < %v", leader.id, r.Elapsed, maxUnavailableAnswer)
		}
		refusals = append(refusals, r.Elapsed.Round(time.Millisecond))
	}
	t.Logf("isolated %s refused writes with 503 in %v", leader.id, refusals)

	heal(leader)
	healAt := time.Now()
	c.waitLeader(c.nodes, nst.Term)
	l.waitAcks(ackStep, 60*time.Second, "after healing")
	// Sent to the isolated node after the cut and answered before the heal:
	// it could reach no other node, so it must not be anywhere.
	isolated := func(a *attempt) bool {
		return a.node == leader.id && a.start.After(cutAt) && a.end.Before(healAt)
	}
	r := l.finish(name, isolated)
	isolatedAcks := 0
	for _, a := range l.all() {
		if isolated(a) && a.outcome == acked {
			isolatedAcks++
		}
	}
	if isolatedAcks > 0 {
		t.Errorf("the isolated node acknowledged %d writes", isolatedAcks)
	}
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v after the leader was isolated, want < %v", r.gap.Round(time.Millisecond), budget)
	}
}

// requireTmpfs skips unless this process may mount a tmpfs (root on Linux):
// the disk-full scenario gives one node a small file system of its own.
func requireTmpfs(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (needs root on Linux): %v %s", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v %s", dir, err, out)
	}
}

// fillDisk writes a file into dir until the file system refuses (ENOSPC)
// and returns its path and size.
func fillDisk(t *testing.T, dir string) (string, int64) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("creating the filler: %v", err)
	}
	defer f.Close()
	var size int64
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			n, err := f.Write(buf)
			size += int64(n)
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", dir, err)
				}
				break
			}
		}
	}
	return path, size
}

// TestFaultDiskFull: one node's data directory is on a small tmpfs, filled
// to the last byte under load. The node must refuse writes at once with 507
// insufficient_storage, keep running (no crash, no corruption), the other
// two keep serving, and when the space returns the node catches up and takes
// writes again.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerDiskFull")
	requireTmpfs(t)
	for _, role := range []string{"follower", "leader"} {
		t.Run(role, func(t *testing.T) {
			c := newCluster(t, 3, faultTuning...)
			dirs := make([]string, len(c.nodes))
			for i, n := range c.nodes {
				dirs[i] = n.dir
			}
			mountTmpfs(t, dirs, c.killAll) // the mount is busy while the node runs
			c.boot()
			diskFull(t, c, role == "leader", func(n *node) string { return n.proc.stderrText() })
		})
	}
}

// mountTmpfs mounts a 256 MiB tmpfs on each directory (created if needed)
// and unmounts it when the test ends, after calling release (which must
// stop whatever keeps the mount busy).
func mountTmpfs(t *testing.T, dirs []string, release func()) {
	t.Helper()
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs on %s: %v %s", dir, err, out)
		}
		t.Cleanup(func() {
			release()
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v %s", dir, err, out)
			}
		})
	}
}

// diskFull fills one node's data directory (n.dir, a tmpfs on this host)
// under load and checks the node refuses writes with 507, the others serve,
// and it recovers when the space returns; logsOf returns a node's log output.
func diskFull(t *testing.T, c *cluster, onLeader bool, logsOf func(n *node) string) {
	leader, lst := c.waitLeader(c.nodes, 0)
	victim := c.others(leader)[0]
	if onLeader {
		victim = leader
	}
	t.Logf("leader %s; filling %s's disk (each node's data directory is on a 256 MiB tmpfs)", leader.id, victim.id)
	// A family outside the load, to probe the full node directly (the
	// checker would flag its turns as never sent if they were in the load's).
	probe := c.newFamily(leader, "", "")
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "healthy cluster")

	filler, size := fillDisk(t, victim.dir)
	fullAt := time.Now()
	t.Logf("filled %s's disk with %d MiB", victim.id, size>>20)
	if onLeader {
		// A leader that cannot append hands leadership over at once.
		nl, nst := c.waitLeader(c.others(victim), lst.Term+1)
		t.Logf("leadership moved to %s (term %d) %v after the disk filled", nl.id, nst.Term, time.Since(fullAt).Round(time.Millisecond))
		// Either the disk guard hands leadership over (logged), or Raft steps
		// down on its own when appending to the full log fails first; both
		// are correct, the rest of the scenario checks the outcome.
		if strings.Contains(logsOf(victim), "handing leadership to another node") {
			t.Logf("%s handed leadership over (disk guard)", victim.id)
		} else {
			t.Logf("%s stepped down before the disk guard's next check (Raft could not append)", victim.id)
		}
	}

	// The full node refuses writes at once with a clear error.
	for i := 0; i < 3; i++ {
		r, err := c.chat(victim, probe, fmt.Sprintf("Daisy, is your disk full? Try %d.", i))
		if err != nil {
			t.Fatalf("write on %s with a full disk: %v", victim.id, err)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		r.decode(t, &e)
		if r.Status != 507 || e.Error.Code != "insufficient_storage" || e.Error.Message == "" {
			t.Fatalf("write on %s with a full disk answered %s, want 507 insufficient_storage with a message", victim.id, r)
		}
		if r.Elapsed > time.Second {
			t.Errorf("refusing a write on the full disk took %v, want < 1s", r.Elapsed)
		}
	}
	// The other two keep serving, and the full node keeps running.
	l.waitAcks(ackStep, 60*time.Second, "with "+victim.id+"'s disk full")
	l.waitAcks(ackStep, 60*time.Second, "with "+victim.id+"'s disk still full")
	c.mustRun(victim)
	if r, err := c.api.get(victim.url("/readyz"), ""); err != nil || r.Status != 503 {
		t.Errorf("/readyz on %s with a full disk: %v %v, want 503", victim.id, r, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	t.Logf("freed %s's disk after %v", victim.id, freedAt.Sub(fullAt).Round(time.Millisecond))
	c.waitReady(victim)
	waitFor(t, catchUpTimeout, victim.id+" to acknowledge writes again", func() (bool, string) {
		c.mustRun(victim)
		r, err := c.chat(victim, probe, "Daisy, do you have room again?")
		var sts []string
		for _, n := range c.nodes {
			st, serr := c.status(n)
			sts = append(sts, fmt.Sprint(st, serr))
		}
		if err != nil {
			return false, err.Error() + "; " + strings.Join(sts, "; ")
		}
		return r.Status == 200, r.String() + "; " + strings.Join(sts, "; ")
	})
	t.Logf("%s acknowledged a write %v after the space returned", victim.id, time.Since(freedAt).Round(time.Millisecond))
	l.waitAcks(ackStep, 60*time.Second, "after the space returned")
	r := l.finish("disk full on the "+map[bool]string{false: "follower", true: "leader"}[onLeader], nil)
	refused := 0
	for _, a := range l.all() {
		if a.status == 507 {
			refused++
		}
	}
	t.Logf("disk full: %d writes refused with 507 by %s; %s recovered %v after the space returned", refused, victim.id, victim.id, time.Since(freedAt).Round(time.Millisecond))
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v while one node's disk was full, want < %v", r.gap.Round(time.Millisecond), budget)
	}
	// The full node's replicated audit chain is intact.
	if out, err := cli("audit", "verify", "--data", victim.dir); err != nil {
		t.Errorf("audit verify on %s after the disk-full episode: %v\n%s", victim.id, err, out)
	}
}
