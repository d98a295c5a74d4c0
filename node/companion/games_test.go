package companion

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// gameRun drives one game with scripted picks.
type gameRun struct {
	t   *testing.T
	e   *Engine
	d   State
	g   GameState
	now time.Time
}

func startGame(t *testing.T, kind, tier string, pick func(int) int) *gameRun {
	t.Helper()
	e := New()
	d, g, r := e.Start(NewState(t0), kind, tier, t0, pick)
	if !g.Active(t0) || r.Intent != IntentGame || r.Text == "" {
		t.Fatalf("Start(%s, %s): %+v %+v", kind, tier, g, r)
	}
	return &gameRun{t: t, e: e, d: d, g: g, now: t0}
}

func (gr *gameRun) play(move string, pick func(int) int) (Reply, Outcome) {
	gr.t.Helper()
	gr.now = gr.now.Add(time.Minute)
	before := gr.g
	d, g, r, out := gr.e.Play(gr.d, gr.g, move, gr.now, pick)
	if r.Text == "" || r.Mood == "" || len(r.Suggestions) < 2 {
		gr.t.Fatalf("Play(%q): empty reply %+v", move, r)
	}
	if !out.Moved && g.Phase == before.Phase && (g.Tries != before.Tries || g.Score != before.Score || g.Rope != before.Rope) {
		gr.t.Fatalf("Play(%q): not moved but the game changed", move)
	}
	gr.d, gr.g = d, g
	return r, out
}

func TestStartCostsAndRefusals(t *testing.T) {
	e := New()
	for _, kind := range GameKinds() {
		info, _ := e.catalog.game(kind)
		d, g, _ := e.Start(NewState(t0), kind, Tier9to12, t0, seq(0))
		if d.Energy != DefaultEnergy-info.EnergyCost || !g.Active(t0) || g.V != GameStateVersion || g.Tier != Tier9to12 {
			t.Errorf("%s: energy %d game %+v", kind, d.Energy, g)
		}
		tired := State{V: 1, Hunger: 2, Energy: 0, HungerAt: t0, EnergyAt: t0}
		d, g, r := e.Start(tired, kind, Tier9to12, t0, seq(0))
		if info.EnergyCost == 0 {
			if !g.Active(t0) {
				t.Errorf("%s: a quiet game must start even when Daisy is tired", kind)
			}
			continue
		}
		if g.Active(t0) || d.Energy != 0 || !strings.Contains(r.Text, strings.ToLower(info.Name)) || r.Mood != MoodSleepy {
			t.Errorf("%s when tired: %+v %+v", kind, g, r)
		}
	}
	_, g, r := e.Start(NewState(t0), "chess", Tier5to8, t0, nil)
	if g.Active(t0) || !strings.Contains(r.Text, "fetch") {
		t.Errorf("unknown game: %+v %+v", g, r)
	}
}

func TestFetch(t *testing.T) {
	gr := startGame(t, GameFetch, Tier5to8, nil)
	if gr.g.Tries != 5 {
		t.Fatalf("throws = %d", gr.g.Tries)
	}
	if _, out := gr.play("banana", seq(0)); out.Moved {
		t.Errorf("banana is not a throw")
	}
	steps := []struct {
		move  string
		pick  int
		score int
		key   string
	}{
		{"throw", 0, 0, "fetch.miss"},
		{"throw the ball", 1, 1, "fetch.catch"},
		{"throw it far!", 2, 3, "fetch.catch_far"},
		{"throw it far", 1, 3, "fetch.miss_far"},
		{"again", 3, 4, "fetch.catch"},
	}
	for i, s := range steps {
		r, out := gr.play(s.move, seq(s.pick))
		if !out.Moved || gr.g.Score != s.score || gr.g.Tries != 4-i {
			t.Fatalf("step %d %q: score %d tries %d %+v", i, s.move, gr.g.Score, gr.g.Tries, out)
		}
		if !fromPool(gr.e, s.key, Tier5to8, r.Text) {
			t.Errorf("step %d: %q is not a %s line", i, r.Text, s.key)
		}
	}
	if gr.g.Phase != PhaseOver || !gr.g.Won || gr.g.Score != 4 {
		t.Errorf("fetch end: %+v", gr.g)
	}
	// A losing game, and stopping early.
	gr = startGame(t, GameFetch, Tier13to17, nil)
	for i := 0; i < 5; i++ {
		gr.play("throw", seq(0))
	}
	if gr.g.Phase != PhaseOver || gr.g.Won || gr.g.Score != 0 {
		t.Errorf("all misses: %+v", gr.g)
	}
	gr = startGame(t, GameFetch, Tier9to12, nil)
	gr.play("throw", seq(1))
	if _, out := gr.play("I want to stop", nil); !out.Over || !out.Quit || out.Won || out.Score != 1 {
		t.Errorf("stop: %+v", out)
	}
	gr = startGame(t, GameFetch, Tier9to12, nil)
	if _, out := gr.play("don't stop, throw", seq(1)); out.Quit || !out.Moved {
		t.Errorf("\"don't stop\" stopped the game: %+v", out)
	}
}

func TestTugOfWar(t *testing.T) {
	tests := []struct {
		name  string
		pick  int
		pulls int
		won   bool
		rope  int
		key   string
	}{
		{"child wins", 0, 3, true, 3, "tug.win"},
		{"Daisy wins", 2, 3, false, -3, "tug.lose"},
		{"tie", 1, tugMaxRounds, false, 0, "tug.tie"},
	}
	for _, tt := range tests {
		gr := startGame(t, GameTug, Tier9to12, nil)
		var r Reply
		var out Outcome
		for i := 0; i < tt.pulls; i++ {
			if gr.g.Phase == PhaseOver {
				t.Fatalf("%s: over after %d pulls", tt.name, i)
			}
			r, out = gr.play("pull!", seq(tt.pick))
		}
		if !out.Over || out.Won != tt.won || gr.g.Rope != tt.rope || !strings.HasSuffix(r.Text, lineOf(gr.e, tt.key, Tier9to12)) {
			t.Errorf("%s: %+v rope %d %q", tt.name, out, gr.g.Rope, r.Text)
		}
		if tt.won && out.Score != tugMaxRounds+1-tt.pulls {
			t.Errorf("%s: score %d", tt.name, out.Score)
		}
	}
	gr := startGame(t, GameTug, Tier5to8, nil)
	if _, out := gr.play("what?", nil); out.Moved {
		t.Errorf("nonsense moved the rope")
	}
	r, out := gr.play("I let go", nil)
	if !out.Over || out.Won || !strings.Contains(r.Text, "let go") {
		t.Errorf("let go: %+v %q", out, r.Text)
	}
}

func TestHideAndSeekDaisyHides(t *testing.T) {
	gr := startGame(t, GameHide, Tier5to8, nil)
	if gr.g.Phase != PhaseChoose {
		t.Fatalf("phase %s", gr.g.Phase)
	}
	if _, out := gr.play("banana", nil); out.Moved {
		t.Errorf("banana chose a mode")
	}
	r, _ := gr.play("you hide", seq(2)) // spots[2] = tree
	if gr.g.Phase != PhaseSeek || gr.g.Spot != "tree" || gr.g.Tries != hideTries || !strings.Contains(r.Text, "behind the couch") {
		t.Fatalf("daisy hides: %+v %q", gr.g, r.Text)
	}
	r, _ = gr.play("is it the sofa?", nil)
	if gr.g.Tries != 2 || !strings.Contains(r.Text, "tall with branches") {
		t.Errorf("wrong guess (5-8 gets a clue): %+v %q", gr.g, r.Text)
	}
	r, out := gr.play("couch", nil)
	if gr.g.Tries != 2 || !out.Moved || !strings.Contains(r.Text, "already") {
		t.Errorf("repeat guess costs nothing: %+v %q", gr.g, r.Text)
	}
	if r, _ = gr.play("give me a hint", nil); gr.g.Tries != 2 || !strings.Contains(r.Text, "tall with branches") {
		t.Errorf("hint: %q", r.Text)
	}
	if _, out = gr.play("pizza", nil); out.Moved {
		t.Errorf("no spot named: moved")
	}
	r, out = gr.play("behind the TREE", nil)
	if !out.Over || !out.Won || out.Score != 2 || !strings.Contains(r.Text, "behind the tree") {
		t.Errorf("found: %+v %q", out, r.Text)
	}

	// Teens: no free clue, and three misses reveal the spot.
	gr = startGame(t, GameHide, Tier13to17, nil)
	gr.play("you can hide", seq(7)) // laundry basket
	r, _ = gr.play("couch", nil)
	if strings.Contains(r.Text, "Clue") {
		t.Errorf("13-17 got a clue without asking: %q", r.Text)
	}
	gr.play("bed", nil)
	r, out = gr.play("table", nil)
	if !out.Over || out.Won || !strings.Contains(r.Text, "in the laundry basket") {
		t.Errorf("lost: %+v %q", out, r.Text)
	}
	// The view never shows where Daisy is while playing.
	gr = startGame(t, GameHide, Tier9to12, nil)
	gr.play("you hide", seq(4))
	b, _ := json.Marshal(gr.g.View(gr.now))
	if strings.Contains(string(b), "bush") && !strings.Contains(string(b), "in the bush") || strings.Contains(string(b), `"spot"`) {
		t.Errorf("view leaks the spot: %s", b)
	}
}

func TestHideAndSeekChildHides(t *testing.T) {
	gr := startGame(t, GameHide, Tier9to12, nil)
	gr.play("I'll hide", nil)
	if gr.g.Phase != PhaseHide {
		t.Fatalf("phase %s", gr.g.Phase)
	}
	if _, out := gr.play("somewhere", nil); out.Moved {
		t.Errorf("unknown spot accepted")
	}
	// Daisy searches three of six spots; picks 0 each time → couch, bed, tree.
	r, _ := gr.play("under the table", seq(0))
	if gr.g.Phase != PhaseSearch || gr.g.Spot != "table" || gr.g.Tries != 2 || !strings.Contains(r.Text, "behind the couch") {
		t.Fatalf("hidden: %+v %q", gr.g, r.Text)
	}
	if _, out := gr.play("what's for dinner?", nil); out.Moved {
		t.Errorf("unrelated text moved the search")
	}
	gr.play("ready", seq(0))
	r, out := gr.play("...", seq(0))
	if !out.Over || !out.Won || len(gr.g.Checked) != 3 {
		t.Errorf("child should win: %+v %+v %q", out, gr.g, r.Text)
	}
	// Daisy finds the child.
	gr = startGame(t, GameHide, Tier5to8, nil)
	gr.play("me", nil)
	r, out = gr.play("in the big box", seq(3)) // spots[3] = box
	if !out.Over || out.Won || !strings.Contains(r.Text, "FOUND YOU") {
		t.Errorf("found child: %+v %q", out, r.Text)
	}
	// Stopping while hidden.
	gr = startGame(t, GameHide, Tier5to8, nil)
	gr.play("i will hide", nil)
	if _, out = gr.play("stop playing", nil); !out.Over || !out.Quit {
		t.Errorf("stop while hiding: %+v", out)
	}
}

func TestGuessNumber(t *testing.T) {
	for tier, tries := range map[string]int{Tier5to8: 5, Tier9to12: 4, Tier13to17: 3} {
		gr := startGame(t, GameGuess, tier, seq(6)) // secret 7
		if gr.g.Secret != 7 || gr.g.Tries != tries {
			t.Fatalf("%s: %+v", tier, gr.g)
		}
		r, out := gr.play("is it 3?", nil)
		if gr.g.Tries != tries-1 || !strings.Contains(strings.ToLower(r.Text), "higher") || out.Over {
			t.Errorf("%s: 3 → %q %+v", tier, r.Text, gr.g)
		}
		if r, _ = gr.play("nine", nil); !strings.Contains(strings.ToLower(r.Text), "lower") {
			t.Errorf("%s: nine → %q", tier, r.Text)
		}
		left := gr.g.Tries
		if left == 0 {
			continue // 13-17 has no try left to test the rest
		}
		if r, _ = gr.play("3", nil); gr.g.Tries != left || !strings.Contains(r.Text, "already") {
			t.Errorf("%s: repeat guess: %q tries %d", tier, r.Text, gr.g.Tries)
		}
		if _, out = gr.play("42", nil); out.Moved || gr.g.Tries != left {
			t.Errorf("%s: 42 is out of range", tier)
		}
		hints := []string{"odd", "bigger than 5", "No more hints"}
		for _, h := range hints {
			if r, _ = gr.play("hint please", nil); !strings.Contains(r.Text, h) || gr.g.Tries != left {
				t.Errorf("%s: hint %q → %q", tier, h, r.Text)
			}
		}
		r, out = gr.play("7", nil)
		if !out.Over || !out.Won || out.Score != left {
			t.Errorf("%s: win %+v %q", tier, out, r.Text)
		}
	}
	// Losing reveals the number.
	gr := startGame(t, GameGuess, Tier13to17, seq(0)) // secret 1
	var r Reply
	var out Outcome
	for _, g := range []string{"5", "4", "3"} {
		r, out = gr.play(g, nil)
	}
	if !out.Over || out.Won || !strings.Contains(r.Text, "It was 1") {
		t.Errorf("lose: %+v %q", out, r.Text)
	}
	if n, ok := numberIn(splitWords("I think it's TEN")); !ok || n != 10 {
		t.Errorf("numberIn(ten) = %d %v", n, ok)
	}
}

func TestWordScramble(t *testing.T) {
	gr := startGame(t, GameScramble, Tier5to8, seq(0)) // first word: dog
	if gr.g.Word != "dog" || gr.g.Shown == "D O G" || len(strings.ReplaceAll(gr.g.Shown, " ", "")) != 3 {
		t.Fatalf("start: %+v", gr.g)
	}
	r, out := gr.play("god", nil)
	if gr.g.Tries != 2 || !strings.Contains(r.Text, "right letters") || !out.Moved {
		t.Errorf("anagram: %q %+v", r.Text, gr.g)
	}
	r, _ = gr.play("cat", nil)
	if gr.g.Tries != 1 || !strings.Contains(r.Text, "Not quite") {
		t.Errorf("wrong: %q", r.Text)
	}
	if r, _ = gr.play("hint", nil); !strings.Contains(r.Text, "starts with D") {
		t.Errorf("hint: %q", r.Text)
	}
	if r, _ = gr.play("another hint", nil); !strings.Contains(r.Text, "all the hints") {
		t.Errorf("hint max: %q", r.Text)
	}
	if _, out = gr.play("I really have no idea what that could be", nil); out.Moved {
		t.Errorf("a long sentence is not a guess")
	}
	r, out = gr.play("is it dog?", nil)
	if !out.Over || !out.Won || out.Score != 1 || !strings.Contains(r.Text, "DOG") {
		t.Errorf("win: %+v %q", out, r.Text)
	}
	gr = startGame(t, GameScramble, Tier9to12, seq(1))
	for i := 0; i < 3; i++ {
		r, out = gr.play("zzz", nil)
	}
	if !out.Over || out.Won || !strings.Contains(r.Text, strings.ToUpper(gr.g.Word)) {
		t.Errorf("lose: %+v %q", out, r.Text)
	}
}

// Every word, shuffled any way, is shown scrambled and never spells a
// blocked stem.
func TestScrambleIsSafe(t *testing.T) {
	for _, tier := range Tiers() {
		for _, w := range wordsFor(tier) {
			if !stemFree(w) || strings.ToLower(w) != w {
				t.Errorf("word %q is not a clean lowercase word", w)
			}
			for i := 1; i < len(w); i++ { // hints show prefixes
				if !stemFree(w[:i]) {
					t.Errorf("hint prefix %q of %q is not clean", w[:i], w)
				}
			}
			for seed := uint64(0); seed < 200; seed++ {
				s := scramble(w, lcg(seed))
				joined := strings.ToLower(strings.ReplaceAll(s, " ", ""))
				if joined == w || !stemFree(joined) || sortedLetters(joined) != sortedLetters(w) {
					t.Fatalf("scramble(%q) = %q", w, s)
				}
			}
		}
	}
	if got := scramble("ssa", nil); strings.Contains(strings.ToLower(strings.ReplaceAll(got, " ", "")), "ass") {
		t.Errorf("blocked stem shown: %q", got)
	}
}

func TestPlayEdgeCases(t *testing.T) {
	e := New()
	// Feelings pause the game.
	gr := startGame(t, GameGuess, Tier9to12, seq(4))
	before := gr.g
	r, out := gr.play("I'm really scared", nil)
	if r.Intent != IntentFeelings || r.Mood != MoodConcerned || out.Moved || gr.g.Tries != before.Tries || !gr.g.Active(gr.now) {
		t.Errorf("feelings: %+v %+v", r, out)
	}
	if strings.Contains(r.Text, "!") {
		t.Errorf("cheerful reply to a feeling: %q", r.Text)
	}
	// A finished game answers kindly and changes nothing.
	done := GameState{V: 1, Kind: GameFetch, Tier: Tier5to8, Phase: PhaseOver, Won: true, Score: 5, Updated: t0}
	_, g, r, out := e.Play(NewState(t0), done, "throw", t0, nil)
	if out.Moved || out.Over || !out.Won || g.Phase != PhaseOver || !strings.Contains(r.Text, "finished") {
		t.Errorf("over: %+v %q", out, r.Text)
	}
	// A lapsed game too.
	idle := GameState{V: 1, Kind: GameTug, Tier: Tier5to8, Phase: PhasePlay, Updated: t0}
	_, _, r, out = e.Play(NewState(t0), idle, "pull", t0.Add(GameIdle), nil)
	if out.Moved || !strings.Contains(r.Text, "a while ago") {
		t.Errorf("idle: %+v %q", out, r.Text)
	}
	// The zero GameState (a refused start) is handled.
	if _, _, r, _ = e.Play(NewState(t0), GameState{}, "hello", t0, nil); r.Text == "" {
		t.Errorf("zero game: empty reply")
	}
	// Consecutive identical moves do not repeat the same opening line.
	gr = startGame(t, GameFetch, Tier9to12, nil)
	prev := ""
	for i := 0; i < 4; i++ {
		r, _ := gr.play("throw", seq(1))
		first := strings.SplitN(r.Text, " "+strings.SplitN(lineOf(gr.e, "fetch.left", Tier9to12), " ", 2)[0], 2)[0]
		if prev != "" && first == prev {
			t.Errorf("repeated %q", first)
		}
		prev = first
	}
}

func TestGameStateJSONAndView(t *testing.T) {
	gr := startGame(t, GameScramble, Tier13to17, seq(3))
	b, err := json.Marshal(gr.g)
	if err != nil {
		t.Fatal(err)
	}
	var back GameState
	if err := json.Unmarshal(b, &back); err != nil || back.Word != gr.g.Word || back.Shown != gr.g.Shown || !back.Updated.Equal(gr.g.Updated) {
		t.Errorf("round trip: %s", b)
	}
	v, _ := json.Marshal(gr.g.View(gr.now))
	if strings.Contains(strings.ToLower(string(v)), `"`+gr.g.Word+`"`) || !strings.Contains(string(v), gr.g.Shown) {
		t.Errorf("view: %s", v)
	}
	guess := startGame(t, GameGuess, Tier5to8, seq(8))
	v, _ = json.Marshal(guess.g.View(guess.now))
	if strings.Contains(string(v), "secret") || strings.Contains(string(v), ":9") {
		t.Errorf("guess view leaks: %s", v)
	}
}

func fromPool(e *Engine, key, tier, text string) bool {
	for _, l := range e.pools[gameKey(key)][tier] {
		if strings.HasPrefix(text, strings.SplitN(l.text, "{", 2)[0]) {
			return true
		}
	}
	return false
}

func lineOf(e *Engine, key, tier string) string { return e.pools[gameKey(key)][tier][0].text }
