package bench

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run builds a successful suite run.
func run(name string, tps, p50, p99 float64, turns, errs int64, cpuMs float64) SuiteRun {
	r := SuiteRun{Run: name}
	r.TurnsPerSec, r.Turns, r.Errors = tps, turns, errs
	r.LatencyMs = Latency{P50: p50, P99: p99}
	if cpuMs > 0 {
		r.CPU = &CPUCost{ServerMsPerRequest: cpuMs}
	}
	return r
}

func suite(runs ...SuiteRun) Suite { return Suite{Date: "d", Runs: runs} }

func deltaOf(t *testing.T, c Comparison, runName, metric string) Delta {
	t.Helper()
	for _, d := range c.Deltas {
		if d.Run == runName && d.Metric == metric {
			return d
		}
	}
	t.Fatalf("no delta %s/%s in %+v", runName, metric, c.Deltas)
	return Delta{}
}

func TestCompareJudgesEachMetric(t *testing.T) {
	base := suite(run("c64", 1000, 40, 120, 20000, 0, 1.2))
	for _, tc := range []struct {
		name       string
		cand       SuiteRun
		metric     string
		regression bool
		better     bool
	}{
		{"throughput within tolerance", run("c64", 900, 40, 120, 18000, 0, 1.2), "turns/s", false, false},
		{"throughput down 20%", run("c64", 800, 40, 120, 16000, 0, 1.2), "turns/s", true, false},
		{"throughput up 20%", run("c64", 1200, 40, 120, 24000, 0, 1.2), "turns/s", false, true},
		{"p99 up 50%", run("c64", 1000, 40, 180, 20000, 0, 1.2), "p99 ms", true, false},
		{"p50 up 25% but under the 2 ms floor", run("c64", 1000, 41.5, 120, 20000, 0, 1.2), "p50 ms", false, false},
		{"errors appear", run("c64", 1000, 40, 120, 19000, 1000, 1.2), "error %", true, false},
		{"a few errors under the 0.1 point floor", run("c64", 1000, 40, 120, 20000, 10, 1.2), "error %", false, false},
		{"CPU per request up 25%", run("c64", 1000, 40, 120, 20000, 0, 1.5), "server CPU ms/req", true, false},
		{"CPU per request down 25%", run("c64", 1000, 40, 120, 20000, 0, 0.9), "server CPU ms/req", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare([]Suite{base}, []Suite{suite(tc.cand)}, 0.15)
			if err != nil {
				t.Fatal(err)
			}
			d := deltaOf(t, c, "c64", tc.metric)
			if d.Regression != tc.regression || d.Better != tc.better {
				t.Fatalf("%+v: regression %v better %v, want %v %v", d, d.Regression, d.Better, tc.regression, tc.better)
			}
			if got := len(c.Regressions()) > 0; got != tc.regression {
				t.Fatalf("Regressions() = %+v", c.Regressions())
			}
		})
	}
}

func TestCompareTakesMediansAndMatchesRuns(t *testing.T) {
	base := []Suite{
		suite(run("c256", 1000, 50, 200, 1, 0, 1), run("c16", 300, 10, 30, 1, 0, 1)),
		suite(run("c256", 1400, 50, 200, 1, 0, 1), run("c16", 310, 10, 30, 1, 0, 1), SuiteRun{Run: "open1000", Failed: "no ready node"}),
		suite(run("c256", 1100, 50, 200, 1, 0, 1)),
	}
	cand := []Suite{
		suite(run("c256", 1050, 50, 200, 1, 0, 1), run("open10000", 600, 80, 900, 1, 0, 1), run("c16", 305, 10, 30, 1, 0, 1)),
		suite(run("c256", 20, 50, 200, 1, 0, 1)), // one bad round: the median shrugs it off
		suite(run("c256", 1150, 50, 200, 1, 0, 1)),
	}
	c, err := Compare(base, cand, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "c256", "turns/s"); d.Base != 1100 || d.New != 1050 || d.Regression {
		t.Fatalf("c256 medians: %+v", d)
	}
	if d := deltaOf(t, c, "c16", "turns/s"); d.Base != 305 || d.New != 305 {
		t.Fatalf("c16 (two rounds: mean of the middle two): %+v", d)
	}
	if c.Deltas[0].Run != "c16" || c.Deltas[len(c.Deltas)-1].Run != "c256" {
		t.Fatalf("order: %+v", c.Deltas)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"run open1000 failed in the baseline", "run open10000: only in the candidate"} {
		if !strings.Contains(notes, want) {
			t.Fatalf("notes %q lack %q", notes, want)
		}
	}
	if len(c.Regressions()) != 0 {
		t.Fatalf("regressions: %+v", c.Regressions())
	}
}

func TestCompareRefusesWhatItCannotJudge(t *testing.T) {
	if _, err := Compare([]Suite{suite(run("c16", 1, 1, 1, 1, 0, 1))}, []Suite{suite(run("c64", 1, 1, 1, 1, 0, 1))}, 0.1); err == nil {
		t.Fatal("no run in common: want an error")
	}
	if _, err := Compare(nil, nil, -1); err == nil {
		t.Fatal("negative tolerance: want an error")
	}
	if _, err := Compare(nil, nil, math.NaN()); err == nil {
		t.Fatal("NaN tolerance: want an error")
	}
	// Errors from zero: the change is "new", and it regresses.
	c, err := Compare([]Suite{suite(run("c16", 100, 1, 1, 100, 0, 0))}, []Suite{suite(run("c16", 100, 1, 1, 90, 10, 0))}, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "c16", "error %"); !math.IsInf(d.Change, 1) || !d.Regression {
		t.Fatalf("errors from zero: %+v", d)
	}
	var sb strings.Builder
	if err := c.WriteText(&sb, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if out := sb.String(); !strings.Contains(out, "new  REGRESSION") || !strings.Contains(out, "verdict: 1 regression(s) beyond 10%") {
		t.Fatalf("text:\n%s", out)
	}
}

func TestCompareNotesDifferentMachines(t *testing.T) {
	withLimits := func(r SuiteRun, fsync, rtt float64) SuiteRun {
		r.Machine = &MachineLimits{FsyncMs: Latency{P50: fsync}, LoopbackRTTUs: Latency{P50: rtt}}
		return r
	}
	same, err := Compare([]Suite{suite(withLimits(run("c16", 1, 1, 1, 1, 0, 1), 1, 20))},
		[]Suite{suite(withLimits(run("c16", 1, 1, 1, 1, 0, 1), 1.2, 25))}, 0.1)
	if err != nil || len(same.Notes) != 0 {
		t.Fatalf("similar machines: %v %q", err, same.Notes)
	}
	diff, err := Compare([]Suite{suite(withLimits(run("c16", 1, 1, 1, 1, 0, 1), 1, 6))},
		[]Suite{suite(withLimits(run("c16", 1, 1, 1, 1, 0, 1), 1, 25))}, 0.1)
	if err != nil || len(diff.Notes) != 1 || !strings.Contains(diff.Notes[0], "loopback RTT p50 6 (baseline) against 25") {
		t.Fatalf("different machines: %v %q", err, diff.Notes)
	}
}

func TestLoadSuites(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	b, _ := json.Marshal(suite(run("c16", 10, 1, 2, 100, 0, 1)))
	os.WriteFile(good, b, 0o600)
	os.WriteFile(filepath.Join(dir, "empty.json"), []byte(`{"runs":[]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`[1,2]`), 0o600)
	s, err := LoadSuites([]string{good})
	if err != nil || len(s) != 1 || s[0].Runs[0].Run != "c16" || s[0].Runs[0].TurnsPerSec != 10 {
		t.Fatalf("good: %v %+v", err, s)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{nil, "no results file"},
		{[]string{filepath.Join(dir, "missing.json")}, "reading results"},
		{[]string{filepath.Join(dir, "bad.json")}, "not a results file"},
		{[]string{filepath.Join(dir, "empty.json")}, "no runs"},
	} {
		if _, err := LoadSuites(tc.paths); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.paths, err, tc.want)
		}
	}
}
