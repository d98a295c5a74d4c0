package companion

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var allMoods = []string{MoodHappy, MoodExcited, MoodHungry, MoodSleepy, MoodPlayful, MoodConcerned}

// chatPools are the pools Reply draws from; every one needs ≥4 lines per tier.
func chatPools() []string {
	return []string{
		IntentGreeting, IntentFood, IntentPlay, IntentJokes, IntentDefault,
		feelingKey(feelingSad), feelingKey(feelingLonely), feelingKey(feelingAngry),
		feelingKey(feelingScared), feelingKey(feelingHurt),
		IntentRedirect, IntentBlocked,
	}
}

// fixed returns a pick that always answers i and counts its calls.
func fixed(i int, calls *int) func(int) int {
	return func(n int) int {
		*calls++
		if n < 1 {
			panic("pick called with n < 1")
		}
		return i
	}
}

var (
	urlRe   = regexp.MustCompile(`(?i)https?://|www\.|\.(com|org|net|io|co|uk)\b`)
	emailRe = regexp.MustCompile(`\S+@\S+`)
	digitRe = regexp.MustCompile(`\d+`)
)

// unsafeContent reports why a Daisy line breaks the content rules, or "".
func unsafeContent(text string, allowedNumbers []string) string {
	if urlRe.MatchString(text) {
		return "url"
	}
	if emailRe.MatchString(text) {
		return "email"
	}
	for _, d := range digitRe.FindAllString(text, -1) {
		if !slices.Contains(allowedNumbers, d) {
			return "number " + d
		}
	}
	low := strings.ToLower(text)
	for _, bad := range []string{
		"meet", "your address", "where do you live", "what school", "which school",
		"your phone", "your number", "your name", "real name", "full name", "last name",
		"how old are you", "secret", "photo", "picture of you", "password", "don't tell",
	} {
		if strings.Contains(low, bad) {
			return "forbidden phrase " + bad
		}
	}
	return ""
}

func TestPoolsComplete(t *testing.T) {
	e := New()
	for _, key := range chatPools() {
		for _, tier := range Tiers() {
			lines := e.pools[key][tier]
			if len(lines) < 4 {
				t.Errorf("%s/%s: %d lines, want ≥4", key, tier, len(lines))
			}
			seen := map[string]bool{}
			for _, l := range lines {
				if strings.TrimSpace(l.text) == "" {
					t.Errorf("%s/%s: empty line", key, tier)
				}
				if seen[l.text] {
					t.Errorf("%s/%s: duplicate line %q", key, tier, l.text)
				}
				seen[l.text] = true
				if !slices.Contains(allMoods, l.mood) {
					t.Errorf("%s/%s: line %q has unknown mood %q", key, tier, l.text, l.mood)
				}
				if why := unsafeContent(l.text, nil); why != "" {
					t.Errorf("%s/%s: line %q: %s", key, tier, l.text, why)
				}
				if strings.HasPrefix(key, IntentFeelings) {
					if strings.Contains(l.text, "!") || l.mood != MoodConcerned {
						t.Errorf("%s/%s: feelings line must be calm and concerned: %q (%s)", key, tier, l.text, l.mood)
					}
				}
			}
		}
	}
	for intent, byTier := range e.suggestions {
		for _, tier := range Tiers() {
			s := byTier[tier]
			if len(s) < 2 || len(s) > 3 {
				t.Errorf("suggestions %s/%s: %d, want 2–3", intent, tier, len(s))
			}
			for _, x := range s {
				if strings.TrimSpace(x) == "" || unsafeContent(x, nil) != "" {
					t.Errorf("suggestions %s/%s: bad %q", intent, tier, x)
				}
			}
		}
	}
	for _, tier := range Tiers() {
		if e.redact[tier] == "" || e.failClosed[tier] == "" {
			t.Errorf("tier %s: missing redact reminder or fail-closed line", tier)
		}
	}
}

func TestReplyIntentAndTier(t *testing.T) {
	e := New()
	tests := []struct {
		text, tier, intent string
	}{
		{"hello", Tier5to8, IntentGreeting},
		{"hello", Tier9to12, IntentGreeting},
		{"hello", Tier13to17, IntentGreeting},
		{"this is it", Tier9to12, IntentDefault},
		{"my friend hit me", Tier13to17, IntentFeelings},
		{"I'm hungry", Tier5to8, IntentFood},
		{"joke please", Tier13to17, IntentJokes},
		{"fetch!", Tier9to12, IntentPlay},
		{"I'm sad", "unknown-tier", IntentFeelings},
	}
	for _, tt := range tests {
		var calls int
		r := e.Reply(tt.text, tt.tier, "", fixed(0, &calls))
		if r.Intent != tt.intent {
			t.Errorf("Reply(%q).Intent = %q, want %q", tt.text, r.Intent, tt.intent)
		}
		if calls != 1 {
			t.Errorf("Reply(%q): pick called %d times, want 1", tt.text, calls)
		}
		key := r.Intent
		if key == IntentFeelings {
			_, f := e.matcher.classify(tt.text)
			key = feelingKey(f)
		}
		tier := normTier(tt.tier)
		if !slices.ContainsFunc(e.pools[key][tier], func(l line) bool { return l.text == r.Text }) {
			t.Errorf("Reply(%q, %q) = %q, not from pool %s/%s", tt.text, tt.tier, r.Text, key, tier)
		}
		if n := len(r.Suggestions); n < 2 || n > 3 {
			t.Errorf("Reply(%q): %d suggestions", tt.text, n)
		}
	}
}

func TestReplyNeverRepeatsPrev(t *testing.T) {
	e := New()
	inputs := map[string]string{
		IntentGreeting: "hi", IntentFood: "I'm hungry", IntentPlay: "play", IntentJokes: "joke",
		IntentDefault: "banana phone", feelingKey(feelingSad): "sad", feelingKey(feelingHurt): "he hit me",
	}
	for key, text := range inputs {
		for _, tier := range Tiers() {
			lines := e.pools[key][tier]
			for _, prev := range lines {
				// every pick value, including out-of-range ones
				for i := -len(lines); i < 2*len(lines); i++ {
					var calls int
					r := e.Reply(text, tier, prev.text, fixed(i, &calls))
					if r.Text == prev.text {
						t.Fatalf("%s/%s pick %d: repeated prev %q", key, tier, i, prev.text)
					}
				}
			}
			// all candidates reachable when prev is set
			prev := lines[0].text
			got := map[string]bool{}
			for i := 0; i < len(lines)-1; i++ {
				var calls int
				got[e.Reply(text, tier, prev, fixed(i, &calls)).Text] = true
			}
			if len(got) != len(lines)-1 {
				t.Errorf("%s/%s: %d distinct replies, want %d", key, tier, len(got), len(lines)-1)
			}
		}
	}
}

func TestPickSeesCandidateCount(t *testing.T) {
	e := New()
	lines := e.pools[IntentGreeting][Tier9to12]
	var sawN []int
	pick := func(n int) int { sawN = append(sawN, n); return 0 }
	e.Reply("hi", Tier9to12, "", pick)
	e.Reply("hi", Tier9to12, lines[2].text, pick)
	e.Reply("hi", Tier9to12, "a line Daisy never said", pick)
	want := []int{len(lines), len(lines) - 1, len(lines)}
	if !slices.Equal(sawN, want) {
		t.Errorf("pick saw n = %v, want %v", sawN, want)
	}
}

func TestReplyDeterministic(t *testing.T) {
	e1, e2 := New(), New()
	texts := []string{"hi", "I'm hungry", "tell me a joke", "I feel lonely", "whatever", "play fetch"}
	for _, text := range texts {
		for _, tier := range Tiers() {
			for i := 0; i < 6; i++ {
				var c1, c2 int
				a := e1.Reply(text, tier, "", fixed(i, &c1))
				b := e2.Reply(text, tier, "", fixed(i, &c2))
				c := e1.Reply(text, tier, "", fixed(i, &c1))
				if !replyEqual(a, b) || !replyEqual(a, c) {
					t.Errorf("Reply(%q,%q,pick=%d) not deterministic: %+v / %+v / %+v", text, tier, i, a, b, c)
				}
			}
		}
	}
	// nil pick is allowed and means index 0
	if a, b := e1.Reply("hi", Tier5to8, "", nil), e1.Reply("hi", Tier5to8, "", nil); !replyEqual(a, b) {
		t.Errorf("nil pick not deterministic")
	}
}

func replyEqual(a, b Reply) bool {
	return a.Intent == b.Intent && a.Text == b.Text && a.Mood == b.Mood && slices.Equal(a.Suggestions, b.Suggestions)
}

func TestTierLinesDiffer(t *testing.T) {
	e := New()
	for _, key := range []string{IntentGreeting, IntentFood, IntentPlay, IntentDefault} {
		young := e.pools[key][Tier5to8]
		old := e.pools[key][Tier13to17]
		for _, l := range young {
			if slices.ContainsFunc(old, func(o line) bool { return o.text == l.text }) {
				t.Errorf("%s: %q is shared by 5-8 and 13-17", key, l.text)
			}
		}
	}
}

func TestSuggestionsAreCopies(t *testing.T) {
	e := New()
	r := e.Reply("hi", Tier5to8, "", nil)
	want := slices.Clone(r.Suggestions)
	r.Suggestions[0] = "tampered"
	if got := e.Reply("hi", Tier5to8, "", nil).Suggestions; !slices.Equal(got, want) {
		t.Errorf("mutating a Reply changed the engine: %q", got)
	}
}

func TestSupport(t *testing.T) {
	e := New()
	tests := []struct {
		locale string
		want   []string // substrings that must appear
		not    []string
	}{
		{"en-US", []string{"call 911", "988"}, []string{"999", "112"}},
		{"en_us", []string{"call 911", "988"}, nil},
		{"en-CA", []string{"call 911", "988"}, nil},
		{"en-GB", []string{"call 999"}, []string{"911", "988"}},
		{"en-UK", []string{"call 999"}, nil},
		{"de-DE", []string{"call 112"}, []string{"911", "988"}},
		{"fr-FR", []string{"call 112"}, nil},
		{"en-IE", []string{"call 112"}, nil},
		{"en-AU", []string{"call 000"}, nil},
		{"en", []string{"local emergency number"}, []string{"911", "988"}},
		{"", []string{"local emergency number"}, nil},
		{"es-419", []string{"local emergency number"}, nil},
		{"xx-ZZ", []string{"local emergency number"}, nil},
	}
	allowed := []string{"911", "988", "999", "112", "000", "111"}
	for _, tier := range append(Tiers(), "bogus") {
		for _, tt := range tests {
			r := e.Support(tier, tt.locale)
			if r.Intent != IntentSupport || r.Mood != MoodConcerned {
				t.Errorf("Support(%q,%q): intent %q mood %q", tier, tt.locale, r.Intent, r.Mood)
			}
			low := strings.ToLower(r.Text)
			for _, w := range append(tt.want, "matter", "trust", "teacher", "counsellor", "now") {
				if !strings.Contains(low, w) {
					t.Errorf("Support(%q,%q) lacks %q: %s", tier, tt.locale, w, r.Text)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(r.Text, w) {
					t.Errorf("Support(%q,%q) should not mention %q: %s", tier, tt.locale, w, r.Text)
				}
			}
			if strings.Contains(r.Text, "!") || strings.Contains(low, "joke") || strings.Contains(low, "woof") {
				t.Errorf("Support(%q,%q) is not calm: %s", tier, tt.locale, r.Text)
			}
			if why := unsafeContent(r.Text, allowed); why != "" {
				t.Errorf("Support(%q,%q): %s", tier, tt.locale, why)
			}
			if len(r.Suggestions) < 2 {
				t.Errorf("Support(%q,%q): no suggestions", tier, tt.locale)
			}
		}
	}
}

func TestFixedReplies(t *testing.T) {
	e := New()
	for _, tier := range Tiers() {
		for i := 0; i < 5; i++ {
			var calls int
			r := e.Redirect(tier, fixed(i, &calls))
			if r.Intent != IntentRedirect || r.Text == "" || calls != 1 {
				t.Errorf("Redirect(%q): %+v calls=%d", tier, r, calls)
			}
			b := e.Blocked(tier, fixed(i, &calls))
			if b.Intent != IntentBlocked || b.Text == "" || calls != 2 {
				t.Errorf("Blocked(%q): %+v calls=%d", tier, b, calls)
			}
			low := strings.ToLower(b.Text)
			for _, scold := range []string{"bad", "naughty", "not allowed", "shame", "wrong", "don't say"} {
				if strings.Contains(low, scold) {
					t.Errorf("Blocked(%q) scolds: %q", tier, b.Text)
				}
			}
		}
		f := e.FailClosed(tier)
		if f.Intent != IntentUnavailable || f.Text == "" || f.Mood == "" || len(f.Suggestions) < 2 {
			t.Errorf("FailClosed(%q): %+v", tier, f)
		}
		if why := unsafeContent(f.Text, nil); why != "" {
			t.Errorf("FailClosed(%q): %s", tier, why)
		}
		if !strings.Contains(e.RedactReminder(tier), "personal info") {
			t.Errorf("RedactReminder(%q) = %q", tier, e.RedactReminder(tier))
		}
	}
	want := "I hid something that looked like personal info — let's keep phone numbers and addresses private!"
	if got := e.RedactReminder(Tier9to12); got != want {
		t.Errorf("RedactReminder = %q, want %q", got, want)
	}
}

func TestNormTierAndRegion(t *testing.T) {
	tiers := map[string]string{
		"5-8": Tier5to8, "9-12": Tier9to12, "13-17": Tier13to17, " 13-17 ": Tier13to17,
		"9–12": Tier9to12, "": Tier5to8, "18+": Tier5to8, "adult": Tier5to8,
	}
	for in, want := range tiers {
		if got := normTier(in); got != want {
			t.Errorf("normTier(%q) = %q, want %q", in, got, want)
		}
	}
	regions := map[string]string{
		"en-US": "US", "en_gb": "GB", "en-UK": "GB", "zh-Hant-TW": "TW", "en": "", "": "",
		"es-419": "", "en_US.UTF-8": "US", "US": "",
	}
	for in, want := range regions {
		if got := localeRegion(in); got != want {
			t.Errorf("localeRegion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e := New()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			prev := ""
			for i := 0; i < 200; i++ {
				r := e.Reply("hi there, wanna play", Tiers()[i%3], prev, func(n int) int { return (g + i) % n })
				if r.Text == prev {
					t.Errorf("repeat under concurrency")
					return
				}
				prev = r.Text
				r.Suggestions[0] = "mutated"
				_ = e.Support(Tiers()[i%3], "en-US")
			}
		})
	}
	wg.Wait()
}
