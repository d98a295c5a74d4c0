package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"daisydog/internal/freeport"
)

// pollInterval is how often wait loops re-check their condition. It paces a
// loop that polls a real condition; it never stands in for synchronisation.
const pollInterval = 100 * time.Millisecond

// Timeouts for the conditions the tests wait on. They are generous because
// the suite runs on small CI machines with the race detector on.
const (
	startTimeout    = 60 * time.Second // a process is up and /readyz answers 200
	electionTimeout = 30 * time.Second // survivors agree on a new leader
	catchUpTimeout  = 90 * time.Second // a node applied up to an index
	stopTimeout     = 45 * time.Second // SIGTERM to exit (Close has a 30s budget)
)

// waitFor polls cond until it reports done or the timeout passes, then fails
// the test with the last status cond reported. cond runs on the test
// goroutine and may itself call t.Fatal (e.g. when a process died).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last status: %s", timeout, what, status)
		}
		time.Sleep(pollInterval)
	}
}

// freeAddrs returns n distinct loopback addresses with ports that were free a
// moment ago (all are held open together so none repeats, then released).
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, 0, n)
	for len(addrs) < n {
		a, err := freeport.Addr()
		if err != nil {
			t.Fatalf("picking a free port: %v", err)
		}
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// ---------------------------------------------------------------------------
// Processes

// proc is one running daisydog process with its output in files.
type proc struct {
	name           string
	args           []string
	stdout, stderr string // file paths
	cmd            *exec.Cmd
	done           chan struct{}
	err            error // valid once done is closed
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// kill sends SIGKILL (to this process only, by its pid) and waits for it.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// signal sends sig to the process unless it already exited.
func (p *proc) signal(sig os.Signal) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

func (p *proc) stdoutText() string {
	b, _ := os.ReadFile(p.stdout)
	return string(b)
}

func (p *proc) stderrText() string {
	b, _ := os.ReadFile(p.stderr)
	return string(b)
}

func (p *proc) state() string {
	if !p.exited() {
		return fmt.Sprintf("running (pid %d)", p.cmd.Process.Pid)
	}
	if p.err != nil {
		return "exited: " + p.err.Error()
	}
	return "exited: status 0"
}

// env is one test's scratch space and the processes it started. When the
// test ends every process still running is killed; if the test failed, the
// tail of every process's stdout and stderr is logged.
type env struct {
	t      *testing.T
	root   string
	logDir string
	// bin, when set, is the binary later starts run instead of daisydogBin
	// (an older release, for the rolling upgrade).
	bin string
	// environ is added to the environment of the processes start runs
	// (the test's own environment stays as it is, so tests can run in
	// parallel).
	environ []string

	mu    sync.Mutex
	procs []*proc
	count map[string]int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{t: t, root: root, logDir: filepath.Join(root, "logs"), count: map[string]int{}}
	if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		e.endAll()
		if t.Failed() || os.Getenv("E2E_VERBOSE") != "" {
			e.dumpLogs()
		}
	})
	return e
}

// start runs the binary with args; name labels its log files.
func (e *env) start(name string, args ...string) *proc {
	e.t.Helper()
	e.mu.Lock()
	e.count[name]++
	label := fmt.Sprintf("%s.%d", name, e.count[name])
	e.mu.Unlock()
	p := &proc{
		name: label, args: args, done: make(chan struct{}),
		stdout: filepath.Join(e.logDir, label+".stdout"),
		stderr: filepath.Join(e.logDir, label+".stderr"),
	}
	so, err := os.Create(p.stdout)
	if err != nil {
		e.t.Fatal(err)
	}
	se, err := os.Create(p.stderr)
	if err != nil {
		so.Close()
		e.t.Fatal(err)
	}
	p.cmd = exec.Command(cmp.Or(e.bin, daisydogBin), args...)
	p.cmd.Stdout, p.cmd.Stderr = so, se
	p.cmd.Dir = e.root
	p.cmd.SysProcAttr = childAttr()
	if len(e.environ) > 0 {
		p.cmd.Env = append(os.Environ(), e.environ...)
	}
	if err := p.cmd.Start(); err != nil {
		so.Close()
		se.Close()
		e.t.Fatalf("starting %s: %v", label, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		so.Close()
		se.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p
}

func (e *env) killAll() {
	e.mu.Lock()
	procs := append([]*proc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
}

// endAll ends the processes still running when a test is over: SIGTERM to
// all, and SIGKILL for any that has not exited within endGrace. A node
// that exits normally writes its coverage counters (GOCOVERDIR), so the
// integration coverage counts what every test exercised, not only what the
// tests that stop nodes themselves did.
func (e *env) endAll() {
	e.mu.Lock()
	procs := append([]*proc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(endGrace)
	for _, p := range procs {
		if !p.wait(time.Until(deadline)) {
			p.kill()
		}
	}
}

// endGrace bounds the clean shutdown at the end of a test.
const endGrace = 10 * time.Second

// dumpLogs logs the tail of each process's output.
func (e *env) dumpLogs() {
	e.mu.Lock()
	procs := append([]*proc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		e.t.Logf("==== %s: daisydog %s — %s", p.name, strings.Join(p.args, " "), p.state())
		if out := tail(p.stdoutText(), 40, 8<<10); out != "" {
			e.t.Logf("---- %s stdout (tail):\n%s", p.name, out)
		}
		if out := tail(p.stderrText(), 80, 24<<10); out != "" {
			e.t.Logf("---- %s stderr (tail):\n%s", p.name, out)
		}
	}
}

// tail returns at most the last maxLines lines and maxBytes bytes of s.
func tail(s string, maxLines, maxBytes int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// cli runs a short-lived daisydog command (e.g. cluster status) and returns
// its stdout; a non-zero exit is an error carrying stderr.
func cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, daisydogBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("daisydog %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ---------------------------------------------------------------------------
// Cluster

// node is one cluster member: its data directory, addresses and current process.
type node struct {
	id       string
	dir      string
	httpAddr string
	raftAddr string
	// advRaft, if set, is the cluster address the node advertises (peers
	// dial it instead of raftAddr, e.g. a test proxy in front of raftAddr).
	advRaft string
	proc    *proc // the latest process; nil before the first start
}

func (n *node) url(path string) string { return "https://" + n.httpAddr + path }

func (n *node) running() bool { return n.proc != nil && !n.proc.exited() }

// cluster is a set of daisydog processes on loopback.
type cluster struct {
	*env
	nodes  []*node
	tuning []string // tuning flags passed on every serving command
	// initArgs are passed to n1's `daisydog init` only (e.g. --policy-key).
	initArgs []string
	api      *apiClient
	caFile   string // the cluster CA the API's certificates chain to

	// For nodes that are not local processes (containers): how to ask one
	// for its status and whether it runs. nil = the local process and CLI.
	statusOf func(n *node) (nodeStatus, error)
	aliveOf  func(n *node) error
	// killOf SIGKILLs a node; stopOf stops it with SIGTERM and reports
	// whether it exited cleanly; restartOf starts a stopped or killed node
	// again on its existing data. nil = the local process.
	killOf, restartOf func(n *node)
	stopOf            func(n *node) error
}

// nodeStatus is the JSON printed by `daisydog cluster status`.
type nodeStatus struct {
	NodeID       string `json:"node_id"`
	State        string `json:"state"`
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_addr"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"applied_index"`
	CommitIndex  uint64 `json:"commit_index"`
	LastLogIndex uint64 `json:"last_log_index"`
	LastSnapIdx  uint64 `json:"last_snapshot_index"`
	Nodes        []struct {
		ID       string `json:"id"`
		Address  string `json:"address"`
		Suffrage string `json:"suffrage"`
		Leader   bool   `json:"leader"`
	} `json:"nodes"`
}

func (s nodeStatus) voters() int {
	n := 0
	for _, m := range s.Nodes {
		if m.Suffrage == "Voter" {
			n++
		}
	}
	return n
}

func (s nodeStatus) String() string {
	ids := make([]string, 0, len(s.Nodes))
	for _, m := range s.Nodes {
		ids = append(ids, m.ID+"/"+m.Suffrage)
	}
	return fmt.Sprintf("{node %s %s leader=%q term=%d applied=%d commit=%d last=%d members=%v}",
		s.NodeID, s.State, s.LeaderID, s.Term, s.AppliedIndex, s.CommitIndex, s.LastLogIndex, ids)
}

// newCluster prepares size nodes (n1..nN) with fresh directories and ports;
// nothing is started.
func newCluster(t *testing.T, size int, tuning ...string) *cluster {
	t.Helper()
	tuning = append([]string{"--policy-cache", policyCache}, tuning...)
	c := &cluster{env: newEnv(t), tuning: tuning}
	addrs := freeAddrs(t, 2*size)
	for i := 0; i < size; i++ {
		id := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, &node{id: id, dir: filepath.Join(c.root, id), httpAddr: addrs[2*i], raftAddr: addrs[2*i+1]})
	}
	return c
}

// startCluster starts a cluster of size voters: n1 with init, the others
// with join, and waits until every node is ready and sees size voters under
// one leader.
func startCluster(t *testing.T, size int, tuning ...string) *cluster {
	t.Helper()
	c := newCluster(t, size, tuning...)
	c.boot()
	return c
}

// boot starts the prepared nodes of c: n1 with init, the others with join,
// and waits until every node is ready and sees them all as voters under one
// leader.
func (c *cluster) boot() {
	c.t.Helper()
	begin := time.Now()
	addrArgs := func(n *node) []string {
		a := []string{"--data", n.dir, "--node-id", n.id, "--http", n.httpAddr, "--raft", n.raftAddr}
		if n.advRaft != "" {
			a = append(a, "--advertise-raft", n.advRaft)
		}
		return a
	}
	n1 := c.nodes[0]
	n1.proc = c.start(n1.id, append(append(append([]string{"init"}, addrArgs(n1)...), c.initArgs...), c.tuning...)...)
	token := c.waitJoinToken(n1)
	c.caFile = filepath.Join(n1.dir, "tls", "ca.crt")
	c.api = newAPIClient(c.t, c.caFile)
	c.waitReady(n1)
	for _, n := range c.nodes[1:] {
		args := append(append([]string{"join"}, addrArgs(n)...), "--join", n1.httpAddr, "--token", token)
		n.proc = c.start(n.id, append(args, c.tuning...)...)
	}
	for _, n := range c.nodes[1:] {
		c.waitReady(n)
	}
	c.waitMembers(c.nodes, len(c.nodes))
	c.t.Logf("cluster of %d ready in %v", len(c.nodes), time.Since(begin).Round(time.Millisecond))
}

// waitJoinToken waits for `daisydog init` to print the join token.
func (c *cluster) waitJoinToken(n *node) string {
	c.t.Helper()
	var token string
	waitFor(c.t, startTimeout, n.id+" to print its join token", func() (bool, string) {
		c.mustRun(n)
		sc := bufio.NewScanner(strings.NewReader(n.proc.stdoutText()))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "  ddj1.") {
				token = strings.TrimSpace(line)
				return true, ""
			}
		}
		return false, "no token line on stdout yet"
	})
	return token
}

// mustRun fails the test at once if n's process has exited.
func (c *cluster) mustRun(n *node) {
	c.t.Helper()
	if c.aliveOf != nil {
		if err := c.aliveOf(n); err != nil {
			c.t.Fatalf("node %s: %v", n.id, err)
		}
		return
	}
	if n.proc == nil {
		c.t.Fatalf("node %s was never started", n.id)
	}
	if n.proc.exited() {
		c.t.Fatalf("node %s (%s) %s; stderr tail:\n%s", n.id, n.proc.name, n.proc.state(), tail(n.proc.stderrText(), 30, 8<<10))
	}
}

// waitReady waits until n answers GET /readyz with 200.
func (c *cluster) waitReady(n *node) {
	c.t.Helper()
	waitFor(c.t, startTimeout, n.id+" /readyz to answer 200", func() (bool, string) {
		c.mustRun(n)
		r, err := c.api.get(n.url("/readyz"), "")
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, fmt.Sprintf("%d %s", r.Status, r.Body)
	})
}

// status asks n (through the CLI and n's own data directory) for its view.
func (c *cluster) status(n *node) (nodeStatus, error) {
	if c.statusOf != nil {
		return c.statusOf(n)
	}
	out, err := cli("cluster", "status", "--data", n.dir)
	if err != nil {
		return nodeStatus{}, err
	}
	var st nodeStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nodeStatus{}, fmt.Errorf("cluster status printed something that is not JSON: %v\n%s", err, out)
	}
	return st, nil
}

// waitMembers waits until every node in nodes reports exactly voters voters
// and they all name the same leader, which is one of them.
func (c *cluster) waitMembers(nodes []*node, voters int) {
	c.t.Helper()
	waitFor(c.t, startTimeout, fmt.Sprintf("%d voters under one leader", voters), func() (bool, string) {
		var msgs []string
		leader := ""
		ok := true
		for _, n := range nodes {
			c.mustRun(n)
			st, err := c.status(n)
			if err != nil {
				return false, err.Error()
			}
			msgs = append(msgs, st.String())
			if st.voters() != voters || len(st.Nodes) != voters || st.LeaderID == "" || (leader != "" && st.LeaderID != leader) {
				ok = false
			}
			leader = st.LeaderID
		}
		if ok && c.byID(leader) == nil {
			ok = false
		}
		return ok, strings.Join(msgs, "; ")
	})
}

func (c *cluster) byID(id string) *node {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// waitLeader waits until every node in among names the same leader, that
// leader is in among and its term is at least minTerm; it returns the leader
// and its status.
func (c *cluster) waitLeader(among []*node, minTerm uint64) (*node, nodeStatus) {
	c.t.Helper()
	var leader *node
	var lst nodeStatus
	waitFor(c.t, electionTimeout, "a leader among "+ids(among), func() (bool, string) {
		var msgs []string
		agreed := ""
		sts := map[string]nodeStatus{}
		for _, n := range among {
			c.mustRun(n)
			st, err := c.status(n)
			if err != nil {
				return false, err.Error()
			}
			msgs = append(msgs, st.String())
			if st.LeaderID == "" || (agreed != "" && st.LeaderID != agreed) {
				return false, strings.Join(msgs, "; ")
			}
			agreed = st.LeaderID
			sts[n.id] = st
		}
		st, in := sts[agreed]
		if !in || st.State != "Leader" || st.Term < minTerm {
			return false, strings.Join(msgs, "; ")
		}
		leader, lst = c.byID(agreed), st
		return true, ""
	})
	return leader, lst
}

// waitApplied waits until every node in nodes has applied index idx.
func (c *cluster) waitApplied(nodes []*node, idx uint64) {
	c.t.Helper()
	for _, n := range nodes {
		waitFor(c.t, catchUpTimeout, fmt.Sprintf("%s to apply index %d", n.id, idx), func() (bool, string) {
			c.mustRun(n)
			st, err := c.status(n)
			if err != nil {
				return false, err.Error()
			}
			return st.AppliedIndex >= idx, st.String()
		})
	}
}

// converge waits until the leader among nodes has committed everything it
// has and every node in nodes applied it; it returns that index.
func (c *cluster) converge(nodes []*node) uint64 {
	c.t.Helper()
	leader, _ := c.waitLeader(nodes, 0)
	st, err := c.status(leader)
	if err != nil {
		c.t.Fatal(err)
	}
	idx := max(st.CommitIndex, st.AppliedIndex)
	c.waitApplied(nodes, idx)
	return idx
}

// kill SIGKILLs n's process.
func (c *cluster) kill(n *node) {
	c.t.Helper()
	if c.killOf != nil {
		c.killOf(n)
		c.t.Logf("killed %s", n.id)
		return
	}
	n.proc.kill()
	c.t.Logf("killed %s (%s)", n.id, n.proc.state())
}

// stop sends SIGTERM and waits for a clean exit.
func (c *cluster) stop(n *node) {
	c.t.Helper()
	begin := time.Now()
	if c.stopOf != nil {
		if err := c.stopOf(n); err != nil {
			c.t.Errorf("%s did not stop cleanly after SIGTERM: %v", n.id, err)
		}
		c.t.Logf("stopped %s in %v", n.id, time.Since(begin).Round(time.Millisecond))
		return
	}
	n.proc.signal(syscall.SIGTERM)
	if !n.proc.wait(stopTimeout) {
		n.proc.kill()
		c.t.Fatalf("%s did not exit within %v of SIGTERM", n.id, stopTimeout)
	}
	if n.proc.err != nil {
		c.t.Errorf("%s exited uncleanly after SIGTERM: %v; stderr tail:\n%s", n.id, n.proc.err, tail(n.proc.stderrText(), 20, 4<<10))
	}
	c.t.Logf("stopped %s in %v", n.id, time.Since(begin).Round(time.Millisecond))
}

// stopAll stops every running node concurrently with SIGTERM and expects
// each to exit cleanly (status 0).
func (c *cluster) stopAll() {
	c.t.Helper()
	var running []*node
	for _, n := range c.nodes {
		if n.running() {
			running = append(running, n)
			n.proc.signal(syscall.SIGTERM)
		}
	}
	begin := time.Now()
	for _, n := range running {
		if !n.proc.wait(stopTimeout) {
			n.proc.kill()
			c.t.Errorf("%s did not exit within %v of SIGTERM", n.id, stopTimeout)
			continue
		}
		if n.proc.err != nil {
			c.t.Errorf("%s exited uncleanly after SIGTERM: %v; stderr tail:\n%s", n.id, n.proc.err, tail(n.proc.stderrText(), 20, 4<<10))
		}
	}
	c.t.Logf("stopped %s in %v", ids(running), time.Since(begin).Round(time.Millisecond))
}

// restart starts n again with `daisydog serve --data D` (plus tuning flags).
func (c *cluster) restart(n *node) {
	c.t.Helper()
	if c.restartOf != nil {
		c.restartOf(n)
		return
	}
	if n.running() {
		c.t.Fatalf("restart %s: still running", n.id)
	}
	n.proc = c.start(n.id, append([]string{"serve", "--data", n.dir}, c.tuning...)...)
}

func ids(nodes []*node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.id
	}
	return strings.Join(s, ",")
}

// others returns the nodes of c other than except.
func (c *cluster) others(except ...*node) []*node {
	var out []*node
next:
	for _, n := range c.nodes {
		for _, x := range except {
			if n == x {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}
