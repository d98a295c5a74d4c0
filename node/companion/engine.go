package companion

import (
	"fmt"
	"strings"
	"time"
)

// Reply is one answer from Daisy.
type Reply struct {
	Intent      string   `json:"intent"`
	Text        string   `json:"text"`
	Mood        string   `json:"mood"`
	Suggestions []string `json:"suggestions"`
}

// Engine picks Daisy's replies. It is immutable after New and safe for
// concurrent use.
type Engine struct {
	matcher     *matcher
	pools       map[string]tierLines
	items       map[string]map[string][]item // catalogue pools by key and tier
	catalog     Catalog
	tiers       map[string]Catalog // catalog.ForTier, per tier
	suggestions map[string]map[string][]string
	redact      map[string]string
	failClosed  map[string]string
	support     map[string]supportText
	help        map[string]helpNumbers
	// suggested classifies every suggestion text once (suggest asks for
	// each one on every turn).
	suggested map[string]suggestionClass
}

// suggestionClass is a suggestion's intent and whether it spends Daisy's
// energy (physical).
type suggestionClass struct {
	intent   string
	physical bool
}

// New builds an Engine with the built-in lines and DefaultCatalog.
func New() *Engine {
	e, err := NewWithCatalog(DefaultCatalog())
	if err != nil {
		panic("companion: default catalogue is invalid: " + err.Error())
	}
	return e
}

// NewWithCatalog builds an Engine over catalogue c (after Validate). The
// Engine keeps its own copy; to change the catalogue, build a new Engine
// and swap it in (an Engine is never modified).
func NewWithCatalog(c Catalog) (*Engine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.clone()
	e := &Engine{
		matcher:     newMatcher(intentRules(c), negatorWords()),
		catalog:     c,
		tiers:       map[string]Catalog{},
		items:       map[string]map[string][]item{},
		suggestions: suggestionTable(),
		redact:      redactReminders(),
		failClosed:  failClosedLines(),
		support:     supportTexts(),
		help:        regionHelp(),
	}
	for _, tier := range Tiers() {
		e.tiers[tier] = c.ForTier(tier)
	}
	e.buildItems()
	e.pools = linePools(e.items[IntentJokes])
	morePools(e.pools)
	e.suggested = map[string]suggestionClass{}
	for _, x := range append(fixedSuggestions(), suggestionTexts(e.suggestions)...) {
		intent, sub := e.matcher.classify(x)
		e.suggested[x] = suggestionClass{intent: intent, physical: isPhysical(intent, sub)}
	}
	return e, nil
}

// suggestionTexts lists every text of a suggestion table.
func suggestionTexts(t map[string]map[string][]string) []string {
	var out []string
	for _, byTier := range t {
		for _, xs := range byTier {
			out = append(out, xs...)
		}
	}
	return out
}

// classOf returns the class of suggestion x.
func (e *Engine) classOf(x string) suggestionClass {
	if c, ok := e.suggested[x]; ok {
		return c
	}
	intent, sub := e.matcher.classify(x)
	return suggestionClass{intent: intent, physical: isPhysical(intent, sub)}
}

// Catalog returns a copy of the catalogue the Engine uses.
func (e *Engine) Catalog() Catalog { return e.catalog.clone() }

// Classify returns the intent Reply would use for text: one of
// IntentFeelings, IntentStories, IntentFacts, IntentJokes, IntentAbout,
// IntentTricks, IntentFood, IntentPlay, IntentCompliment, IntentGreeting
// or IntentDefault.
func (e *Engine) Classify(text string) string {
	intent, _ := e.matcher.classify(text)
	return intent
}

func trickPool(id string) string { return "trick/" + id }

// buildItems turns the catalogue into ready-made lines per tier, each
// catalogue item wrapped in one fixed intro or outro of its tier (so that
// choosing a line is a single pick).
func (e *Engine) buildItems() {
	add := func(key, tier string, it item) {
		if e.items[key] == nil {
			e.items[key] = map[string][]item{}
		}
		e.items[key][tier] = append(e.items[key][tier], it)
	}
	jokeIn, factIn, storyIn, outros := jokeIntros(), factIntros(), storyIntros(), trickOutros()
	for _, tier := range Tiers() {
		cat := e.tiers[tier]
		for i, j := range cat.Jokes {
			in := jokeIn[tier]
			add(IntentJokes, tier, item{text: in[i%len(in)] + j.Text, mood: MoodPlayful, id: j.ID})
		}
		for i, f := range cat.Facts {
			in := factIn[tier]
			add(IntentFacts, tier, item{text: in[i%len(in)] + f.Text, mood: MoodHappy, id: f.ID})
		}
		for i, s := range cat.Stories {
			in := storyIn[tier]
			intro := strings.ReplaceAll(in[i%len(in)], "{title}", s.Title)
			add(IntentStories, tier, item{text: intro + s.Text, mood: MoodHappy, id: s.ID})
		}
		for _, t := range cat.Tricks {
			out := outros[tier]
			for i, l := range t.Lines {
				add(trickPool(t.ID), tier, item{text: l + " " + out[i%len(out)], mood: MoodExcited, id: t.ID, cost: t.EnergyCost})
			}
		}
	}
}

// Reply picks Daisy's answer to text for a child in ageTier. pick(n) must
// return an index in [0,n); it is called exactly once, and the caller decides
// the randomness before replication, so Reply is deterministic given pick.
// prev is the previous reply text for this child ("" if none); Reply never
// returns it again.
//
// Reply is the stateless form of Respond: it never changes or reads Daisy's
// state, never starts a game, and takes each line's own mood.
func (e *Engine) Reply(text, ageTier, prev string, pick func(n int) int) Reply {
	w := splitWords(text)
	intent, sub := e.matcher.classifyWords(w)
	c := chatTurn{e: e, tier: normTier(ageTier), prev: prev, now: time.Time{}, ctrl: DefaultControls(), w: w, text: text}
	r, _, _ := c.run(intent, sub, pick)
	return r
}

// Support is the fixed reply for a self-harm or abuse disclosure: warm, calm,
// tells the child they matter, to talk to a trusted adult now and, if in
// danger, to call the emergency number for locale's region (and 988 where it
// exists). Never cheerful.
func (e *Engine) Support(ageTier, locale string) Reply {
	tier := normTier(ageTier)
	st := e.support[tier]
	h, known := e.help[localeRegion(locale)]
	call := "call your local emergency number"
	if known {
		call = "call " + h.emergency
	}
	text := st.body + " " + fmt.Sprintf(st.danger, call)
	if h.crisis != "" {
		text += " " + fmt.Sprintf(st.crisis, h.crisis)
	}
	return Reply{
		Intent:      IntentSupport,
		Text:        text,
		Mood:        MoodConcerned,
		Suggestions: e.suggestionsFor(IntentSupport, tier),
	}
}

// Redirect gently declines and steers to a safe topic (intent "redirect").
// pick is used exactly as in Reply.
func (e *Engine) Redirect(ageTier string, pick func(int) int) Reply {
	return e.choose(IntentRedirect, IntentRedirect, normTier(ageTier), "", pick)
}

// Blocked is the kind, non-scolding reply to a blocked message (intent
// "blocked"). pick is used exactly as in Reply.
func (e *Engine) Blocked(ageTier string, pick func(int) int) Reply {
	return e.choose(IntentBlocked, IntentBlocked, normTier(ageTier), "", pick)
}

// RedactReminder is the gentle sentence appended to a reply when personal
// information was hidden from the child's message.
func (e *Engine) RedactReminder(ageTier string) string {
	return e.redact[normTier(ageTier)]
}

// FailClosed is the safe, neutral reply used when the safety check itself
// failed (intent "unavailable").
func (e *Engine) FailClosed(ageTier string) Reply {
	tier := normTier(ageTier)
	return Reply{
		Intent:      IntentUnavailable,
		Text:        e.failClosed[tier],
		Mood:        MoodSleepy,
		Suggestions: e.suggestionsFor(IntentUnavailable, tier),
	}
}

// choose picks one line of pool key for tier, skipping prev. It calls pick
// exactly once with n = number of candidates.
func (e *Engine) choose(key, intent, tier, prev string, pick func(int) int) Reply {
	lines := e.pools[key][tier]
	l := lines[chooseIndex(lines, prev, pick, false)]
	return Reply{
		Intent:      intent,
		Text:        l.text,
		Mood:        l.mood,
		Suggestions: e.suggestionsFor(intent, tier),
	}
}

// suggestionsFor returns a fresh copy so callers cannot mutate the Engine.
func (e *Engine) suggestionsFor(intent, tier string) []string {
	s := e.suggestions[intent][tier]
	return append([]string(nil), s...)
}

// pickIndex calls pick(n) once and folds the result into [0,n).
func pickIndex(pick func(int) int, n int) int {
	if pick == nil || n <= 1 {
		if pick != nil {
			pick(n)
		}
		return 0
	}
	i := pick(n) % n
	if i < 0 {
		i += n
	}
	return i
}

// normTier maps ageTier to a known tier; unknown tiers get the youngest.
func normTier(ageTier string) string {
	switch ageTier {
	case Tier5to8, Tier9to12, Tier13to17:
		return ageTier
	}
	t := strings.TrimSpace(ageTier)
	t = strings.NewReplacer("\u2013", "-", "\u2014", "-", " ", "").Replace(t)
	switch t {
	case Tier5to8, Tier9to12, Tier13to17:
		return t
	}
	return Tier5to8
}
