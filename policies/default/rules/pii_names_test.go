package rules

import (
	"reflect"
	"slices"
	"testing"

	"daisydog/policies/sdk"
)

// redacted returns the redacted pieces of text for a child's message.
func redacted(t *testing.T, text string) []string {
	t.Helper()
	v := Evaluate(in(text))
	checkInvariants(t, text, v)
	var out []string
	for _, s := range v.Spans {
		out = append(out, text[s.Start:s.End])
	}
	return out
}

// TestOneWordNames covers names that stand alone: known given names,
// names after a cue, possessive kin words, speaker labels, lists and a
// sentence-initial unknown word before a verb; and innocent look-alikes
// that must stay untouched.
func TestOneWordNames(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		// known given names (not ordinary words), any position
		{"I played with Weronika today", []string{"Weronika"}},
		{"Emma is my best friend", []string{"Emma"}},
		// cues, also in lower case for known given names
		{"call me Jakub", []string{"Jakub"}},
		{"call me olivia", []string{"olivia"}},
		{"I'm Ingrid", []string{"Ingrid"}},
		{"im sophia and i like cats", []string{"sophia"}},
		{"hi Sophia, how are you", []string{"Sophia"}},
		{"hi Zorblax, how are you", []string{"Zorblax"}},
		{"hi Zorblax how are you", nil}, // an unknown word without a comma could be anything
		{"my kid Thorvald goes to camp", []string{"Thorvald"}},
		{"my best friend Zuzanna is funny", []string{"Zuzanna"}},
		// possessive before a kin word
		{"we met Bartholomew's daughter", []string{"Bartholomew"}},
		// speaker labels in a dialogue
		{"Weronika: \"where are you?\"", []string{"Weronika"}},
		// lists: a name makes its neighbours names
		{"we invited Emma, Quillon and Brisbyn", []string{"Emma", "Quillon", "Brisbyn"}},
		{"olivia and sophia came over", []string{"olivia", "sophia"}},
		// a sentence that starts with an unknown capitalised word and a verb
		{"Zyrkowski had a cat.", []string{"Zyrkowski"}},
		{"Oddgeirsdottir worked hard as a nurse", []string{"Oddgeirsdottir"}},
		{"Zyrkowski spent ten years as a chef", []string{"Zyrkowski"}},
		{"Great Big Local News Today by: Ostermann Lukasson", []string{"Ostermann Lukasson"}},
		{"Great Big Local News Today By Public Data", nil},
		{"this book by ex-Googler Hartvigsson is a hit", []string{"Hartvigsson"}},
		{"my ex-boyfriend Zyrkowski", []string{"Zyrkowski"}},
		{"my ex-Googler friend", nil},
		{"the ex-Pokemon trainer", nil},
		{"this game was made by Nintendo", nil},
		{"I finished it by Monday", nil},
		{"a drawing by Mom", nil},
		{"Pikachu evolved into Raichu", nil},
		{"Lol that ended badly", nil},

		{"Amy and Zorblax were here.", []string{"Amy", "Zorblax"}},
		{"i think weronika is nice", []string{"weronika"}},
		{"mr. hartvigsson is our coach", []string{"hartvigsson"}},
		{"mrs smith gave us homework", []string{"smith"}},
		{"the story of Zorblax has been told", []string{"Zorblax"}},
		{"we met Grace's mom", []string{"Grace"}},
		{"i'm weronika's daughter", []string{"weronika"}},
		{"Weronika, Will and Grace came", []string{"Weronika", "Will", "Grace"}},
		// look-alikes that are not names
		{"the dog's mom", nil},
		{"Will and Grace is a show", nil},
		{"Emma and I like Apple pie", []string{"Emma"}},
		{"the story of Minecraft has been told", nil},
		{"the weather in Summer has been hot", nil},
		{"rose is a flower", nil},
		{"i think mario is fun", nil}, // in lower case a name the dictionary has as a proper noun is not enough
		{"Georgia is a state.", nil},
		{"mr. i am here", nil},
		{"I can jump really high", nil},
		{"Will you play with me?", nil}, // a given name that is an ordinary word
		{"Rose and Lily are my favourite flowers", nil},
		{"hi Daisy, how are you", nil}, // the companion
		{"hi Mom", nil},
		{"I'm from Georgia", nil},                // a place
		{"we went to Jordan in the summer", nil}, // a country
		{"I live in Florida", nil},
		{"Santa brought me a bike", nil},
		{"Muslims and Christians pray", nil},    // faiths, not persons
		{"Minecraft is my favourite game", nil}, // a game before a verb
		{"Minecraft is awesome", nil},
		{"Roblox and Fortnite are fun", nil},
		{"my dog Rex is fluffy", nil}, // pets are fine
		{"rose and lily are flowers", nil},
		{"I have 2 cats and 3 dogs", nil},
		{"The dog was happy.", nil},
		{"Today is sunny.", nil},
		{"hi everyone", nil},
		{"I'm happy", nil},
		{"I love Moby Dick", nil},
	} {
		if got := redacted(t, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: redacted %q, want %q", c.text, got, c.want)
		}
	}
}

// TestOneWordNamesByTier: a first name alone is redacted for the younger
// tiers and passes for 13–17 and a relaxed parent, where only full names
// are redacted.
func TestOneWordNamesByTier(t *testing.T) {
	for _, c := range []struct {
		text, name, full string
	}{
		{"my friend Anna is coming over", "Anna", ""},
		{"my cousin Zak is here", "Zak", ""},
		{"HELLO Im Sam", "Sam", ""},
		{"my friend Anna Kowalczyk is coming over", "Anna Kowalczyk", "Anna Kowalczyk"},
	} {
		for _, tc := range []struct {
			tier, strictness, want string
		}{
			{sdk.AgeTier5to8, sdk.StrictnessStandard, c.name},
			{sdk.AgeTier9to12, sdk.StrictnessStandard, c.name},
			{sdk.AgeTier9to12, sdk.StrictnessRelaxed, c.full},
			{sdk.AgeTier13to17, sdk.StrictnessStandard, c.full},
			{sdk.AgeTier13to17, sdk.StrictnessStrict, c.name},
		} {
			i := in(c.text)
			i.AgeTier, i.Strictness = tc.tier, tc.strictness
			v := Evaluate(i)
			checkInvariants(t, c.text, v)
			got := ""
			for _, s := range v.Spans {
				got += c.text[s.Start:s.End]
			}
			if got != tc.want {
				t.Errorf("%q at %s/%s: redacted %q, want %q", c.text, tc.tier, tc.strictness, got, tc.want)
			}
		}
	}
}

// TestPlacePostCodes covers a post code after a place ("in Springfield
// 62704") and the whole "corner of" phrase, and look-alikes.
func TestPlacePostCodes(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"we moved to a house in Springfield 62704 last year", []string{"Springfield 62704"}},
		{"it is in Tahoe CA 96150", []string{"Tahoe CA 96150"}},
		{"meet me at the corner of Elm 12 and Pine Road", []string{"the corner of Elm 12 and Pine Road"}},
		{"our house is at the intersection of Oakmere and Birchwood", []string{"the intersection of Oakmere and Birchwood"}},

		{"we live at Harjukuja 54", []string{"Harjukuja 54"}},
		{"send it to Søndergade 12 please", []string{"Søndergade 12"}},
		{"Keizersgracht 7 is pretty", []string{"Keizersgracht 7"}},
		{"Ola Nordmann\n0950 Brannfjellet 54\nOslo", []string{"Ola Nordmann", "0950 Brannfjellet 54\nOslo"}},
		{"I have 3 Pokemon 5 times", nil},
		{"we scored 3 Zorbles 5 times", nil}, // not at a line end
		{"I have 3 Zorbles 5", nil},          // a one-line message
		{"I have 3 Zorbles 5\nand 2 cats", nil},
		{"Candidate 2 won the vote", nil}, // an ordinary word ending in "gate"/"date"
		{"I got a Tailgate 3 toy", nil},
		{"Sunday 12 is my birthday", nil},
		{"a flat in Pozuelo de Alarcón 28223 in its own garden", []string{"Pozuelo de Alarcón 28223"}},
		{"we live in STOCKHOLM 114 55", []string{"STOCKHOLM 114 55"}},
		{"I was in Level 3 100 times", nil},
		{"in I 12345", nil},
		{"I got to level 40 in Minecraft 1234 times", nil},
		{"chapter 12345", nil},
		{"I read it in Chapter 12345", nil}, // an ordinary word, not a place
		{"we were in Paris 2024", nil},      // a year
		{"Room 101", nil},
		{"in Level 20 there are 12345 coins", nil},
		{"I have 2 cats and 3 dogs", nil},
		{"the corner of my room is messy", nil},
	} {
		if got := redacted(t, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: redacted %q, want %q", c.text, got, c.want)
		}
	}
}

// TestNameLists checks the embedded name lists and the places left out.
func TestNameLists(t *testing.T) {
	for _, c := range []struct {
		w    string
		want uint8
	}{
		{"weronika", nGiven}, {"olivia", nGiven}, {"jakub", nGiven},
		{"kowalski", nSurname}, {"hansen", nSurname},
		{"georgia", 0}, {"florida", 0}, {"israel", 0}, {"german", 0}, // places and languages
		{"xqzzyv", 0}, {"table", 0},
	} {
		if got := nameBits(c.w) & (nGiven | nSurname); got&c.want != c.want || c.want == 0 && got != 0 {
			t.Errorf("nameBits(%q) = %b, want %b set", c.w, got, c.want)
		}
	}
	if len(nameList.given.b) < 4*10000 || len(nameList.surname.b) < 4*10000 {
		t.Fatalf("name lists too short: %d, %d bytes", len(nameList.given.b), len(nameList.surname.b))
	}
}

// TestPIIWordsLowerForms checks the lower-case forms piiWords writes in its
// one pass against piiTokens followed by lowerWord per word.
func TestPIIWordsLowerForms(t *testing.T) {
	for _, text := range []string{
		"",
		"Hi, I'm Ana O'Neil and I live at 42 Elm St. in Springfield.",
		"Apt. 4B, ÅSA Müller-Lüdenscheidt’s house; Dr. ÉMILE",
		"12-14 ul. Narewska 94\nZIP: SW1A 1AA -- it's 3’ x 4'",
		"ΑΘΗΝΑ ĞÜL ıİ ß ＡＢＣ ٣٤ word.word...end",
		"trailing apostrophe' and hyphen- then -lead",
	} {
		toks := piiTokens(text, nil)
		var want []string
		for _, tk := range toks {
			want = append(want, string(lowerWord(text, tk, nil)))
		}
		toks2, low, idx := piiWords(text, nil, nil, nil)
		if !slices.Equal(toks, toks2) || len(idx) != len(toks)+1 {
			t.Fatalf("%q: piiWords tokens %v (%d offsets), piiTokens %v", text, toks2, len(idx), toks)
		}
		lw := lowerWords{low, idx}
		for i := range toks {
			if got := lw.at(i); got != want[i] {
				t.Errorf("%q: word %d = %q, want %q", text, i, got, want[i])
			}
		}
	}
}

// TestAddressBlocksAndNames covers the address forms of other countries
// and of the US military, the street line above a unit line, "the corner
// of" with a street word or a number first, titles and particles in
// names, "X lives at …" and a "name:" line in lower case; and the
// ordinary text that must stay as it is.
func TestAddressBlocksAndNames(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		// the street line above "Suite …", foreign street words, a country
		{"Our offices are at Storgarden 52 Trajanka Forks\n Suite 894\n HARSTAD\n Norway 95441",
			[]string{"Storgarden 52 Trajanka Forks\n Suite 894\n HARSTAD\n Norway 95441"}},
		{"Dataweave\n\nMerineitsi põik 87 van Gijn Summit\n Suite 364\n Melliste\n Estonia 02561",
			[]string{"Merineitsi põik 87 van Gijn Summit\n Suite 364\n Melliste\n Estonia 02561"}},
		{"send it to 2613 avenida praia 1 suite 463, mohács, hungary 24743",
			[]string{"2613 avenida praia 1 suite 463, mohács, hungary 24743"}},
		// a house number with an ordinal dot before the unit
		{"the same: 75956 Rákóczi út 66. Apt. 268, Beder, Denmark 56905",
			[]string{"75956 Rákóczi út 66. Apt. 268, Beder, Denmark 56905"}},
		{"The letter arrived at 654 Rua Ana Caciola 1159, Nicosia, Cyprus (Greek) last night.",
			[]string{"654 Rua Ana Caciola 1159, Nicosia, Cyprus (Greek)"}},
		// US military addresses, in capitals or not
		{"Our offices are located at USNS Møller\nFPO AA 85844", []string{"USNS Møller\nFPO AA 85844"}},
		{"sent to uscgc aslakhanov\nfpo ae 44941?", []string{"uscgc aslakhanov\nfpo ae 44941"}},
		{"address: unit 4526 box 0671\ndpo ap 40902", []string{"unit 4526 box 0671\ndpo ap 40902"}},
		// the corner of two streets, whatever the first word
		{"the corner of 159 Eleftheriou Venizelou str and Rennie Union",
			[]string{"the corner of 159 Eleftheriou Venizelou str and Rennie Union"}},
		{"the corner of Csabai kapu 39. and Mathias Pass", []string{"the corner of Csabai kapu 39. and Mathias Pass"}},
		{"the corner of ul. Cicha 86 and Leokadia Trail?", []string{"the corner of ul. Cicha 86 and Leokadia Trail"}},
		// names: a title, a particle, "lives at", a "name:" line
		{"thanks to Mrs. Kathrine Filemonsen for the cake", []string{"Mrs. Kathrine Filemonsen"}},
		{`"it works," says Du Cane today`, []string{"Du Cane"}},
		{"Caitlin Lennox lives at 846 Rue Al Imam, Tunis", []string{"Caitlin Lennox", "846 Rue Al Imam, Tunis"}},
		{"name:    hyuuma t. maida\nage: 9", []string{"hyuuma t. maida"}},

		// ordinary text stays
		{"my mom lives at home", nil},
		{"Daisy lives in my tablet", nil},
		{"by name, rank and number", nil},
		{"the corner of the garden and the shed is muddy", nil},
		{"we went to Norway and Denmark", nil},
		{"I have 2 cats (Greek) names", nil},
	} {
		if got := redacted(t, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: redacted %q, want %q", c.text, got, c.want)
		}
	}
}
