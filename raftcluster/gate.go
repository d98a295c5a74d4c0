package raftcluster

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// fullHoldOff is how long after its log store last failed for lack of space
// a node stays out of elections on its own (without waiting for the node's
// disk guard to notice): a follower with a full disk fails every append the
// leader sends, which re-arms it; once appends succeed again it ends early.
const fullHoldOff = 5 * time.Second

// errNoCampaign is what Raft sees for a vote request this node may not send.
var errNoCampaign = errors.New("raftcluster: this node is not standing for election (its disk is nearly full)")

// gatedTransport is Raft's network transport with a switch that withholds
// this node's own vote and pre-vote requests. Everything else (heartbeats,
// replication, snapshots, answering other candidates) passes unchanged.
// Embedding the concrete transport keeps the optional interfaces Raft looks
// for (pre-vote, close), so pre-vote stays on.
type gatedTransport struct {
	*raft.NetworkTransport
	// noCampaign is SetCandidacy's switch.
	noCampaign atomic.Bool
	// fullAt is when the log store last failed with a full disk (unix
	// nanoseconds, 0 when it has since stored entries).
	fullAt atomic.Int64

	// storeFailures counts, per follower, appends it refused in a row
	// because it could not store them (leader side; see AppendEntries).
	mu            sync.Mutex
	storeFailures map[raft.ServerID]int
}

// maxStoreRetryWait bounds the wait before the leader resends entries a
// follower could not store. Raft's own back-off for such refusals doubles
// up to ten seconds, so a follower whose disk was full kept falling
// behind for that long after space returned.
const maxStoreRetryWait = 250 * time.Millisecond

// AppendEntries sends entries to a follower. A refusal that is neither a
// stale term nor a log mismatch (Raft marks those NoRetryBackoff) means the
// follower failed to store them, usually for lack of disk space: instead
// of Raft's back-off, which grows to ten seconds, the replication goroutine
// for that follower waits here, doubling from 10 ms up to 250 ms, and the
// response is marked for an immediate retry. Heartbeats (no entries) are
// never delayed.
func (t *gatedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err != nil || len(args.Entries) == 0 {
		return err
	}
	if wait := t.noteAppend(id, resp.Success || resp.NoRetryBackoff || resp.Term > args.Term); wait > 0 {
		time.Sleep(wait)
		resp.NoRetryBackoff = true
	}
	return nil
}

// noteAppend records whether an append to id went through (or failed for
// a reason Raft handles well) and returns how long to wait before the
// next attempt after a storage refusal.
func (t *gatedTransport) noteAppend(id raft.ServerID, ok bool) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ok {
		delete(t.storeFailures, id)
		return 0
	}
	if t.storeFailures == nil {
		t.storeFailures = map[raft.ServerID]int{}
	}
	n := t.storeFailures[id]
	t.storeFailures[id] = n + 1
	return min(10*time.Millisecond<<min(n, 5), maxStoreRetryWait)
}

// withheld reports whether this node's vote requests are withheld now.
func (t *gatedTransport) withheld() bool {
	if t.noCampaign.Load() {
		return true
	}
	at := t.fullAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < fullHoldOff
}

// RequestVote sends a vote request unless candidacy is off.
func (t *gatedTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if t.withheld() {
		return errNoCampaign
	}
	return t.NetworkTransport.RequestVote(id, target, args, resp)
}

// RequestPreVote sends a pre-vote request unless candidacy is off.
func (t *gatedTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if t.withheld() {
		return errNoCampaign
	}
	return t.NetworkTransport.RequestPreVote(id, target, args, resp)
}

// AppendEntriesPipeline opens a replication pipeline to a follower,
// guarded against a hang in hashicorp/raft (v1.7.3): Raft's pipeline
// decoder stops at the first refused or failed response, but its sender
// keeps sending until the pipeline's in-flight queue is full and then
// blocks forever, waiting for a decoder that is gone; the follower then
// never receives another entry (seen when a follower's disk filled under
// load). The guard closes the pipeline as soon as such a response has
// been handed to Raft, which releases the sender; Raft then falls back to
// plain AppendEntries for that follower, as it intends to.
func (t *gatedTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return newGuardedPipeline(p), nil
}

// guardedPipeline relays a pipeline's responses to Raft and closes the
// pipeline after relaying one that makes Raft's decoder stop.
type guardedPipeline struct {
	raft.AppendPipeline
	out    chan raft.AppendFuture
	closed chan struct{}
	once   sync.Once
	err    error
}

func newGuardedPipeline(p raft.AppendPipeline) *guardedPipeline {
	g := &guardedPipeline{AppendPipeline: p, out: make(chan raft.AppendFuture, 16), closed: make(chan struct{})}
	go g.relay()
	return g
}

func (g *guardedPipeline) relay() {
	in := g.AppendPipeline.Consumer()
	for {
		select {
		case f := <-in:
			select {
			case g.out <- f:
			case <-g.closed:
				return
			}
			if stopsDecoder(f) {
				_ = g.Close()
				return
			}
		case <-g.closed:
			return
		}
	}
}

// stopsDecoder reports whether Raft's pipeline decoder returns after this
// response: an error, a refusal, or a newer term.
func stopsDecoder(f raft.AppendFuture) bool {
	if f.Error() != nil {
		return true
	}
	resp, req := f.Response(), f.Request()
	return resp == nil || !resp.Success || (req != nil && resp.Term > req.Term)
}

// Consumer returns the relayed responses.
func (g *guardedPipeline) Consumer() <-chan raft.AppendFuture { return g.out }

// Close closes the pipeline (once; later calls return the first result).
func (g *guardedPipeline) Close() error {
	g.once.Do(func() {
		close(g.closed)
		g.err = g.AppendPipeline.Close()
	})
	return g.err
}

var (
	_ raft.WithPreVote = (*gatedTransport)(nil)
	_ raft.WithClose   = (*gatedTransport)(nil)
)

// spaceWatchedLogs is the Raft log store, telling the transport when an
// append fails because the disk is full (and when appends work again), so
// a leader that had to step down for lack of space does not win the next
// election straight away (before the node's disk guard has looked).
type spaceWatchedLogs struct {
	raft.LogStore
	trans *gatedTransport
}

// StoreLog stores one entry.
func (s *spaceWatchedLogs) StoreLog(l *raft.Log) error {
	return s.note(s.LogStore.StoreLog(l))
}

// StoreLogs stores entries.
func (s *spaceWatchedLogs) StoreLogs(ls []*raft.Log) error {
	return s.note(s.LogStore.StoreLogs(ls))
}

func (s *spaceWatchedLogs) note(err error) error {
	switch {
	case err == nil:
		if s.trans.fullAt.Load() != 0 {
			s.trans.fullAt.Store(0)
		}
	case isNoSpace(err):
		s.trans.fullAt.Store(time.Now().UnixNano())
	}
	return err
}

// isNoSpace reports whether err says the disk is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), "no space left on device")
}
