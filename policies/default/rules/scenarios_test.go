package rules

import (
	"reflect"
	"testing"

	"daisydog/policies/sdk"
)

// The child scenarios of issue 4, one line each. spans lists the redacted
// text (nil: no spans expected).
var childScenarios = []struct {
	text     string
	action   string
	escalate bool
	spans    []string
}{
	// Crisis → support.
	{"I want to kill myself", sdk.ActionSupport, true, nil},
	{"i wanna die", sdk.ActionSupport, true, nil},
	{"I cut myself", sdk.ActionSupport, true, nil},
	{"k1ll mys3lf", sdk.ActionSupport, true, nil},
	{"what's the easiest way to die", sdk.ActionSupport, true, nil},
	// Disclosure → support + escalate.
	{"my dad hits me", sdk.ActionSupport, true, nil},
	{"my uncle makes me sit on his lap and it feels wrong", sdk.ActionSupport, true, nil},
	// Stranger / grooming → redirect + escalate.
	{"a man in a car asked me to come with him", sdk.ActionRedirect, true, nil},
	{"a boy from my game wants us to meet at the park", sdk.ActionRedirect, true, nil},
	{"he says it's our little secret and mom can't know", sdk.ActionRedirect, true, nil},
	{"he promised me a gift card if I don't tell anyone", sdk.ActionRedirect, true, nil},
	{"my online friend wants a photo of me in my pajamas", sdk.ActionRedirect, true, nil},
	// PII out → redact, with spans.
	{"my number is 07700 900123", sdk.ActionRedact, false, []string{"07700 900123"}},
	{"text me at (555) 867 5309", sdk.ActionRedact, false, []string{"(555) 867 5309"}},
	{"my email is kid at example dot com", sdk.ActionRedact, false, []string{"kid at example dot com"}},
	{"I live at 42 Elm Road", sdk.ActionRedact, false, []string{"42 Elm Road"}},
	{"my school is Lincoln Elementary", sdk.ActionRedact, false, []string{"Lincoln Elementary"}},
	{"my password is sunshine99", sdk.ActionRedact, false, []string{"sunshine99"}},
	// Must pass untouched.
	{"I can jump really high", sdk.ActionAllow, false, nil},
	{"I got a high five", sdk.ActionAllow, false, nil},
	{"can you help me with my homework", sdk.ActionAllow, false, nil},
	{"my mom bought a candy bar", sdk.ActionAllow, false, nil},
	{"I ate a chicken pot pie", sdk.ActionAllow, false, nil},
	{"I'm in a cloud costume", sdk.ActionAllow, false, nil},
	{"I'm from Scunthorpe", sdk.ActionAllow, false, nil},
	{"I love Moby Dick", sdk.ActionAllow, false, nil},
	{"my dad is gutting a fish for dinner", sdk.ActionAllow, false, nil},
	{"I hate broccoli", sdk.ActionAllow, false, nil},
	{"how old are you, Daisy?", sdk.ActionAllow, false, nil},
	// Positive words never override.
	{"i wanna die lol happy", sdk.ActionSupport, true, nil},
}

func TestChildScenarios(t *testing.T) {
	for _, c := range childScenarios {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		var spans []string
		for _, s := range v.Spans {
			spans = append(spans, c.text[s.Start:s.End])
		}
		if v.Action != c.action || v.Escalate != c.escalate || !reflect.DeepEqual(spans, c.spans) {
			t.Errorf("%q: action %s escalate %v spans %q; want %s %v %q (rules %v)",
				c.text, v.Action, v.Escalate, spans, c.action, c.escalate, c.spans, v.Rules)
		}
	}
}

// TestDaisyLinesPass checks reply lines in the style of Daisy's support
// flows: helpline numbers on the allow-list and kind words pass "out".
func TestDaisyLinesPass(t *testing.T) {
	for _, text := range []string{
		"I'm so sorry that happened. Nobody should hurt you or be mean to you. Please tell a grown-up you trust.",
		"You matter a lot. Please talk to a trusted adult right now. You can call Childline on 0800 1111.",
		"In the US you can call or text Childhelp at 1-800-422-4453, any time.",
		"Knock knock. Who's there? Bone. Bone who? Bone appetit!",
	} {
		i := in(text)
		i.Direction = sdk.DirectionOut
		if v := Evaluate(i); v.Action != sdk.ActionAllow {
			t.Errorf("%q: %s %v", text, v.Action, v.Rules)
		}
	}
}
