package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"daisydog/policies"
	"daisydog/policies/sdk"
)

// Line is one of Daisy's own lines: text she can say to a child of Tier,
// from Source (a reply pool, a catalogue item, a game line, …).
type Line struct {
	Tier   string `json:"tier"`
	Source string `json:"source"`
	Text   string `json:"text"`
}

// RefusedLine is one of Daisy's lines a policy does not allow as output,
// with the verdict (or the evaluation error) that refused it.
type RefusedLine struct {
	Line
	Action     string   `json:"action"`
	Categories []string `json:"categories,omitempty"`
	Rules      []string `json:"rules,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// LinesReport is how a policy treats Daisy's own lines: each is evaluated
// as output for its own age tier at Strictness. The chat pipeline checks
// Daisy's reply with the output policy on every turn and, when her line is
// refused, sends a redirect instead: every refused line is something Daisy
// can no longer say. Unlike case texts, these texts are ours (the built-in
// catalogue) and are reported.
type LinesReport struct {
	Strictness string `json:"strictness"`
	Checked    int    `json:"checked"`
	// Exempt lines were not checked: the pipeline sends them whatever the
	// output policy says (crisis support).
	Exempt  int           `json:"exempt"`
	Refused int           `json:"refused"` // not allowed, evaluation errors included
	Errors  int           `json:"errors"`
	Lines   []RefusedLine `json:"refused_lines,omitempty"`
}

// CheckLines evaluates every line as output for its tier at strictness
// (default standard) and reports the ones ev does not allow, in the order
// given. An evaluation error refuses the line (the pipeline fails closed);
// invalid input (an unknown tier or strictness) and a cancelled context
// are returned as errors.
func CheckLines(ctx context.Context, ev Evaluator, lines []Line, strictness string) (*LinesReport, error) {
	if strictness == "" {
		strictness = sdk.StrictnessStandard
	}
	rep := &LinesReport{Strictness: strictness}
	for _, l := range lines {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := ev.Evaluate(ctx, policies.Input{Text: l.Text, Direction: sdk.DirectionOut, AgeTier: l.Tier, Strictness: strictness})
		rep.Checked++
		switch {
		case err != nil && (ctx.Err() != nil || errors.Is(err, policies.ErrInvalidInput)):
			return nil, fmt.Errorf("eval: Daisy's line (%s, %s): %w", l.Tier, l.Source, err)
		case err != nil:
			rep.Errors++
			rep.Lines = append(rep.Lines, RefusedLine{Line: l, Action: "error", Error: err.Error()})
		case v.Action != sdk.ActionAllow:
			rep.Lines = append(rep.Lines, RefusedLine{Line: l, Action: v.Action, Categories: v.Categories, Rules: v.Rules})
		}
	}
	rep.Refused = len(rep.Lines)
	return rep, nil
}

// maxListed is how many refused lines WriteLinesTable lists (the JSON
// report has them all).
const maxListed = 40

// WriteLinesTable writes a summary of rep: the counts, the refused lines
// per (tier, source), and up to maxListed of them with their verdicts.
func WriteLinesTable(w io.Writer, rep *LinesReport) {
	fmt.Fprintf(w, "Daisy's lines (output, each at its own age tier, strictness %s): %d checked, %d blocked",
		rep.Strictness, rep.Checked, rep.Refused)
	if rep.Errors > 0 {
		fmt.Fprintf(w, " (%d by evaluation errors)", rep.Errors)
	}
	fmt.Fprintf(w, "; %d crisis-support lines exempt\n", rep.Exempt)
	if rep.Refused == 0 {
		return
	}
	// Per (tier, source), in the order of the lines (the corpus's order).
	per := map[[2]string]int{}
	var keys [][2]string
	for _, l := range rep.Lines {
		k := [2]string{l.Tier, l.Source}
		if per[k] == 0 {
			keys = append(keys, k)
		}
		per[k]++
	}
	fmt.Fprintln(w, "blocked per age tier and source:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %-6s %-36s %5d\n", k[0], k[1], per[k])
	}
	fmt.Fprintln(w, "blocked lines (Daisy would send a redirect instead):")
	for i, l := range rep.Lines {
		if i == maxListed {
			fmt.Fprintf(w, "  … and %d more (--json lists them all)\n", len(rep.Lines)-maxListed)
			break
		}
		why := l.Action
		if l.Error != "" {
			why += ": " + l.Error
		} else if len(l.Categories)+len(l.Rules) > 0 {
			why += " [" + strings.Join(append(append([]string{}, l.Categories...), l.Rules...), " ") + "]"
		}
		fmt.Fprintf(w, "  %s %s: %q → %s\n", l.Tier, l.Source, l.Text, why)
	}
}
