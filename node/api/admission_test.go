package api

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"daisydog/node/companion"
	"daisydog/policies"
)

// slowPolicy allows everything after a fixed delay.
type slowPolicy struct{ delay time.Duration }

func (p slowPolicy) Evaluate(ctx context.Context, _ policies.Input) (policies.Verdict, error) {
	select {
	case <-time.After(p.delay):
		return policies.Verdict{Action: "allow", Categories: []string{}}, nil
	case <-ctx.Done():
		return policies.Verdict{}, ctx.Err()
	}
}
func (slowPolicy) Version() string { return "slow@test" }

func admissionServer(slots int, delay, timeout, queue time.Duration) *Server {
	return New(Deps{
		Policy: func() Evaluator { return slowPolicy{delay} }, Companion: companion.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PolicySlots: slots,
		PolicyTimeout: timeout, PolicyQueueTimeout: queue,
	})
}

func respondHello(string) companion.Reply { return companion.Reply{Text: "Woof! Hello!"} }

// Waiting for a slot does not eat the policy timeout: four turns through
// one slot, each evaluation 60ms under a 100ms timeout, all get answers
// although the last waits far longer than 100ms in the queue.
func TestPolicyQueueWaitIsNotPolicyTimeout(t *testing.T) {
	s := admissionServer(1, 60*time.Millisecond, 100*time.Millisecond, 5*time.Second)
	var wg sync.WaitGroup
	plans := make([]turnPlan, 4)
	for i := range plans {
		wg.Go(func() { plans[i] = s.planTurn(context.Background(), "hi daisy", "9-12", "standard", nil, respondHello) })
	}
	wg.Wait()
	for i, p := range plans {
		if p.failClosed || p.busy || !p.answered {
			t.Errorf("turn %d: failClosed %v busy %v answered %v", i, p.failClosed, p.busy, p.answered)
		}
	}
	if w := s.Metrics.PolicyWait.Snapshot(); w.MaxMs < 100 {
		t.Errorf("max queue wait %.1fms: the turns did not queue", w.MaxMs)
	}
}

// With no slot in time the turn is refused as busy: not failed closed,
// nothing to store.
func TestPolicyBusyRefusesTheTurn(t *testing.T) {
	s := admissionServer(1, 0, time.Second, 30*time.Millisecond)
	release, err := s.slots.acquire(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := s.planTurn(context.Background(), "hi daisy", "9-12", "standard", nil, respondHello)
	if !p.busy || p.failClosed || p.answered {
		t.Fatalf("plan with every slot taken: busy %v failClosed %v answered %v", p.busy, p.failClosed, p.answered)
	}
	release()
	p = s.planTurn(context.Background(), "hi daisy", "9-12", "standard", nil, respondHello)
	if p.busy || p.failClosed || !p.answered {
		t.Fatalf("plan with a free slot: busy %v failClosed %v answered %v", p.busy, p.failClosed, p.answered)
	}
	// A policy that overruns its own timeout once admitted still fails closed.
	s = admissionServer(1, 200*time.Millisecond, 20*time.Millisecond, time.Second)
	if p := s.planTurn(context.Background(), "hi daisy", "9-12", "standard", nil, respondHello); !p.failClosed || p.busy {
		t.Fatalf("slow policy: failClosed %v busy %v", p.failClosed, p.busy)
	}
}
