package eval

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"daisydog/policies"
	"daisydog/policies/default/rules"
)

// hostEvaluator runs the default policy natively (no WASM), for quick
// tuning loops; the numbers that count come from `daisydog policy eval`.
type hostEvaluator struct{}

func (hostEvaluator) Evaluate(_ context.Context, in policies.Input) (policies.Verdict, error) {
	return rules.Evaluate(in), nil
}

// TestDevSetHost scores the default policy natively on the file named by
// DAISYDOG_EVAL_CASES and prints the table (numbers and ids only). It is
// skipped when the variable is unset.
func TestDevSetHost(t *testing.T) {
	path := os.Getenv("DAISYDOG_EVAL_CASES")
	if path == "" {
		t.Skip("set DAISYDOG_EVAL_CASES=FILE.jsonl to score the default policy natively")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := ReadCases(f)
	if err != nil {
		t.Fatal(err)
	}
	// DAISYDOG_EVAL_HALF=tune|check scores one half (split by id hash).
	if cases, err = SplitHalf(cases, os.Getenv("DAISYDOG_EVAL_HALF")); err != nil {
		t.Fatal(err)
	}
	opt := Options{}
	if out := os.Getenv("DAISYDOG_EVAL_VERDICTS"); out != "" {
		vf, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer vf.Close()
		enc := json.NewEncoder(vf)
		opt.OnVerdict = func(c *Case, v policies.Verdict, err error) { _ = enc.Encode(NewVerdictLine(c, v, err)) }
	}
	rep, err := Score(context.Background(), hostEvaluator{}, cases, opt)
	if err != nil {
		t.Fatal(err)
	}
	WriteTable(os.Stdout, rep)
}
