package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
)

// Comparing two builds. A benchmark's absolute numbers say as much about
// the machine as about the software, so a regression is judged against a
// baseline measured on the same machine, ideally in the same sitting and
// alternating (deploy/bench-ab.sh). Each side may hold several suite files
// (rounds); every metric is the median over them.

// Suite is one results file of deploy/bench-local.sh.
type Suite struct {
	Date    string     `json:"date"`
	Machine string     `json:"machine"`
	Version string     `json:"version"`
	Runs    []SuiteRun `json:"runs"`
}

// SuiteRun is one run of a suite: a Summary under the run's name, or the
// reason it failed.
type SuiteRun struct {
	Run    string `json:"run"`
	Failed string `json:"failed,omitempty"`
	Summary
}

// LoadSuites reads suite files.
func LoadSuites(paths []string) ([]Suite, error) {
	if len(paths) == 0 {
		return nil, errors.New("no results file given")
	}
	out := make([]Suite, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading results: %w", err)
		}
		var s Suite
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: not a results file of deploy/bench-local.sh: %w", p, err)
		}
		if len(s.Runs) == 0 {
			return nil, fmt.Errorf("%s: no runs", p)
		}
		out = append(out, s)
	}
	return out, nil
}

// metric is one compared number of a run.
type metric struct {
	name         string
	higherBetter bool
	// abs: a change is a regression only when it is also at least this
	// large in absolute terms (a p50 of 2 ms against 1.7 ms is noise).
	abs float64
	get func(r SuiteRun) (float64, bool)
}

// comparedMetrics are the numbers Compare judges.
func comparedMetrics() []metric {
	return []metric{
		{"turns/s", true, 5, func(r SuiteRun) (float64, bool) { return r.TurnsPerSec, true }},
		{"p50 ms", false, 2, func(r SuiteRun) (float64, bool) { return r.LatencyMs.P50, r.Turns > 0 }},
		{"p99 ms", false, 5, func(r SuiteRun) (float64, bool) { return r.LatencyMs.P99, r.Turns > 0 }},
		{"error %", false, 0.1, func(r SuiteRun) (float64, bool) {
			if r.Turns+r.Errors == 0 {
				return 0, false
			}
			return 100 * float64(r.Errors) / float64(r.Turns+r.Errors), true
		}},
		{"server CPU ms/req", false, 0.05, func(r SuiteRun) (float64, bool) {
			if r.CPU == nil {
				return 0, false
			}
			return r.CPU.ServerMsPerRequest, true
		}},
	}
}

// Delta is one metric of one run, baseline against candidate.
type Delta struct {
	Run        string  `json:"run"`
	Metric     string  `json:"metric"`
	Base       float64 `json:"base"`
	New        float64 `json:"new"`
	Change     float64 `json:"change"` // (new - base) / base; +Inf when base is 0 and new is not
	Regression bool    `json:"regression"`
	Better     bool    `json:"better"`
}

// Comparison is the whole verdict.
type Comparison struct {
	Tolerance float64 `json:"tolerance"`
	Deltas    []Delta `json:"deltas"`
	// Notes: runs on one side only, failed runs, machines that differ.
	Notes []string `json:"notes,omitempty"`
}

// Regressions lists the deltas that regressed.
func (c Comparison) Regressions() []Delta {
	var out []Delta
	for _, d := range c.Deltas {
		if d.Regression {
			out = append(out, d)
		}
	}
	return out
}

// Compare judges the candidate suites against the baseline suites: a
// metric regresses when it is worse than the baseline's by more than
// tolerance (a fraction, e.g. 0.15) and by more than the metric's absolute
// floor. Runs are matched by name; each metric is the median over a
// side's suites.
func Compare(base, cand []Suite, tolerance float64) (Comparison, error) {
	if tolerance < 0 || math.IsNaN(tolerance) {
		return Comparison{}, fmt.Errorf("tolerance %v: want a fraction ≥ 0", tolerance)
	}
	c := Comparison{Tolerance: tolerance}
	b, bNotes := runsByName(base, "baseline")
	n, nNotes := runsByName(cand, "candidate")
	c.Notes = append(append(c.Notes, bNotes...), nNotes...)
	names := make([]string, 0, len(n))
	for name := range n {
		if _, ok := b[name]; ok {
			names = append(names, name)
		} else {
			c.Notes = append(c.Notes, fmt.Sprintf("run %s: only in the candidate", name))
		}
	}
	for name := range b {
		if _, ok := n[name]; !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("run %s: only in the baseline", name))
		}
	}
	sort.Slice(names, func(i, j int) bool { return runOrder(names[i]) < runOrder(names[j]) })
	for _, name := range names {
		for _, m := range comparedMetrics() {
			bv, ok1 := median(b[name], m.get)
			nv, ok2 := median(n[name], m.get)
			if !ok1 || !ok2 {
				continue
			}
			c.Deltas = append(c.Deltas, judge(name, m, bv, nv, tolerance))
		}
	}
	if len(c.Deltas) == 0 {
		return c, errors.New("the two sides have no successful run in common")
	}
	c.Notes = append(c.Notes, machineNotes(base, cand)...)
	sort.Strings(c.Notes)
	return c, nil
}

func judge(run string, m metric, base, cand, tolerance float64) Delta {
	d := Delta{Run: run, Metric: m.name, Base: base, New: cand}
	switch {
	case base != 0:
		d.Change = (cand - base) / math.Abs(base)
	case cand != 0:
		d.Change = math.Inf(1)
	}
	worse := cand < base
	if !m.higherBetter {
		worse = cand > base
	}
	big := math.Abs(cand-base) > m.abs && math.Abs(d.Change) > tolerance
	d.Regression = worse && big
	d.Better = !worse && big
	return d
}

// runsByName groups the successful runs of suites by name.
func runsByName(suites []Suite, side string) (map[string][]SuiteRun, []string) {
	out := map[string][]SuiteRun{}
	var notes []string
	for _, s := range suites {
		for _, r := range s.Runs {
			if r.Failed != "" {
				notes = append(notes, fmt.Sprintf("run %s failed in the %s of %s: %s", r.Run, side, s.Date, r.Failed))
				continue
			}
			out[r.Run] = append(out[r.Run], r)
		}
	}
	return out, notes
}

// runOrder sorts closed-loop runs by concurrency, then open-loop runs by
// children, then anything else by name.
func runOrder(name string) string {
	var n int
	switch {
	case strings.HasPrefix(name, "c") && scanInt(name[1:], &n):
		return fmt.Sprintf("0%09d", n)
	case strings.HasPrefix(name, "open") && scanInt(name[4:], &n):
		return fmt.Sprintf("1%09d", n)
	}
	return "2" + name
}

func scanInt(s string, n *int) bool {
	_, err := fmt.Sscanf(s, "%d", n)
	return err == nil && fmt.Sprint(*n) == s
}

func median(runs []SuiteRun, get func(SuiteRun) (float64, bool)) (float64, bool) {
	var vs []float64
	for _, r := range runs {
		if v, ok := get(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

// machineNotes says when the two sides were measured on machines whose
// limits differ by more than half (fsync or loopback round trip): their
// numbers are then not comparable, whatever the verdict says.
func machineNotes(base, cand []Suite) []string {
	limit := func(suites []Suite, get func(*MachineLimits) float64) (float64, bool) {
		var runs []SuiteRun
		for _, s := range suites {
			runs = append(runs, s.Runs...)
		}
		return median(runs, func(r SuiteRun) (float64, bool) {
			if r.Machine == nil {
				return 0, false
			}
			return get(r.Machine), true
		})
	}
	var notes []string
	for _, l := range []struct {
		name string
		get  func(*MachineLimits) float64
	}{
		{"fsync p50", func(m *MachineLimits) float64 { return m.FsyncMs.P50 }},
		{"loopback RTT p50", func(m *MachineLimits) float64 { return m.LoopbackRTTUs.P50 }},
	} {
		b, ok1 := limit(base, l.get)
		n, ok2 := limit(cand, l.get)
		if ok1 && ok2 && b > 0 && n > 0 && (n/b > 1.5 || b/n > 1.5) {
			notes = append(notes, fmt.Sprintf("the machines differ: %s %.3g (baseline) against %.3g (candidate); compare on one machine (deploy/bench-ab.sh)", l.name, b, n))
		}
	}
	return notes
}

// WriteText prints the comparison as a table, then its notes and verdict.
func (c Comparison) WriteText(w io.Writer, baseLabel, candLabel string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "baseline %s, candidate %s; tolerance %.0f%%\n", baseLabel, candLabel, 100*c.Tolerance)
	fmt.Fprintf(&sb, "%-10s %-18s %12s %12s %9s  %s\n", "run", "metric", "baseline", "candidate", "change", "")
	for _, d := range c.Deltas {
		mark := ""
		switch {
		case d.Regression:
			mark = "REGRESSION"
		case d.Better:
			mark = "better"
		}
		change := fmt.Sprintf("%+.1f%%", 100*d.Change)
		if math.IsInf(d.Change, 0) {
			change = "new"
		}
		fmt.Fprintf(&sb, "%-10s %-18s %12.4g %12.4g %9s  %s\n", d.Run, d.Metric, d.Base, d.New, change, mark)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&sb, "note: %s\n", n)
	}
	if r := c.Regressions(); len(r) > 0 {
		fmt.Fprintf(&sb, "verdict: %d regression(s) beyond %.0f%%\n", len(r), 100*c.Tolerance)
	} else {
		fmt.Fprintf(&sb, "verdict: no regression beyond %.0f%%\n", 100*c.Tolerance)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
