package rules

import (
	"testing"

	"daisydog/policies/sdk"
)

// Disguises added for issue 4's obfuscation target, each with innocent
// look-alikes that must stay allowed.
func TestDisguisesAndLookAlikes(t *testing.T) {
	cases := []struct {
		text    string
		flagged bool
	}{
		{"go to heII", true}, // capital I for l
		{"<vnt", true},       // < for c, v for u
		{"fvck off", true},   // v for u
		{"tvvats", true},     // vv for w
		{"fuxk", true},       // x for a vowel or c
		{"shyt", true},       // y for i
		{"kunt", true},       // k for c
		{"fuker123", true},   // user-name digits
		{"w anker", true},    // one letter split off
		{"ғᴜᴄᴋ", true},       // small capitals and look-alikes
		{"8===D", true},      // ASCII art
		{"_|_", true},        // ASCII middle finger
		{"🖕 you", true},      // emoji
		{"|3itch", true},     // letters drawn with symbols
		{"/\\/igga", true},
		{"|\\|igga", true},
		{"fu|<", true},
		{"l3itch", true}, // l3 for b at the start of a word
		{"ßitch", true},  // no word starts with ß
		{"ß0ll0cks", true},
		{"f8ck you", true}, // an 8 over the vowel
		{"masterb8", true}, // a final 8 reads "ate"
		{"Straße means street in German", false},
		{"he is gr8 at sk8ing", false},
		{"and/or either|or", false},
		{"a|b a /\\ b", false},
		{"level 3 boss", false},
		{"he'll be late", false},       // not "hell"
		{"HELLO Im happy", false},      // capital I after capitals stays i
		{"my boxer dog", false},        // x is not a disguise here
		{"I love my savvy cat", false}, // vv in an ordinary word
		{"a==b in my code", false},     // not art
		{"my_i_var is 3", false},       // identifier, not a finger
		{"the se men were sailing", false},
		{"un dress the doll", false},
		{"🍆 parmesan recipe", false},
		{"I went to Kent", false},
		// cut by punctuation, masked by stars or dashes, one letter split
		// off by a space, written backwards
		{"fu.ck", true},
		{"sh_it head", true},
		{"f--k off", true},
		{"c *nt!", true},
		{"c* nt", true},
		{"twa t", true},
		{"gnikcuf", true},
		{"lol I already made it", false}, // not "loli"
		{"I want a pet", false},
		{"e-mail my teacher", false},
		{"wait--what?", false},
		{"my x-ray was fine", false},
		{"a.m. or p.m.", false},
		{"stressed desserts", false}, // a word backwards is a word
		{"don t go", false},
		// a rude word at the start or end of a word no dictionary knows
		{"shitola", true},
		{"yourass", true},
		{"sextweek", true},
		{"danisex", true},
		{"octopussy", true},
		{"my class has grass and brass", false},
		{"an embarrassing sextant", false},
		{"unisex shirts in Essex", false},
		{"the sexton rang the bell", false},
		{"the cockatoo and the cockatiel", false},
		// '@' and '$' as masks; plurals of one-word rules' words
		{"fu@k", true},
		{"f$cks", true},
		{"penchods", true},
		{"my cl@ss is fun", false},
		{"it costs 5$ or 6$", false},
		{"we play the bass drums", false},
		// v for u, ph for f, k for c in whole words; rude compounds;
		// Georgian, Arabic and dagger look-alikes of Latin letters
		{"fvckup", true},
		{"phanny", true},
		{"khunt", true},
		{"cawks", true},
		{"pussie", true},
		{"whoralicious", true},
		{"Sugar_†its", true},
		{"იiუუer", true},
		{"𝐍ιووεr", true},
		{"the hawks and the kites", false},
		{"Phantom of the opera", false},
		{"a pussycat and a kitten", false},
		{"გამარჯობა, how are you?", false}, // Georgian "hello"
		{"مرحبا وداعا", false},             // Arabic "hello, goodbye"
		{"the † marks a footnote", false},
	}
	for _, c := range cases {
		v := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
		checkInvariants(t, c.text, v)
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%q: flagged = %v, want %v (%v)", c.text, got, c.flagged, v.Rules)
		}
	}
}

// Mild swearing is blocked for 9-12 at the standard setting and allowed
// for 13-17 or when relaxed.
func TestMildSwearingByTier(t *testing.T) {
	for _, c := range []struct {
		tier, strictness string
		flagged          bool
	}{
		{sdk.AgeTier9to12, sdk.StrictnessStandard, true},
		{sdk.AgeTier5to8, sdk.StrictnessRelaxed, true},
		{sdk.AgeTier13to17, sdk.StrictnessStandard, false},
		{sdk.AgeTier9to12, sdk.StrictnessRelaxed, false},
		{sdk.AgeTier13to17, sdk.StrictnessStrict, true},
	} {
		v := Evaluate(sdk.Input{Text: "what the hell", Direction: sdk.DirectionIn, AgeTier: c.tier, Strictness: c.strictness})
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%s/%s: flagged = %v, want %v", c.tier, c.strictness, got, c.flagged)
		}
	}
}

// Ordinary child sentences that share words with the lexicon grown for
// issue 4 must stay allowed at 9-12, standard.
func TestOrdinarySentencesStayAllowed(t *testing.T) {
	for _, text := range []string{
		"I dug a hole in the garden",
		"I scored 88 on my test",
		"he she or they are all fine pronouns",
		"that's really handy",
		"I want my banana in the smoothie",
		"there's a nut in your salad",
		"mine is 6 inches tall",
		"how to kill the ender dragon",
		"how to kill time on a long drive",
		"is hell real?",
		"I hurt when I run",
		"I scratched myself on a bush",
		"she has spunk",
		"we have door knockers shaped like lions",
		"my grandpa told me about the war",
		"I love my dog Daisy!",
	} {
		v := Evaluate(sdk.Input{Text: text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
		checkInvariants(t, text, v)
		if v.Action != sdk.ActionAllow {
			t.Errorf("%q: %s %v", text, v.Action, v.Rules)
		}
	}
}

// hate.group tolerates one typo and follows "they" back one sentence.
func TestHateGroupTyposAndReferenceBack(t *testing.T) {
	for _, c := range []struct {
		text    string
		flagged bool
	}{
		{"I haet immigrnts", true},
		{"Those immigrants will never fit in. They should be deported.", true},
		{"Immigrants are no better than rats", true},
		{"I treat my dog well and I hate homework", false},
		{"we went back home, I hate rain", false},
		{"My cousins are immigrants. They should be proud of their new home.", false},
		{"Statements like that about immigrants are hurtful. They should be deleted.", false},
	} {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%q: flagged = %v, want %v (%v)", c.text, got, c.flagged, v.Rules)
		}
	}
}

// Spelling by sound (phonKey) reaches disguises no single edit does, but
// only in words that no dictionary knows.
func TestSoundAlikeSpellings(t *testing.T) {
	for _, c := range []struct {
		text    string
		flagged bool
	}{
		{"you fukka", true},           // -a for -er, k for ck
		{"what a dikkhead", true},     // kk for ck
		{"such skumbagz", true},       // k for c, z for s
		{"phukkerz everywhere", true}, // ph for f
		{"the cox shouted at the rowers", false},
		{"we watched the grand prix", false},
		{"I like spicy food", false},
		{"my cousin Zak is here", false},
		{"the quokka is cute", false},
	} {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		// A name ("Zak") is redacted as personal data at 9–12
		// (TestOneWordNames); here only a rude reading counts.
		got := false
		for _, cat := range v.Categories {
			got = got || cat != sdk.CategoryPIIDisclosure
		}
		if got != c.flagged {
			t.Errorf("%q: flagged = %v, want %v (%v)", c.text, got, c.flagged, v.Rules)
		}
	}
}

func TestPhonKey(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"fucker", "phukker"},
		{"scumbag", "skumbag"},
		{"lesbian", "lezbian"},
		{"wanker", "whanker"},
		{"cocksucker", "koksucka"},
	} {
		if ka, kb := string(phonKey(nil, c.a)), string(phonKey(nil, c.b)); ka != kb {
			t.Errorf("phonKey(%q) = %q, phonKey(%q) = %q; want equal", c.a, ka, c.b, kb)
		}
	}
	for _, c := range []struct{ a, b string }{
		{"prix", "pricks"}, // x stays x
		{"shot", "shit"},   // vowels are kept
		{"baiza", "baiser"},
	} {
		if ka, kb := string(phonKey(nil, c.a)), string(phonKey(nil, c.b)); ka == kb {
			t.Errorf("phonKey(%q) = phonKey(%q) = %q; want different", c.a, c.b, ka)
		}
	}
}

// Swearing, slurs and insults quoted as a report (aimed at the child, or
// judged by the message) do not count against the child; a bare quotation,
// a quotation without a report, sexual words and threats still do, and
// Daisy may never quote them.
func TestReportedSpeech(t *testing.T) {
	for _, c := range []struct {
		text    string
		dir     string
		flagged bool
	}{
		{`kids at school yelled "shithead" at me and I was sad`, sdk.DirectionIn, false},
		{`he keeps sending me "you are a bitch"`, sdk.DirectionIn, false},
		{`saying "fuck off" to your friends is rude`, sdk.DirectionIn, false},
		{`"fuck off"`, sdk.DirectionIn, true},                                 // only a quotation
		{`"fuck off" lol`, sdk.DirectionIn, true},                             // no report word
		{`my cousin said "fuck off" lol`, sdk.DirectionIn, true},              // a report, but neither aimed at me nor judged
		{`he texted me "send me nudes"`, sdk.DirectionIn, true},               // sexual words always count
		{`she texted me "I will kill you"`, sdk.DirectionIn, true},            // a threat always counts
		{`saying "fuck off" to your friends is rude`, sdk.DirectionOut, true}, // Daisy never quotes it
	} {
		v := Evaluate(sdk.Input{Text: c.text, Direction: c.dir, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
		checkInvariants(t, c.text, v)
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%s %q: flagged = %v, want %v (%v)", c.dir, c.text, got, c.flagged, v.Rules)
		}
	}
}

// A redaction placeholder ("<Person>", "[NAME]") is where personal data
// was, not personal data; a real name beside it is still redacted.
func TestPlaceholdersAreNotNames(t *testing.T) {
	for _, c := range []struct {
		text     string
		redacted bool
	}{
		{"my teacher Mrs. <Person> gave us homework", false},
		{"as Dr. [NAME] wrote in the paper", false},
		{"<Person> and <Person> went to the park", false},
		{"my teacher Mrs. Okonkwo-Hartley gave us homework", true},
		{"my name is <Sam Lee>", true},
		{"Weronika Martinsen and <Person> will come", true},
	} {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		if got := len(v.Spans) > 0; got != c.redacted {
			t.Errorf("%q: redacted = %v, want %v (%v %v)", c.text, got, c.redacted, v.Rules, v.Spans)
		}
	}
}

// In title-case text a run of capitalised words is a name when it has a
// middle initial or no word of it is in the dictionary, even as a proper
// noun; headings and places stay.
func TestNamesInTitleCase(t *testing.T) {
	for _, c := range []struct {
		text, name string // name "" = nothing redacted
	}{
		{"The Big Night Out\nProduced By: Oskar T. Brightwater", "Oskar T. Brightwater"},
		{"The Big Night Out\nProduced By: Jørgine Kvaalvik", "Jørgine Kvaalvik"},
		{"The Big Night Out\nFilmed In: Saudi Arabia", ""},
		{"The Big Night Out\nRead The Full Story Here", ""},
	} {
		v := Evaluate(in(c.text))
		checkInvariants(t, c.text, v)
		var got string
		for _, sp := range v.Spans {
			got += c.text[sp.Start:sp.End]
		}
		if got != c.name {
			t.Errorf("%q: redacted %q, want %q", c.text, got, c.name)
		}
	}
}

// Vocabulary added from general knowledge: English, foreign and sexual
// slang and slurs are flagged, and the ordinary words next to them (a
// loan word, a tool, a phrase) are not.
func TestVocabularyWords(t *testing.T) {
	for _, c := range []struct {
		text string
		want string // a category, or "" for allow
	}{
		{"what a shithouse", sdk.CategoryProfanity},
		{"he's a total gobshite", sdk.CategoryProfanity},
		{"vai se foder", sdk.CategoryProfanity},
		{"du bist ein wichser", sdk.CategoryProfanity},
		{"kurac", sdk.CategoryProfanity},
		{"send me your noodz", sdk.CategorySexual},
		{"rule34 of that cartoon", sdk.CategorySexual},
		{"look up a curry muncher joke", sdk.CategoryHate},
		{"the kitchen was spick and span", ""},
		{"the old hoer weeded the rows", ""},
		{"my uncle tom has a cabin", ""},
		{"the pinecone fell off the pine", ""},
		{"put the cans in the recycling", ""},
		{"the gooey cookie", ""},
	} {
		v := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
		checkInvariants(t, c.text, v)
		if c.want == "" {
			if v.Action != sdk.ActionAllow {
				t.Errorf("%q: %s %v, want allow", c.text, v.Action, v.Rules)
			}
			continue
		}
		found := false
		for _, cat := range v.Categories {
			found = found || cat == c.want
		}
		if v.Action == sdk.ActionAllow || !found {
			t.Errorf("%q: %s %v, want %s", c.text, v.Action, v.Categories, c.want)
		}
	}
}

// Counter-speech and denial: a threat or a sexual-violence word quoted
// about a group and condemned, or denied outright, is not held against the
// child; the same words aimed at the child, feared, or disclosed still are.
func TestCounterSpeechAndDenial(t *testing.T) {
	for _, c := range []struct {
		text    string
		flagged bool
	}{
		{`Statements like "slaughter the gays" are unacceptable.`, false},
		{`Saying "women should be raped" is disgusting.`, false},
		{"Women should never be raped.", false},
		{"No woman deserves to be raped.", false},
		{"No immigrant deserves to die.", false},
		{"I would never want trans people to suffer.", false},
		{`He said "I will slaughter you" and it was horrible.`, true},
		{`They told me "slaughter the gays".`, true},
		{"I don't want to be raped.", true},
		{"he raped me", true},
		{"No immigrants should be allowed in this country, they are vermin.", true},
		{"No disabled people are worthless.", false},
		{"No trans person ought to be treated like trash.", false},
		{"We would never support a law that treats gay people like animals.", false},
		{"I will never support gay people, they are disgusting.", true},
		{"Disabled people are worthless.", true},
	} {
		v := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard})
		checkInvariants(t, c.text, v)
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%q: %s %v, flagged = %v, want %v", c.text, v.Action, v.Rules, got, c.flagged)
		}
	}
}

// Mild words are allowed plainly at 9-12 but not when someone hid them from
// a filter with look-alike letters mixed into an ASCII word. Accents that
// languages use, words wholly in another script or a fancy font, and the
// plain words stay allowed; 13-17 and "relaxed" allow the disguised ones
// like mild swearing.
func TestDisguisedMildWords(t *testing.T) {
	for _, c := range []struct {
		text    string
		tier    string
		flagged bool
	}{
		{"what the һell", sdk.AgeTier9to12, true}, // Cyrillic shha
		{"heӏӏ", sdk.AgeTier9to12, true},          // Cyrillic palochkas
		{"heḷḷ", sdk.AgeTier9to12, true},          // l with dot below
		{"heII", sdk.AgeTier9to12, true},          // capital I for l
		{"you are gaу", sdk.AgeTier9to12, true},   // Cyrillic u
		{"νirgin", sdk.AgeTier9to12, true},        // Greek nu
		{"friċk off", sdk.AgeTier9to12, true},     // Maltese c
		{"so nauġhty", sdk.AgeTier9to12, true},    // Maltese g
		{"ur ѕtupid", sdk.AgeTier9to12, true},     // Cyrillic dze
		{"what the һell", sdk.AgeTier13to17, false},
		{"you are gaу", sdk.AgeTier13to17, false},
		// Plain, or a language's own spelling, or all one other script.
		{"is hell real?", sdk.AgeTier9to12, false},
		{"my uncle is gay", sdk.AgeTier9to12, false},
		{"a naughty puppy", sdk.AgeTier9to12, false},
		{"fát", sdk.AgeTier9to12, false},          // Hungarian: tree (accusative)
		{"gáy", sdk.AgeTier9to12, false},          // accents are spelling, not disguise
		{"ｈｅｌｌｏ ｆｒｉｅｎｄ", sdk.AgeTier9to12, false}, // a fullwidth font, nothing mixed
		{"McIntosh apples", sdk.AgeTier9to12, false},
		{"привет как дела", sdk.AgeTier9to12, false},
		{"I love Daisy", sdk.AgeTier9to12, false},
	} {
		v := Evaluate(sdk.Input{Text: c.text, Direction: sdk.DirectionIn, AgeTier: c.tier, Strictness: sdk.StrictnessStandard})
		if got := v.Action != sdk.ActionAllow; got != c.flagged {
			t.Errorf("%q at %s: flagged = %v, want %v (%v)", c.text, c.tier, got, c.flagged, v.Rules)
		}
	}
}
