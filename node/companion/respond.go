package companion

import (
	"strings"
	"time"
)

// Input is everything Respond needs for one chat turn. The caller has
// already run the safety policy on Text and decided it may reach Daisy.
type Input struct {
	Text string
	Tier string
	// Prev is Daisy's previous reply text to this child ("" if none);
	// Respond never returns it again.
	Prev string
	Now  time.Time
	// Daisy is the stored state (the zero value for a new child).
	Daisy State
	// Game is the stored game session, nil if none.
	Game *GameState
	// Controls are the child's parental controls; nil means
	// DefaultControls. Respond only uses the feature toggles: time limits
	// and bedtime are the caller's job (Allowed) before Respond.
	Controls *Controls
}

// Turn is the result of Respond: the reply and everything to persist.
type Turn struct {
	Reply Reply `json:"reply"`
	// Daisy is the new state to store.
	Daisy State `json:"daisy"`
	// Game is the game session to store after this turn: nil when there is
	// none (delete any stored one); Phase PhaseOver when it just ended.
	Game *GameState `json:"game,omitempty"`
	// Outcome is set when this turn was a game move.
	Outcome *Outcome `json:"outcome,omitempty"`
	// Events feed Award (achievements and stats), in order.
	Events []Event `json:"events"`
}

// item is a line that may come from a catalogue item (id set).
type item struct {
	text, mood, id string
	cost           int // tricks: energy cost
}

func itemsOf(ls []line) []item {
	out := make([]item, len(ls))
	for i, l := range ls {
		out[i] = item{text: l.text, mood: l.mood}
	}
	return out
}

// Respond is Daisy's full, stateful turn: it routes the message to the
// active game or to chat, updates her state (hunger, energy, mood,
// recently used items), may start a game the child asked for, and
// reports events for achievements. It is deterministic given its input
// and pick; pick may be called several times (games shuffle), so callers
// replicate the resulting Turn, never re-run Respond on another node.
func (e *Engine) Respond(in Input, pick func(n int) int) Turn {
	tier := normTier(in.Tier)
	now := in.Now
	d := StateAt(in.Daisy, now)
	ctrl := DefaultControls()
	if in.Controls != nil {
		ctrl = *in.Controls
	}
	w := splitWords(in.Text)
	intent, sub := e.matcher.classifyWords(w)
	t := Turn{Events: []Event{{Kind: EventChat, At: stamp(now)}}}

	if in.Game != nil && in.Game.Active(now) {
		g := in.Game.clone()
		if !(intent == IntentPlay && sub != "" && sub != g.Kind) {
			d2, g2, r, out := e.Play(d, g, in.Text, now, pick)
			if out.Moved || r.Intent == IntentFeelings || intent == IntentDefault || intent == IntentPlay {
				t.Reply, t.Daisy, t.Game, t.Outcome = r, d2, &g2, &out
				if out.Over {
					t.Events = append(t.Events, Event{Kind: EventGameOver, ID: g2.Kind, Won: out.Won, At: stamp(now)})
				}
				return t
			}
			// Something else entirely ("tell me a joke"): answer it and
			// keep the game waiting, untouched.
			t.Game = &g
		}
	}
	c := chatTurn{e: e, tier: tier, prev: in.Prev, now: now, d: &d, ctrl: ctrl, w: w, text: in.Text}
	r, evs, g := c.run(intent, sub, pick)
	if g != nil {
		t.Game = g
	}
	t.Reply, t.Daisy = r, d
	t.Events = append(t.Events, evs...)
	return t
}

// chatTurn is one chat reply in the making. d is nil for the stateless
// Reply: no state filters, no state changes, no games.
type chatTurn struct {
	e    *Engine
	tier string
	prev string
	now  time.Time
	d    *State
	ctrl Controls
	w    words
	text string
}

func (c *chatTurn) run(intent, sub string, pick func(int) int) (Reply, []Event, *GameState) {
	e, tier := c.e, c.tier
	var evs []Event
	ev := func(kind, id string) { evs = append(evs, Event{Kind: kind, ID: id, At: stamp(c.now)}) }
	cat := e.tiers[tier]
	key, it := intent, item{}
	switch intent {
	case IntentFeelings:
		key = feelingKey(sub)
		if c.d != nil {
			c.d.LastConcern = stamp(c.now)
		}
		it = c.choose(itemsOf(e.pools[key][tier]), false, pick)
	case IntentJokes, IntentStories, IntentFacts:
		f := FeatureFor(intent)
		if !c.ctrl.Allows(f) {
			return c.off(f, pick), nil, nil
		}
		it = c.choose(e.items[intent][tier], true, pick)
		c.remember(it.id)
		ev(map[string]string{IntentJokes: EventJoke, IntentStories: EventStory, IntentFacts: EventFact}[intent], it.id)
	case IntentTricks:
		return c.trick(sub, cat, pick)
	case IntentFood:
		if sub == "" {
			it = c.choose(itemsOf(e.pools[IntentFood][tier]), false, pick)
			break
		}
		treat := sub
		if sub == foodOffer {
			treat = "biscuit"
		}
		tr, _ := treatByID(treat)
		if c.d != nil && c.d.Hunger == 0 {
			it = c.choose(itemsOf(e.pools[poolFull][tier]), false, pick)
			break
		}
		it = c.choose(itemsOf(e.pools[treatKey(tr.ID)][tier]), false, pick)
		if c.d != nil {
			*c.d = c.d.fed(tr.Fill, c.now)
		}
		ev(EventFed, tr.ID)
	case IntentPlay:
		if !c.ctrl.Allows(FeatureGames) {
			return c.off(FeatureGames, pick), nil, nil
		}
		if sub != "" && c.d != nil {
			d, g, r := e.Start(*c.d, sub, tier, c.now, pick)
			if g.Kind == GameHide && hideMode(c.w) != "" {
				// "let's play hide and seek, you hide": skip the question
				d, g, r, _ = e.Play(d, g, c.text, c.now, pick)
			}
			*c.d = d
			if !g.Active(c.now) {
				return r, nil, nil
			}
			evs = append(evs, Event{Kind: EventGameStart, ID: g.Kind, At: stamp(c.now)})
			return r, evs, &g
		}
		it = c.choose(itemsOf(e.pools[IntentPlay][tier]), false, pick)
	case IntentAbout:
		key = aboutKey(sub)
		if sub == aboutFeel {
			mood := MoodHappy
			if c.d != nil {
				mood = MoodAt(*c.d, c.now)
			}
			key = feelKey(mood)
		}
		it = c.choose(itemsOf(e.pools[key][tier]), false, pick)
	default: // greeting, compliment, default
		it = c.choose(itemsOf(e.pools[intent][tier]), false, pick)
	}
	return c.reply(intent, it), evs, nil
}

// trick does the named trick (or one Daisy picks) if she has the energy.
func (c *chatTurn) trick(id string, cat Catalog, pick func(int) int) (Reply, []Event, *GameState) {
	e, tier := c.e, c.tier
	energy := MaxLevel
	if c.d != nil {
		energy = c.d.Energy
	}
	var cands []item
	name := ""
	if t, ok := cat.trick(id); ok {
		name = t.Name
		if t.EnergyCost <= energy {
			cands = e.items[trickPool(t.ID)][tier]
		}
	} else {
		name = "a trick"
		for _, t := range cat.Tricks {
			if t.EnergyCost <= energy {
				cands = append(cands, e.items[trickPool(t.ID)][tier]...)
			}
		}
	}
	if len(cands) == 0 {
		tired := fillLines(e.pools[poolTired][tier], map[string]string{"trick": name})
		it := c.choose(itemsOf(tired), false, pick)
		return c.reply(IntentTricks, it), nil, nil
	}
	it := c.choose(cands, id == "", pick)
	if c.d != nil {
		d, _ := c.d.spent(it.cost, c.now)
		*c.d = d
	}
	c.remember(it.id)
	return c.reply(IntentTricks, it), []Event{{Kind: EventTrick, ID: it.id, At: stamp(c.now)}}, nil
}

// off is the kind reply when a parent switched feature f off.
func (c *chatTurn) off(f Feature, pick func(int) int) Reply {
	it := c.choose(itemsOf(c.e.pools[featureKey(f)][c.tier]), false, pick)
	return c.reply(IntentFeatureOff, it)
}

func (c *chatTurn) remember(id string) {
	if c.d != nil && id != "" {
		*c.d = c.d.remember(id)
	}
}

// reply wraps a chosen line: the mood comes from the state when there is
// one (Respond), from the line otherwise (Reply).
func (c *chatTurn) reply(intent string, it item) Reply {
	r := Reply{Intent: intent, Text: it.text, Mood: it.mood}
	if c.d != nil {
		r.Mood = MoodAt(*c.d, c.now)
		r.Suggestions = c.e.suggest(intent, c.tier, c.d, c.now, c.ctrl)
	} else {
		r.Suggestions = c.e.suggestionsFor(intent, c.tier)
	}
	return r
}

// choose picks one candidate with a single call to pick. With state, it
// prefers lines that fit Daisy's mood and (when useRecent) items not used
// recently; it never returns the previous reply when another candidate
// exists.
func (c *chatTurn) choose(cands []item, useRecent bool, pick func(int) int) item {
	if len(cands) == 0 {
		return item{text: "*wags tail*", mood: MoodHappy}
	}
	if c.d != nil {
		d := *c.d
		if useRecent {
			excl := recentlyUsed(cands, d.Recent)
			cands = prefer(cands, func(it item) bool { return !excl[it.id] })
		}
		cands = prefer(cands, func(it item) bool { return fitsMood(it.mood, d) })
	}
	cands = prefer(cands, func(it item) bool { return it.text != c.prev })
	return cands[pickIndex(pick, len(cands))]
}

// recentlyUsed returns the IDs among cands used most recently: up to one
// less than the number of distinct IDs, so the least recently used item
// always stays available and no item repeats within that many turns (as far
// as State.Recent remembers).
func recentlyUsed(cands []item, recent []string) map[string]bool {
	ids := map[string]bool{}
	for _, it := range cands {
		if it.id != "" {
			ids[it.id] = true
		}
	}
	excl := map[string]bool{}
	for i := len(recent) - 1; i >= 0 && len(excl) < len(ids)-1; i-- {
		if ids[recent[i]] {
			excl[recent[i]] = true
		}
	}
	return excl
}

// prefer keeps the candidates that pass ok, unless none does. When all
// or none pass it returns cands itself (no copy).
func prefer(cands []item, ok func(item) bool) []item {
	n := 0
	for _, it := range cands {
		if ok(it) {
			n++
		}
	}
	if n == 0 || n == len(cands) {
		return cands
	}
	out := make([]item, 0, n)
	for _, it := range cands {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}

// fitsMood: a hungry line needs a hungry Daisy, a sleepy line a tired one,
// a bouncy line some energy.
func fitsMood(mood string, d State) bool {
	switch mood {
	case MoodHungry:
		return d.Hunger >= 3
	case MoodSleepy:
		return d.Energy <= 2
	case MoodExcited, MoodPlayful:
		return d.Energy >= 2
	}
	return true
}

// chooseIndex picks among lines with one call to pick, skipping the line
// equal to avoid (or, with contained, any line contained in avoid).
func chooseIndex(lines []line, avoid string, pick func(int) int, contained bool) int {
	var idx []int
	for i, l := range lines {
		if avoid == "" || (l.text != avoid && !(contained && strings.Contains(avoid, l.text))) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return pickIndex(pick, len(lines))
	}
	return idx[pickIndex(pick, len(idx))]
}

// fillLines replaces {placeholders} in lines with vars.
func fillLines(ls []line, vars map[string]string) []line {
	if len(vars) == 0 {
		return ls
	}
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	r := strings.NewReplacer(pairs...)
	out := make([]line, len(ls))
	for i, l := range ls {
		out[i] = line{r.Replace(l.text), l.mood}
	}
	return out
}

// Suggestions every turn may add (see suggest).
const (
	suggestTreat = "Give Daisy a treat"
	suggestGuess = "Guess my number"
	suggestFact  = "Tell me a dog fact"
	suggestChat  = "Just chat"
)

func fixedSuggestions() []string {
	return []string{suggestTreat, suggestGuess, suggestFact, suggestChat}
}

// suggest: the intent's suggestions, adjusted to Daisy's state and the
// parental feature toggles, 2–3 of them.
func (e *Engine) suggest(intent, tier string, d *State, now time.Time, ctrl Controls) []string {
	base := e.suggestionsFor(intent, tier)
	if intent == IntentFeelings || intent == IntentSupport {
		return base
	}
	var s []string
	if d.Hunger >= 3 && intent != IntentFood {
		s = append(s, suggestTreat)
	}
	for _, x := range base {
		if d.Energy <= 1 && e.classOf(x).physical {
			x = suggestGuess
		}
		s = append(s, x)
	}
	s = append(s, suggestFact, suggestTreat, suggestChat)
	var out []string
	for _, x := range s {
		if len(out) == 3 {
			break
		}
		in := e.classOf(x).intent
		if contains(out, x) || !ctrl.Allows(FeatureFor(in)) || (in == IntentFood && d.Hunger == 0) {
			continue
		}
		out = append(out, x)
	}
	return out
}

// isPhysical: a suggestion of this intent and sub-key would spend Daisy's
// energy.
func isPhysical(intent, sub string) bool {
	return intent == IntentTricks || (intent == IntentPlay && sub != GameGuess && sub != GameScramble)
}

// FeatureFor maps an intent to the parental feature that governs it:
// jokes, stories, games (play and game moves), or chat for everything else.
func FeatureFor(intent string) Feature {
	switch intent {
	case IntentJokes:
		return FeatureJokes
	case IntentStories:
		return FeatureStories
	case IntentPlay, IntentGame:
		return FeatureGames
	}
	return FeatureChat
}
