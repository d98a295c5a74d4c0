package companion

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// CorpusLine is one line Daisy can say (or a suggestion she can offer) to
// a child in Tier. Source names where it comes from ("pool:greeting",
// "catalog:fact", "game:fetch.catch", "suggestion", …).
type CorpusLine struct {
	Tier   string `json:"tier"`
	Source string `json:"source"`
	Text   string `json:"text"`
}

var placeholderRe = regexp.MustCompile(`\{[a-z_]+\}`)

// Corpus returns every line Daisy can say, per tier, with templates
// expanded over their real values (spots, numbers, words, trick names, …),
// sorted and without duplicates. Replies are built from these lines, at
// most two joined per reply (and the redaction reminder appended to a
// reply). Every line must pass the output policy for its tier: the
// policy tests check the default policy, and `daisydog policy score`
// checks a candidate policy (reporting the lines it would block) before
// an administrator pushes it. The scramble letters shown in games are
// random shuffles and are checked separately (blockedStems).
func (e *Engine) Corpus() []CorpusLine {
	seen := map[CorpusLine]bool{}
	var out []CorpusLine
	add := func(tier, source, text string) {
		for _, t := range expand(e, tier, text) {
			c := CorpusLine{Tier: tier, Source: source, Text: t}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	for _, tier := range Tiers() {
		for key, tl := range e.pools {
			src := "pool:" + key
			if k, ok := strings.CutPrefix(key, "game/"); ok {
				src = "game:" + k
			}
			for _, l := range tl[tier] {
				add(tier, src, l.text)
			}
		}
		for key, byTier := range e.items {
			for _, it := range byTier[tier] {
				add(tier, "catalog:"+key, it.text)
			}
		}
		cat := e.tiers[tier]
		for _, t := range cat.Tricks {
			add(tier, "catalog:trick", t.Name)
			add(tier, "catalog:trick", t.Description)
		}
		for _, s := range cat.Stories {
			add(tier, "catalog:story", s.Title)
		}
		for _, g := range cat.Games {
			add(tier, "catalog:game", g.Name)
			add(tier, "catalog:game", g.Description)
			add(tier, "catalog:game", g.Rules)
		}
		for _, byTier := range e.suggestions {
			for _, s := range byTier[tier] {
				add(tier, "suggestion", s)
			}
		}
		for _, s := range fixedSuggestions() {
			add(tier, "suggestion", s)
		}
		for _, g := range sampleGames(tier) {
			for _, s := range gameSuggestions(g) {
				add(tier, "suggestion", s)
			}
		}
		for _, region := range append(sortedRegions(e.help), "") {
			add(tier, "support", e.Support(tier, "en-"+region).Text)
		}
		add(tier, "redact", e.redact[tier])
		add(tier, "fail_closed", e.failClosed[tier])
		for _, a := range Achievements() {
			add(tier, "achievement", a.Name)
			add(tier, "achievement", a.Description)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Tier != b.Tier {
			return tierIndex(a.Tier) < tierIndex(b.Tier)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Text < b.Text
	})
	return out
}

func sortedRegions(m map[string]helpNumbers) []string {
	var rs []string
	for r := range m {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}

// sampleGames are game states in every phase, for their suggestions.
func sampleGames(tier string) []GameState {
	var gs []GameState
	for _, k := range GameKinds() {
		for _, p := range []string{PhasePlay, PhaseChoose, PhaseSeek, PhaseHide, PhaseSearch, PhaseOver} {
			gs = append(gs, GameState{Kind: k, Tier: tier, Phase: p})
		}
	}
	return append(gs, GameState{Tier: tier})
}

// expand fills the placeholders of text with every value they can take.
func expand(e *Engine, tier, text string) []string {
	names := placeholderRe.FindAllString(text, -1)
	if len(names) == 0 {
		return []string{text}
	}
	out := []string{text}
	for _, ph := range uniq(names) {
		vals := placeholderValues(e, tier, strings.Trim(ph, "{}"))
		var next []string
		for _, t := range out {
			for _, v := range vals {
				next = append(next, strings.ReplaceAll(t, ph, v))
			}
		}
		out = next
	}
	return out
}

func uniq(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func placeholderValues(e *Engine, tier, name string) []string {
	counts := func(lo, hi int, one, many string) []string {
		var v []string
		for n := lo; n <= hi; n++ {
			v = append(v, count(n, one, many))
		}
		return v
	}
	spots := spotsFor(tier)
	switch name {
	case "game":
		var v []string
		for _, g := range e.tiers[tier].Games {
			v = append(v, strings.ToLower(g.Name))
		}
		return v
	case "spots":
		return []string{spotList(spots)}
	case "spot":
		var v []string
		for _, s := range spots {
			v = append(v, s.name)
		}
		return v
	case "clue":
		var v []string
		for _, s := range spots {
			v = append(v, s.clue)
		}
		return v
	case "tries":
		return counts(0, 5, "try", "tries")
	case "left":
		return counts(0, fetchThrows, "throw", "throws")
	case "need":
		return counts(1, 2*tugGoal, "step", "steps")
	case "score":
		return counts(0, 2*fetchThrows, "point", "points")
	case "n", "secret":
		var v []string
		for n := 1; n <= 10; n++ {
			v = append(v, strconv.Itoa(n))
		}
		return v
	case "dir":
		return []string{"higher", "lower"}
	case "word":
		var v []string
		for _, w := range wordsFor(tier) {
			v = append(v, strings.ToUpper(w))
		}
		return v
	case "shown":
		var v []string
		for _, w := range wordsFor(tier) {
			v = append(v, scramble(w, nil))
		}
		return v
	case "letters":
		var v []string
		for _, w := range wordsFor(tier) {
			for i := 1; i < len(w)-1; i++ {
				v = append(v, strings.ToUpper(w[:i]))
			}
		}
		return uniq(v)
	case "trick":
		v := []string{"a trick"}
		for _, t := range e.tiers[tier].Tricks {
			v = append(v, t.Name)
		}
		return v
	}
	return []string{"{" + name + "}"}
}
