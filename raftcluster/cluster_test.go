package raftcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/internal/freeport"
)

const testApplyTimeout = 2 * time.Second

// testCluster is a set of in-process nodes on real loopback TCP with mTLS.
type testCluster struct {
	t     testing.TB
	ca    *CA
	key   []byte
	nodes map[string]*testNode
	// tune adjusts each node's Config before Start.
	tune func(*Config)
	// pragmas: the state machines' SQLite settings (sqlMachine.pragmas).
	pragmas string
}

type testNode struct {
	id    string
	addr  string
	dir   string
	ident *Identity
	sm    *sqlMachine
	c     *Cluster
	// release gives back the port held while the node is stopped
	// (freeport.Hold: no other test process may take it meanwhile).
	release func()

	mu    sync.Mutex
	fatal []error
}

func newTestCluster(t testing.TB, tune func(*Config)) *testCluster {
	tc := &testCluster{t: t, ca: newCA(t, "test"), key: testKey(t), nodes: map[string]*testNode{}, tune: tune}
	t.Cleanup(func() {
		for _, n := range tc.nodes {
			if n.c != nil {
				n.c.Close(false)
			}
		}
	})
	return tc
}

// freeAddr picks a loopback port outside the ephemeral range (freeport).
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// add creates a node (identity, port, directories) without starting it.
func (tc *testCluster) add(id string) *testNode {
	dir := filepath.Join(tc.t.TempDir(), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tc.t.Fatal(err)
	}
	n := &testNode{id: id, addr: freeAddr(tc.t), dir: dir, ident: newIdentity(tc.t, tc.ca, id)}
	tc.nodes[id] = n
	return n
}

// start (re)starts a node over its existing directories. The state machine's
// file lives outside the Raft directory so that a scan of Dir sees only what
// raftcluster wrote.
func (tc *testCluster) start(n *testNode, bootstrap bool) {
	tc.t.Helper()
	if n.release != nil {
		n.release()
		n.release = nil
	}
	n.sm = newSQLMachineWith(tc.t, filepath.Join(n.dir, "sm.db"), tc.pragmas)
	cfg := Config{
		NodeID: n.id, Bind: n.addr, Dir: filepath.Join(n.dir, "raft"), Identity: n.ident,
		SnapshotKey: tc.key, Machine: n.sm, Logger: slog.New(slog.DiscardHandler), RaftLog: io.Discard,
		Bootstrap: bootstrap, ApplyTimeout: testApplyTimeout,
		OnFatal: func(err error) {
			n.mu.Lock()
			n.fatal = append(n.fatal, err)
			n.mu.Unlock()
		},
	}
	if tc.tune != nil {
		tc.tune(&cfg)
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		tc.t.Fatalf("start %s: %v", n.id, err)
	}
	n.c = c
}

func (tc *testCluster) stop(n *testNode, transfer bool) {
	tc.t.Helper()
	if err := n.c.Close(transfer); err != nil {
		tc.t.Fatalf("close %s: %v", n.id, err)
	}
	n.c = nil
	n.sm.close()
	if release, err := freeport.Hold(n.addr); err == nil {
		n.release = release
		tc.t.Cleanup(func() {
			if n.release != nil {
				n.release()
				n.release = nil
			}
		})
	}
}

func (n *testNode) fatals() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]error(nil), n.fatal...)
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v: %v", what, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// leader returns the running node that is leader, or an error.
func (tc *testCluster) leader() (*testNode, error) {
	var found *testNode
	for _, n := range tc.nodes {
		if n.c != nil && n.c.IsLeader() {
			if found != nil {
				return nil, fmt.Errorf("two leaders: %s and %s", found.id, n.id)
			}
			found = n
		}
	}
	if found == nil {
		return nil, errors.New("no leader")
	}
	return found, nil
}

func (tc *testCluster) mustLeader(within time.Duration) *testNode {
	tc.t.Helper()
	var l *testNode
	eventually(tc.t, within, "a leader is elected", func() (err error) {
		l, err = tc.leader()
		return err
	})
	return l
}

func (tc *testCluster) followers() []*testNode {
	var out []*testNode
	for _, n := range tc.nodes {
		if n.c != nil && !n.c.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

// voters waits until every running node sees exactly the given voters and
// agrees on the leader.
func (tc *testCluster) voters(within time.Duration, ids ...string) {
	tc.t.Helper()
	want := strings.Join(sortedCopy(ids), ",")
	eventually(tc.t, within, "membership is "+want, func() error {
		leaderID := ""
		for _, n := range tc.nodes {
			if n.c == nil {
				continue
			}
			st := n.c.Status()
			var got []string
			for _, s := range st.Nodes {
				if s.Suffrage != "Voter" {
					return fmt.Errorf("%s sees %s as %s", n.id, s.ID, s.Suffrage)
				}
				got = append(got, s.ID)
			}
			if g := strings.Join(sortedCopy(got), ","); g != want {
				return fmt.Errorf("%s sees voters %s", n.id, g)
			}
			if st.LeaderID == "" || (leaderID != "" && st.LeaderID != leaderID) {
				return fmt.Errorf("%s sees leader %q, others %q", n.id, st.LeaderID, leaderID)
			}
			leaderID = st.LeaderID
		}
		return nil
	})
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// form starts ids[0] with Bootstrap and joins the others through the public client.
func (tc *testCluster) form(ids ...string) {
	tc.t.Helper()
	first := tc.add(ids[0])
	tc.start(first, true)
	if err := first.c.WaitLeader(ctxFor(tc.t, 10*time.Second)); err != nil {
		tc.t.Fatalf("bootstrap node never led: %v", err)
	}
	for _, id := range ids[1:] {
		n := tc.add(id)
		tc.start(n, false)
		if err := NewClient(n.ident).Join(ctxFor(tc.t, 10*time.Second), first.addr, id, n.addr); err != nil {
			tc.t.Fatalf("join %s: %v", id, err)
		}
	}
	tc.voters(10*time.Second, ids...)
}

// snapshotFiles returns the state.bin files of a node's completed snapshots.
func snapshotFiles(dir string) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, "raft", "snapshots", "*", "state.bin"))
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(filepath.Dir(p), ".tmp") {
			out = append(out, p)
		}
	}
	return out
}

type snapMeta struct {
	Index uint64
}

func latestSnapshotIndex(dir string) uint64 {
	var max uint64
	for _, p := range snapshotFiles(dir) {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "meta.json"))
		if err != nil {
			continue
		}
		var m snapMeta
		if json.Unmarshal(b, &m) == nil && m.Index > max {
			max = m.Index
		}
	}
	return max
}

// applyMany writes n commands through node via parallel callers and returns
// the highest index.
func applyMany(t *testing.T, node *testNode, prefix string, n int) uint64 {
	t.Helper()
	var mu sync.Mutex
	var maxIdx uint64
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := node.c.Apply(context.Background(), fmt.Appendf(nil, "%s-%d", prefix, i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			maxIdx = max(maxIdx, resp.Index)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("apply %s: %v", prefix, firstErr)
	}
	return maxIdx
}

func TestCluster(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, func(c *Config) {
		c.SnapshotThreshold = 16
		c.SnapshotInterval = 100 * time.Millisecond
		c.TrailingLogs = 8
	})
	tc.form("n1", "n2", "n3")
	n1, n2, n3 := tc.nodes["n1"], tc.nodes["n2"], tc.nodes["n3"]

	t.Run("status", func(t *testing.T) {
		leader := tc.mustLeader(5 * time.Second)
		for _, n := range []*testNode{n1, n2, n3} {
			st := n.c.Status()
			if st.NodeID != n.id || st.LeaderID != leader.id || st.LeaderAddr != leader.addr || st.Term == 0 || len(st.Nodes) != 3 {
				t.Errorf("%s status = %+v", n.id, st)
			}
			leaders := 0
			for _, s := range st.Nodes {
				if s.Leader {
					leaders++
					if s.ID != leader.id {
						t.Errorf("%s marks %s as leader", n.id, s.ID)
					}
				}
			}
			if leaders != 1 {
				t.Errorf("%s marks %d leaders", n.id, leaders)
			}
			if addr, id := n.c.Leader(); addr != leader.addr || id != leader.id {
				t.Errorf("%s: Leader() = %s %s", n.id, addr, id)
			}
		}
		// The same view over the cluster port, as the operator CLI sees it.
		st, err := NewClient(n2.ident).Status(ctxFor(t, 5*time.Second), n3.addr)
		if err != nil || st.NodeID != "n3" || len(st.Nodes) != 3 || st.LeaderID != leader.id {
			t.Fatalf("remote status = %+v, %v", st, err)
		}
	})

	t.Run("apply via follower is forwarded", func(t *testing.T) {
		f := tc.followers()[0]
		resp, err := f.c.Apply(ctxFor(t, 5*time.Second), []byte("forwarded-1"))
		if err != nil {
			t.Fatalf("Apply via %s: %v", f.id, err)
		}
		if string(resp.Data) != "ok:forwarded-1" || resp.Code != "" || resp.Index == 0 {
			t.Fatalf("response = %+v", resp)
		}
		if err := f.c.WaitApplied(ctxFor(t, 5*time.Second), resp.Index); err != nil {
			t.Fatalf("WaitApplied: %v", err)
		}
		if got := f.sm.get(resp.Index); got != "forwarded-1" {
			t.Fatalf("follower holds %q at index %d", got, resp.Index)
		}
		for _, n := range []*testNode{n1, n2, n3} {
			eventually(t, 5*time.Second, n.id+" applies the write", func() error {
				if got := n.sm.get(resp.Index); got != "forwarded-1" {
					return fmt.Errorf("index %d holds %q", resp.Index, got)
				}
				return nil
			})
		}
	})

	t.Run("apply on leader", func(t *testing.T) {
		l := tc.mustLeader(5 * time.Second)
		resp, err := l.c.Apply(ctxFor(t, 5*time.Second), []byte("local-1"))
		if err != nil || string(resp.Data) != "ok:local-1" || l.sm.get(resp.Index) != "local-1" {
			t.Fatalf("Apply on leader = %+v, %v", resp, err)
		}
	})

	t.Run("sync read on follower", func(t *testing.T) {
		l := tc.mustLeader(5 * time.Second)
		// Make one follower's state machine slow, so that an acknowledged
		// write is committed but not yet applied there: only SyncRead makes
		// the next local read see it.
		slow := tc.followers()[0]
		delay := func(es []Entry) error {
			for _, e := range es {
				if bytes.HasPrefix(e.Data, []byte("read-your-writes")) {
					time.Sleep(200 * time.Millisecond)
				}
			}
			return nil
		}
		slow.sm.fail.Store(&delay)
		defer slow.sm.fail.Store(nil)
		lagged := 0
		for i := range 5 {
			cmd := fmt.Sprintf("read-your-writes-%d", i)
			resp, err := l.c.Apply(ctxFor(t, 5*time.Second), []byte(cmd))
			if err != nil {
				t.Fatal(err)
			}
			if slow.sm.get(resp.Index) == "" {
				lagged++
			}
			for _, f := range tc.followers() {
				if err := f.c.SyncRead(ctxFor(t, 5*time.Second)); err != nil {
					t.Fatalf("SyncRead on %s: %v", f.id, err)
				}
				if got := f.sm.get(resp.Index); got != cmd {
					t.Fatalf("after SyncRead %s holds %q at %d, want %q", f.id, got, resp.Index, cmd)
				}
			}
		}
		t.Logf("the slow follower lagged behind an acknowledged write %d of 5 times", lagged)
		if err := l.c.SyncRead(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("SyncRead on leader: %v", err)
		}
		if err := l.c.Barrier(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("Barrier on leader: %v", err)
		}
	})

	t.Run("cluster port refuses strangers", func(t *testing.T) {
		other := newIdentity(t, newCA(t, "other"), "n1")
		noCert := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
		foreign := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{other.Cert}}
		for name, cfg := range map[string]*tls.Config{"no client certificate": noCert, "certificate from another CA": foreign} {
			t.Run(name, func(t *testing.T) {
				for _, proto := range []byte{protoRPC, protoRaft} {
					if out, err := probe(n1.addr, cfg, proto); err == nil || len(out) > 0 {
						t.Fatalf("proto %c: got %q, err %v; want the connection refused", proto, out, err)
					}
				}
			})
		}
		// The operator client with another CA's identity is refused too.
		if _, err := NewClient(other).Status(ctxFor(t, 5*time.Second), n1.addr); err == nil {
			t.Fatal("status with a foreign identity succeeded")
		}
		// A valid identity with an unknown protocol byte is dropped.
		if out, err := probe(n1.addr, n2.ident.ClientTLS("n1"), 'X'); err == nil || len(out) > 0 {
			t.Fatalf("unknown protocol: got %q, err %v", out, err)
		}
		// Positive control: the same probe with a node certificate is answered.
		if out, err := probe(n1.addr, n2.ident.ClientTLS("n1"), protoRPC); err != nil || !bytes.HasPrefix(out, []byte("HTTP/1.1 200")) {
			t.Fatalf("probe with a node certificate: %q, %v", out, err)
		}
	})

	t.Run("join and remove", func(t *testing.T) {
		f := tc.followers()[0] // before n4 exists: a follower among n1..n3
		n4 := tc.add("n4")
		tc.start(n4, false)
		// A node may only add itself.
		if err := NewClient(n4.ident).Join(ctxFor(t, 5*time.Second), f.addr, "n5", n4.addr); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("joining under another node's name: %v, want 403", err)
		}
		// Join through a follower: the request is forwarded to the leader.
		if err := NewClient(n4.ident).Join(ctxFor(t, 10*time.Second), f.addr, "n4", n4.addr); err != nil {
			t.Fatalf("join n4 via %s: %v", f.id, err)
		}
		// Joining again (e.g. after a restart) is fine.
		if err := NewClient(n4.ident).Join(ctxFor(t, 10*time.Second), f.addr, "n4", n4.addr); err != nil {
			t.Fatalf("second join: %v", err)
		}
		tc.voters(10*time.Second, "n1", "n2", "n3", "n4")
		resp, err := n4.c.Apply(ctxFor(t, 5*time.Second), []byte("from-n4"))
		if err != nil || string(resp.Data) != "ok:from-n4" {
			t.Fatalf("apply via n4: %+v %v", resp, err)
		}
		if err := NewClient(n1.ident).Remove(ctxFor(t, 10*time.Second), f.addr, "n4"); err != nil {
			t.Fatalf("remove n4: %v", err)
		}
		tc.stop(n4, false)
		delete(tc.nodes, "n4")
		tc.voters(10*time.Second, "n1", "n2", "n3")
		if err := NewClient(n1.ident).Remove(ctxFor(t, 10*time.Second), f.addr, "n4"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("removing a non-member: %v, want 404", err)
		}
	})

	const marker = "MARKER-raft-snapshot-8e41d2"
	t.Run("snapshots are sealed", func(t *testing.T) {
		l := tc.mustLeader(5 * time.Second)
		before := l.c.Status().LastLogIndex
		last := applyMany(t, l, marker, 40)
		for _, n := range []*testNode{n1, n2, n3} {
			eventually(t, 10*time.Second, n.id+" snapshots", func() error {
				if got := latestSnapshotIndex(n.dir); got < last-16 {
					return fmt.Errorf("latest snapshot at %d, writes up to %d", got, last)
				}
				return nil
			})
			files := snapshotFiles(n.dir)
			if len(files) == 0 {
				t.Fatalf("%s has no snapshot", n.id)
			}
			for _, p := range files {
				b, err := os.ReadFile(p)
				if err != nil {
					continue // reaped meanwhile
				}
				var meta snapMeta
				mb, err := os.ReadFile(filepath.Join(filepath.Dir(p), "meta.json"))
				if err != nil || json.Unmarshal(mb, &meta) != nil {
					continue
				}
				if bytes.Contains(b, []byte(marker)) {
					t.Fatalf("%s: %s holds the marker in plaintext", n.id, p)
				}
				if !bytes.HasPrefix(b, []byte(sealMagic)) {
					t.Fatalf("%s: %s is not sealed", n.id, p)
				}
				_, r, err := ReadSealHeader(bytes.NewReader(b), tc.key)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("%s: %s does not open: %v", n.id, p, err)
				}
				if meta.Index > before && !bytes.Contains(plain, []byte(marker)) {
					t.Fatalf("%s: %s does not hold the written state", n.id, p)
				}
			}
			// Temporary plaintext copies do not outlive the snapshot.
			eventually(t, 5*time.Second, n.id+" tmp dir empty", func() error {
				ents, _ := os.ReadDir(filepath.Join(n.dir, "raft", "tmp"))
				if len(ents) != 0 {
					return fmt.Errorf("%d files left", len(ents))
				}
				return nil
			})
		}
	})

	t.Run("restarted node catches up via snapshot", func(t *testing.T) {
		l := tc.mustLeader(5 * time.Second)
		var lagger *testNode
		for _, n := range tc.followers() {
			lagger = n
		}
		lagLast := lagger.c.Status().LastLogIndex
		tc.stop(lagger, false)
		last := applyMany(t, l, "while-down", 60)
		eventually(t, 10*time.Second, "leader trims its log past the stopped node", func() error {
			first, err := l.c.store.FirstIndex()
			if err != nil {
				return err
			}
			if first <= lagLast+1 {
				return fmt.Errorf("leader log starts at %d, stopped node has up to %d", first, lagLast)
			}
			return nil
		})
		tc.start(lagger, false)
		eventually(t, 20*time.Second, lagger.id+" catches up", func() error {
			if got := lagger.sm.applied(); got < last {
				return fmt.Errorf("applied %d of %d", got, last)
			}
			return nil
		})
		if lagger.sm.replaced.Load() == 0 {
			t.Fatal("the restarted node caught up without installing a snapshot")
		}
		for i := range 60 {
			if got := lagger.sm.count(fmt.Sprintf("while-down-%d", i)); got != 1 {
				t.Fatalf("while-down-%d stored %d times on the restarted node", i, got)
			}
		}
		if got := lagger.sm.count(marker + "-0"); got != 1 {
			t.Fatalf("earlier state lost on the restarted node: marker-0 stored %d times", got)
		}
		tc.voters(10*time.Second, "n1", "n2", "n3")
	})

	t.Run("a node without candidacy never leads", func(t *testing.T) {
		old := tc.mustLeader(5 * time.Second)
		fs := tc.followers()
		if len(fs) != 2 {
			t.Fatalf("%d followers, want 2", len(fs))
		}
		held, other := fs[0], fs[1]
		if err := held.c.SetCandidacy(false); err != nil {
			t.Fatal(err)
		}
		// The leader dies without handing over: only the other follower
		// may take over (without the hold-off either would, half the time).
		tc.stop(old, false)
		next := tc.mustLeader(10 * time.Second)
		if next != other {
			t.Fatalf("%s leads with its candidacy off; want %s", next.id, other.id)
		}
		if _, err := next.c.Apply(ctxFor(t, 5*time.Second), []byte("after-holdoff")); err != nil {
			t.Fatal(err)
		}
		// Its term did not climb past the leader's (pre-vote kept it from
		// starting real elections), so the new leader was never disturbed.
		if ht, nt := held.c.Status().Term, next.c.Status().Term; ht > nt {
			t.Fatalf("held node at term %d, leader at %d", ht, nt)
		}
		tc.start(old, false)
		if err := held.c.SetCandidacy(true); err != nil {
			t.Fatal(err)
		}
		tc.voters(10*time.Second, "n1", "n2", "n3")
	})

	t.Run("close with transfer hands over leadership", func(t *testing.T) {
		old := tc.mustLeader(5 * time.Second)
		term := old.c.Status().Term
		tc.stop(old, true)
		// Without a transfer the followers would wait at least a heartbeat
		// timeout (1s) before electing; with it a successor leads at once.
		var next *testNode
		eventually(t, 900*time.Millisecond, "a successor leads", func() (err error) {
			next, err = tc.leader()
			return err
		})
		if st := next.c.Status(); st.Term <= term {
			t.Fatalf("new leader %s at term %d, old term %d", next.id, st.Term, term)
		}
		resp, err := next.c.Apply(ctxFor(t, 5*time.Second), []byte("after-transfer"))
		if err != nil || next.sm.get(resp.Index) != "after-transfer" {
			t.Fatalf("apply after transfer: %+v %v", resp, err)
		}
	})

	t.Run("no quorum: bounded failure", func(t *testing.T) {
		survivor := tc.mustLeader(5 * time.Second)
		for _, f := range tc.followers() {
			tc.stop(f, false)
		}
		for i := range 2 { // first as a (stale) leader, then without any leader
			start := time.Now()
			_, err := survivor.c.Apply(context.Background(), fmt.Appendf(nil, "no-quorum-%d", i))
			took := time.Since(start)
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("attempt %d: Apply without quorum = %v, want ErrUnavailable or ErrAmbiguous", i, err)
			}
			if took > testApplyTimeout+time.Second {
				t.Fatalf("attempt %d: Apply took %v, bound is %v", i, took, testApplyTimeout+time.Second)
			}
			t.Logf("attempt %d: %v after %v", i, err, took.Round(time.Millisecond))
		}
		start := time.Now()
		if err := survivor.c.SyncRead(context.Background()); !errors.Is(err, ErrUnavailable) || time.Since(start) > testApplyTimeout+time.Second {
			t.Fatalf("SyncRead without quorum = %v after %v", err, time.Since(start))
		}
		// Long without a leader, the node stops waiting for one: writes
		// and reads are refused at once, so clients move to another node.
		eventually(t, 2*leaderlessFailFast, "leaderless for longer than leaderlessFailFast", func() error {
			if !survivor.c.longLeaderless() {
				return errors.New("not yet")
			}
			return nil
		})
		start = time.Now()
		_, err := survivor.c.Apply(context.Background(), []byte("no-quorum-fast"))
		if took := time.Since(start); !errors.Is(err, ErrUnavailable) || took > 500*time.Millisecond {
			t.Fatalf("Apply long after losing the leader = %v after %v, want ErrUnavailable at once", err, took)
		}
		start = time.Now()
		if err := survivor.c.SyncRead(context.Background()); !errors.Is(err, ErrUnavailable) || time.Since(start) > 500*time.Millisecond {
			t.Fatalf("SyncRead long after losing the leader = %v after %v, want ErrUnavailable at once", err, time.Since(start))
		}
	})

	for _, n := range tc.nodes {
		if f := n.fatals(); len(f) > 0 {
			t.Errorf("%s: OnFatal called: %v", n.id, f)
		}
	}
}

// probe dials the cluster port with cfg, sends proto and an HTTP status
// request, and returns what came back.
func probe(addr string, cfg *tls.Config, proto byte) ([]byte, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, cfg)
	if err := c.Handshake(); err != nil {
		return nil, err
	}
	if _, err := c.Write(append([]byte{proto}, "GET /v1/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n"...)); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(c)
	if err == nil && len(out) == 0 {
		err = io.EOF
	}
	return out, err
}

// TestStateMachineFailureCallsOnFatal: a node whose state machine cannot
// apply a committed batch reports it through OnFatal and does not acknowledge
// the write.
func TestStateMachineFailureCallsOnFatal(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, nil)
	tc.form("solo")
	n := tc.nodes["solo"]
	boom := errors.New("disk full")
	fail := func(es []Entry) error {
		for _, e := range es {
			if string(e.Data) == "boom" {
				return boom
			}
		}
		return nil
	}
	n.sm.fail.Store(&fail)
	if _, err := n.c.Apply(ctxFor(t, 5*time.Second), []byte("fine")); err != nil {
		t.Fatalf("ordinary apply: %v", err)
	}
	start := time.Now()
	resp, err := n.c.Apply(ctxFor(t, 5*time.Second), []byte("boom"))
	if err == nil {
		t.Fatalf("a write the state machine failed to apply was acknowledged: %+v", resp)
	}
	if time.Since(start) > testApplyTimeout+time.Second {
		t.Fatalf("Apply took %v", time.Since(start))
	}
	f := n.fatals()
	if len(f) != 1 || !errors.Is(f[0], boom) {
		t.Fatalf("OnFatal calls = %v, want one wrapping %v", f, boom)
	}
	if n.sm.count("boom") != 0 {
		t.Fatal("the failed batch was partly applied")
	}
}

// TestForwardedApplyAfterStateMachineFailure: when the leader's state machine
// fails on a committed entry, the entry is in the log (it will be applied on
// replay), so the write's outcome is ambiguous; the forwarding follower must
// not retry it as if it had never been written.
func TestForwardedApplyAfterStateMachineFailure(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, nil)
	tc.form("a", "b")
	leader := tc.mustLeader(5 * time.Second)
	follower := tc.followers()[0]
	var once sync.Once
	fail := func(es []Entry) error {
		for _, e := range es {
			if string(e.Data) == "boom" {
				var err error
				once.Do(func() { err = errors.New("disk full") })
				return err
			}
		}
		return nil
	}
	leader.sm.fail.Store(&fail)
	_, err := follower.c.Apply(ctxFor(t, 5*time.Second), []byte("boom"))
	if len(leader.fatals()) != 1 {
		t.Fatalf("leader OnFatal calls = %v, want 1", leader.fatals())
	}
	// Settle: the committed entry reaches the follower. (Not SyncRead: its
	// read index is the leader's applied index, which the failed batch never
	// advanced, so it may come back before the follower applied "boom".)
	// Apply has returned, so any retry would already be in the log.
	eventually(t, 5*time.Second, "the follower to apply the committed command", func() error {
		if follower.sm.count("boom") == 0 {
			return errors.New("not applied yet")
		}
		return nil
	})
	if err := follower.c.SyncRead(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := follower.sm.count("boom"); got != 1 {
		t.Errorf("the command was committed %d times (Apply returned %v); a write whose entry was committed must not be retried", got, err)
	}
	if !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Apply = %v, want ErrAmbiguous (the entry is committed)", err)
	}
}
