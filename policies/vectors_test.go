package policies

import (
	"context"
	"errors"
	"strings"
	"testing"

	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

func TestParseVectorsRefusals(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `vectors`, "policies: vectors"},
		{"unknown field", `{"abi":1,"vectors":[{"name":"a","input":{},"expect":{"action":"allow"}}],"extra":1}`, "unknown field"},
		{"unknown field in a vector", `{"abi":1,"vectors":[{"name":"a","input":{},"expect":{"action":"allow","why":"x"}}]}`, "unknown field"},
		{"wrong ABI", `{"abi":2,"vectors":[{"name":"a","input":{},"expect":{"action":"allow"}}]}`, "abi 2, want 1"},
		{"no vectors", `{"abi":1,"vectors":[]}`, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseVectors([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	vf, err := ParseVectors([]byte(`{"abi":1,"policy":"p","vectors":[{"name":"a","input":{"text":"hi"},
		"expect":{"action":"allow","categories":[],"escalate":false,"severity":0,"spans":[]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x := vf.Vectors[0].Expect
	if vf.Policy != "p" || x.Escalate == nil || *x.Escalate || x.Severity == nil || x.Spans == nil || len(*x.Spans) != 0 {
		t.Fatalf("parsed %+v", vf)
	}
}

func TestExpectationCheck(t *testing.T) {
	yes, sev2 := true, 2
	spans := []ExpectedSpan{{Start: 0, End: 4, Kind: "email"}}
	base := Verdict{Action: "redact", Categories: []string{"pii_disclosure", "bullying"}, Escalate: true, Severity: 2,
		Spans: []Span{{Start: 0, End: 4, Kind: "email", Category: "pii_disclosure"}}}
	tests := []struct {
		name string
		x    Expectation
		v    Verdict
		want []string // substrings of the error; none = match
	}{
		{"match, categories in any order", Expectation{Action: "redact", Categories: []string{"bullying", "pii_disclosure"}, Escalate: &yes, Severity: &sev2, Spans: &spans}, base, nil},
		{"unchecked fields ignored", Expectation{Action: "redact", Categories: []string{"pii_disclosure", "bullying"}}, Verdict{Action: "redact", Categories: []string{"bullying", "pii_disclosure"}, Severity: 9}, nil},
		{"action", Expectation{Action: "block", Categories: []string{"pii_disclosure", "bullying"}}, base, []string{`action "redact", want "block"`}},
		{"categories", Expectation{Action: "redact", Categories: []string{"bullying"}}, base, []string{"categories"}},
		{"escalate", Expectation{Action: "redact", Categories: base.Categories, Escalate: new(bool)}, base, []string{"escalate true, want false"}},
		{"severity", Expectation{Action: "redact", Categories: base.Categories, Severity: new(int)}, base, []string{"severity 2, want 0"}},
		{"span count", Expectation{Action: "redact", Categories: base.Categories, Spans: &[]ExpectedSpan{}}, base, []string{"spans"}},
		{"span kind", Expectation{Action: "redact", Categories: base.Categories, Spans: &[]ExpectedSpan{{Start: 0, End: 4, Kind: "phone"}}}, base, []string{"spans"}},
		{"everything", Expectation{Action: "allow", Categories: []string{}, Escalate: new(bool), Severity: new(int), Spans: &[]ExpectedSpan{}}, base,
			[]string{"action", "categories", "escalate", "severity", "spans"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.x.Check(tc.v)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check = %v, want a match", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check matched")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// CheckVectors reports every failing vector by name, and nothing when all pass.
func TestCheckVectorsNamesFailures(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngineWithData(ctx, testRT, "const", "const@1", wasmtest.ConstModule([]byte(`{"action":"allow","categories":[],"rules":["c"]}`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	vf := VectorFile{ABI: 1, Vectors: []Vector{
		{Name: "passes", Input: in("hi"), Expect: Expectation{Action: "allow", Categories: []string{}}},
		{Name: "wants block", Input: in("hi"), Expect: Expectation{Action: "block", Categories: []string{}}},
		{Name: "wants a category", Input: in("hi"), Expect: Expectation{Action: "allow", Categories: []string{"hate"}}},
		{Name: "bad input", Input: Input{Text: "hi", Direction: "sideways", AgeTier: "9-12"}, Expect: Expectation{Action: "allow", Categories: []string{}}},
	}}
	err = e.CheckVectors(ctx, vf)
	if err == nil {
		t.Fatal("failing vectors passed")
	}
	for _, name := range []string{`"wants block"`, `"wants a category"`, `"bad input"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error lacks vector %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), `"passes"`) {
		t.Errorf("a passing vector was reported: %v", err)
	}
	if err := e.CheckVectors(ctx, VectorFile{ABI: 1, Vectors: vf.Vectors[:1]}); err != nil {
		t.Fatalf("passing vectors: %v", err)
	}
}

func TestNewEngineWithDataRefusesModuleWithoutDataExport(t *testing.T) {
	ctx := context.Background()
	_, err := NewEngineWithData(ctx, testRT, "const", "const@2", wasmtest.ConstModule([]byte(`{"action":"allow","categories":[]}`)), []byte(`{"a.txt":"x"}`))
	if !errors.Is(err, wasm.ErrInvalidModule) || !strings.Contains(err.Error(), "const@2") {
		t.Fatalf("err = %v, want ErrInvalidModule naming the version", err)
	}
}
