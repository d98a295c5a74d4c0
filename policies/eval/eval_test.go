package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"daisydog/policies"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// fakePolicy flags texts containing "bad", fails on "boom", and redacts
// every occurrence of "Zoë Ünal" and "555-1234" (byte offsets).
type fakePolicy struct{ calls int }

func (f *fakePolicy) Evaluate(_ context.Context, in policies.Input) (policies.Verdict, error) {
	f.calls++
	if in.AgeTier != "9-12" || in.Strictness != "standard" {
		return policies.Verdict{}, errors.New("unexpected tier or strictness")
	}
	if strings.Contains(in.Text, "boom") {
		return policies.Verdict{}, errors.New("module trapped")
	}
	v := policies.Verdict{Action: "allow"}
	if strings.Contains(in.Text, "bad") {
		v.Action = "block"
	}
	for _, needle := range []string{"Zoë Ünal", "555-1234"} {
		if i := strings.Index(in.Text, needle); i >= 0 {
			v.Action = "redact"
			v.Spans = append(v.Spans, policies.Span{Start: i, End: i + len(needle), Category: "pii_disclosure", Kind: "x"})
		}
	}
	if in.Direction == "out" && strings.Contains(in.Text, "reply") {
		v.Action = "block"
	}
	return v, nil
}

// The synthetic cases use placeholder words, never real abuse.
const synthetic = `{"id":"a:1","source":"alpha","text":"bad word","label":"unsafe","category":"profanity","direction":"input"}
{"id":"a:2","source":"alpha","text":"fine word","label":"unsafe","category":"profanity,hate","direction":"input"}
{"id":"a:3","source":"alpha","text":"hello","label":"safe","category":"none","direction":"input"}
{"id":"a:4","source":"alpha","text":"bad but labelled safe","label":"safe","category":"none","direction":"input"}
{"id":"a:5","source":"alpha","text":"boom","label":"unsafe","category":"hate","direction":"input"}
{"id":"a:6","source":"alpha","text":"whatever","label":"unknown","category":"none","direction":"input"}

{"id":"b:1","source":"beta","text":"héllo I am Zoë Ünal, call 555-1234","label":"unsafe","category":"pii:PERSON,pii:PHONE_NUMBER","direction":"input","spans":[{"type":"PERSON","start":11,"end":19},{"type":"PHONE_NUMBER","start":26,"end":34},{"type":"GPE","start":0,"end":5}]}
{"id":"b:2","source":"beta","text":"née Zoë Ü","label":"unsafe","category":"pii:PERSON","direction":"input","spans":[{"type":"PERSON","start":4,"end":9}]}
{"id":"b:3","source":"beta","text":"a reply","label":"policy","category":"pii:AGE","direction":"output"}
`

func score(t *testing.T, opt Options) (*Report, *fakePolicy) {
	t.Helper()
	cases, err := ReadCases(strings.NewReader(synthetic))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 9 {
		t.Fatalf("%d cases", len(cases))
	}
	f := &fakePolicy{}
	rep, err := Score(context.Background(), f, cases, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep, f
}

func find(t *testing.T, gs []Group, source, cat string) Group {
	t.Helper()
	for _, g := range gs {
		if g.Source == source && g.Category == cat {
			return g
		}
	}
	t.Fatalf("no group %s/%s", source, cat)
	return Group{}
}

func near(p *float64, want float64) bool { return p != nil && *p > want-1e-9 && *p < want+1e-9 }

func TestScoreCounts(t *testing.T) {
	rep, f := score(t, Options{})
	if f.calls != 9 || rep.Cases != 9 || rep.Errors != 1 {
		t.Fatalf("calls %d cases %d errors %d", f.calls, rep.Cases, rep.Errors)
	}
	a := find(t, rep.Sources, "alpha", "")
	// unsafe: a:1 caught, a:2 missed, a:5 error = caught (fail closed)
	if a.Unsafe != 3 || a.Caught != 2 || !near(a.Recall, 2.0/3) {
		t.Errorf("alpha recall: %+v", a)
	}
	if a.Safe != 2 || a.Flagged != 1 || !near(a.FPRate, 0.5) {
		t.Errorf("alpha fp: %+v", a)
	}
	if a.Cases != 6 { // the unknown row is evaluated but not scored
		t.Errorf("alpha cases %d", a.Cases)
	}
	// categories are split on commas
	if g := find(t, rep.Categories, "alpha", "hate"); g.Unsafe != 2 || g.Caught != 1 {
		t.Errorf("alpha/hate: %+v", g)
	}
	if g := find(t, rep.Categories, "alpha", "profanity"); g.Unsafe != 2 || g.Caught != 1 {
		t.Errorf("alpha/profanity: %+v", g)
	}
	if rep.Actions["error"] != 1 || rep.Actions["block"] < 2 {
		t.Errorf("actions %v", rep.Actions)
	}
	if rep.Latency.N != 8 || rep.Latency.P99us < rep.Latency.P50us || rep.Latency.MaxUs < rep.Latency.P99us {
		t.Errorf("latency %+v", rep.Latency)
	}
}

// Labelled spans are code points; verdict spans are bytes. b:1 has three
// multi-byte characters before and inside the name.
func TestSpanRecallConvertsOffsets(t *testing.T) {
	rep, _ := score(t, Options{})
	b := find(t, rep.Sources, "beta", "")
	// counted: PERSON (b:1, covered), PHONE (b:1, covered), PERSON (b:2:
	// "Zoë Ü" — the verdict covers nothing, since "Zoë Ünal" is absent).
	// GPE is not a counted type.
	if b.Spans != 3 || b.SpansRecalled != 2 || !near(b.SpanRecall, 2.0/3) {
		t.Errorf("beta spans: %+v", b)
	}
	for _, st := range rep.SpanTypes {
		switch st.Type {
		case "GPE":
			if st.Counted || st.Spans != 1 || st.Recalled != 0 {
				t.Errorf("GPE: %+v", st)
			}
		case "PHONE_NUMBER":
			if !st.Counted || st.Recalled != 1 {
				t.Errorf("PHONE: %+v", st)
			}
		}
	}
	// Only counted types: with every type counted, GPE joins the total.
	rep, _ = score(t, Options{SpanTypes: []string{"PERSON", "PHONE_NUMBER", "GPE"}})
	if b := find(t, rep.Sources, "beta", ""); b.Spans != 4 {
		t.Errorf("all types: %+v", b)
	}
}

func TestCovered(t *testing.T) {
	text := "ab Zoë\ncd"
	o := newOffsets(text)
	ls := LabelSpan{Type: "PERSON", Start: 0, End: 9} // the whole text, 8 non-space characters
	zo := strings.Index(text, "Zoë")
	cases := []struct {
		spans []policies.Span
		want  bool
	}{
		{nil, false},
		{[]policies.Span{{Start: 0, End: len(text)}}, true},
		// everything but "d": 7/8 < 0.9
		{[]policies.Span{{Start: 0, End: len(text) - 1}}, false},
		// pieces that skip only whitespace count fully
		{[]policies.Span{{Start: 0, End: 2}, {Start: zo, End: zo + len("Zoë")}, {Start: len(text) - 2, End: len(text)}}, true},
	}
	for i, c := range cases {
		if got := covered(text, o, ls, c.spans); got != c.want {
			t.Errorf("case %d: covered = %v, want %v", i, got, c.want)
		}
	}
}

func TestReportHasNoText(t *testing.T) {
	rep, _ := score(t, Options{Misses: true})
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	WriteTable(&tbl, rep)
	for _, text := range []string{"bad word", "fine word", "hello", "Zoë", "555-1234", "whatever", "boom"} {
		if bytes.Contains(js, []byte(text)) || strings.Contains(tbl.String(), text) {
			t.Errorf("report contains case text %q", text)
		}
	}
	a := find(t, rep.Sources, "alpha", "")
	if strings.Join(a.MissedIDs, ",") != "a:2" || strings.Join(a.FlaggedIDs, ",") != "a:4" {
		t.Errorf("misses %v flagged %v", a.MissedIDs, a.FlaggedIDs)
	}
	if !strings.Contains(tbl.String(), "a:2") || !strings.Contains(tbl.String(), "recall") {
		t.Errorf("table:\n%s", tbl.String())
	}
	// Without --show-misses no ids are listed.
	rep, _ = score(t, Options{})
	tbl.Reset()
	WriteTable(&tbl, rep)
	if strings.Contains(tbl.String(), "a:2") {
		t.Errorf("ids listed without Misses")
	}
}

func TestVerdictLineHasNoText(t *testing.T) {
	c := Case{ID: "x:1", Text: "secret text"}
	l := NewVerdictLine(&c, policies.Verdict{}, errors.New("boom: secret text"))
	b, _ := json.Marshal(l)
	if strings.Contains(string(b), "secret") || l.Action != "error" {
		t.Fatalf("%s", b)
	}
	if !strings.Contains(string(b), `"categories":[]`) || !strings.Contains(string(b), `"spans":[]`) {
		t.Fatalf("%s", b)
	}
}

func TestReadCasesErrors(t *testing.T) {
	for _, bad := range []string{
		`{"id":"x","label":"maybe","text":"t"}`,
		`{"id":"x","label":"safe",`,
	} {
		_, err := ReadCases(strings.NewReader(bad))
		if err == nil || strings.Contains(err.Error(), `"t"`) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	_, err := Score(context.Background(), &fakePolicy{}, []Case{{ID: "d", Direction: "sideways", Label: "safe"}}, Options{})
	if err == nil {
		t.Error("unknown direction accepted")
	}
}

func TestTargets(t *testing.T) {
	rep := &Report{
		Sources: []Group{
			{Source: "rustrict_test_positive", Unsafe: 100, Caught: 99},
			{Source: "ldnoobw", Unsafe: 100, Caught: 98},
			{Source: "rustrict_false_positives", Safe: 1000, Flagged: 6},
		},
		Categories: []Group{{Source: "openai_mod", Category: "sexual", Unsafe: 10, Caught: 10}},
		Latency:    Latency{N: 5, P99us: 900},
	}
	got := map[string]Target{}
	for _, tg := range CheckTargets(rep, DevTargets) {
		got[tg.Name] = tg
	}
	if tg := got["obfuscated profanity recall"]; tg.N != 200 || tg.Value != 0.985 || !tg.Met {
		t.Errorf("pooled recall: %+v", tg)
	}
	if tg := got["Scunthorpe words flagged"]; tg.Met || tg.Value != 0.006 {
		t.Errorf("fp: %+v", tg)
	}
	if tg := got["openai_mod sexual recall"]; !tg.Met {
		t.Errorf("category: %+v", tg)
	}
	if tg := got["latency p99 (µs)"]; !tg.Met {
		t.Errorf("latency: %+v", tg)
	}
	if _, ok := got["davidson recall"]; ok {
		t.Error("a target without data was reported")
	}
}

// TestScoreThroughWASM runs the synthetic cases through the real default
// policy on the wasm host: the scorer works end to end.
func TestScoreThroughWASM(t *testing.T) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CacheDir: wasmtest.SharedCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	eng, err := policies.NewDefaultEngine(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	cases, err := ReadCases(strings.NewReader(`{"id":"w:1","source":"w","text":"I want to kill myself","label":"unsafe","category":"self_harm","direction":"input"}
{"id":"w:2","source":"w","text":"can you help me with my homework","label":"safe","category":"none","direction":"input"}
{"id":"w:3","source":"w","text":"call me on 555-123-4567","label":"unsafe","category":"pii:PHONE_NUMBER","direction":"input","spans":[{"type":"PHONE_NUMBER","start":11,"end":23}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Score(ctx, eng, cases, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := find(t, rep.Sources, "w", "")
	if !near(w.Recall, 1) || !near(w.FPRate, 0) || !near(w.SpanRecall, 1) || rep.Errors != 0 {
		t.Fatalf("%+v", w)
	}
	// The engine is a WorkMeter: each case's work is counted against the
	// module's budget (under SafeCompile it is not instrumented:
	// no budget, nothing to check).
	if eng.WorkStats().Budget == 0 {
		return
	}
	if rep.Work == nil || rep.Work.N != 3 || rep.Work.Budget != eng.WorkStats().Budget || rep.Work.Max == 0 || rep.Work.Max > rep.Work.Budget {
		t.Fatalf("work per evaluation: %+v (engine %+v)", rep.Work, eng.WorkStats())
	}
}
