package companion

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Patterns no line Daisy says may contain: requests for personal
// information, moving the chat elsewhere, meeting up, secrecy, gifts and
// photos (grooming markers), whole-word and case-insensitive.
var forbiddenRes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bmeet(s|ing|up)?\b`),
	regexp.MustCompile(`(?i)\bsecrets?\b`),
	regexp.MustCompile(`(?i)\b(what('?s| is)|tell me|give me|send me) your (real |full |last |first )?(name|surname|address|school|phone|number|e-?mail|password|location|birthday|age)\b`),
	regexp.MustCompile(`(?i)\byour (phone|address|e-?mail|password|location|school|home address|full name|last name|real name|surname)\b`),
	regexp.MustCompile(`(?i)\bwhere do you live\b|\bhow old are you\b|\b(what|which) school\b|\bwhere are you from\b`),
	regexp.MustCompile(`(?i)\b(send|show) (me )?(a )?(photo|pic|picture|selfie|video)s?\b|\bphotos? of you\b|\bpicture of you\b`),
	regexp.MustCompile(`(?i)\bdon'?t tell\b|\bbetween us\b|\bour little\b|\bjust between\b|\bno one has to know\b`),
	regexp.MustCompile(`(?i)\bare you alone\b|\bhome alone\b|\bparents (home|around)\b`),
	regexp.MustCompile(`(?i)\b(snapchat|whatsapp|discord|instagram|tiktok|telegram|kik|facebook|dm me|add me|private chat|video call)\b`),
	regexp.MustCompile(`(?i)\b(gifts?|money|pay (me|you|for)|buy (you|me)|card number)\b`),
}

// calm sources must never sound cheerful: no '!', no woof/yay/haha, no emoji.
func calmSource(c CorpusLine) bool {
	return strings.HasPrefix(c.Source, "pool:feelings/") || c.Source == "support" || c.Source == "fail_closed" ||
		c.Source == "pool:about/feel/concerned"
}

var cheerRe = regexp.MustCompile(`(?i)!|\b(woof|yay|haha|hehe|hee|yippee|wheee?|zoomies|lol)\b`)

func TestEveryLineIsChildSafe(t *testing.T) {
	e := New()
	lines := e.Corpus()
	if len(lines) < 3000 {
		t.Fatalf("corpus has only %d lines", len(lines))
	}
	perTier := map[string]int{}
	sources := map[string]bool{}
	for _, c := range lines {
		perTier[c.Tier]++
		sources[c.Source] = true
		where := c.Tier + " " + c.Source + ": " + c.Text
		if strings.TrimSpace(c.Text) == "" {
			t.Errorf("%s: empty line", where)
			continue
		}
		if strings.ContainsAny(c.Text, "{}") {
			t.Errorf("%s: unfilled placeholder", where)
		}
		if why := lineProblem(c.Text); why != "" {
			t.Errorf("%s: %s", where, why)
		}
		// Pointing to a trusted adult is not asking where the child goes to school.
		plain := regexp.MustCompile(`(?i)your school (counsellor|counselor|nurse|teacher)`).ReplaceAllString(c.Text, "a trusted adult")
		for _, re := range forbiddenRes {
			if m := re.FindString(plain); m != "" {
				t.Errorf("%s: forbidden %q", where, m)
			}
		}
		for _, r := range c.Text {
			if unicode.Is(unicode.So, r) || unicode.IsControl(r) {
				t.Errorf("%s: emoji or control character %q", where, r)
				break
			}
		}
		if calmSource(c) {
			if m := cheerRe.FindString(c.Text); m != "" {
				t.Errorf("%s: cheerful %q in a calm line", where, m)
			}
		}
		// Only the support flow may give numbers to call.
		if c.Source != "support" && regexp.MustCompile(`(?i)\b(call|text|dial|ring)\b[^.]*\d`).MatchString(c.Text) {
			t.Errorf("%s: a number to call", where)
		}
	}
	for _, tier := range Tiers() {
		if perTier[tier] < 1000 {
			t.Errorf("tier %s: only %d lines", tier, perTier[tier])
		}
	}
	// The corpus really covers everything: every pool, catalogue pool and
	// game line key.
	for key := range e.pools {
		src := "pool:" + key
		if k, ok := strings.CutPrefix(key, "game/"); ok {
			src = "game:" + k
		}
		if !sources[src] {
			t.Errorf("pool %s missing from the corpus", key)
		}
	}
	for key := range e.items {
		if !sources["catalog:"+key] {
			t.Errorf("catalogue pool %s missing from the corpus", key)
		}
	}
	for _, s := range []string{"support", "redact", "fail_closed", "suggestion", "achievement", "catalog:trick", "catalog:game", "catalog:story"} {
		if !sources[s] {
			t.Errorf("source %s missing from the corpus", s)
		}
	}
}

// Lines for the youngest tier stay short and simple.
func TestYoungLinesAreShort(t *testing.T) {
	for _, c := range New().Corpus() {
		if c.Tier != Tier5to8 || c.Source == "support" || c.Source == "fail_closed" || strings.HasPrefix(c.Source, "pool:feelings/") ||
			strings.HasPrefix(c.Source, "catalog:stories") || strings.HasPrefix(c.Source, "catalog:game") {
			continue
		}
		if n := len(strings.Fields(c.Text)); n > 45 {
			t.Errorf("5-8 line has %d words: %s", n, c.Text)
		}
	}
}

// The scan itself must catch what it is meant to catch.
func TestSafetyScanCatchesBadLines(t *testing.T) {
	bad := []string{
		"Let's meet at the park!", "Want to meet up?", "It's our little secret.", "What's your name?",
		"Tell me your address", "Where do you live?", "How old are you?", "Which school do you go to?",
		"Send me a photo of you", "Add me on Discord", "Don't tell your mum", "Are you home alone?",
		"I can give you a gift", "What is your phone number?",
	}
	for _, b := range bad {
		hit := false
		for _, re := range forbiddenRes {
			hit = hit || re.MatchString(b)
		}
		if !hit {
			t.Errorf("scan misses %q", b)
		}
	}
	for _, b := range []string{"Call me at 555-123-4567", "www.example.com", "mail daisy@example.com", "+44 20 7946 0958"} {
		if lineProblem(b) == "" {
			t.Errorf("lineProblem misses %q", b)
		}
	}
	for _, ok := range []string{"Dogs have 42 teeth.", "Greyhounds can run about 45 miles per hour.", "Chaser knew more than 1,000 toys.",
		"In 1960 two dogs flew into space.", "Pick a number from 1 to 10."} {
		if why := lineProblem(ok); why != "" {
			t.Errorf("lineProblem(%q) = %s", ok, why)
		}
	}
	if !cheerRe.MatchString("Yay, let's play") || !cheerRe.MatchString("Woof") || cheerRe.MatchString("I'm here and listening.") {
		t.Errorf("cheerRe")
	}
}
