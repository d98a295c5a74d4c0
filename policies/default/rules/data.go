package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Bundle data (policies/ABI.md, "Data"): the default module accepts a data
// document of named text files that adjusts the compiled-in tables without
// a recompile. With no data (or no bundle) the compiled-in tables are used
// unchanged. Every file is optional; a file name the policy does not know,
// an unknown rule id or model head, or a phrase that does not compile
// refuses the data, so that a typo fails the bundle at upload instead of
// silently doing nothing.
//
//	disabled.txt             rule ids to switch off, one per line
//	phrases/<rule id>.txt    extra phrases for that rule, one per line, in
//	                         the pattern syntax of lexicon.go
//	stems/<rule id>.txt      extra rude stems for that rule, one per line
//	                         (plain a-z, a leading '*' matches inside words)
//	innocent.txt             extra words that loose matching leaves alone
//	                         (the Scunthorpe list, data/innocent.txt)
//	thresholds.json          {"heads": {"<head>": p, ...}, "veto": p}: the
//	                         model's firing probability per head (above 1
//	                         switches a head off) and its veto level
//
// In the text files, blank lines and lines starting with '#' are ignored.

// Data is parsed bundle data for CompileData.
type Data map[string]string

// ParseData decodes the data document (a JSON object of file name →
// content).
func ParseData(doc []byte) (Data, error) {
	var d Data
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("rules: data: %w", err)
	}
	return d, nil
}

// dataThresholds is thresholds.json.
type dataThresholds struct {
	Heads map[string]float64 `json:"heads"`
	Veto  *float64           `json:"veto"`
}

// CompileData compiles the default rules and model adjusted by bundle data.
// An empty d gives a policy equivalent to Default.
func CompileData(d Data) (*Policy, error) {
	rules := slices.Clone(DefaultRules)
	byID := make(map[string]int, len(rules))
	for i, r := range rules {
		byID[r.ID] = i
	}
	ruleFor := func(file, id string) (*Rule, error) {
		i, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("rules: data %s: unknown rule %q", file, id)
		}
		return &rules[i], nil
	}
	var innocent []string
	var disabled []string
	model := DefaultModel()
	for _, name := range slices.Sorted(maps.Keys(d)) {
		body := d[name]
		switch {
		case name == "disabled.txt":
			for _, id := range dataLines(body) {
				if _, err := ruleFor(name, id); err != nil {
					return nil, err
				}
				disabled = append(disabled, id)
			}
		case name == "innocent.txt":
			for _, w := range dataLines(body) {
				innocent = append(innocent, strings.ToLower(w))
			}
		case strings.HasPrefix(name, "phrases/") && strings.HasSuffix(name, ".txt"):
			r, err := ruleFor(name, strings.TrimSuffix(strings.TrimPrefix(name, "phrases/"), ".txt"))
			if err != nil {
				return nil, err
			}
			r.Phrases = append(slices.Clip(r.Phrases), dataLines(body)...)
		case strings.HasPrefix(name, "stems/") && strings.HasSuffix(name, ".txt"):
			r, err := ruleFor(name, strings.TrimSuffix(strings.TrimPrefix(name, "stems/"), ".txt"))
			if err != nil {
				return nil, err
			}
			r.Stems = append(slices.Clip(r.Stems), dataLines(body)...)
		case name == "thresholds.json":
			var th dataThresholds
			dec := json.NewDecoder(strings.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&th); err != nil {
				return nil, fmt.Errorf("rules: data %s: %w", name, err)
			}
			if model == nil {
				return nil, fmt.Errorf("rules: data %s: this build has no model", name)
			}
			m := *model
			m.Heads = slices.Clone(model.Heads)
			for head, p := range th.Heads {
				i := slices.IndexFunc(m.Heads, func(h ModelHead) bool { return h.Name == head })
				if i < 0 {
					return nil, fmt.Errorf("rules: data %s: unknown model head %q", name, head)
				}
				if !(p >= 0) || math.IsInf(p, 0) {
					return nil, fmt.Errorf("rules: data %s: head %q: threshold %v", name, head, p)
				}
				m.Heads[i].Threshold = float32(p)
			}
			if th.Veto != nil {
				if v := *th.Veto; !(v >= 0 && v < 1) {
					return nil, fmt.Errorf("rules: data %s: veto %v not in [0, 1)", name, v)
				}
				m.Veto = float32(*th.Veto)
			}
			model = &m
		default:
			return nil, fmt.Errorf("rules: data: unknown file %q", name)
		}
	}
	if len(disabled) > 0 {
		rules = slices.DeleteFunc(rules, func(r Rule) bool { return slices.Contains(disabled, r.ID) })
	}
	return compile(rules, model, innocent)
}

// dataLines returns the non-blank lines of a data file that are not
// comments, trimmed.
func dataLines(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			out = append(out, l)
		}
	}
	return out
}
