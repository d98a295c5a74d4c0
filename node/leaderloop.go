package node

import (
	"context"
	"errors"
	"time"
)

// leaderJob is work only the leader does, again and again: the outboxes
// (e-mails, safety alerts). runWhileLeader owns the loop they share.
type leaderJob struct {
	every   time.Duration // the period while runs succeed
	maxWait time.Duration // the longest wait after failures (doubling from every)
	// postponed is the job's "not every node runs this version yet" error:
	// it is logged once (postponedMsg) and retried every 10 s at most.
	postponed    error
	postponedMsg string
	failMsg      string // logged with the error when a run fails
	// run does the work once; fresh is true on the first run of each
	// leadership (the job may need a barrier before it reads).
	run func(ctx context.Context, fresh bool) error
}

// runWhileLeader runs j every j.every while this node leads, until ctx
// ends. It waits on leadership changes (no polling on a follower), passes
// fresh after each change, backs off after failures, and never logs the
// same postponement twice.
func (n *Node) runWhileLeader(ctx context.Context, j leaderJob) {
	wait := j.every
	fresh := true
	postponedLogged := false
	for {
		changed := n.cluster.LeaderChange() // taken before the check, so no change is missed
		var due <-chan time.Time
		if n.cluster.IsLeader() {
			due = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			fresh = true
			continue
		case <-due:
		}
		err := j.run(ctx, fresh)
		switch {
		case err == nil || ctx.Err() != nil:
			fresh, wait = false, j.every
		case errors.Is(err, j.postponed):
			if !postponedLogged {
				n.log.Info(j.postponedMsg, "err", err)
				postponedLogged = true
			}
			wait = max(j.every, 10*time.Second)
		default:
			n.log.Warn(j.failMsg, "err", err, "retry_in", wait.String())
			wait = min(2*wait, j.maxWait)
		}
	}
}

// leaderBarrier waits (up to 10 s) until this node has applied every
// entry committed before it became leader.
func (n *Node) leaderBarrier(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n.cluster.Barrier(bctx)
}

// onEveryTick calls fn every period until ctx ends (the first call one
// period after the start): the node's periodic jobs that every node runs.
func onEveryTick(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}
