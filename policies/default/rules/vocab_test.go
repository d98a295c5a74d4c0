package rules

import (
	"slices"
	"testing"

	"daisydog/policies/sdk"
)

// TestVocabularyFamilies covers the word families added for the
// obfuscated-profanity target (toilet words, body slang, sexual slang,
// name-calling, glued compounds, slur spellings), each next to ordinary
// words that contain the same letters and must stay allowed. rule is the
// rule that must fire ("" for an innocent line).
func TestVocabularyFamilies(t *testing.T) {
	cases := []struct {
		text string
		rule string
	}{
		// Toilet words: the stem with its inflections and compounds.
		{"ur a poopy head", "profanity.mild.toilet"},
		{"poopbrain", "profanity.mild.toilet"},
		{"the dog pooped in the park", ""},
		{"poo on the pavement", ""},
		{"shut up poohead", "profanity.mild.toilet"},
		{"that smells like feces", "profanity.mild.toilet"},
		{"what a crapper", "profanity.mild.toilet"},
		{"don't be a party pooper", ""},
		{"the pirates stood on the poop deck", ""},
		{"my grandpa calls me a nincompoop", ""},
		{"we saw a hippopotamus", ""},
		{"Winnie the Pooh is my favourite", ""},
		{"I like the poodle next door", ""},
		// Body slang.
		{"nice tushy", "profanity.vulgar.body"},
		{"shake your tatas", "profanity.vulgar.body"},
		{"you weenie", "profanity.vulgar.body"},
		{"eat my dik", "profanity.vulgar.body"},
		{"a dik dik is a tiny antelope", ""},
		{"mittens and ear muffs", ""},
		{"my bishop moved diagonally", ""},
		// Sexual slang.
		{"a phallic drawing", "sexual.slang"},
		{"wanna shag", "sexual.slang"},
		{"she is a good lay", "sexual.slang"},
		{"mines 8 inches", "sexual.slang"},
		{"my sunflower is 8 inches tall", ""},
		{"the lay of the land", ""},
		{"we have a shag carpet", ""},
		{"a sperm whale is huge", ""},
		{"the dog was shaggy", ""},
		{"camwhore", "sexual.slang"},
		{"cuminmeplz", "sexual.slang"},
		{"add cumin to the curry", ""},
		// Name-calling, and where it is relaxed.
		{"what a loser", "harassment.name_calling"},
		{"wanna seggs", "sexual.slang"},
		{"you schmuck", "harassment.name_calling"},
		{"cut the video into segments", ""},
		{"stop being such a wuss", "harassment.name_calling"},
		{"you absolute moron", "harassment.name_calling"},
		{"ur a nazy", "harassment.name_calling"},
		{"we learned about the nazis in history", ""},
		{"the moron-free zone", "harassment.name_calling"},
		{"it was an idiom", ""},
		{"my dog is a dachshund", ""},
		{"I lost the game but I'm fine", ""},
		{"the dorky dinosaur movie", ""},
		// Glued compounds: a stem and a known part.
		{"pussypounders", "profanity.strong"},
		{"shitstabber", "profanity.strong"},
		{"arseblaster", "profanity.strong"},
		{"cockcowboy", "profanity.strong"},
		{"hardcoresex", "sexual.explicit"},
		{"cockriders", "profanity.strong"},
		{"shitforbrains", "profanity.strong"},
		{"easyslut", "profanity.strong"},
		{"gotohell", "profanity.mild"},
		{"the blacksmith and the kingfisher", ""},
		{"assemble the bookshelf", ""},
		{"a hitlist of songs", ""},
		{"titanic was a big ship", ""},
		{"a cockatoo and a peacock", ""},
		{"a class about assassins", ""},
		{"the title of the book", ""},
		{"a shitake soup", ""},
		// Spelling variants.
		{"fuccers", "profanity.strong"},
		{"skankey", "profanity.strong"},
		{"felchers", "sexual.explicit"},
		{"you nlgger", "hate.more"},
		{"he is from Niger", ""},
		{"a snigger in class", ""},
	}
	for _, c := range cases {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		if c.rule == "" {
			if v.Action != sdk.ActionAllow {
				t.Errorf("%q: %s %v, want allow", c.text, v.Action, v.Rules)
			}
			continue
		}
		if v.Action == sdk.ActionAllow || !slices.Contains(v.Rules, c.rule) {
			t.Errorf("%q: %s %v, want rule %s", c.text, v.Action, v.Rules, c.rule)
		}
	}
}

// The mild families follow the tiers of mild swearing: blocked for 9-12
// at the standard setting, allowed for 13-17. Plain toilet words only
// for the youngest tier or the strict setting.
func TestMildFamiliesByTier(t *testing.T) {
	for _, text := range []string{"poopface", "what a loser", "feces"} {
		for _, c := range []struct {
			tier, strictness string
			flagged          bool
		}{
			{sdk.AgeTier9to12, sdk.StrictnessStandard, true},
			{sdk.AgeTier5to8, sdk.StrictnessRelaxed, true},
			{sdk.AgeTier13to17, sdk.StrictnessStandard, false},
			{sdk.AgeTier9to12, sdk.StrictnessRelaxed, false},
		} {
			v := Evaluate(sdk.Input{Text: text, Direction: sdk.DirectionIn, AgeTier: c.tier, Strictness: c.strictness})
			if got := v.Action != sdk.ActionAllow; got != c.flagged {
				t.Errorf("%q %s/%s: flagged = %v, want %v (%v)", text, c.tier, c.strictness, got, c.flagged, v.Rules)
			}
		}
	}
	for _, c := range []struct {
		tier, strictness string
		flagged          bool
	}{
		{sdk.AgeTier5to8, sdk.StrictnessStandard, true},
		{sdk.AgeTier9to12, sdk.StrictnessStrict, true},
		{sdk.AgeTier9to12, sdk.StrictnessStandard, false},
		{sdk.AgeTier13to17, sdk.StrictnessStandard, false},
	} {
		v := Evaluate(sdk.Input{Text: "the dog pooped", Direction: sdk.DirectionIn, AgeTier: c.tier, Strictness: c.strictness})
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("pooped %s/%s: flagged = %v, want %v (%v)", c.tier, c.strictness, got, c.flagged, v.Rules)
		}
	}
}
