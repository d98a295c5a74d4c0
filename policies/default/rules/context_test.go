package rules

import (
	"slices"
	"testing"

	"daisydog/policies/sdk"
)

func turns(dirTexts ...string) []sdk.ContextTurn {
	var out []sdk.ContextTurn
	for i := 0; i+1 < len(dirTexts); i += 2 {
		out = append(out, sdk.ContextTurn{Direction: dirTexts[i], Text: dirTexts[i+1]})
	}
	return out
}

func TestContextRisk(t *testing.T) {
	const daisy = "Woof! Tell me more."
	filler := make([]string, 0, 2*(maxRiskTurns+1))
	for range maxRiskTurns + 1 {
		filler = append(filler, sdk.DirectionIn, "i like pizza")
	}
	cases := []struct {
		name      string
		context   []sdk.ContextTurn
		text      string
		pattern   bool
		aloneMild bool
	}{
		{"age then school then photo", turns(
			sdk.DirectionIn, "a guy from my game asked how old i am",
			sdk.DirectionOut, daisy,
			sdk.DirectionIn, "then he asked what school i go to",
			sdk.DirectionOut, daisy,
		), "he wants to video call", true, true},
		{"age, school, then secrecy", turns(
			sdk.DirectionIn, "my online friend asked my age",
			sdk.DirectionIn, "he wanted to know where i live",
		), "he said dont tell my mom", true, false},
		{"current message adds nothing", turns(
			sdk.DirectionIn, "a guy from my game asked how old i am",
			sdk.DirectionIn, "then he asked what school i go to",
			sdk.DirectionIn, "now he wants me to send a selfie",
		), "i like pizza", false, false},
		{"surprise present is not grooming", turns(
			sdk.DirectionIn, "i made a present for my mom",
			sdk.DirectionIn, "we will meet grandma later",
		), "it is a secret", false, false},
		{"two stages are not enough", turns(
			sdk.DirectionIn, "my online friend is nice",
		), "he asked how old i am", false, false},
		{"Daisy's replies do not count", turns(
			sdk.DirectionOut, "did someone ask how old you are?",
			sdk.DirectionOut, "never send a selfie to someone you met online",
		), "it is a secret", false, false},
		{"turns too far back are forgotten", append(turns(
			sdk.DirectionIn, "a guy from my game asked how old i am",
			sdk.DirectionIn, "then he asked what school i go to",
		), turns(filler...)...), "now he wants me to send a selfie", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12,
				Strictness: sdk.StrictnessStandard, Context: c.context})
			checkInvariants(t, c.text, v)
			got := slices.Contains(v.Rules, RuleGroomingPattern)
			if got != c.pattern {
				t.Fatalf("pattern = %v, want %v (verdict %+v)", got, c.pattern, v)
			}
			if c.pattern {
				if v.Action != sdk.ActionRedirect && v.Action != sdk.ActionSupport && v.Action != sdk.ActionBlock {
					t.Errorf("action = %q, want redirect or stronger", v.Action)
				}
				if !v.Escalate || !slices.Contains(v.Categories, sdk.CategoryGrooming) {
					t.Errorf("want escalate and category grooming, got %+v", v)
				}
			}
			// Without context the same message never reports the pattern,
			// and the first case's last message is harmless on its own.
			alone := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
			if slices.Contains(alone.Rules, RuleGroomingPattern) {
				t.Errorf("pattern reported without context: %+v", alone)
			}
			if c.aloneMild && alone.Action != sdk.ActionAllow {
				t.Errorf("alone: action %q, want allow: the pattern must come from the context", alone.Action)
			}
		})
	}
}
