package api

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Policy admission. The policy host runs a bounded pool of WebAssembly
// instances; a request that waits for one inside Evaluate spends its
// policy timeout queueing, so under overload turns failed closed although
// the policy itself was fine (measured: 27% of turns at 256 concurrent
// clients on a 2-core machine). Evaluations therefore first take one of as
// many slots as the pool has instances, and the policy timeout starts only
// once they have one. A turn that cannot get a slot within
// PolicyQueueTimeout is refused as a whole with 503 and Retry-After
// (nothing stored, nothing shown): load is shed explicitly instead of
// answering children with "the safety check was unavailable".
//
// Safety is unchanged: every message and reply is still evaluated, and a
// policy that errors, traps or times out once admitted still fails closed.

// errPolicyBusy means no policy slot freed up in time.
var errPolicyBusy = errors.New("policy: all evaluation slots busy")

// errOverloaded is the API error for a turn refused by admission.
var errOverloaded = &apiError{Status: 503, Code: "unavailable", Message: "the server is busy; retry shortly", RetryAfter: 1}

// Controlled delay. Under sustained overload (more turns arrive than the
// node can evaluate) a queue forms and stays: every turn would wait the
// whole PolicyQueueTimeout and most would then be refused anyway, so the
// node served almost nothing in time (measured: 10,000 children at
// 1,538 turns/s offered on a 2-core machine completed none within the
// run). As in CoDel, a queue counts as standing when no evaluation got its
// slot within shedTarget for shedInterval; while it stands, a new turn
// waits at most shedWait and is otherwise refused at once with 503, so
// the turns that are admitted are answered quickly and the rest learn
// within milliseconds to retry. The reply check of a turn already under
// way (its message was evaluated) always gets the full wait: refusing it
// would waste the work done.
const (
	shedTarget   = 20 * time.Millisecond
	shedInterval = 200 * time.Millisecond
	shedWait     = 20 * time.Millisecond
)

// policySlots limits concurrent policy evaluations on this node and sheds
// new turns while a queue stands.
type policySlots struct {
	slots chan struct{}
	// lastGood is when an evaluation last got its slot within shedTarget
	// (unix nanoseconds).
	lastGood atomic.Int64
	now      func() time.Time
}

func newPolicySlots(n int) *policySlots {
	p := &policySlots{slots: make(chan struct{}, n), now: time.Now}
	p.lastGood.Store(p.now().UnixNano())
	return p
}

// standing reports whether no evaluation got a slot quickly for shedInterval.
func (s *policySlots) standing(now time.Time) bool {
	return now.UnixNano()-s.lastGood.Load() > int64(shedInterval)
}

func (s *policySlots) admitted(start time.Time) (release func(), err error) {
	if now := s.now(); now.Sub(start) < shedTarget {
		s.lastGood.Store(now.UnixNano())
	}
	return func() { <-s.slots }, nil
}

// acquire waits for a slot at most wait (and while ctx lives); a new turn
// (newTurn) waits at most shedWait while a queue stands.
func (s *policySlots) acquire(ctx context.Context, wait time.Duration, newTurn bool) (release func(), err error) {
	start := s.now()
	select {
	case s.slots <- struct{}{}:
		return s.admitted(start)
	default:
	}
	if newTurn && s.standing(start) {
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
