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

// Daisy's repeated lines are checked by the output policy once per policy
// version; children's messages are checked every time.
func TestReplyVerdictsCachedPerPolicyVersion(t *testing.T) {
	v1, v2 := &recorder{version: "p@1"}, &recorder{version: "p@2"}
	var cur atomic.Pointer[recorder]
	cur.Store(v1)
	s := &Server{Deps: Deps{Policy: func() Evaluator { return cur.Load() }, Companion: companion.New(), PolicyTimeout: time.Second,
		Metrics: NewMetrics()}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), slots: newSlotQueue(2),
		verdicts: newVerdictCache(16)}
	respond := func(string) companion.Reply { return companion.Reply{Intent: "default", Text: "Woof! Let's play!"} }
	turn := func() { s.planTurn(context.Background(), "hello", "9-12", "standard", nil, respond) }

	turn()
	turn()
	if got := v1.calls.Load(); got != 3 {
		t.Fatalf("two turns with the same reply: %d policy calls, want 3 (2 messages + 1 reply)", got)
	}
	cur.Store(v2) // a hot swap: nothing cached under the old version applies
	turn()
	if got := v2.calls.Load(); got != 2 {
		t.Fatalf("after a swap: %d calls on the new policy, want 2", got)
	}
	// A different tier is a different input.
	s.planTurn(context.Background(), "hello", "5-8", "standard", nil, respond)
	if got := v2.calls.Load(); got != 4 {
		t.Fatalf("another tier: %d calls, want 4", got)
	}
}

func TestVerdictCacheBoundsAndCopies(t *testing.T) {
	c := newVerdictCache(4)
	for i := range 10 {
		c.put(verdictKey{text: string(rune('a' + i))}, policies.Verdict{Action: "allow", Categories: []string{"x"}})
		if len(c.m) > 4 {
			t.Fatalf("cache holds %d entries, max 4", len(c.m))
		}
	}
	k := verdictKey{text: "j"}
	v, ok := c.get(k)
	if !ok {
		t.Fatal("the newest entry is missing")
	}
	v.Categories[0] = "changed"
	if again, _ := c.get(k); again.Categories[0] != "x" {
		t.Fatal("a caller changed the cached verdict")
	}
	for _, in := range []policies.Input{
		{Direction: "in", Text: "hi"},
		{Direction: "out", Text: "hi", Context: []policies.ContextTurn{{Direction: "in", Text: "x"}}},
		{Direction: "out", Text: string(make([]byte, 600))},
	} {
		if cacheable(in) {
			t.Fatalf("%+v must not be cached", in)
		}
	}
	if !cacheable(policies.Input{Direction: "out", Text: "Woof!"}) {
		t.Fatal("a plain reply should be cacheable")
	}
}
