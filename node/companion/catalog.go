package companion

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// CatalogVersion is the current version of the Catalog encoding.
const CatalogVersion = 1

// Ages is the age range of a catalogue item, as inclusive age tiers. An
// empty bound is open: Min "" means from the youngest tier, Max "" up to the
// oldest.
type Ages struct {
	Min string `json:"min_tier,omitempty"`
	Max string `json:"max_tier,omitempty"`
}

// Includes reports whether tier (normalised like Reply does) is in range.
func (a Ages) Includes(tier string) bool {
	i := tierIndex(normTier(tier))
	lo, hi := 0, len(Tiers())-1
	if a.Min != "" {
		lo = tierIndex(a.Min)
	}
	if a.Max != "" {
		hi = tierIndex(a.Max)
	}
	return lo >= 0 && hi >= 0 && lo <= i && i <= hi
}

func (a Ages) validate() error {
	for _, t := range []string{a.Min, a.Max} {
		if t != "" && tierIndex(t) < 0 {
			return fmt.Errorf("unknown age tier %q", t)
		}
	}
	if a.Min != "" && a.Max != "" && tierIndex(a.Min) > tierIndex(a.Max) {
		return fmt.Errorf("min tier %q is above max tier %q", a.Min, a.Max)
	}
	return nil
}

// tierIndex is the position of an exact tier name in Tiers(), or -1.
func tierIndex(t string) int {
	for i, x := range Tiers() {
		if x == t {
			return i
		}
	}
	return -1
}

// Joke is one joke Daisy can tell.
type Joke struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Ages
}

// Fact is one true, kid-appropriate dog fact.
type Fact struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Ages
}

// Story is a short story Daisy tells in one reply.
type Story struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	Ages
}

// Trick is one trick Daisy can do.
type Trick struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Words are the words or phrases that ask for it ("roll over"). A
	// single word also needs a short message or "trick"/"daisy"/"can you".
	Words       []string `json:"words"`
	Description string   `json:"description"`
	Difficulty  int      `json:"difficulty"`  // 1 easy … 5 hard
	EnergyCost  int      `json:"energy_cost"` // 1 … 3
	// Lines are Daisy doing the trick (any tier); the tier adds its own
	// encouragement around them.
	Lines []string `json:"lines"`
	Ages
}

// GameInfo describes one game kind. The rules themselves are code (see
// Start and Play); the catalogue controls names, ages and energy cost.
type GameInfo struct {
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Rules       string `json:"rules"`
	EnergyCost  int    `json:"energy_cost"` // 0 … 3, spent when the game starts
	Ages
}

// Catalog is the shared content admins manage: jokes, tricks, stories,
// facts and games, each with an age range. DefaultCatalog is the seed.
type Catalog struct {
	V       int        `json:"v"`
	Jokes   []Joke     `json:"jokes"`
	Tricks  []Trick    `json:"tricks"`
	Stories []Story    `json:"stories"`
	Facts   []Fact     `json:"facts"`
	Games   []GameInfo `json:"games"`
}

// Catalogue limits, enforced by Validate.
const (
	MaxLineRunes  = 400
	MaxStoryRunes = 1200
	maxIDLen      = 40
)

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks a catalogue before an Engine uses it: IDs unique and
// well-formed, texts present, short and free of links, e-mail addresses and
// phone-like numbers, trick costs and difficulties in range, games of known
// kinds, and at least one joke, fact, story and trick for every tier.
func (c Catalog) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	ids := map[string]bool{}
	checkID := func(kind, id string) {
		switch {
		case len(id) > maxIDLen || !idRe.MatchString(id):
			bad("%s id %q: want lowercase letters, digits, '-' or '_', at most %d", kind, id, maxIDLen)
		case ids[kind+"/"+id]:
			bad("%s id %q: duplicate", kind, id)
		}
		ids[kind+"/"+id] = true
	}
	checkText := func(kind, id, field, text string, maxRunes int) {
		switch {
		case strings.TrimSpace(text) == "":
			bad("%s %q: empty %s", kind, id, field)
		case utf8.RuneCountInString(text) > maxRunes:
			bad("%s %q: %s longer than %d characters", kind, id, field, maxRunes)
		default:
			if why := lineProblem(text); why != "" {
				bad("%s %q: %s %s", kind, id, field, why)
			}
		}
	}
	checkAges := func(kind, id string, a Ages) {
		if err := a.validate(); err != nil {
			bad("%s %q: %v", kind, id, err)
		}
	}
	for _, j := range c.Jokes {
		checkID("joke", j.ID)
		checkText("joke", j.ID, "text", j.Text, MaxLineRunes)
		checkAges("joke", j.ID, j.Ages)
	}
	for _, f := range c.Facts {
		checkID("fact", f.ID)
		checkText("fact", f.ID, "text", f.Text, MaxLineRunes)
		checkAges("fact", f.ID, f.Ages)
	}
	for _, s := range c.Stories {
		checkID("story", s.ID)
		checkText("story", s.ID, "title", s.Title, 80)
		checkText("story", s.ID, "text", s.Text, MaxStoryRunes)
		checkAges("story", s.ID, s.Ages)
	}
	words := map[string]string{}
	for _, t := range c.Tricks {
		checkID("trick", t.ID)
		checkText("trick", t.ID, "name", t.Name, 40)
		checkText("trick", t.ID, "description", t.Description, MaxLineRunes)
		checkAges("trick", t.ID, t.Ages)
		if t.Difficulty < 1 || t.Difficulty > 5 {
			bad("trick %q: difficulty %d not in 1..5", t.ID, t.Difficulty)
		}
		if t.EnergyCost < 1 || t.EnergyCost > 3 {
			bad("trick %q: energy cost %d not in 1..3", t.ID, t.EnergyCost)
		}
		if len(t.Words) == 0 {
			bad("trick %q: no words ask for it", t.ID)
		}
		for _, w := range t.Words {
			norm := strings.Join(tokenize(w), " ")
			if norm == "" || norm != w {
				bad("trick %q: word %q must be lowercase words without punctuation", t.ID, w)
			}
			if other, dup := words[norm]; dup {
				bad("trick %q: word %q also asks for %q", t.ID, w, other)
			}
			words[norm] = t.ID
		}
		if len(t.Lines) == 0 {
			bad("trick %q: no lines", t.ID)
		}
		for _, l := range t.Lines {
			checkText("trick", t.ID, "line", l, MaxLineRunes)
		}
	}
	for _, g := range c.Games {
		checkID("game", g.Kind)
		if !knownGame(g.Kind) {
			bad("game %q: unknown kind (known: %s)", g.Kind, strings.Join(GameKinds(), ", "))
		}
		checkText("game", g.Kind, "name", g.Name, 40)
		checkText("game", g.Kind, "description", g.Description, MaxLineRunes)
		checkText("game", g.Kind, "rules", g.Rules, MaxLineRunes)
		checkAges("game", g.Kind, g.Ages)
		if g.EnergyCost < 0 || g.EnergyCost > 3 {
			bad("game %q: energy cost %d not in 0..3", g.Kind, g.EnergyCost)
		}
	}
	for _, tier := range Tiers() {
		f := c.ForTier(tier)
		if len(f.Jokes) == 0 || len(f.Facts) == 0 || len(f.Stories) == 0 || len(f.Tricks) == 0 {
			bad("tier %s: needs at least one joke, fact, story and trick", tier)
		}
	}
	return errors.Join(errs...)
}

// ForTier returns the items of c valid for tier, in catalogue order. The
// slices are fresh copies.
func (c Catalog) ForTier(tier string) Catalog {
	out := Catalog{V: c.V}
	for _, j := range c.Jokes {
		if j.Includes(tier) {
			out.Jokes = append(out.Jokes, j)
		}
	}
	for _, t := range c.Tricks {
		if t.Includes(tier) {
			t.Words = append([]string(nil), t.Words...)
			t.Lines = append([]string(nil), t.Lines...)
			out.Tricks = append(out.Tricks, t)
		}
	}
	for _, s := range c.Stories {
		if s.Includes(tier) {
			out.Stories = append(out.Stories, s)
		}
	}
	for _, f := range c.Facts {
		if f.Includes(tier) {
			out.Facts = append(out.Facts, f)
		}
	}
	for _, g := range c.Games {
		if g.Includes(tier) {
			out.Games = append(out.Games, g)
		}
	}
	return out
}

// clone returns a deep copy of c.
func (c Catalog) clone() Catalog {
	out := Catalog{V: c.V}
	out.Jokes = append([]Joke(nil), c.Jokes...)
	out.Stories = append([]Story(nil), c.Stories...)
	out.Facts = append([]Fact(nil), c.Facts...)
	out.Games = append([]GameInfo(nil), c.Games...)
	for _, t := range c.Tricks {
		t.Words = append([]string(nil), t.Words...)
		t.Lines = append([]string(nil), t.Lines...)
		out.Tricks = append(out.Tricks, t)
	}
	return out
}

func (c Catalog) trick(id string) (Trick, bool) {
	for _, t := range c.Tricks {
		if t.ID == id {
			return t, true
		}
	}
	return Trick{}, false
}

func (c Catalog) game(kind string) (GameInfo, bool) {
	for _, g := range c.Games {
		if g.Kind == kind {
			return g, true
		}
	}
	return GameInfo{}, false
}

// DefaultCatalog returns the seed catalogue (a fresh copy each call).
func DefaultCatalog() Catalog {
	return Catalog{
		V:       CatalogVersion,
		Jokes:   seedJokes(),
		Tricks:  seedTricks(),
		Stories: seedStories(),
		Facts:   seedFacts(),
		Games:   seedGames(),
	}
}

var (
	lineURLRe   = regexp.MustCompile(`(?i)https?://|www\.|\b[a-z0-9-]+\.(com|org|net|io|co|uk|app|gg|me|ly|tv)\b`)
	lineEmailRe = regexp.MustCompile(`\S+@\S+`)
	// a run of seven or more digits, possibly split by spaces, dots,
	// dashes or brackets, looks like a phone number
	linePhoneRe = regexp.MustCompile(`\d(?:[\s.()-]?\d){6,}`)
)

// lineProblem reports why a line must not be shown to a child, or "": a
// link, an e-mail address or a phone-like number. The test suite adds more
// checks (requests for personal information, meeting up, secrets).
func lineProblem(text string) string {
	switch {
	case lineURLRe.MatchString(text):
		return "contains a link"
	case lineEmailRe.MatchString(text):
		return "contains an e-mail address"
	case linePhoneRe.MatchString(text):
		return "contains a phone-like number"
	}
	return ""
}
