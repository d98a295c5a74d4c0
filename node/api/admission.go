package api

import (
	"context"
	"errors"
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

// policySlots limits concurrent policy evaluations on this node.
type policySlots chan struct{}

func newPolicySlots(n int) policySlots { return make(policySlots, n) }

// acquire waits for a slot at most wait (and while ctx lives).
func (s policySlots) acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-t.C:
		return nil, errPolicyBusy
	case <-ctx.Done():
		return nil, errPolicyBusy
	}
}
