package policies

import (
	"context"
	"strings"
	"testing"

	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// defaultPolicyWorkCeiling bounds the work (the WASM host's units: one per
// 2,048 interrupt checks, wasm/DESIGN.md "Work budget") the embedded default
// policy does on workCorpus. Work is counted, not timed: the same module and
// inputs give the same count on any machine under any load, so this is a
// performance regression test CI can run (charter §8: no timed verdicts).
// It is 10% above the count measured when the policy last changed; a change
// that makes the policy cheaper lowers it in the same commit (the test says
// when it is far above). Set on 2026-11-28 at 841 units (the module before
// that day's second speed round did 934, the one before its first 1,483 on
// the same corpus; docs/safety.md "Speed (second round of 2026-11-28)").
const defaultPolicyWorkCeiling = 925

// workCorpus is what TestDefaultPolicyWorkCeiling evaluates: every input of
// the default policy's own test vectors, the benchmark's messages, and
// long messages (the p99 of the dev set's latency is set by long rows).
func workCorpus(t *testing.T) []Input {
	t.Helper()
	vf, err := ParseVectors(DefaultVectors())
	if err != nil {
		t.Fatal(err)
	}
	var out []Input
	for _, v := range vf.Vectors {
		out = append(out, v.Input)
	}
	out = append(out,
		Input{Text: longMessage, Direction: "in", AgeTier: "9-12"},
		Input{Text: strings.Repeat(longMessage+" ", 4), Direction: "in", AgeTier: "5-8"},
		Input{Text: "Hi Daisy! Can you tell me a joke about cats? I have 3 of them.", Direction: "in", AgeTier: "9-12",
			Context: []ContextTurn{{Direction: "in", Text: "hello"}, {Direction: "out", Text: "Woof! Hi there!"}}},
		Input{Text: "Woof! Why did the dog sit in the shade? Because he didn't want to be a hot dog!", Direction: "out", AgeTier: "9-12"},
	)
	return out
}

// TestDefaultPolicyWorkCeiling: the default policy's work on workCorpus
// stays under defaultPolicyWorkCeiling, evaluated in order on one fresh
// engine (one instance, so the count does not depend on a pool).
func TestDefaultPolicyWorkCeiling(t *testing.T) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: defaultTestTimeout(), CacheDir: wasmtest.SharedCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	e, err := NewDefaultEngine(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	corpus := workCorpus(t)
	// Loading may call the module (its self-test): count from here. Twice:
	// the second pass is what a warm instance does.
	before := e.WorkStats()
	for range 2 {
		for _, in := range corpus {
			if _, err := e.Evaluate(ctx, in); err != nil {
				t.Fatalf("evaluate %q: %v", in.Text, err)
			}
		}
	}
	st := e.WorkStats()
	st.Calls -= before.Calls
	st.Units -= before.Units
	t.Logf("work on %d evaluations: %d units (max %d in one call); ceiling %d", st.Calls, st.Units, st.MaxUnits, defaultPolicyWorkCeiling)
	if st.Calls != uint64(2*len(corpus)) {
		t.Fatalf("%d calls counted, want %d", st.Calls, 2*len(corpus))
	}
	if st.Units > defaultPolicyWorkCeiling {
		t.Fatalf("the default policy does %d units of work on the corpus, over its ceiling of %d: a change made it more than 10%% costlier (if that is intended, raise defaultPolicyWorkCeiling and say why in the commit)", st.Units, defaultPolicyWorkCeiling)
	}
	if st.Units*100 < defaultPolicyWorkCeiling*80 {
		t.Logf("note: %d units is far below the ceiling %d: lower defaultPolicyWorkCeiling to about %d", st.Units, defaultPolicyWorkCeiling, st.Units*11/10)
	}
}
