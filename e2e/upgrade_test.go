package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// prevRelease is the commit of the oldest release a cluster may be upgraded
// from in place (storage/upgrade.go's baseline): the submission of
// 2026-11-26. Its binary lacks the retention command, migration 11 and the
// advertisement of newer command kinds.
const prevRelease = "2ba4bbf"

// prevBinaryMu serialises prevBinary within this test process.
var prevBinaryMu sync.Mutex

// prevBinary returns the daisydog binary of prevRelease: $DAISYDOG_PREV_BIN,
// or bin/daisydog-<commit> built from the repository's history with that
// commit's own `make build` (about a minute; kept for later runs).
func prevBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DAISYDOG_PREV_BIN"); p != "" {
		return p
	}
	// One build for the tests that want it at once (they run in parallel):
	// the second waits, then finds the binary.
	prevBinaryMu.Lock()
	defer prevBinaryMu.Unlock()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "bin", "daisydog-"+prevRelease)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := exec.Command("git", "-C", root, "cat-file", "-e", prevRelease+"^{commit}").Run(); err != nil {
		msg := fmt.Sprintf("the previous release %s is not in this checkout's git history (a shallow clone?), so there is nothing to upgrade from", prevRelease)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	src := t.TempDir()
	begin := time.Now()
	script := fmt.Sprintf("git -C %q archive %s | tar -x -C %q && make -C %q build", root, prevRelease, src, src)
	if b, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("building the previous release %s: %v\n%s", prevRelease, err, tail(string(b), 30, 4<<10))
	}
	tmp := out + ".tmp"
	if err := copyExecutable(filepath.Join(src, "bin", "daisydog"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the previous release %s in %v", prevRelease, time.Since(begin).Round(time.Second))
	return out
}

// postponements counts the retention job's "postponed" warnings naming the
// member that held it back, with why, in the given nodes' logs.
func postponements(nodes []*node, logsOf func(*node) string, member, why string) int {
	n := 0
	for _, x := range nodes {
		for _, line := range strings.Split(logsOf(x), "\n") {
			if strings.Contains(line, "retention postponed") && strings.Contains(line, "node "+member+" ") && strings.Contains(line, why) {
				n++
			}
		}
	}
	return n
}

// upgradeOps are how a scenario changes a stopped node's binary: start it
// again on its data with the binary under test (toNew) or the previous
// release (toOld); logsOf is a node's log output so far.
type upgradeOps struct {
	toNew, toOld func(n *node)
	logsOf       func(n *node) string
	// members, if set, is `cluster status --members` asked on a node:
	// member ID → the newer command kinds its binary advertises (absent
	// when it did not answer).
	members func(asker *node) (map[string]map[string]int, error)
}

// membersViaCLI is upgradeOps.members for nodes whose data directory and
// cluster address this host can use (processes).
func membersViaCLI(asker *node) (map[string]map[string]int, error) {
	out, err := cli("cluster", "status", "--data", asker.dir, "--members")
	if err != nil {
		return nil, err
	}
	var v struct {
		Members []struct {
			ID       string         `json:"id"`
			Answered bool           `json:"answered"`
			Commands map[string]int `json:"commands"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("cluster status --members: %w: %s", err, out)
	}
	m := map[string]map[string]int{}
	for _, x := range v.Members {
		if x.Answered {
			m[x.ID] = x.Commands
		}
	}
	return m, nil
}

// TestFaultRollingUpgrade: rollingUpgrade on three processes on loopback,
// each upgraded by starting the other binary on its data directory. Nodes on
// the binary under test run the retention job every second (the previous
// release has no such flag).
func TestFaultRollingUpgrade(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	containersRunIt(t, "TestContainerRollingUpgrade")
	prev := prevBinary(t)
	c := newCluster(t, 3, faultTuning...)
	oldTuning := c.tuning
	newTuning := append(append([]string{}, c.tuning...), "--retention-every", "1s")
	c.bin = prev
	c.boot()
	ops := upgradeOps{
		toNew:   func(n *node) { c.bin, c.tuning = "", newTuning; c.restart(n) },
		toOld:   func(n *node) { c.bin, c.tuning = prev, oldTuning; c.restart(n) },
		logsOf:  func(n *node) string { return n.proc.stderrText() },
		members: membersViaCLI,
	}
	rollingUpgrade(t, c, "rolling upgrade", ops)
}

// TestContainerRollingUpgrade: rollingUpgrade on three containers, each
// server upgraded by replacing its container with one of the other image on
// the same bind-mounted /data, name, networks and port.
func TestContainerRollingUpgrade(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	dockerAvailable(t)
	prev := prevBinary(t)
	id := strings.ToLower(randLetters(6))
	prevImage, newImage := buildImageOf(t, id+"-prev", prev), sharedImage(t)
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "n1"), filepath.Join(root, "n2"), filepath.Join(root, "n3")}
	c, dn := startDockerClusterImage(t, prevImage, dirs, faultTuning...)
	newTuning := append(append([]string{}, faultTuning...), "--retention-every", "1s")
	ops := upgradeOps{
		toNew:  func(n *node) { dn.replace(n, newImage, newTuning) },
		toOld:  func(n *node) { dn.replace(n, prevImage, faultTuning) },
		logsOf: dn.logs,
	}
	rollingUpgrade(t, c, "rolling upgrade (containers replaced, /data kept)", ops)
}

// rollingUpgrade: a three-node cluster on the previous release, under load,
// upgraded in place to the binary under test one node at a time — the
// followers, then the leader — on the same data (each upgraded node
// migrates its own database on start). The binary under test has a command
// kind the previous release does not know (retention); an older node
// refuses such an entry and stops applying, so while any member runs the
// older binary the new leader must postpone the job. That is checked
// twice: while the old leader is down (it cannot be asked), and after it
// comes back on the OLD binary (an operator who rolled one node back): it
// must keep applying the log, with the cluster converging. Once it too runs
// the new binary, the job runs on every node. Throughout, the checker's
// invariants hold and failures are only the restart races of
// rollingRestart.
func rollingUpgrade(t *testing.T, c *cluster, name string, ops upgradeOps) {
	leader, _ := c.waitLeader(c.nodes, 0)
	l := c.startLoad(defaultLoad(t), leader)
	l.waitAcks(ackStep, 30*time.Second, "cluster on the previous release")

	var restarts []restartWindow
	// 1. The followers, one at a time.
	for _, n := range c.others(leader) {
		restarts = append(restarts, c.restartUnderLoad(l, n, false, ops.toNew, "after upgrading "+n.id))
	}

	// 2. The leader stops: a new node leads while the old one is down.
	w := restartWindow{n: leader, from: time.Now(), leader: true}
	c.stop(leader)
	newNodes := c.others(leader)
	c.waitLeader(newNodes, 0)
	waitFor(t, 20*time.Second, "the new leader to postpone retention while "+leader.id+" is down", func() (bool, string) {
		got := postponements(newNodes, ops.logsOf, leader.id, "could not be asked")
		return got >= 2, fmt.Sprintf("%d postponements naming %s", got, leader.id)
	})

	// 3. It comes back on the previous release: still postponed, and the
	// old binary keeps applying everything the new leader writes.
	ops.toOld(leader)
	c.waitReady(leader)
	w.till = time.Now()
	restarts = append(restarts, w)
	c.converge(c.nodes)
	l.waitAcks(ackStep, 60*time.Second, "with "+leader.id+" back on the previous release")
	waitFor(t, 20*time.Second, "retention postponed because "+leader.id+" runs the previous release", func() (bool, string) {
		c.mustRun(leader)
		got := postponements(newNodes, ops.logsOf, leader.id, "does not apply apply_retention")
		return got >= 3, fmt.Sprintf("%d postponements naming %s as older", got, leader.id)
	})
	c.converge(c.nodes)
	c.mustRun(leader)
	// The operator's view of the upgrade: the two new binaries advertise
	// the retention command, the old one nothing.
	if ops.members != nil {
		m, err := ops.members(newNodes[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range c.nodes {
			cmds, answered := m[n.id]
			if want := n != leader; !answered || (cmds["apply_retention"] >= 1) != want {
				t.Errorf("cluster status --members: %s answered %t with %v, want an answer with apply_retention advertised = %t", n.id, answered, cmds, want)
			}
		}
	}
	before := auditEntries(t, newNodes[0])

	// 4. It is upgraded too: the job runs (one audit entry per command)
	// and every node, the last one included, applies its entries.
	restarts = append(restarts, c.restartUnderLoad(l, leader, false, ops.toNew, "after upgrading "+leader.id))
	waitFor(t, 30*time.Second, "retention to run once every node is upgraded", func() (bool, string) {
		got := auditEntries(t, newNodes[0]) - before
		return got >= 2, fmt.Sprintf("%d audit entries on %s since the last upgrade", got, newNodes[0].id)
	})
	c.converge(c.nodes)

	r := l.finish(name, nil)
	perRestart := requireOnlyRestartRaces(t, l, restarts)
	// Every node, the last upgraded included, applied the job's entries
	// (the job goes on every second, so the counts are read as they stand).
	entries := map[string]int{}
	for _, n := range c.nodes {
		if entries[n.id] = auditEntries(t, n); entries[n.id] < before+2 {
			t.Errorf("%s holds %d audit entries, want at least %d: the retention entries written since every node was upgraded", n.id, entries[n.id], before+2)
		}
	}
	t.Logf("%s %s → this build: %d of %d requests failed (%v per restart, all ambiguous); audit entries %v", name, prevRelease, r.failed(), r.attempts, perRestart, entries)
	if budget := failoverBudget(t); r.gap > budget {
		t.Errorf("writes were unavailable for %v during the %s, want < %v", r.gap.Round(time.Millisecond), name, budget)
	}
}

// TestBinaryRollback: going back to the previous release after an upgrade
// that migrated the database, as docs/operations.md "Going back to the
// previous binary" says. A backup is taken with the previous release before
// the upgrade; the node is upgraded in place (it migrates its database) and
// takes a turn; the previous binary, started on the migrated data
// directory, refuses it — saying why, at once — and changes nothing: the
// new binary serves it again with every turn. The previous release then
// restores the backup into a new cluster, which serves what was
// acknowledged before the backup, and nothing after it.
func TestBinaryRollback(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	prev := prevBinary(t)
	c := newCluster(t, 1)
	c.bin = prev
	c.boot()
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	f := c.newFamily(n, "", "")
	before := c.chatTurns(n, f, "hello daisy", "tell me a joke", "I like pancakes")
	backup := filepath.Join(c.root, "before-upgrade.backup")
	if out, err := exec.Command(prev, "backup", "--data", n.dir, "--out", backup).CombinedOutput(); err != nil {
		t.Fatalf("backup with the previous release: %v\n%s", err, out)
	}
	keyCopy := c.copyClusterKey(n)

	// The upgrade, in place.
	c.stop(n)
	c.bin = ""
	c.restart(n)
	c.waitReady(n)
	after, _ := c.chatUntilAcked(n, f, "this turn is after the upgrade", 30*time.Second)
	// The operator's view: the upgraded member now applies the newer
	// command kinds (the previous release advertised none).
	m, err := membersViaCLI(n)
	if err != nil {
		t.Fatal(err)
	}
	if m[n.id]["apply_retention"] < 1 || m[n.id]["rotate_ca"] < 1 {
		t.Fatalf("cluster status --members after the upgrade: %v", m)
	}
	c.stop(n)

	// Back to the previous binary on the migrated directory: refused.
	c.bin = prev
	c.restart(n)
	if !n.proc.wait(startTimeout) {
		t.Fatalf("the previous release kept running on a database the new one migrated; stderr:\n%s", tail(n.proc.stderrText(), 20, 4<<10))
	}
	if n.proc.err == nil || !strings.Contains(n.proc.stderrText(), "is newer than this binary") {
		t.Fatalf("the previous release on the migrated directory: %s; stderr:\n%s", n.proc.state(), tail(n.proc.stderrText(), 20, 4<<10))
	}
	// It changed nothing: the new binary serves the directory again, the
	// turn after the upgrade included.
	c.bin = ""
	c.restart(n)
	c.waitReady(n)
	if got, want := restoredHistory(t, c.api, n.url(""), f), turnLines(append(slices.Clone(before), after)); got != want {
		t.Fatalf("history after the refused rollback:\n%s\nwant every acknowledged turn:\n%s", got, want)
	}
	c.stop(n)

	// The rollback: the previous release restores the backup into a new
	// cluster (another directory; the migrated one is kept).
	dir := filepath.Join(c.root, "rolled-back")
	c.bin = prev
	_, api, base := c.startRestored("rollback", backup, keyCopy, dir)
	if got, want := restoredHistory(t, api, base, f), turnLines(before); got != want {
		t.Fatalf("history on the previous release after the rollback:\n%s\nwant the turns acknowledged before the backup:\n%s", got, want)
	}
}
