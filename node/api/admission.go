package api

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Admission. Two bounded sets of slots with a controlled-delay queue:
//
//   - Turn slots (TurnSlots per node, default 64): a chat turn or game move
//     holds one from start to reply. Under sustained overload the queue for
//     them stands, and without a bound every turn waited so long that the
//     node answered almost none in time (measured: 10,000 children offering
//     1,538 turns/s to three nodes on a 2-core machine completed 24 turns
//     in 20 s, the rest timed out). With the bound and the controlled delay
//     below, new turns are refused at once with 503 and Retry-After while
//     a queue stands, so the turns that are admitted are answered quickly.
//   - Policy slots (as many as the policy host has instances): a request
//     that waited for a WebAssembly instance inside Evaluate spent its
//     policy timeout queueing and failed closed although the policy was
//     fine (measured: 27% of turns at 256 concurrent clients). Evaluations
//     first take a slot, and the policy timeout starts once they have one.
//     These are never shed: the turn was admitted as a whole already.
//
// Safety is unchanged: every message and reply is still evaluated, and a
// policy that errors, traps or times out once admitted still fails closed.
// A refused turn stores nothing and shows nothing.

// errPolicyBusy means no policy slot freed up in time.
var errPolicyBusy = errors.New("policy: all evaluation slots busy")

// errOverloaded is the API error for a turn refused by admission.
var errOverloaded = &apiError{Status: 503, Code: "unavailable", Message: "the server is busy; retry shortly", RetryAfter: 1}

// defaultTurnSlots: turns in progress per node. Enough for Raft to batch
// well (up to 192 in flight over three nodes), few enough that admitted
// turns are not slowed by the rest. Measured on the 2-core machine with
// 10,000 children offering 1,538 turns/s (bench/admission-2026-11-26/):
// 64 per node with the constants below served 663 turns/s with p99 1.5 s;
// without a bound, 148/s with p99 16 s; 256 per node thrashed like no
// bound. It does not prevent the collapse when other work loads the
// machine heavily (run 5 there). 32 per node, A/B against 64 on a slower
// VM (bench/ab-2026-11-27T2112Z-turnslots32.txt): admitted turns faster
// (open loop p99 996 → 688 ms; C = 256 p99 650 → 385 ms) but fewer served
// (open loop −6%) and twice the refusals at C = 256 (5.5% → 10.3%): a
// trade, not a gain, so 64 stays.
const defaultTurnSlots = 64

// Controlled delay (as in CoDel): a queue counts as standing when no
// request got its slot within shedTarget for shedInterval. While it
// stands, a sheddable request (a new turn) waits at most shedWait and is
// otherwise refused at once, so the rest learn within milliseconds to
// retry; others get their full wait.
const (
	shedTarget   = 20 * time.Millisecond
	shedInterval = 200 * time.Millisecond
	shedWait     = 20 * time.Millisecond
)

// slotQueue bounds concurrent work of one kind on this node (turns, or
// policy evaluations) and sheds sheddable requests while a queue stands.
type slotQueue struct {
	slots chan struct{}
	// lastGood is when an evaluation last got its slot within shedTarget
	// (unix nanoseconds).
	lastGood atomic.Int64
	now      func() time.Time
}

func newSlotQueue(n int) *slotQueue {
	p := &slotQueue{slots: make(chan struct{}, n), now: time.Now}
	p.lastGood.Store(p.now().UnixNano())
	return p
}

// standing reports whether no evaluation got a slot quickly for shedInterval.
func (s *slotQueue) standing(now time.Time) bool {
	return now.UnixNano()-s.lastGood.Load() > int64(shedInterval)
}

func (s *slotQueue) admitted(start time.Time) (release func(), err error) {
	if now := s.now(); now.Sub(start) < shedTarget {
		s.lastGood.Store(now.UnixNano())
	}
	return func() { <-s.slots }, nil
}

// acquire waits for a slot at most wait (and while ctx lives); a sheddable
// request waits at most shedWait while a queue stands.
func (s *slotQueue) acquire(ctx context.Context, wait time.Duration, sheddable bool) (release func(), err error) {
	start := s.now()
	select {
	case s.slots <- struct{}{}:
		return s.admitted(start)
	default:
	}
	if sheddable && s.standing(start) {
		wait = min(wait, shedWait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return s.admitted(start)
	case <-t.C:
		return nil, errPolicyBusy
	case <-ctx.Done():
		return nil, errPolicyBusy
	}
}
