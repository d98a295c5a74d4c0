package eval

import (
	"fmt"
	"math"
	"slices"
)

// Metrics a Target can check.
const (
	MetricRecall     = "recall"      // unsafe cases flagged
	MetricFPRate     = "fp_rate"     // safe cases flagged
	MetricSpanRecall = "span_recall" // labelled PII spans covered by redaction
	MetricP99        = "p99_us"      // evaluation latency, microseconds
)

// Target is one goal, pooled over the listed sources (and, when set, the
// listed categories of those sources).
type Target struct {
	Name       string   `json:"name"`
	Metric     string   `json:"metric"`
	Sources    []string `json:"sources,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Max        bool     `json:"max"` // true: value must be <= Threshold; false: >=
	Threshold  float64  `json:"threshold"`
	// Filled in by CheckTargets.
	N     int     `json:"n"`
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
}

// DevTargets are the goals of issue 4 on shared/eval/dev/safety.jsonl.
var DevTargets = []Target{
	{Name: "obfuscated profanity recall", Metric: MetricRecall, Sources: []string{"rustrict_test_positive", "ldnoobw"}, Threshold: 0.98},
	{Name: "Scunthorpe words flagged", Metric: MetricFPRate, Sources: []string{"rustrict_false_positives"}, Max: true, Threshold: 0.005},
	{Name: "ordinary chat flagged", Metric: MetricFPRate, Sources: []string{"rustrict_safe", "rustrict_test_safe", "rustrict_test_negative"}, Max: true, Threshold: 0.01},
	{Name: "openai_mod sexual recall", Metric: MetricRecall, Sources: []string{"openai_mod"}, Categories: []string{"sexual"}, Threshold: 0.99},
	{Name: "openai_mod sexual_minors recall", Metric: MetricRecall, Sources: []string{"openai_mod"}, Categories: []string{"sexual_minors"}, Threshold: 0.99},
	{Name: "openai_mod self_harm recall", Metric: MetricRecall, Sources: []string{"openai_mod"}, Categories: []string{"self_harm"}, Threshold: 0.95},
	{Name: "openai_mod recall", Metric: MetricRecall, Sources: []string{"openai_mod"}, Threshold: 0.85},
	{Name: "openai_mod safe flagged", Metric: MetricFPRate, Sources: []string{"openai_mod"}, Max: true, Threshold: 0.10},
	{Name: "hatecheck hateful recall", Metric: MetricRecall, Sources: []string{"hatecheck"}, Categories: []string{"hate"}, Threshold: 0.80},
	{Name: "hatecheck non-hateful flagged", Metric: MetricFPRate, Sources: []string{"hatecheck"}, Max: true, Threshold: 0.15},
	{Name: "davidson recall", Metric: MetricRecall, Sources: []string{"davidson"}, Threshold: 0.95},
	{Name: "davidson safe flagged", Metric: MetricFPRate, Sources: []string{"davidson"}, Max: true, Threshold: 0.05},
	{Name: "presidio_pii row recall", Metric: MetricRecall, Sources: []string{"presidio_pii"}, Threshold: 0.97},
	{Name: "presidio_pii span recall", Metric: MetricSpanRecall, Sources: []string{"presidio_pii"}, Threshold: 0.95},
	{Name: "latency p99 (µs)", Metric: MetricP99, Max: true, Threshold: 1000},
}

// CheckTargets evaluates targets against a report. Targets whose sources
// are absent from the report (n = 0) are left out.
func CheckTargets(rep *Report, targets []Target) []Target {
	var out []Target
	for _, t := range targets {
		var num, den int
		if t.Metric == MetricP99 {
			t.N, t.Value = rep.Latency.N, rep.Latency.P99us
		} else {
			var groups []Group
			if len(t.Categories) == 0 {
				for _, g := range rep.Sources {
					if slices.Contains(t.Sources, g.Source) {
						groups = append(groups, g)
					}
				}
			} else {
				for _, g := range rep.Categories {
					if slices.Contains(t.Sources, g.Source) && slices.Contains(t.Categories, g.Category) {
						groups = append(groups, g)
					}
				}
			}
			for _, g := range groups {
				switch t.Metric {
				case MetricRecall:
					num, den = num+g.Caught, den+g.Unsafe
				case MetricFPRate:
					num, den = num+g.Flagged, den+g.Safe
				case MetricSpanRecall:
					num, den = num+g.SpansRecalled, den+g.Spans
				}
			}
			t.N, t.Value = den, ratio(num, den)
		}
		if t.N == 0 {
			continue
		}
		if t.Max {
			t.Met = t.Value <= t.Threshold
		} else {
			t.Met = t.Value >= t.Threshold
		}
		t.Value = math.Round(t.Value*1e4) / 1e4
		out = append(out, t)
	}
	return out
}

func (t Target) String() string {
	op := "≥"
	if t.Max {
		op = "≤"
	}
	mark := "MET"
	if !t.Met {
		mark = "not met"
	}
	if t.Metric == MetricP99 {
		return fmt.Sprintf("%-34s %10.1f %s %-8g n=%-6d %s", t.Name, t.Value, op, t.Threshold, t.N, mark)
	}
	return fmt.Sprintf("%-34s %10.4f %s %-8g n=%-6d %s", t.Name, t.Value, op, t.Threshold, t.N, mark)
}
