package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"daisydog/node/bench"
)

// TestBenchCompareCommand: `daisydog bench compare` prints the table and
// fails on a regression beyond the tolerance; JSON on request; usage and
// unreadable files are errors.
func TestBenchCompareCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, version string, tps, p99 float64) string {
		r := bench.SuiteRun{Run: "c64"}
		r.TurnsPerSec, r.Turns, r.LatencyMs.P50, r.LatencyMs.P99 = tps, 10000, 20, p99
		b, _ := json.Marshal(bench.Suite{Date: "x", Version: version, Runs: []bench.SuiteRun{r}})
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base1, base2 := write("b1.json", "old", 1000, 100), write("b2.json", "old", 1040, 110)
	same, slow := write("n1.json", "new", 1010, 104), write("n2.json", "new", 700, 200)

	out, _, err := capture(t, func() error { return cmdBench([]string{"compare", "--base", base1 + "," + base2, "--new", same}) })
	if err != nil || !strings.Contains(out, "baseline old (2 round(s)), candidate new (1 round(s))") || !strings.Contains(out, "verdict: no regression beyond 15%") {
		t.Fatalf("same speed: %v\n%s", err, out)
	}
	out, _, err = capture(t, func() error { return cmdBench([]string{"compare", "--base", base1, "--new", slow}) })
	if err == nil || !strings.Contains(err.Error(), "2 regression(s) beyond 15%") || strings.Count(out, "REGRESSION") != 2 {
		t.Fatalf("slower: %v\n%s", err, out)
	}
	if _, _, err = capture(t, func() error {
		return cmdBench([]string{"compare", "--base", base1, "--new", slow, "--tolerance", "2"})
	}); err != nil {
		t.Fatalf("within a 200%% tolerance: %v", err)
	}
	out, _, err = capture(t, func() error { return cmdBench([]string{"compare", "--json", "--base", base1, "--new", same}) })
	var c bench.Comparison
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || len(c.Deltas) != 4 || c.Tolerance != 0.15 {
		t.Fatalf("json: %v %q", err, out)
	}
	for _, args := range [][]string{
		{"compare"},
		{"compare", "--base", base1},
		{"compare", "--base", filepath.Join(dir, "none.json"), "--new", same},
		{"compare", "--base", base1, "--new", filepath.Join(dir, "none.json")},
		{"compare", "--base", base1, "--new", same, "--tolerance", "-1"},
	} {
		if _, _, err := capture(t, func() error { return cmdBench(args) }); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
