package raftcluster

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Commit notices (DESIGN.md "Commit notice").
//
// A follower learns that the leader committed an entry only from the next
// AppendEntries it receives: one that carries new entries, or the one
// hashicorp/raft sends after CommitTimeout (50–100 ms) without any. A write
// a follower forwarded is answered only once that follower applied it
// (read-your-writes); when no later write carried the news, it waited out
// that timer: a lone child's chat turn through a follower took ~95 ms
// instead of ~7. (A follower's linearizable read needs no notice: the
// leader's read index comes from a barrier, which carries it.)
//
// So the leader keeps the highest index some follower is waiting for
// (awaited). When that is ahead of what it already announced and nothing
// uncommitted is in flight (an entry in flight will be followed by a check
// when it commits), it wakes runNotices. That waits noticePause; if no
// write was appended meanwhile, it appends an empty entry (nil data, which
// state machines skip but count as applied): the entry is replicated at
// once, and its AppendEntries carries the commit index. One notice at a
// time; wakes while one is in flight coalesce into the next. Under steady
// load new entries carry the news and no notice is needed, so notices are
// appended only when writes pause.

// noticePause is how long the leader waits for a later write to carry a
// commit before it appends a notice: what a lone write through a
// follower pays, and what spares a notice when writes are a millisecond
// or less apart.
const noticePause = time.Millisecond

type commitNotice struct {
	awaited   atomic.Uint64 // highest index a follower waits to apply
	announced atomic.Uint64 // awaited as of the last notice that completed
	wake      chan struct{} // buffered (1): a notice is wanted
	notices   atomic.Uint64 // notices appended (Status.CommitNotices)
}

func newCommitNotice() *commitNotice { return &commitNotice{wake: make(chan struct{}, 1)} }

// followerWaits records, on the leader, that a follower will wait until it
// applied idx (a write it forwarded), and announces it if nothing else
// will.
func (c *Cluster) followerWaits(idx uint64) {
	n := c.notice
	for {
		cur := n.awaited.Load()
		if idx <= cur || n.awaited.CompareAndSwap(cur, idx) {
			break
		}
	}
	c.checkNotice()
}

// checkNotice wakes runNotices when a follower waits for an index not yet
// announced and no uncommitted entry is in flight. Called after every
// write this node applied as leader and from followerWaits.
func (c *Cluster) checkNotice() {
	n := c.notice
	if n.awaited.Load() <= n.announced.Load() {
		return
	}
	if c.raft.LastIndex() > c.raft.CommitIndex() {
		return // its commit will call checkNotice again
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// runNotices appends notices while this node leads and followers wait.
func (c *Cluster) runNotices() {
	defer c.wg.Done()
	n := c.notice
	for {
		select {
		case <-c.done:
			return
		case <-n.wake:
		}
		for {
			target := n.awaited.Load()
			last := c.raft.LastIndex()
			if target <= n.announced.Load() || c.raft.State() != raft.Leader || last > c.raft.CommitIndex() {
				break // nothing to announce, or entries in flight will
			}
			// Under load the next write comes within this pause, and its
			// AppendEntries carries the commit index (target committed
			// before it was appended): no notice then.
			t := time.NewTimer(noticePause)
			select {
			case <-c.done:
				t.Stop()
				return
			case <-t.C:
			}
			if c.raft.LastIndex() == last {
				n.notices.Add(1)
				// An empty entry: every node's state machine only records
				// its index (a Raft barrier would not reach the state
				// machines, leaving their applied index behind the commit
				// index until the next write).
				if err := c.raft.Apply(nil, c.cfg.ApplyTimeout).Error(); err != nil {
					// Lost leadership or shutting down: the next leader's
					// first entries carry its commit index.
					c.log.Debug("commit notice failed", "err", err)
					break
				}
			}
			for {
				cur := n.announced.Load()
				if target <= cur || n.announced.CompareAndSwap(cur, target) {
					break
				}
			}
			// Entries forwarded while the notice was in flight may have
			// committed after it was sent: go on while awaited moved on.
		}
	}
}
