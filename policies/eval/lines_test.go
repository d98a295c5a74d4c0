package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"daisydog/policies"
)

// linePolicy blocks output containing "bone" (redirects "ball"), fails on
// "boom", refuses tier "x" as invalid input, and records what it was asked.
type linePolicy struct{ seen []policies.Input }

func (p *linePolicy) Evaluate(_ context.Context, in policies.Input) (policies.Verdict, error) {
	p.seen = append(p.seen, in)
	switch {
	case in.AgeTier == "x":
		return policies.Verdict{}, fmt.Errorf("%w: tier %q", policies.ErrInvalidInput, in.AgeTier)
	case strings.Contains(in.Text, "boom"):
		return policies.Verdict{}, errors.New("module trapped")
	case strings.Contains(in.Text, "bone"):
		return policies.Verdict{Action: "block", Categories: []string{"violence"}, Rules: []string{"word.bone"}}, nil
	case strings.Contains(in.Text, "ball"):
		return policies.Verdict{Action: "redirect", Categories: []string{}}, nil
	}
	return policies.Verdict{Action: "allow"}, nil
}

func TestCheckLines(t *testing.T) {
	lines := []Line{
		{Tier: "5-8", Source: "pool:greeting", Text: "Woof, hello!"},
		{Tier: "5-8", Source: "catalog:trick", Text: "Bury a bone"},
		{Tier: "9-12", Source: "game:fetch.catch", Text: "Throw the ball"},
		{Tier: "13-17", Source: "catalog:fact", Text: "boom"},
		{Tier: "13-17", Source: "catalog:trick", Text: "Bury a bone"},
	}
	for _, tc := range []struct {
		name       string
		lines      []Line
		strictness string
		wantStrict string
		refused    []RefusedLine
		errors     int
	}{
		{name: "none", strictness: "", wantStrict: "standard"},
		{name: "all allowed", lines: lines[:1], strictness: "strict", wantStrict: "strict"},
		{name: "blocked, redirected and failed", lines: lines, strictness: "relaxed", wantStrict: "relaxed", errors: 1,
			refused: []RefusedLine{
				{Line: lines[1], Action: "block", Categories: []string{"violence"}, Rules: []string{"word.bone"}},
				{Line: lines[2], Action: "redirect", Categories: []string{}},
				{Line: lines[3], Action: "error", Error: "module trapped"},
				{Line: lines[4], Action: "block", Categories: []string{"violence"}, Rules: []string{"word.bone"}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &linePolicy{}
			rep, err := CheckLines(context.Background(), p, tc.lines, tc.strictness)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Strictness != tc.wantStrict || rep.Checked != len(tc.lines) || rep.Refused != len(tc.refused) || rep.Errors != tc.errors {
				t.Fatalf("report %+v", rep)
			}
			if !reflect.DeepEqual(rep.Lines, tc.refused) {
				t.Fatalf("refused lines\n%+v\nwant\n%+v", rep.Lines, tc.refused)
			}
			for i, in := range p.seen {
				if in.Direction != "out" || in.AgeTier != tc.lines[i].Tier || in.Strictness != tc.wantStrict || in.Text != tc.lines[i].Text {
					t.Fatalf("line %d evaluated as %+v", i, in)
				}
			}
		})
	}

	t.Run("invalid input", func(t *testing.T) {
		_, err := CheckLines(context.Background(), &linePolicy{}, []Line{{Tier: "x", Source: "s", Text: "hi"}}, "")
		if !errors.Is(err, policies.ErrInvalidInput) || !strings.Contains(err.Error(), "Daisy's line (x, s)") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := &linePolicy{}
		if _, err := CheckLines(ctx, p, lines, ""); !errors.Is(err, context.Canceled) || len(p.seen) != 0 {
			t.Fatalf("err = %v after %d evaluations", err, len(p.seen))
		}
	})
}

func TestWriteLinesTable(t *testing.T) {
	rep, err := CheckLines(context.Background(), &linePolicy{}, []Line{
		{Tier: "5-8", Source: "pool:greeting", Text: "hello"},
		{Tier: "5-8", Source: "catalog:trick", Text: "Bury a bone"},
		{Tier: "9-12", Source: "catalog:fact", Text: "boom"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	rep.Exempt = 7
	var many []Line
	for i := range maxListed + 3 {
		many = append(many, Line{Tier: "13-17", Source: "pool:joke", Text: fmt.Sprintf("bone %d", i)})
	}
	long, err := CheckLines(context.Background(), &linePolicy{}, many, "strict")
	if err != nil {
		t.Fatal(err)
	}
	clean, err := CheckLines(context.Background(), &linePolicy{}, many[:0], "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		rep       *LinesReport
		want, not []string
	}{
		{"blocked and failed", rep, []string{
			"strictness standard): 3 checked, 2 blocked (1 by evaluation errors); 7 crisis-support lines exempt\n",
			"blocked per age tier and source:\n  5-8    catalog:trick                            1\n  9-12   catalog:fact                             1\n",
			`  5-8 catalog:trick: "Bury a bone" → block [violence word.bone]`,
			`  9-12 catalog:fact: "boom" → error: module trapped`,
		}, []string{"hello", "more"}},
		{"more than listed", long, []string{
			fmt.Sprintf("%d checked, %d blocked;", maxListed+3, maxListed+3),
			fmt.Sprintf("bone %d", maxListed-1), "… and 3 more (--json lists them all)",
		}, []string{fmt.Sprintf("bone %d", maxListed), "evaluation errors"}},
		{"nothing blocked", clean, []string{"0 checked, 0 blocked; 0 crisis-support lines exempt\n"}, []string{"blocked lines", "per age tier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			WriteLinesTable(&b, tc.rep)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("table has %q:\n%s", n, b.String())
				}
			}
		})
	}

	// In the score table, after everything else.
	var b bytes.Buffer
	WriteTable(&b, &Report{Policy: "p@1", DaisyLines: rep})
	if !strings.HasSuffix(b.String(), "\nblocked lines (Daisy would send a redirect instead):\n"+
		`  5-8 catalog:trick: "Bury a bone" → block [violence word.bone]`+"\n"+`  9-12 catalog:fact: "boom" → error: module trapped`+"\n") {
		t.Fatalf("score table:\n%s", b.String())
	}
}
