package rules

import (
	"reflect"
	"strings"
	"testing"

	"daisydog/policies/sdk"
)

// Bundle data changes verdicts without a recompile; no data changes nothing.
func TestCompileDataChangesVerdicts(t *testing.T) {
	type check struct {
		text    string
		flagged bool
	}
	for _, c := range []struct {
		name   string
		data   Data
		checks []check
	}{
		{"no data", Data{}, []check{
			{"what the hell", true}, {"you zorblax", false}, {"the snorfuckle is a bird", true}, {"I love my dog", false},
		}},
		{"an extra phrase", Data{"phrases/profanity.mild.txt": "# words of the week\nzorblax\n\n(glorp|glorpy) head\n"}, []check{
			{"you zorblax", true}, {"what a glorpy head", true}, {"what the hell", true}, {"I love my dog", false},
		}},
		{"an extra stem", Data{"stems/profanity.strong.txt": "*blarg\n"}, []check{
			{"you megablargers", true}, {"I love my dog", false},
		}},
		{"a rule switched off", Data{"disabled.txt": "profanity.mild\n"}, []check{
			{"what the hell", false}, {"fuck off", true},
		}},
		{"an innocent word", Data{"innocent.txt": "Snorfuckle\n"}, []check{
			{"the snorfuckle is a bird", false}, {"fuck off", true},
		}},
		{"a model head switched off", Data{"thresholds.json": `{"heads":{"self_harm":2},"veto":0.01}`}, []check{
			{"I want to kill myself", true}, // the crisis rules do not depend on the model
		}},
	} {
		p, err := CompileData(c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, ch := range c.checks {
			v := p.Evaluate(in(ch.text))
			checkInvariants(t, ch.text, v)
			if got := v.Action != sdk.ActionAllow; got != ch.flagged {
				t.Errorf("%s: %q flagged = %v, want %v (%v)", c.name, ch.text, got, ch.flagged, v.Rules)
			}
		}
	}
}

// With no data, CompileData is the default policy, verdict for verdict,
// and it never changes the compiled-in tables of Default.
func TestCompileDataEmptyIsDefault(t *testing.T) {
	p, err := CompileData(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CompileData(Data{"phrases/profanity.mild.txt": "zorblax", "disabled.txt": "profanity.strong"}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"what the hell", "fuck off", "you zorblax", "my number is 07700 900123", "I want to kill myself", "I love Moby Dick"} {
		if got, want := p.Evaluate(in(text)), Evaluate(in(text)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: CompileData(nil) %+v, Default %+v", text, got, want)
		}
	}
	if v := Evaluate(in("you zorblax")); v.Action != sdk.ActionAllow {
		t.Errorf("data leaked into the default policy: %+v", v)
	}
	if v := Evaluate(in("fuck off")); v.Action == sdk.ActionAllow {
		t.Error("disabled.txt of another policy switched off a default rule")
	}
}

// Data that would silently do nothing, or cannot compile, is refused.
func TestCompileDataRefusesBadData(t *testing.T) {
	for _, c := range []struct {
		data Data
		want string
	}{
		{Data{"blocked.txt": "x"}, "unknown file"},
		{Data{"phrases/no.such.rule.txt": "x"}, "unknown rule"},
		{Data{"disabled.txt": "no.such.rule"}, "unknown rule"},
		{Data{"phrases/profanity.mild.txt": "(unclosed"}, "missing"},
		{Data{"stems/profanity.strong.txt": "ab"}, "bad stem"},
		{Data{"thresholds.json": `{"heads":{"nope":0.5}}`}, "unknown model head"},
		{Data{"thresholds.json": `{"veto":1.5}`}, "veto"},
		{Data{"thresholds.json": `{"heads":{"hate":-1}}`}, "threshold"},
		{Data{"thresholds.json": `{"hedas":{}}`}, "unknown field"},
	} {
		_, err := CompileData(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.data, err, c.want)
		}
	}
	if _, err := ParseData([]byte(`["not an object"]`)); err == nil {
		t.Error("ParseData accepted a JSON array")
	}
}
