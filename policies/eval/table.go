package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *p)
}

func line(w io.Writer, g Group, name string) {
	fmt.Fprintf(w, "%-46s %6d %7d %8s %6d %8s %6d %8s\n", name, g.Cases, g.Unsafe, pct(g.Recall), g.Safe, pct(g.FPRate), g.Spans, pct(g.SpanRecall))
}

// WriteTable writes a readable summary of rep: per source, per (source,
// category), span recall per type, latency and targets. It contains no
// case text; ids of misses only when the report has them.
func WriteTable(w io.Writer, rep *Report) {
	if rep.Policy != "" {
		fmt.Fprintf(w, "policy %s · age tier %s · strictness %s · %d cases", rep.Policy, rep.AgeTier, rep.Strictness, rep.Cases)
	} else {
		fmt.Fprintf(w, "age tier %s · strictness %s · %d cases", rep.AgeTier, rep.Strictness, rep.Cases)
	}
	fmt.Fprintf(w, " · %d errors (counted as flagged)\n", rep.Errors)
	var acts []string
	for a, n := range rep.Actions {
		acts = append(acts, fmt.Sprintf("%s=%d", a, n))
	}
	sort.Strings(acts)
	fmt.Fprintf(w, "actions: %s\n\n", strings.Join(acts, " "))

	hdr := fmt.Sprintf("%-46s %6s %7s %8s %6s %8s %6s %8s\n", "source / category", "cases", "unsafe", "recall", "safe", "fp_rate", "spans", "span_rec")
	fmt.Fprint(w, hdr)
	fmt.Fprintln(w, strings.Repeat("-", len(hdr)-1))
	for _, s := range rep.Sources {
		line(w, s, s.Source)
		for _, c := range rep.Categories {
			if c.Source == s.Source && !(len(catsOf(rep, s.Source)) == 1) {
				line(w, c, "  "+c.Category)
			}
		}
	}
	fmt.Fprintln(w, strings.Repeat("-", len(hdr)-1))
	line(w, rep.Overall, "all")

	if len(rep.SpanTypes) > 0 {
		fmt.Fprintf(w, "\nPII span recall by type (a span counts when redaction covers ≥ %.0f%% of its characters; * = counted in span_rec):\n", SpanCoverage*100)
		for _, st := range rep.SpanTypes {
			mark := " "
			if st.Counted {
				mark = "*"
			}
			fmt.Fprintf(w, "  %s %-16s %5d/%-5d %.4f\n", mark, st.Type, st.Recalled, st.Spans, st.Recall)
		}
	}
	l := rep.Latency
	fmt.Fprintf(w, "\nlatency per evaluation (n=%d): p50 %.1fµs  p95 %.1fµs  p99 %.1fµs  max %.1fµs  mean %.1fµs\n", l.N, l.P50us, l.P95us, l.P99us, l.MaxUs, l.Mean)
	if wk := rep.Work; wk != nil {
		fmt.Fprintf(w, "work per evaluation (units of the host's per-call budget, same on any machine): p50 %d  p99 %d  max %d  mean %.1f  budget %d (max uses %.2f%%)\n",
			wk.P50, wk.P99, wk.Max, wk.Mean, wk.Budget, 100*float64(wk.Max)/float64(max(wk.Budget, 1)))
	}

	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (issue 4, dev set):")
		met := 0
		for _, t := range rep.Targets {
			fmt.Fprintln(w, "  "+t.String())
			if t.Met {
				met++
			}
		}
		fmt.Fprintf(w, "  %d of %d targets met\n", met, len(rep.Targets))
	}

	var misses bool
	for _, s := range rep.Sources {
		if len(s.MissedIDs)+len(s.FlaggedIDs) > 0 {
			if !misses {
				fmt.Fprintln(w, "\nmisses (ids only):")
				misses = true
			}
			if len(s.MissedIDs) > 0 {
				fmt.Fprintf(w, "  %s missed unsafe (%d): %s\n", s.Source, len(s.MissedIDs), strings.Join(s.MissedIDs, " "))
			}
			if len(s.FlaggedIDs) > 0 {
				fmt.Fprintf(w, "  %s flagged safe (%d): %s\n", s.Source, len(s.FlaggedIDs), strings.Join(s.FlaggedIDs, " "))
			}
		}
	}
	if rep.DaisyLines != nil {
		fmt.Fprintln(w)
		WriteLinesTable(w, rep.DaisyLines)
	}
}

func catsOf(rep *Report, source string) []string {
	var out []string
	for _, c := range rep.Categories {
		if c.Source == source {
			out = append(out, c.Category)
		}
	}
	return out
}
