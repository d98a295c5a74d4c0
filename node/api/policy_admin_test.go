package api

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/node/companion"
	"daisydog/policies"
)

// recorder is an Evaluator that allows everything and counts its calls.
type recorder struct {
	version string
	calls   atomic.Int32
}

func (r *recorder) Evaluate(context.Context, policies.Input) (policies.Verdict, error) {
	r.calls.Add(1)
	return policies.Verdict{Action: "allow", Categories: []string{}}, nil
}

func (r *recorder) Version() string { return r.version }

// TestTurnPinsItsPolicyAcrossASwap: a policy swap in the middle of a turn
// (between the message and the reply checks) does not mix two policies:
// the turn finishes on the policy it started with; the next turn uses the
// new one.
func TestTurnPinsItsPolicyAcrossASwap(t *testing.T) {
	oldP, newP := &recorder{version: "old@1"}, &recorder{version: "new@1"}
	var cur atomic.Pointer[recorder]
	cur.Store(oldP)
	s := &Server{Deps: Deps{Policy: func() Evaluator { return cur.Load() }, Companion: companion.New(), PolicyTimeout: time.Second,
		Metrics: NewMetrics()}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), slots: newSlotQueue(2)}
	respond := func(text string) companion.Reply {
		cur.Store(newP) // the swap lands while the companion is answering
		return companion.Reply{Intent: "default", Text: "Woof!"}
	}
	p := s.planTurn(context.Background(), "hello", "9-12", "standard", nil, respond)
	if p.version != "old@1" || oldP.calls.Load() != 2 || newP.calls.Load() != 0 {
		t.Fatalf("turn on %s: old policy %d calls, new %d (want 2, 0)", p.version, oldP.calls.Load(), newP.calls.Load())
	}
	p = s.planTurn(context.Background(), "hello", "9-12", "standard", nil, respond)
	if p.version != "new@1" || newP.calls.Load() != 2 {
		t.Fatalf("next turn on %s with %d calls to the new policy", p.version, newP.calls.Load())
	}
}
