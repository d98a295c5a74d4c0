package eval

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"daisydog/policies"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// TestCompareModulesLatency times policy modules against each other on
// the file named by DAISYDOG_EVAL_CASES, through the WASM host, for
// DAISYDOG_COMPARE_MODULES=a.wasm,b.wasm[,…]. On a shared, noisy machine
// two `policy eval` runs minutes apart differ by more than most
// optimisations, so here every case is evaluated by each module in turn,
// five rounds, and each module keeps its fastest time per case: slow
// drifts and bursts of load hit all modules alike. It prints, per module,
// the sum of those times, its ratio to the first module's, the p50, p95,
// p99 and max, and how many verdicts differ from the first module's
// (numbers only, never case text). DAISYDOG_COMPARE_MINLEN=N keeps only
// cases of N bytes or more. Skipped unless both variables are set.
func TestCompareModulesLatency(t *testing.T) {
	path, list := os.Getenv("DAISYDOG_EVAL_CASES"), os.Getenv("DAISYDOG_COMPARE_MODULES")
	if path == "" || list == "" {
		t.Skip("set DAISYDOG_EVAL_CASES=FILE.jsonl and DAISYDOG_COMPARE_MODULES=a.wasm,b.wasm")
	}
	minLen := 0
	if v := os.Getenv("DAISYDOG_COMPARE_MINLEN"); v != "" {
		var err error
		if minLen, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ReadCases(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CacheDir: wasmtest.SharedCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	names := strings.Split(list, ",")
	engines := make([]*policies.Engine, len(names))
	for i, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if engines[i], err = policies.NewEngine(ctx, rt, "compare", fmt.Sprintf("compare@%d", i), b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer engines[i].Close(ctx)
		for range 64 { // warm the pool, as policy eval does
			if _, err := engines[i].Evaluate(ctx, policies.Input{Text: "hello Daisy", Direction: "in", AgeTier: "9-12", Strictness: "standard"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const rounds = 5
	best := make([][]time.Duration, len(engines))
	differ := make([]int, len(engines))
	for _, c := range cases {
		if len(c.Text) < minLen {
			continue
		}
		dir, err := direction(c.Direction)
		if err != nil {
			t.Fatal(err)
		}
		in := policies.Input{Text: c.Text, Direction: dir, AgeTier: "9-12", Strictness: "standard", Locale: "en"}
		var first policies.Verdict
		for i, e := range engines {
			best[i] = append(best[i], time.Hour)
			for range rounds {
				t0 := time.Now()
				v, err := e.Evaluate(ctx, in)
				d := time.Since(t0)
				if err != nil {
					t.Fatalf("%s: case %s: %v", names[i], c.ID, err)
				}
				if d < best[i][len(best[i])-1] {
					best[i][len(best[i])-1] = d
				}
				if i == 0 {
					first = v
				} else if !reflect.DeepEqual(v, first) {
					differ[i]++
				}
			}
		}
	}
	if len(best[0]) == 0 {
		t.Fatal("no cases")
	}
	var total0 time.Duration
	for i, ds := range best {
		var total time.Duration
		for _, d := range ds {
			total += d
		}
		if i == 0 {
			total0 = total
		}
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
		fmt.Printf("%s: n=%d sum=%v ratio=%.3f p50=%v p95=%v p99=%v max=%v verdicts differing from the first module=%d\n",
			names[i], len(ds), total.Round(time.Millisecond), float64(total)/float64(total0),
			q(0.50).Round(100*time.Nanosecond), q(0.95).Round(100*time.Nanosecond), q(0.99).Round(100*time.Nanosecond),
			ds[len(ds)-1].Round(100*time.Nanosecond), differ[i]/rounds)
	}
}
