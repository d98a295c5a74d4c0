package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/storage"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
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
	release, err := s.slots.acquire(context.Background(), time.Second, false)
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

// fakeClock is a settable clock for the admission tests.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// Controlled delay: while a queue stands (no quick admission for
// shedInterval), a new turn waits at most shedWait; a reply check still
// gets the full wait; one quick admission ends the standing state.
func TestAdmissionShedsNewTurnsWhileAQueueStands(t *testing.T) {
	clock := &fakeClock{}
	clock.t.Store(time.Unix(1e9, 0).UnixNano())
	s := newSlotQueue(1)
	s.now = clock.now
	s.lastGood.Store(clock.now().UnixNano())
	hold, err := s.acquire(context.Background(), time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	// Not standing yet: a new turn waits its whole bound.
	start := time.Now()
	if _, err := s.acquire(context.Background(), 150*time.Millisecond, true); err == nil {
		t.Fatal("acquired a taken slot")
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("new turn gave up after %v before the queue stood, want the full 150ms", waited)
	}
	clock.advance(shedInterval + time.Millisecond)
	if !s.standing(clock.now()) {
		t.Fatal("no quick admission for longer than shedInterval, but not standing")
	}
	start = time.Now()
	if _, err := s.acquire(context.Background(), 5*time.Second, true); err == nil {
		t.Fatal("acquired a taken slot")
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("new turn waited %v while a queue stood, want about %v", waited, shedWait)
	}
	// A reply check is not shed: it gets the slot once it frees up, even
	// though that takes longer than shedWait.
	got := make(chan error, 1)
	go func() {
		rel, err := s.acquire(context.Background(), 5*time.Second, false)
		if err == nil {
			rel()
		}
		got <- err
	}()
	time.Sleep(3 * shedWait) // let the reply check queue past shedWait
	select {
	case err := <-got:
		t.Fatalf("reply check returned (%v) while the slot was still taken", err)
	default:
	}
	hold()
	if err := <-got; err != nil {
		t.Fatalf("reply check refused while a queue stood: %v", err)
	}
	// The slot is free: a quick admission ends the standing state.
	rel, err := s.acquire(context.Background(), time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if s.standing(clock.now()) {
		t.Fatal("still standing after a quick admission")
	}
}

// A turn that finds every turn slot taken waits at most TurnQueueTimeout,
// and while a queue stands it is refused at once: 503, counted as shed,
// before it reads or decides anything.
func TestTurnAdmissionRefusesWhenFull(t *testing.T) {
	s := New(Deps{
		Policy: func() Evaluator { return slowPolicy{0} }, Companion: companion.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TurnSlots: 1, TurnQueueTimeout: 200 * time.Millisecond,
	})
	hold, err := s.turns.acquire(context.Background(), time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	turn := func() (time.Duration, error) {
		start := time.Now()
		r := httptest.NewRequest("POST", "/v1/children/x/chat", nil)
		err := s.runTurn(httptest.NewRecorder(), r, storage.Actor{}, "hi daisy", companion.FeatureChat, chatStep, false, false)
		return time.Since(start), err
	}
	took, err := turn()
	if err != errOverloaded || took < 200*time.Millisecond {
		t.Fatalf("turn with every slot taken: %v after %v, want errOverloaded after the 200ms queue bound", err, took)
	}
	// Make the queue stand: nobody was admitted quickly for longer than shedInterval.
	s.turns.lastGood.Store(time.Now().Add(-2 * shedInterval).UnixNano())
	took, err = turn()
	if err != errOverloaded || took > 150*time.Millisecond {
		t.Fatalf("turn while a queue stands: %v after %v, want errOverloaded within about %v", err, took, shedWait)
	}
	if n := s.Metrics.Shed.Load(); n != 2 {
		t.Fatalf("shed counter %d, want 2", n)
	}
}

// A client that cancels its request while the policy checks the message
// (or Daisy's reply) gets no fail-closed turn: nothing is decided, stored,
// counted as a policy failure or escalated. Only a policy that fails while
// the client still waits fails closed.
func TestTurnOfClientThatLeftDoesNotFailClosed(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration // the policy's own bound
		cancel   bool          // the client cancels during the evaluation
		wantGone bool
	}{
		{"client cancels", time.Minute, true, true},
		{"policy times out, client waits", 20 * time.Millisecond, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := admissionServer(1, time.Hour, tc.timeout, time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan turnPlan, 1)
			go func() { done <- s.planTurn(ctx, "hi daisy", "9-12", "standard", nil, respondHello) }()
			if tc.cancel {
				// The evaluation holds the only policy slot once it runs.
				for deadline := time.Now().Add(5 * time.Second); len(s.slots.slots) == 0; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the evaluation never started")
					}
				}
				cancel()
			}
			var p turnPlan
			select {
			case p = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("planTurn did not return")
			}
			if p.gone != tc.wantGone || p.failClosed == tc.wantGone || p.escalate == tc.wantGone {
				t.Fatalf("gone=%v failClosed=%v escalate=%v, want gone=%v and fail-closed/escalate=%v",
					p.gone, p.failClosed, p.escalate, tc.wantGone, !tc.wantGone)
			}
		})
	}
}

// TestPolicyStarvedIsBusyNotFailure: a real WebAssembly policy (instrumented
// like a Go guest) that loops on a chat message. When it spends its work
// budget, that is the policy failing: the turn fails closed and escalates.
// When the time runs out while the budget is not spent — the machine did
// not run it, as under heavy overload — the turn is refused as busy (503):
// no withheld message, no policy-failure event, counted as starved.
func TestPolicyStarvedIsBusyNotFailure(t *testing.T) {
	const allow = `{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`
	loop := wasmtest.FlakyPolicy(allow, []byte{wasmtest.OpLoop, wasmtest.BlockEmpty, wasmtest.OpBr, 0, wasmtest.OpEnd})
	tests := []struct {
		name        string
		budget      uint64
		timeout     time.Duration
		wantStarved bool
	}{
		{"work budget spent", 200, time.Minute, false},
		{"time ran out with budget left", 1 << 40, 30 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rt, err := wasm.NewRuntime(ctx, wasm.Config{CallBudget: tc.budget, CallTimeout: time.Minute, CacheDir: wasmtest.SharedCacheDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Close(ctx) })
			eng, err := policies.NewEngine(ctx, rt, "loop", "loop@test", loop)
			if err != nil {
				t.Fatal(err)
			}
			s := New(Deps{
				Policy: func() Evaluator { return eng }, Companion: companion.New(),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PolicyTimeout: tc.timeout,
			})
			msg := "tell me a story about a very good dog " + strings.Repeat("who fetched a stick ", 12)
			p := s.planTurn(ctx, msg, "9-12", "standard", nil, respondHello)
			if p.busy != tc.wantStarved || p.failClosed == tc.wantStarved || p.escalate == tc.wantStarved || p.answered {
				t.Fatalf("busy=%v failClosed=%v escalate=%v answered=%v; want busy=%v, fail-closed and escalated=%v",
					p.busy, p.failClosed, p.escalate, p.answered, tc.wantStarved, !tc.wantStarved)
			}
			if got := s.Metrics.PolicyStarved.Load(); (got == 1) != tc.wantStarved {
				t.Fatalf("starved evaluations counted: %d", got)
			}
		})
	}
}
