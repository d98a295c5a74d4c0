package raftcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// ErrUnavailable means no leader could take the write within the bound; the
// caller should answer 503 with Retry-After.
var ErrUnavailable = errors.New("raftcluster: no leader available")

// ErrAmbiguous means the write was sent but its outcome is unknown (the
// leader was lost mid-flight). It was not acknowledged.
var ErrAmbiguous = errors.New("raftcluster: write outcome unknown")

// Config configures a cluster node.
type Config struct {
	NodeID    string
	Bind      string // cluster port listen address
	Advertise string // address other nodes dial (defaults to Bind)
	Dir       string // Raft log, stable store and snapshots
	Identity  *Identity
	// SnapshotKey encrypts snapshots (32 bytes).
	SnapshotKey []byte
	Machine     StateMachine
	Logger      *slog.Logger
	// RaftLog receives hashicorp/raft's own warnings (default stderr).
	RaftLog io.Writer
	// Bootstrap forms a new single-voter cluster if the log is empty.
	Bootstrap bool

	SnapshotThreshold uint64        // entries between snapshots (default 32768)
	SnapshotInterval  time.Duration // how often to check (default 30s)
	TrailingLogs      uint64        // entries kept after a snapshot (default 16384)
	ApplyTimeout      time.Duration // bound for a write including leader wait (default 4s)
	// ElectionTimeout is how long a follower waits without hearing from a
	// leader before it stands for election (randomised between 1× and 2×),
	// and a candidate before it tries again. Default 600ms; see DESIGN.md
	// "Election timing".
	ElectionTimeout time.Duration
	// CommitTimeout is how long the leader's replication to a follower idles
	// before it sends an AppendEntries anyway (randomised between 1× and
	// 2×). Default DefaultCommitTimeout; see DESIGN.md "Commit notice".
	CommitTimeout time.Duration
	// Commands are the command kinds newer than the upgrade baseline that
	// this binary applies, with the highest version of each (see
	// upgrade.go): advertised in Status so that a leader proposes a new
	// kind only once every member can apply it.
	Commands map[string]int
	// Gated, when set, says whether an encoded command must wait until every
	// member applies its kind (and which kind and version): Apply refuses it
	// with ErrNotUpgraded until then (upgrade.go), whichever code path
	// proposes it.
	Gated func(cmd []byte) (kind string, v int, ok bool)
	// OnFatal is called when the state machine cannot apply committed entries.
	// The default logs and exits the process so that a restart replays the log.
	OnFatal func(error)
}

// DefaultElectionTimeout bounds how long a cluster stays without a leader
// after one dies: in the worst case (the first follower to notice is refused
// by one that still believes in the old leader, and has the longer log, so
// it must try again) about four times this.
const DefaultElectionTimeout = 600 * time.Millisecond

// DefaultCommitTimeout is hashicorp/raft's own default. Followers waiting
// on a write do not depend on it: the leader announces commits itself
// when writes pause (notice.go).
const DefaultCommitTimeout = 50 * time.Millisecond

// Cluster is a running Raft node.
type Cluster struct {
	cfg    Config
	raft   *raft.Raft
	store  *raftboltdb.BoltStore
	mux    *mux
	dialer *dialer
	rpc    *http.Server
	fsm    *fsm
	// raftRef is raft, published for goroutines that may run before Start returns.
	raftRef atomic.Pointer[raft.Raft]
	// trans carries Raft's RPCs; it drops this node's vote requests while
	// SetCandidacy(false) holds.
	trans  *gatedTransport
	client *http.Client
	log    *slog.Logger

	// adv: what each member last advertised (upgrade.go).
	adv advertised

	leaderMu      sync.Mutex
	leaderChanged chan struct{}
	// noLeaderSince is when this node last lost sight of a leader (unix
	// nanoseconds; 0 while it knows one). See leaderlessFailFast.
	noLeaderSince atomic.Int64
	notice        *commitNotice
	observer      *raft.Observer
	obsCh         chan raft.Observation
	done          chan struct{}
	wg            sync.WaitGroup
	closeOnce     sync.Once
}

// Start opens the Raft stores, the cluster port and starts the node.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Bind
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SnapshotThreshold == 0 {
		cfg.SnapshotThreshold = 32768
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = 30 * time.Second
	}
	if cfg.TrailingLogs == 0 {
		cfg.TrailingLogs = 16384
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 4 * time.Second
	}
	if cfg.ElectionTimeout == 0 {
		cfg.ElectionTimeout = DefaultElectionTimeout
	}
	if cfg.CommitTimeout == 0 {
		cfg.CommitTimeout = DefaultCommitTimeout
	}
	log := cfg.Logger.With("component", "raft", "node", cfg.NodeID)
	if cfg.OnFatal == nil {
		cfg.OnFatal = func(err error) {
			log.Error("state machine failed; stopping so a restart replays the log", "err", err)
			os.Exit(70)
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("raftcluster: %w", err)
	}
	cleanTmp(filepath.Join(cfg.Dir, "tmp"))

	store, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(cfg.Dir, "raft.db"),
		// Without freelist sync bbolt's per-commit cost stays flat as the
		// log is trimmed; the freelist is rebuilt on open instead.
		BoltOptions: &bbolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType},
	})
	if err != nil {
		return nil, fmt.Errorf("raftcluster: open log store: %w", err)
	}
	trans := &gatedTransport{}
	logs, err := raft.NewLogCache(1024, &spaceWatchedLogs{LogStore: store, trans: trans})
	if err != nil {
		store.Close()
		return nil, err
	}
	if cfg.RaftLog == nil {
		cfg.RaftLog = os.Stderr
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: cfg.RaftLog, JSONFormat: true})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("raftcluster: snapshot store: %w", err)
	}

	c := &Cluster{cfg: cfg, store: store, log: log, leaderChanged: make(chan struct{}), done: make(chan struct{}), notice: newCommitNotice()}
	c.dialer = &dialer{id: cfg.Identity, expectID: c.idForAddr}
	m, err := newMux(cfg.Bind, cfg.Identity, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	c.mux = m
	stream := &streamLayer{chanListener: m.raft, advertise: tcpAddr(cfg.Advertise), dial: c.dialer.dial}
	trans.NetworkTransport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 10 * time.Second, Logger: hlog,
	})
	c.trans = trans

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hlog
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.HeartbeatTimeout = cfg.ElectionTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	// The leader steps down after this long without a quorum's contact; it
	// must not exceed the heartbeat timeout.
	rc.LeaderLeaseTimeout = min(500*time.Millisecond, cfg.ElectionTimeout)
	rc.CommitTimeout = cfg.CommitTimeout
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512

	f := &fsm{sm: cfg.Machine, key: cfg.SnapshotKey, tmpDir: filepath.Join(cfg.Dir, "tmp"), log: log, onFatal: cfg.OnFatal, notify: make(chan struct{})}
	if idx, err := cfg.Machine.AppliedIndex(ctx); err == nil {
		f.applied = idx
	}
	c.fsm = f
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, store, snaps)
		if err != nil {
			c.closeTransport()
			return nil, err
		}
		if !has {
			if err := raft.BootstrapCluster(rc, logs, store, snaps, trans, raft.Configuration{Servers: []raft.Server{
				{ID: rc.LocalID, Address: raft.ServerAddress(cfg.Advertise), Suffrage: raft.Voter},
			}}); err != nil {
				c.closeTransport()
				return nil, fmt.Errorf("raftcluster: bootstrap: %w", err)
			}
		}
	}
	r, err := raft.NewRaft(rc, f, logs, store, snaps, trans)
	if err != nil {
		c.closeTransport()
		return nil, fmt.Errorf("raftcluster: start raft: %w", err)
	}
	c.raft = r
	c.raftRef.Store(r)
	c.noLeaderSince.Store(time.Now().UnixNano()) // until it first sees one
	c.obsCh = make(chan raft.Observation, 16)
	c.observer = raft.NewObserver(c.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(c.observer)
	c.wg.Add(1)
	go c.watchLeader()
	c.wg.Add(1)
	go c.runNotices()

	c.client = &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.dialer.dial(ctx, addr, protoRPC)
		},
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}}
	c.rpc = &http.Server{Handler: cfg.Identity.closeIfUntrusted(c.rpcHandler()), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ConnState: cfg.Identity.trackRPC, ConnContext: rpcConnContext}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.rpc.Serve(m.rpc); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Warn("cluster rpc server stopped", "err", err)
		}
	}()
	return c, nil
}

func cleanTmp(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

func (c *Cluster) closeTransport() {
	c.mux.Close()
	c.store.Close()
}

func (c *Cluster) watchLeader() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.obsCh:
			addr, _ := c.raft.LeaderWithID()
			c.noteLeader(addr != "")
			c.leaderMu.Lock()
			close(c.leaderChanged)
			c.leaderChanged = make(chan struct{})
			c.leaderMu.Unlock()
		}
	}
}

// leaderlessFailFast: a write or read that finds no leader waits for one
// (an election takes about a second) unless this node has already been
// without a leader this long. Then it is most likely cut off from the
// majority, and clients are told at once (503) instead of after the full
// ApplyTimeout, so they can use another node.
const leaderlessFailFast = 2 * time.Second

// noteLeader records whether this node currently knows a leader.
func (c *Cluster) noteLeader(known bool) {
	if known {
		c.noLeaderSince.Store(0)
	} else {
		c.noLeaderSince.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// longLeaderless reports whether this node has been without a leader for
// longer than leaderlessFailFast.
func (c *Cluster) longLeaderless() bool {
	since := c.noLeaderSince.Load()
	return since != 0 && time.Since(time.Unix(0, since)) > leaderlessFailFast
}

// LeaderChange returns a channel closed at the next change of leader as this
// node observes it (a new leader, or none). Take a new one after each change.
func (c *Cluster) LeaderChange() <-chan struct{} { return c.leaderChange() }

func (c *Cluster) leaderChange() <-chan struct{} {
	c.leaderMu.Lock()
	defer c.leaderMu.Unlock()
	return c.leaderChanged
}

// idForAddr maps a cluster address to the node ID in the current configuration.
func (c *Cluster) idForAddr(addr string) string {
	r := c.raftRef.Load()
	if r == nil {
		return ""
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return ""
	}
	for _, s := range f.Configuration().Servers {
		if string(s.Address) == addr {
			return string(s.ID)
		}
	}
	return ""
}

// NodeID returns this node's ID.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

// IsLeader reports whether this node is the leader.
func (c *Cluster) IsLeader() bool { return c.raft.State() == raft.Leader }

// Leader returns the current leader's cluster address and ID ("" if unknown).
func (c *Cluster) Leader() (addr, id string) {
	a, i := c.raft.LeaderWithID()
	return string(a), string(i)
}

// WaitLeader blocks until a leader is known or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context) error {
	for {
		ch := c.leaderChange()
		if a, _ := c.raft.LeaderWithID(); a != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Apply replicates a command and returns the state machine's response. Any
// node may be asked; followers forward to the leader over the cluster port.
// It returns within ApplyTimeout (or ctx): ErrUnavailable when no leader took
// the write, ErrAmbiguous when the write may or may not have been applied.
func (c *Cluster) Apply(ctx context.Context, cmd []byte) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ApplyTimeout)
	defer cancel()
	if c.cfg.Gated != nil {
		if kind, v, ok := c.cfg.Gated(cmd); ok {
			if err := c.membersApplyCached(ctx, kind, v); err != nil {
				return Response{}, err
			}
		}
	}
	for {
		ch := c.leaderChange()
		addr, id := c.raft.LeaderWithID()
		if addr != "" {
			c.noteLeader(true)
		}
		switch {
		case string(id) == c.cfg.NodeID:
			resp, retry, err := c.applyLocal(ctx, cmd)
			if !retry {
				return resp, err
			}
		case addr != "":
			fctx, stop := c.whileLeaderIs(ctx, string(addr), ch)
			resp, retry, err := c.forward(fctx, string(addr), cmd)
			stop()
			if !retry {
				return resp, err
			}
		default:
			if c.noteLeader(false); c.longLeaderless() {
				return Response{}, ErrUnavailable
			}
		}
		select {
		case <-ctx.Done():
			return Response{}, ErrUnavailable
		case <-ch:
		case <-time.After(50 * time.Millisecond):
			// Leadership may also move without an observation reaching
			// us (e.g. a forward hit a node that just stepped down).
		}
	}
}

// whileLeaderIs returns a context that ends with ctx or as soon as this node
// sees a leader other than addr (or none). A forward to a leader that has been
// cut off may otherwise wait out the whole ApplyTimeout: a partitioned peer
// often does not refuse the connection, it just never answers, while the
// majority has long elected a new leader. Abandoning the forward is safe: if
// the request may have reached the old leader, forward reports ErrAmbiguous
// (never a retry); if it was not sent, Apply retries on the new leader.
// changed is the leader-change channel read before addr was looked up. stop
// must be called when the forward returns.
func (c *Cluster) whileLeaderIs(ctx context.Context, addr string, changed <-chan struct{}) (context.Context, context.CancelFunc) {
	return cancelOnLeaderMove(ctx, addr, changed, func() (string, <-chan struct{}) {
		ch := c.leaderChange()
		a, _ := c.raft.LeaderWithID()
		return string(a), ch
	})
}

// cancelOnLeaderMove is whileLeaderIs with the leader lookup passed in:
// current returns the leader's address and the channel closed at its next
// change (read before the address, so no change is missed).
func cancelOnLeaderMove(ctx context.Context, addr string, changed <-chan struct{}, current func() (string, <-chan struct{})) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		ch := changed
		for {
			select {
			case <-ctx.Done(): // the forward returned (stop) or its caller gave up
				return
			case <-ch:
				var now string
				if now, ch = current(); now != addr {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// applyLocal applies on this node as leader. retry reports that nothing was
// written and another attempt (e.g. after a leader change) is safe.
func (c *Cluster) applyLocal(ctx context.Context, cmd []byte) (Response, bool, error) {
	timeout := time.Until(deadline(ctx))
	if timeout <= 0 {
		return Response{}, false, ErrUnavailable
	}
	f := c.raft.Apply(cmd, timeout)
	// The future ignores ctx once the command is queued; never wait past the
	// bound (a stalled state machine must not hang the client).
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return Response{}, false, ErrAmbiguous
	}
	if err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout),
			// Refused before it was appended (raft checks this first), so
			// waiting for the next leader and sending it there is safe.
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return Response{}, true, nil
		case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown):
			return Response{}, false, ErrAmbiguous
		default:
			return Response{}, false, fmt.Errorf("raftcluster: apply: %w", err)
		}
	}
	resp, ok := f.Response().(Response)
	if !ok {
		return Response{}, false, fmt.Errorf("raftcluster: unexpected FSM response %T", f.Response())
	}
	if resp.Code == codeApplyFailed {
		// Committed, but this node's state machine failed to apply it (the
		// node is stopping): the outcome must not be retried as "not written".
		return resp, false, ErrAmbiguous
	}
	c.checkNotice()
	return resp, false, nil
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(5 * time.Second)
}

// WaitApplied blocks until this node's state machine has applied index idx
// (read-your-writes after a forwarded write), bounded by ctx.
func (c *Cluster) WaitApplied(ctx context.Context, idx uint64) error {
	return c.fsm.waitApplied(ctx, idx)
}

// leaderReadIndex returns an index that covers every write committed before
// the call: a barrier (committed by a quorum, which also proves this node
// still leads) is applied only after everything before it, so afterwards the
// leader's state machine position is such an index. Followers wait for it.
func (c *Cluster) leaderReadIndex(ctx context.Context) (uint64, error) {
	if !c.IsLeader() {
		return 0, raft.ErrNotLeader
	}
	if err := c.raft.Barrier(time.Until(deadline(ctx))).Error(); err != nil {
		return 0, err
	}
	return c.fsm.appliedIndex(), nil
}

// SyncRead makes the next local read linearizable: it learns the leader's
// commit index (confirmed by a quorum) and waits until this node applied it.
// Use it where a stale read would be wrong (e.g. a just-linked device or a
// just-revoked one), not on every read.
func (c *Cluster) SyncRead(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ApplyTimeout)
	defer cancel()
	for {
		ch := c.leaderChange()
		addr, id := c.raft.LeaderWithID()
		if addr != "" {
			c.noteLeader(true)
		}
		var idx uint64
		var err error
		switch {
		case string(id) == c.cfg.NodeID:
			idx, err = c.leaderReadIndex(ctx)
		case addr != "":
			var out struct{ Index uint64 }
			var status int
			var data []byte
			status, data, err = c.call(ctx, string(addr), pathRead, nil)
			if err == nil && status == http.StatusOK {
				err = json.Unmarshal(data, &out)
				idx = out.Index
			} else if err == nil {
				err = fmt.Errorf("leader answered %d", status)
			}
		default:
			if c.noteLeader(false); c.longLeaderless() {
				return ErrUnavailable
			}
			err = ErrUnavailable
		}
		if err == nil {
			return c.WaitApplied(ctx, idx)
		}
		select {
		case <-ctx.Done():
			return ErrUnavailable
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Status describes the node and the cluster as this node sees it.
type Status struct {
	NodeID       string `json:"node_id"`
	State        string `json:"state"`
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_addr"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"applied_index"`
	CommitIndex  uint64 `json:"commit_index"`
	LastLogIndex uint64 `json:"last_log_index"`
	// LastSnapshotIndex is the index of this node's latest snapshot (0 if
	// none): entries up to it, less the trailing logs kept, may be gone
	// from its log, so a peer further behind catches up by snapshot.
	LastSnapshotIndex uint64       `json:"last_snapshot_index"`
	Nodes             []NodeStatus `json:"nodes"`
	// Commands: Config.Commands (absent from nodes older than the gate,
	// which apply only the baseline).
	Commands map[string]int `json:"commands,omitempty"`
	// CommitNotices counts the empty entries this node appended as leader
	// to tell followers of a commit when writes paused (notice.go).
	CommitNotices uint64 `json:"commit_notices"`
	// IssuerCA is the fingerprint of the CA that signed the certificate
	// this node presents now; TrustedCAs those it accepts from peers (two
	// of them during a CA rotation).
	IssuerCA   string   `json:"issuer_ca,omitempty"`
	TrustedCAs []string `json:"trusted_cas,omitempty"`
}

// NodeStatus is one member of the configuration.
type NodeStatus struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Status returns this node's view of the cluster.
func (c *Cluster) Status() Status {
	st := c.raft.Stats()
	u := func(k string) uint64 { v, _ := strconv.ParseUint(st[k], 10, 64); return v }
	addr, id := c.raft.LeaderWithID()
	s := Status{
		NodeID: c.cfg.NodeID, State: c.raft.State().String(), LeaderID: string(id), LeaderAddr: string(addr),
		Term: u("term"), AppliedIndex: c.fsm.appliedIndex(), CommitIndex: u("commit_index"), LastLogIndex: u("last_log_index"),
		LastSnapshotIndex: u("last_snapshot_index"), Commands: c.cfg.Commands,
		CommitNotices: c.notice.notices.Load(),
	}
	if id := c.cfg.Identity; id != nil {
		s.IssuerCA, s.TrustedCAs = id.IssuerFingerprint(), id.Trusted()
	}
	if f := c.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			s.Nodes = append(s.Nodes, NodeStatus{ID: string(srv.ID), Address: string(srv.Address), Suffrage: srv.Suffrage.String(), Leader: srv.ID == id})
		}
	}
	return s
}

// Barrier waits until this node has applied everything committed before the
// call (leader only); used for linearizable reads.
func (c *Cluster) Barrier(ctx context.Context) error {
	return c.raft.Barrier(time.Until(deadline(ctx))).Error()
}

// TransferLeadership hands leadership to another voter if this node leads
// (e.g. its disk is full, so it can no longer append to the log); it returns
// once another node leads or the attempt failed.
func (c *Cluster) TransferLeadership() error {
	if !c.IsLeader() {
		return nil
	}
	return c.raft.LeadershipTransfer().Error()
}

// SetCandidacy controls whether this node may win elections. A node whose
// disk is full must not: it would win (its log is as long as anyone's),
// fail to append the first entry of its term, step down, and win again,
// leaving the cluster without a working leader for as long as the disk
// stays full. With candidacy off the node still follows, replicates and
// votes for others, but its own vote requests are not sent, so it never
// gathers a majority (and with pre-vote its term does not climb, so it
// does not disturb the leader the others elect). A leader keeps leading
// until it steps down or hands over (TransferLeadership). A single-voter
// cluster keeps its candidacy: there is nobody else to lead.
func (c *Cluster) SetCandidacy(allowed bool) error {
	if !allowed && c.voters() < 2 {
		return nil
	}
	if allowed {
		c.trans.fullAt.Store(0) // the node found space: no need to wait
	}
	if c.trans.noCampaign.Swap(!allowed) != !allowed {
		c.log.Info("election candidacy changed", "allowed", allowed)
	}
	return nil
}

// voters counts the voting members of the current configuration.
func (c *Cluster) voters() int {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// AddVoter adds a node (leader only; use Join from elsewhere).
func (c *Cluster) addVoter(id, addr string) error {
	if f := c.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if string(s.ID) == id && string(s.Address) == addr {
				return nil // already a member: joining again after a restart is fine
			}
		}
	}
	return c.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error()
}

// Close stops the node. With transfer set and this node leading, leadership
// is handed to another voter first.
func (c *Cluster) Close(transfer bool) error {
	var err error
	c.closeOnce.Do(func() {
		if transfer && c.IsLeader() && len(c.Status().Nodes) > 1 {
			if e := c.raft.LeadershipTransfer().Error(); e != nil {
				c.log.Warn("leadership transfer failed", "err", e)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.rpc.Shutdown(ctx)
		err = c.raft.Shutdown().Error()
		c.raft.DeregisterObserver(c.observer)
		close(c.done)
		c.mux.Close()
		c.wg.Wait()
		err = errors.Join(err, c.store.Close())
		c.client.CloseIdleConnections()
	})
	return err
}

// drain reads and discards a body so the connection can be reused.
func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	r.Close()
}
