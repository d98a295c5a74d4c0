package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// TestEveryDaisyLinePassesTheOutputPolicy runs every line Daisy can say
// (reply pools, catalogue items, game lines, for every age tier) through the
// real default WASM policy as output, at standard and strict strictness.
// Crisis-support replies are the one exception: they are fixed, reviewed
// texts that name emergency numbers, which the policy rightly tags as
// "emergency" on output; the chat pipeline sends them regardless.
func TestEveryDaisyLinePassesTheOutputPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: 5 * time.Second, CacheDir: wasmtest.SharedCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	pe, err := policies.NewDefaultEngine(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	lines := companion.New().Corpus()
	if len(lines) < 300 {
		t.Fatalf("only %d corpus lines: the corpus is not what this test thinks", len(lines))
	}
	checked := 0
	for _, strict := range []string{"standard", "strict"} {
		for _, c := range lines {
			if strings.HasPrefix(c.Source, "support") {
				continue
			}
			v, err := pe.Evaluate(ctx, policies.Input{Text: c.Text, Direction: "out", AgeTier: c.Tier, Strictness: strict})
			if err != nil {
				t.Fatalf("%s %q: %v", c.Tier, c.Text, err)
			}
			checked++
			if v.Action != "allow" {
				t.Errorf("%s/%s [%s] %q → %s %v %v", strict, c.Tier, c.Source, c.Text, v.Action, v.Categories, v.Rules)
			}
		}
	}
	t.Logf("%d line×strictness checks", checked)
}
