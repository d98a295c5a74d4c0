package companion

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// seq returns a pick that cycles through vals (folded into range).
func seq(vals ...int) func(int) int {
	i := 0
	return func(n int) int {
		if n < 1 {
			panic("pick called with n < 1")
		}
		v := vals[i%len(vals)]
		i++
		return v
	}
}

// lcg is a deterministic pseudo-random pick for long runs.
func lcg(seed uint64) func(int) int {
	return func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
}

func TestClassifyAllIntents(t *testing.T) {
	m := New().matcher
	tests := []struct {
		text, intent, sub string
	}{
		// the original's traps and the false-positive guards
		{"my friend hit me", IntentFeelings, feelingHurt},
		{"this", IntentDefault, ""},
		{"this is a thing", IntentDefault, ""},
		{"something", IntentDefault, ""},
		{"homework", IntentDefault, ""},
		{"high five", IntentTricks, "high-five"},
		{"candy bar", IntentFood, ""},
		{"pot pie", IntentFood, ""},
		{"I want to visit my gran", IntentDefault, ""},
		{"guess what, I got a new pencil", IntentDefault, ""},
		{"I sit next to Sam in class", IntentDefault, ""},
		{"stay with me", IntentDefault, ""},
		{"my teacher is smart and kind", IntentDefault, ""},
		{"I don't want to play", IntentDefault, ""},
		{"I don't want to play fetch", IntentDefault, ""},
		{"no more jokes", IntentDefault, ""},
		{"I don't like to be sad", IntentFeelings, feelingSad},
		// greetings
		{"hi daisy!", IntentGreeting, ""},
		{"how are you", IntentGreeting, ""},
		// stories, facts, jokes
		{"tell me a story", IntentStories, ""},
		{"once upon a time", IntentStories, ""},
		{"tell me a dog fact", IntentFacts, ""},
		{"did you know", IntentFacts, ""},
		{"tell me a joke", IntentJokes, ""},
		// questions about Daisy, and about the child
		{"what's your name?", IntentAbout, aboutName},
		{"how old are you", IntentAbout, aboutAge},
		{"what kind of dog are you", IntentAbout, aboutBreed},
		{"what's your favourite food", IntentAbout, aboutFavFood},
		{"what is your favorite game", IntentAbout, aboutFavGame},
		{"what's your favourite colour", IntentAbout, aboutFavColour},
		{"where do you live", IntentAbout, aboutHome},
		{"are you real?", IntentAbout, aboutReal},
		{"what's my name", IntentAbout, aboutMe},
		{"how are you feeling", IntentAbout, aboutFeel},
		// tricks
		{"daisy sit!", IntentTricks, "sit"},
		{"sit", IntentTricks, "sit"},
		{"can you roll over", IntentTricks, "roll-over"},
		{"play dead", IntentTricks, "play-dead"},
		{"show me a trick", IntentTricks, ""},
		{"Dance!", IntentTricks, "dance"},
		// food and feeding
		{"give daisy a bone", IntentFood, "bone"},
		{"here is some bacon for you", IntentFood, "bacon"},
		{"want a treat?", IntentFood, foodOffer},
		{"I'm hungry", IntentFood, ""},
		{"I'm not hungry", IntentDefault, ""},
		// play and games
		{"let's play", IntentPlay, ""},
		{"play fetch", IntentPlay, GameFetch},
		{"tug of war!", IntentPlay, GameTug},
		{"hide and seek", IntentPlay, GameHide},
		{"let's play guess the number", IntentPlay, GameGuess},
		{"word scramble please", IntentPlay, GameScramble},
		// compliments
		{"you're so cute", IntentCompliment, ""},
		{"good girl!", IntentCompliment, ""},
		{"hi daisy, you're the best", IntentCompliment, ""},
		{"I love you daisy", IntentCompliment, ""},
	}
	for _, tt := range tests {
		intent, sub := m.classify(tt.text)
		if intent != tt.intent || sub != tt.sub {
			t.Errorf("classify(%q) = %s/%s, want %s/%s", tt.text, intent, sub, tt.intent, tt.sub)
		}
	}
}

func TestRespondFeeding(t *testing.T) {
	e := New()
	d := NewState(t0) // hunger 2
	tr := e.Respond(Input{Text: "here's some bacon!", Tier: Tier5to8, Now: t0, Daisy: d}, seq(0))
	if tr.Reply.Intent != IntentFood || tr.Daisy.Hunger != 1 || !tr.Daisy.LastFed.Equal(t0) {
		t.Fatalf("bacon: %+v hunger %d", tr.Reply, tr.Daisy.Hunger)
	}
	if !slices.ContainsFunc(e.pools[treatKey("bacon")][Tier5to8], func(l line) bool { return l.text == tr.Reply.Text }) {
		t.Errorf("bacon reply %q is not a bacon reaction", tr.Reply.Text)
	}
	if !slices.Contains(tr.Events, Event{Kind: EventFed, ID: "bacon", At: t0}) || tr.Reply.Mood != MoodExcited {
		t.Errorf("events %+v mood %s", tr.Events, tr.Reply.Mood)
	}
	// Every treat has its own reactions, per tier.
	for _, tier := range Tiers() {
		seen := map[string]string{}
		for _, tt := range Treats() {
			for _, l := range e.pools[treatKey(tt.ID)][tier] {
				if other, dup := seen[l.text]; dup {
					t.Errorf("%s/%s: reaction %q shared with %s", tier, tt.ID, l.text, other)
				}
				seen[l.text] = tt.ID
			}
		}
	}
	// Chicken fills more; full Daisy politely declines and nothing changes.
	tr = e.Respond(Input{Text: "chicken", Tier: Tier9to12, Now: t0.Add(time.Minute), Daisy: tr.Daisy}, nil)
	if tr.Daisy.Hunger != 0 {
		t.Fatalf("after chicken hunger = %d", tr.Daisy.Hunger)
	}
	full := e.Respond(Input{Text: "want a treat?", Tier: Tier9to12, Now: t0.Add(2 * time.Minute), Daisy: tr.Daisy}, nil)
	if full.Daisy.Hunger != 0 || !slices.ContainsFunc(e.pools[poolFull][Tier9to12], func(l line) bool { return l.text == full.Reply.Text }) {
		t.Errorf("full Daisy: %+v", full.Reply)
	}
	if len(full.Events) != 1 || full.Events[0].Kind != EventChat {
		t.Errorf("a declined treat is not an event: %+v", full.Events)
	}
	for _, s := range full.Reply.Suggestions {
		if e.Classify(s) == IntentFood {
			t.Errorf("full Daisy suggests food: %v", full.Reply.Suggestions)
		}
	}
	// Hours later she is hungry again.
	later := e.Respond(Input{Text: "hello", Tier: Tier9to12, Now: t0.Add(2*time.Minute + 4*HungerRiseEvery), Daisy: full.Daisy}, nil)
	if later.Daisy.Hunger != 4 || later.Reply.Mood != MoodHungry || later.Reply.Suggestions[0] != "Give Daisy a treat" {
		t.Errorf("hungry later: hunger %d mood %s suggestions %v", later.Daisy.Hunger, later.Reply.Mood, later.Reply.Suggestions)
	}
}

func TestRespondTricks(t *testing.T) {
	e := New()
	d := NewState(t0) // energy 5
	now := t0
	do := func(text string) Turn {
		tr := e.Respond(Input{Text: text, Tier: Tier9to12, Now: now, Daisy: d}, seq(0))
		d = tr.Daisy
		return tr
	}
	tr := do("daisy, dance!") // cost 3
	if tr.Reply.Intent != IntentTricks || d.Energy != 2 || !strings.Contains(tr.Reply.Text, "dancing") {
		t.Fatalf("dance: %+v energy %d", tr.Reply, d.Energy)
	}
	if !slices.Contains(tr.Events, Event{Kind: EventTrick, ID: "dance", At: now}) {
		t.Errorf("no trick event: %+v", tr.Events)
	}
	tr = do("dance") // too tired: kind refusal naming the trick, no change
	if d.Energy != 2 || !strings.Contains(tr.Reply.Text, "Dance") || len(tr.Events) != 1 {
		t.Errorf("tired dance: %+v energy %d events %v", tr.Reply, d.Energy, tr.Events)
	}
	if !slices.ContainsFunc(fillLines(e.pools[poolTired][Tier9to12], map[string]string{"trick": "Dance"}),
		func(l line) bool { return l.text == tr.Reply.Text }) {
		t.Errorf("tired reply not from the tired pool: %q", tr.Reply.Text)
	}
	for _, bad := range []string{"can't", "won't", "no!", "bad"} {
		if strings.Contains(strings.ToLower(tr.Reply.Text), bad) {
			t.Errorf("refusal is not kind: %q", tr.Reply.Text)
		}
	}
	tr = do("roll over") // cost 2 of 2
	if d.Energy != 0 || tr.Reply.Mood != MoodSleepy {
		t.Errorf("roll over: energy %d mood %s", d.Energy, tr.Reply.Mood)
	}
	tr = do("show me a trick") // nothing affordable
	if d.Energy != 0 || !strings.Contains(tr.Reply.Text, "a trick") {
		t.Errorf("generic trick when exhausted: %q", tr.Reply.Text)
	}
	for _, s := range tr.Reply.Suggestions {
		if e.classOf(s).physical {
			t.Errorf("exhausted Daisy suggests %q", s)
		}
	}
	now = now.Add(EnergyRecoverEvery) // rest: one energy back
	tr = do("do a trick")
	if tr.Reply.Intent != IntentTricks || d.Energy != 0 || len(tr.Events) != 2 {
		t.Errorf("after rest: %+v energy %d", tr.Reply, d.Energy)
	}
	if id := tr.Events[1].ID; id != "sit" && id != "stay" && id != "high-five" && id != "bow" {
		t.Errorf("generic trick %s costs more than 1", id)
	}
}

// Catalogue items are not repeated while unused ones remain, and no reply
// is ever the previous one.
func TestRespondNoRepeats(t *testing.T) {
	e := New()
	msgs := []string{"tell me a joke", "tell me a dog fact", "tell me a story", "hi", "do a trick", "you're cute",
		"what's your name", "blah blah", "I'm sad", "my friend hit me"}
	for _, tier := range Tiers() {
		for _, msg := range msgs {
			d, prev := NewState(t0), ""
			pick := lcg(uint64(len(msg)))
			var ids []string
			for i := 0; i < 60; i++ {
				now := t0.Add(time.Duration(i) * time.Hour) // energy recovers between tricks
				tr := e.Respond(Input{Text: msg, Tier: tier, Prev: prev, Now: now, Daisy: d}, pick)
				if tr.Reply.Text == prev {
					t.Fatalf("%s/%q turn %d repeated %q", tier, msg, i, prev)
				}
				for _, ev := range tr.Events[1:] {
					if ev.ID != "" && ev.Kind != EventFed {
						ids = append(ids, ev.ID)
					}
				}
				d, prev = tr.Daisy, tr.Reply.Text
			}
			if len(ids) == 0 {
				continue
			}
			distinct := map[string]bool{}
			for _, id := range ids {
				distinct[id] = true
			}
			window := min(maxRecent, len(distinct)-1)
			for i := range ids {
				for j := max(0, i-window); j < i; j++ {
					if ids[i] == ids[j] {
						t.Errorf("%s/%q: item %s repeated after %d turns (window %d)", tier, msg, ids[i], i-j, window)
					}
				}
			}
		}
	}
}

func TestRespondDeterministic(t *testing.T) {
	e1, e2 := New(), New()
	msgs := []string{"hi", "play guess my number", "5", "hint", "7", "tell me a joke", "give daisy a carrot",
		"let's play hide and seek", "I'll hide", "behind the tree", "ready", "ready", "do a trick", "word scramble", "xyz"}
	for _, tier := range Tiers() {
		run := func(e *Engine) []Turn {
			var out []Turn
			var d State
			var g *GameState
			prev := ""
			pick := lcg(42)
			for i, m := range msgs {
				tr := e.Respond(Input{Text: m, Tier: tier, Prev: prev, Now: t0.Add(time.Duration(i) * time.Minute), Daisy: d, Game: g}, pick)
				out = append(out, tr)
				d, g, prev = tr.Daisy, tr.Game, tr.Reply.Text
			}
			return out
		}
		a, b := run(e1), run(e2)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("tier %s: Respond is not deterministic", tier)
		}
	}
}

// Mood is always shown, and it is the state's mood.
func TestRespondMoodAndSuggestions(t *testing.T) {
	e := New()
	msgs := []string{"hi", "tell me a joke", "tell me a story", "tell me a dog fact", "sit", "bacon", "you're cute",
		"what's your name", "let's play", "play fetch", "throw", "stop", "blah", "I'm scared", "how are you feeling"}
	for _, tier := range Tiers() {
		var d State
		var g *GameState
		for i, m := range msgs {
			now := t0.Add(time.Duration(i) * time.Minute)
			tr := e.Respond(Input{Text: m, Tier: tier, Now: now, Daisy: d, Game: g}, lcg(7))
			d, g = tr.Daisy, tr.Game
			if tr.Reply.Mood == "" || tr.Reply.Mood != MoodAt(tr.Daisy, now) {
				t.Errorf("%s/%q: mood %q, state mood %q", tier, m, tr.Reply.Mood, MoodAt(tr.Daisy, now))
			}
			if n := len(tr.Reply.Suggestions); n < 2 || n > 3 {
				t.Errorf("%s/%q: %d suggestions %v", tier, m, n, tr.Reply.Suggestions)
			}
			if tr.Reply.Intent == IntentFeelings && tr.Reply.Mood != MoodConcerned {
				t.Errorf("feelings without concern")
			}
		}
	}
}

// Every suggestion a child can tap is understood when sent back.
func TestSuggestionsAreUnderstood(t *testing.T) {
	e := New()
	chatty := []string{"Tell Daisy more", "Keep talking", "Just chat", "Keep talking to Daisy", "Take a slow breath with Daisy",
		"Take a slow breath together", "Take a slow breath", "Find a grown-up for a hug", "Talk to a grown-up you trust",
		"Talk to someone you trust", "I'm going to talk to a grown-up", "Try again in a little while", "Okay, bye Daisy", "See you tomorrow"}
	var all []string
	for _, byTier := range e.suggestions {
		for _, s := range byTier {
			all = append(all, s...)
		}
	}
	for _, tier := range Tiers() {
		for _, g := range sampleGames(tier) {
			if g.Phase == PhaseOver || g.Kind == "" {
				all = append(all, gameSuggestions(g)...)
			}
		}
	}
	for _, s := range all {
		if slices.Contains(chatty, s) {
			continue
		}
		if in := e.Classify(s); in == IntentDefault || in == IntentFeelings {
			t.Errorf("suggestion %q classifies as %s", s, in)
		}
	}
	for _, k := range GameKinds() {
		if _, sub := e.matcher.classify(gamePhrase(k)); sub != k {
			t.Errorf("gamePhrase(%s) = %q classifies as %q", k, gamePhrase(k), sub)
		}
		if _, sub := e.matcher.classify(gamePhrase(k) + " again"); sub != k {
			t.Errorf("%q again does not restart %s", gamePhrase(k), k)
		}
	}
}

func TestRespondParentalToggles(t *testing.T) {
	e := New()
	c := DefaultControls()
	c.Jokes, c.Games, c.Stories = false, false, false
	for _, tier := range Tiers() {
		for _, m := range []string{"tell me a joke", "play fetch", "let's play", "tell me a story"} {
			tr := e.Respond(Input{Text: m, Tier: tier, Now: t0, Daisy: NewState(t0), Controls: &c}, nil)
			if tr.Reply.Intent != IntentFeatureOff || tr.Game != nil || len(tr.Events) != 1 {
				t.Errorf("%s/%q with feature off: %+v game %v", tier, m, tr.Reply, tr.Game)
			}
		}
		for _, m := range []string{"hi", "tell me a dog fact", "sit", "my friend hit me"} {
			tr := e.Respond(Input{Text: m, Tier: tier, Now: t0, Daisy: NewState(t0), Controls: &c}, nil)
			for _, s := range tr.Reply.Suggestions {
				if f := FeatureFor(e.Classify(s)); !c.Allows(f) {
					t.Errorf("%s/%q suggests switched-off %q", tier, m, s)
				}
			}
			if len(tr.Reply.Suggestions) < 2 {
				t.Errorf("%s/%q: too few suggestions %v", tier, m, tr.Reply.Suggestions)
			}
		}
	}
}

func TestRespondGameRouting(t *testing.T) {
	e := New()
	now := t0
	tr := e.Respond(Input{Text: "let's play guess my number", Tier: Tier9to12, Now: now, Daisy: NewState(now)}, seq(6)) // secret 7
	if tr.Game == nil || tr.Game.Kind != GameGuess || tr.Game.Secret != 7 || tr.Reply.Intent != IntentGame {
		t.Fatalf("start: %+v %+v", tr.Reply, tr.Game)
	}
	if !slices.ContainsFunc(tr.Events, func(ev Event) bool { return ev.Kind == EventGameStart && ev.ID == GameGuess }) {
		t.Errorf("no start event: %+v", tr.Events)
	}
	g := *tr.Game
	step := func(text string) Turn {
		now = now.Add(time.Minute)
		return e.Respond(Input{Text: text, Tier: Tier9to12, Now: now, Daisy: tr.Daisy, Game: &g}, seq(0))
	}
	// A hard feeling mid-game gets warmth, not a hint; the game waits.
	sad := step("I'm sad, I miss my grandma")
	if sad.Reply.Intent != IntentFeelings || sad.Reply.Mood != MoodConcerned || sad.Game == nil ||
		sad.Game.Tries != g.Tries || sad.Game.Phase != PhasePlay || sad.Outcome == nil || sad.Outcome.Moved {
		t.Errorf("feelings mid-game: %+v %+v %+v", sad.Reply, sad.Game, sad.Outcome)
	}
	// Another topic: answered, game kept as it was.
	joke := step("tell me a joke")
	if joke.Reply.Intent != IntentJokes || joke.Game == nil || !reflect.DeepEqual(*joke.Game, g) || joke.Outcome != nil {
		t.Errorf("joke mid-game: %+v %+v", joke.Reply, joke.Game)
	}
	// Gibberish: a friendly hint from the game, nothing changes.
	hint := step("banana")
	if hint.Reply.Intent != IntentGame || hint.Outcome.Moved || hint.Game.Tries != g.Tries {
		t.Errorf("gibberish mid-game: %+v %+v", hint.Reply, hint.Outcome)
	}
	// A move.
	mv := step("seven")
	if !mv.Outcome.Over || !mv.Outcome.Won || mv.Game.Phase != PhaseOver {
		t.Errorf("winning guess: %+v %+v", mv.Reply, mv.Outcome)
	}
	if !slices.ContainsFunc(mv.Events, func(ev Event) bool { return ev.Kind == EventGameOver && ev.Won && ev.ID == GameGuess }) {
		t.Errorf("no game-over event: %+v", mv.Events)
	}
	// A finished game no longer catches messages.
	g = *mv.Game
	after := step("5")
	if after.Reply.Intent == IntentGame || after.Game != nil {
		t.Errorf("finished game still playing: %+v %+v", after.Reply, after.Game)
	}
	// An idle game lapses.
	g = GameState{V: 1, Kind: GameTug, Tier: Tier9to12, Phase: PhasePlay, Started: now, Updated: now}
	now = now.Add(GameIdle)
	lapsed := e.Respond(Input{Text: "pull", Tier: Tier9to12, Now: now, Daisy: tr.Daisy, Game: &g}, nil)
	if lapsed.Reply.Intent == IntentGame || lapsed.Game != nil {
		t.Errorf("lapsed game: %+v", lapsed.Reply)
	}
	// Asking for another game switches.
	g.Updated = now
	sw := e.Respond(Input{Text: "let's play fetch instead", Tier: Tier9to12, Now: now, Daisy: tr.Daisy, Game: &g}, nil)
	if sw.Game == nil || sw.Game.Kind != GameFetch {
		t.Errorf("switch: %+v", sw.Game)
	}
	// "hide and seek, you hide" skips the question.
	hs := e.Respond(Input{Text: "let's play hide and seek, you hide", Tier: Tier5to8, Now: now, Daisy: NewState(now)}, seq(2))
	if hs.Game == nil || hs.Game.Phase != PhaseSeek || hs.Game.Spot != "tree" {
		t.Errorf("hide and seek with mode: %+v", hs.Game)
	}
}

// The stateless Reply handles every intent, calls pick once and never
// touches games.
func TestReplyAllIntents(t *testing.T) {
	e := New()
	for _, tier := range Tiers() {
		for _, m := range []string{"tell me a story", "dog fact", "daisy sit", "do a trick", "give daisy bacon", "want a treat",
			"what's your name", "how are you feeling", "you're cute", "play fetch", "let's play", "what's my name"} {
			calls := 0
			r := e.Reply(m, tier, "", fixed(1, &calls))
			if calls != 1 || r.Text == "" || r.Mood == "" || r.Intent == IntentGame || len(r.Suggestions) < 2 {
				t.Errorf("Reply(%q,%s) = %+v, pick calls %d", m, tier, r, calls)
			}
		}
	}
}

func TestFeatureFor(t *testing.T) {
	for intent, want := range map[string]Feature{IntentJokes: FeatureJokes, IntentStories: FeatureStories,
		IntentPlay: FeatureGames, IntentGame: FeatureGames, IntentFacts: FeatureChat, IntentGreeting: FeatureChat} {
		if got := FeatureFor(intent); got != want {
			t.Errorf("FeatureFor(%s) = %s", intent, got)
		}
	}
}

func TestConcurrentRespondAndPlay(t *testing.T) {
	e := New()
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- true }()
			var d State
			var game *GameState
			pick := lcg(uint64(g))
			for i := 0; i < 100; i++ {
				msg := []string{"play fetch", "throw", "tell me a joke", "sit", "bacon", "word scramble", "hint", "guess my number", "5"}[i%9]
				tr := e.Respond(Input{Text: msg, Tier: Tiers()[g%3], Now: t0.Add(time.Duration(i) * time.Minute), Daisy: d, Game: game}, pick)
				tr.Reply.Suggestions = append(tr.Reply.Suggestions[:0], "mutated")
				d, game = tr.Daisy, tr.Game
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	if r := e.Respond(Input{Text: "hi", Tier: Tier5to8, Now: t0}, nil); slices.Contains(r.Reply.Suggestions, "mutated") {
		t.Errorf("shared suggestions mutated")
	}
}
