package companion

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Game kinds.
const (
	GameFetch    = "fetch"
	GameTug      = "tug_of_war"
	GameHide     = "hide_and_seek"
	GameGuess    = "guess_number"
	GameScramble = "word_scramble"
)

// GameKinds returns every game kind, in menu order.
func GameKinds() []string {
	return []string{GameFetch, GameTug, GameHide, GameGuess, GameScramble}
}

func knownGame(kind string) bool {
	for _, k := range GameKinds() {
		if k == kind {
			return true
		}
	}
	return false
}

// Game phases.
const (
	PhasePlay   = "play"   // fetch, tug of war, guess, scramble: taking turns
	PhaseChoose = "choose" // hide and seek: who hides?
	PhaseSeek   = "seek"   // hide and seek: Daisy hid, the child looks
	PhaseHide   = "hide"   // hide and seek: the child picks a spot
	PhaseSearch = "search" // hide and seek: Daisy looks for the child
	PhaseOver   = "over"
)

// GameStateVersion is the current version of the GameState encoding.
const GameStateVersion = 1

// GameIdle is how long a game may sit without a move before it lapses.
const GameIdle = 30 * time.Minute

// Game rules that depend on nothing in the catalogue.
const (
	fetchThrows  = 5
	fetchToWin   = 4
	tugGoal      = 3
	tugMaxRounds = 8
	hideTries    = 3
	wordTries    = 3
)

// GameState is one game session, held by the server between moves. It
// contains the answer (Secret, Word, Spot): never send it to the client as
// is; send View instead.
type GameState struct {
	V       int       `json:"v"`
	Kind    string    `json:"kind"`
	Tier    string    `json:"tier"`
	Phase   string    `json:"phase"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	Turns   int       `json:"turns"`           // moves understood so far
	Tries   int       `json:"tries,omitempty"` // throws, tries or searches left
	Score   int       `json:"score"`
	Won     bool      `json:"won,omitempty"`
	Hints   int       `json:"hints,omitempty"`
	Rope    int       `json:"rope,omitempty"`   // tug of war: + towards the child
	Secret  int       `json:"secret,omitempty"` // guess: the number
	Word    string    `json:"word,omitempty"`   // scramble: the answer
	Shown   string    `json:"shown,omitempty"`  // scramble: the letters shown
	Spot    string    `json:"spot,omitempty"`   // hide and seek: where the hider is
	Checked []string  `json:"checked,omitempty"`
	Last    string    `json:"last,omitempty"` // last reply text, never repeated
}

// Active reports whether g is a game in progress at now: started, not over
// and not idle for GameIdle or longer.
func (g GameState) Active(now time.Time) bool {
	return g.Kind != "" && g.Phase != PhaseOver && g.Phase != "" && now.Sub(g.Updated) < GameIdle
}

// GameView is what a child's client may see of a game: no answers.
type GameView struct {
	Kind    string   `json:"kind"`
	Phase   string   `json:"phase"`
	Active  bool     `json:"active"`
	Turns   int      `json:"turns"`
	Tries   int      `json:"tries_left"`
	Score   int      `json:"score"`
	Won     bool     `json:"won"`
	Rope    int      `json:"rope,omitempty"`
	Shown   string   `json:"letters,omitempty"`
	Spots   []string `json:"spots,omitempty"`
	Checked []string `json:"checked,omitempty"`
}

// View returns the client-safe view of g at now. The answer is only shown
// once the game is over (Daisy says it in her reply anyway).
func (g GameState) View(now time.Time) GameView {
	v := GameView{Kind: g.Kind, Phase: g.Phase, Active: g.Active(now), Turns: g.Turns, Tries: g.Tries,
		Score: g.Score, Won: g.Won, Rope: g.Rope, Shown: g.Shown}
	if g.Kind == GameHide {
		for _, s := range spotsFor(g.Tier) {
			v.Spots = append(v.Spots, s.name)
		}
		for _, id := range g.Checked {
			if s, ok := spotByID(id); ok {
				v.Checked = append(v.Checked, s.name)
			}
		}
	} else {
		v.Checked = append([]string(nil), g.Checked...)
	}
	return v
}

func (g GameState) clone() GameState {
	g.Checked = append([]string(nil), g.Checked...)
	return g
}

// Outcome reports what a move did.
type Outcome struct {
	Moved bool `json:"moved"` // the move was understood and applied
	Over  bool `json:"over"`  // this move ended the game
	Won   bool `json:"won"`   // the child won (only with Over)
	Quit  bool `json:"quit"`  // the child stopped the game
	Score int  `json:"score"`
}

// Start begins a game of kind for a child in tier at now. Daisy's energy
// pays the game's catalogue cost; if she is too tired, or the kind is not
// in the catalogue for tier, the returned GameState is the zero value (not
// Active) and the reply says so kindly. Start does not check parental
// controls: the caller checks Allowed(…, FeatureGames) first.
func (e *Engine) Start(d State, kind, tier string, now time.Time, pick func(int) int) (State, GameState, Reply) {
	tier = normTier(tier)
	d = StateAt(d, now)
	info, ok := e.catalog.game(kind)
	if !ok || !info.Includes(tier) {
		g := GameState{Tier: tier}
		return d, GameState{}, e.gameReply(&g, d, now, nil, pick, "unknown")
	}
	d2, ok := d.spent(info.EnergyCost, now)
	if !ok {
		g := GameState{Tier: tier}
		return d, GameState{}, e.gameReply(&g, d, now, map[string]string{"game": strings.ToLower(info.Name)}, pick, "tired")
	}
	d = d2
	g := GameState{V: GameStateVersion, Kind: kind, Tier: tier, Phase: PhasePlay, Started: stamp(now), Updated: stamp(now)}
	var key string
	vars := map[string]string{}
	switch kind {
	case GameFetch:
		g.Tries = fetchThrows
		key = "fetch.start"
		vars["left"] = count(g.Tries, "throw", "throws")
	case GameTug:
		key = "tug.start"
	case GameHide:
		g.Phase = PhaseChoose
		key = "hide.choose"
	case GameGuess:
		g.Tries = guessTries(tier)
		g.Secret = 1 + pickIndex(pick, 10)
		key = "guess.start"
		vars["tries"] = count(g.Tries, "try", "tries")
	case GameScramble:
		words := wordsFor(tier)
		g.Word = words[pickIndex(pick, len(words))]
		g.Shown = scramble(g.Word, pick)
		g.Tries = wordTries
		key = "scramble.start"
		vars["shown"] = g.Shown
		vars["tries"] = count(g.Tries, "try", "tries")
	}
	return d, g, e.gameReply(&g, d, now, vars, pick, key)
}

// Play applies one move (the child's message, already through the safety
// policy) to g at now. A message about a hard feeling gets Daisy's warm
// reply and leaves the game paused; "stop", "give up" and the like end it;
// anything the game does not understand gets a friendly hint (Outcome.Moved
// false) and changes nothing. Play never returns an error: a game that is
// over or lapsed gets a "want to play again?" reply.
func (e *Engine) Play(d State, g GameState, move string, now time.Time, pick func(int) int) (State, GameState, Reply, Outcome) {
	d = StateAt(d, now)
	g = g.clone()
	g.Tier = normTier(g.Tier)
	if !g.Active(now) {
		key := "over"
		if g.Kind != "" && g.Phase != PhaseOver {
			key = "expired"
		}
		r := e.gameReply(&g, d, now, nil, pick, key)
		return d, g, r, Outcome{Score: g.Score, Won: g.Won}
	}
	w := splitWords(move)
	if intent, sub := e.matcher.classifyWords(w); intent == IntentFeelings {
		d.LastConcern = stamp(now)
		r := e.choose(feelingKey(sub), IntentFeelings, g.Tier, g.Last, pick)
		r.Mood = MoodAt(d, now)
		r.Suggestions = e.suggestionsFor(IntentFeelings, g.Tier)
		g.Updated = stamp(now)
		return d, g, r, Outcome{Score: g.Score}
	}
	var (
		keys  []string
		vars  = map[string]string{}
		moved bool
	)
	if isStop(w, e.matcher) {
		keys = e.stopGame(&g, vars)
		moved = true
		g.Phase = PhaseOver
	} else {
		switch g.Kind {
		case GameFetch:
			keys, moved = playFetch(&g, w, vars, pick)
		case GameTug:
			keys, moved = playTug(&g, w, vars, pick)
		case GameHide:
			keys, moved = playHide(&g, w, vars, pick)
		case GameGuess:
			keys, moved = playGuess(&g, w, vars)
		case GameScramble:
			keys, moved = playScramble(&g, w, vars)
		}
	}
	out := Outcome{Moved: moved, Score: g.Score}
	if moved {
		g.Turns++
		g.Updated = stamp(now)
		d.LastPlay = stamp(now)
	}
	if g.Phase == PhaseOver {
		out.Over, out.Won, out.Quit = true, g.Won, isStop(w, e.matcher)
	}
	r := e.gameReply(&g, d, now, vars, pick, keys...)
	return d, g, r, out
}

// stopGame ends g at the child's request and returns the reply keys.
func (e *Engine) stopGame(g *GameState, vars map[string]string) []string {
	g.Won = false
	switch g.Kind {
	case GameFetch:
		vars["score"] = count(g.Score, "point", "points")
		return []string{"fetch.stop"}
	case GameTug:
		return []string{"tug.letgo"}
	case GameHide:
		switch g.Phase {
		case PhaseSeek:
			s, _ := spotByID(g.Spot)
			vars["spot"] = s.name
			return []string{"hide.reveal"}
		}
		return []string{"hide.you_stop"}
	case GameGuess:
		vars["secret"] = strconv.Itoa(g.Secret)
		return []string{"guess.stop"}
	case GameScramble:
		vars["word"] = strings.ToUpper(g.Word)
		return []string{"scramble.stop"}
	}
	return []string{"over"}
}

// isStop: the child wants to end the game.
func isStop(w words, m *matcher) bool {
	return w.hasUnnegated(m, "stop", "quit", "exit") ||
		w.has("give up", "no more", "let go", "stop playing", "end the game", "end game", "im done",
			"i am done", "game over", "lets stop", "dont want to play")
}

func playFetch(g *GameState, w words, vars map[string]string, pick func(int) int) ([]string, bool) {
	if !w.has("throw", "toss", "fling", "chuck", "again", "ball", "go", "fetch", "catch", "yes", "ok", "okay", "ready") {
		return []string{"fetch.hint"}, false
	}
	far := w.has("far", "high", "long", "hard", "big", "farther", "further")
	r := pickIndex(pick, 4)
	var key string
	switch {
	case far && r >= 2:
		g.Score += 2
		key = "fetch.catch_far"
	case far:
		key = "fetch.miss_far"
	case r != 0:
		g.Score++
		key = "fetch.catch"
	default:
		key = "fetch.miss"
	}
	g.Tries--
	vars["score"] = count(g.Score, "point", "points")
	vars["left"] = count(g.Tries, "throw", "throws")
	if g.Tries > 0 {
		return []string{key, "fetch.left"}, true
	}
	g.Phase = PhaseOver
	g.Won = g.Score >= fetchToWin
	if g.Won {
		return []string{key, "fetch.win"}, true
	}
	return []string{key, "fetch.end"}, true
}

func playTug(g *GameState, w words, vars map[string]string, pick func(int) int) ([]string, bool) {
	if !w.has("pull", "pulls", "pulling", "tug", "yank", "heave", "harder", "go", "ready") {
		return []string{"tug.hint"}, false
	}
	delta := 1 - pickIndex(pick, 3) // +1 you gain, 0 hold, -1 Daisy gains
	g.Rope += delta
	key := map[int]string{1: "tug.gain", 0: "tug.hold", -1: "tug.slip"}[delta]
	rounds := g.Turns + 1 // Play counts this move after we return
	switch {
	case g.Rope >= tugGoal:
		g.Phase, g.Won = PhaseOver, true
		g.Score = max(1, tugMaxRounds+1-rounds)
		return []string{key, "tug.win"}, true
	case g.Rope <= -tugGoal:
		g.Phase = PhaseOver
		return []string{key, "tug.lose"}, true
	case rounds >= tugMaxRounds:
		g.Phase = PhaseOver
		return []string{key, "tug.tie"}, true
	}
	vars["need"] = count(tugGoal-g.Rope, "step", "steps")
	return []string{key, "tug.status"}, true
}

func playHide(g *GameState, w words, vars map[string]string, pick func(int) int) ([]string, bool) {
	spots := spotsFor(g.Tier)
	vars["spots"] = spotList(spots)
	switch g.Phase {
	case PhaseChoose:
		switch hideMode(w) {
		case PhaseSeek:
			s := spots[pickIndex(pick, len(spots))]
			g.Spot, g.Phase, g.Tries = s.id, PhaseSeek, hideTries
			return []string{"hide.daisy_start"}, true
		case PhaseHide:
			g.Phase = PhaseHide
			return []string{"hide.you_start"}, true
		}
		return []string{"hide.choose_hint"}, false
	case PhaseSeek:
		if w.has("hint", "clue", "hints", "clues") {
			s, _ := spotByID(g.Spot)
			vars["clue"] = s.clue
			g.Hints++
			return []string{"hide.clue"}, true
		}
		s, ok := spotIn(w, spots)
		if !ok {
			return []string{"hide.seek_hint"}, false
		}
		vars["spot"] = s.name
		if contains(g.Checked, s.id) {
			return []string{"hide.already"}, true
		}
		if s.id == g.Spot {
			g.Phase, g.Won, g.Score = PhaseOver, true, g.Tries
			return []string{"hide.found"}, true
		}
		g.Checked = append(g.Checked, s.id)
		g.Tries--
		if g.Tries == 0 {
			hidden, _ := spotByID(g.Spot)
			vars["spot"] = hidden.name
			g.Phase = PhaseOver
			return []string{"hide.reveal"}, true
		}
		vars["tries"] = count(g.Tries, "try", "tries")
		if g.Tier == Tier5to8 {
			hidden, _ := spotByID(g.Spot)
			vars["clue"] = hidden.clue
			return []string{"hide.wrong_clue"}, true
		}
		return []string{"hide.wrong"}, true
	case PhaseHide:
		s, ok := spotIn(w, spots)
		if !ok {
			return []string{"hide.you_hint"}, false
		}
		g.Spot, g.Phase, g.Tries = s.id, PhaseSearch, searchesFor(g.Tier)
		return append([]string{"hide.counting"}, daisySearches(g, spots, vars, pick)...), true
	case PhaseSearch:
		if len(w.toks) > 0 && !w.has("ok", "okay", "ready", "yes", "yep", "go", "shh", "sh", "quiet", "hiding",
			"hidden", "hmm", "more", "keep", "looking", "search", "find", "seek", "come", "here") {
			return []string{"hide.search_hint"}, false
		}
		return daisySearches(g, spots, vars, pick), true
	}
	return []string{"hide.choose_hint"}, false
}

// daisySearches checks one spot she has not checked yet.
func daisySearches(g *GameState, spots []spot, vars map[string]string, pick func(int) int) []string {
	var left []spot
	for _, s := range spots {
		if !contains(g.Checked, s.id) {
			left = append(left, s)
		}
	}
	s := left[pickIndex(pick, len(left))]
	vars["spot"] = s.name
	g.Checked = append(g.Checked, s.id)
	if s.id == g.Spot {
		g.Phase = PhaseOver
		return []string{"hide.search_found"}
	}
	g.Tries--
	if g.Tries == 0 {
		g.Phase, g.Won, g.Score = PhaseOver, true, len(g.Checked)
		return []string{"hide.search_giveup"}
	}
	return []string{"hide.search_miss"}
}

// hideMode: PhaseSeek when Daisy should hide, PhaseHide when the child
// hides, "" when unclear.
func hideMode(w words) string {
	switch {
	case w.has("ill hide", "i hide", "i will hide", "let me hide", "me hide", "i want to hide", "i go hide",
		"i can hide", "you seek", "you look", "you find me", "my turn to hide", "you count"):
		return PhaseHide
	case w.has("you hide", "daisy hide", "you can hide", "your turn to hide", "i seek", "ill seek", "i will seek",
		"i look", "ill look", "ill find you", "i find you", "i count", "ill count"):
		return PhaseSeek
	case w.has("me", "i", "ill", "myself"):
		return PhaseHide
	case w.has("you", "daisy", "u"):
		return PhaseSeek
	}
	return ""
}

func playGuess(g *GameState, w words, vars map[string]string) ([]string, bool) {
	if w.has("hint", "clue", "hints", "clues") {
		g.Hints++
		switch {
		case g.Hints == 1 && g.Secret%2 == 0:
			return []string{"guess.hint_even"}, true
		case g.Hints == 1:
			return []string{"guess.hint_odd"}, true
		case g.Hints == 2 && g.Secret > 5:
			return []string{"guess.hint_big"}, true
		case g.Hints == 2:
			return []string{"guess.hint_small"}, true
		}
		return []string{"guess.hint_none"}, true
	}
	n, ok := numberIn(w)
	if !ok {
		return []string{"guess.hint"}, false
	}
	if n < 1 || n > 10 {
		return []string{"guess.range"}, false
	}
	vars["n"] = strconv.Itoa(n)
	vars["secret"] = strconv.Itoa(g.Secret)
	dir := "lower"
	if g.Secret > n {
		dir = "higher"
	}
	if n != g.Secret && contains(g.Checked, vars["n"]) {
		vars["dir"] = dir
		return []string{"guess.again"}, true
	}
	if n == g.Secret {
		g.Phase, g.Won, g.Score = PhaseOver, true, g.Tries
		vars["score"] = count(g.Score, "point", "points")
		return []string{"guess.win"}, true
	}
	g.Checked = append(g.Checked, vars["n"])
	g.Tries--
	key := "guess." + dir
	if g.Tries == 0 {
		g.Phase = PhaseOver
		return []string{"guess.lose"}, true
	}
	vars["tries"] = count(g.Tries, "try", "tries")
	return []string{key, "guess.tries"}, true
}

// numberIn finds the first number in w: digits or a word from one to ten.
func numberIn(w words) (int, bool) {
	names := map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
		"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
	for _, t := range w.toks {
		if n, err := strconv.Atoi(t); err == nil {
			return n, true
		}
		if n, ok := names[t]; ok {
			return n, true
		}
	}
	return 0, false
}

func playScramble(g *GameState, w words, vars map[string]string) ([]string, bool) {
	vars["shown"] = g.Shown
	if w.has("hint", "clue", "hints", "clues") {
		if g.Hints >= len(g.Word)-2 {
			return []string{"scramble.hint_max"}, true
		}
		g.Hints++
		vars["letters"] = strings.ToUpper(g.Word[:g.Hints])
		return []string{"scramble.hint"}, true
	}
	if w.has(g.Word) {
		g.Phase, g.Won = PhaseOver, true
		g.Score = max(1, 2*g.Tries-g.Hints)
		vars["word"] = strings.ToUpper(g.Word)
		vars["score"] = count(g.Score, "point", "points")
		return []string{"scramble.win"}, true
	}
	if len(w.toks) == 0 || len(w.toks) > 2 {
		return []string{"scramble.invalid"}, false
	}
	guess := w.toks[len(w.toks)-1]
	g.Tries--
	if g.Tries == 0 {
		g.Phase = PhaseOver
		vars["word"] = strings.ToUpper(g.Word)
		return []string{"scramble.lose"}, true
	}
	vars["tries"] = count(g.Tries, "try", "tries")
	if sortedLetters(guess) == sortedLetters(g.Word) {
		return []string{"scramble.close"}, true
	}
	return []string{"scramble.wrong"}, true
}

func sortedLetters(s string) string {
	r := []rune(s)
	sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
	return string(r)
}

// gameReply builds the reply for keys (one line each, joined), never
// repeating g.Last, and records it in g.Last.
func (e *Engine) gameReply(g *GameState, d State, now time.Time, vars map[string]string, pick func(int) int, keys ...string) Reply {
	var parts []string
	for i, k := range keys {
		lines := fillLines(e.pools[gameKey(k)][g.Tier], vars)
		if len(lines) == 0 {
			continue
		}
		avoid := ""
		if i == 0 {
			avoid = g.Last
		}
		parts = append(parts, lines[chooseIndex(lines, avoid, pick, true)].text)
	}
	text := strings.Join(parts, " ")
	g.Last = text
	return Reply{
		Intent:      IntentGame,
		Text:        text,
		Mood:        MoodAt(d, now),
		Suggestions: gameSuggestions(*g),
	}
}

// gameSuggestions are the next moves a child can tap.
func gameSuggestions(g GameState) []string {
	if g.Phase == PhaseOver || g.Kind == "" {
		again := "Play a game"
		if g.Kind != "" {
			again = gamePhrase(g.Kind) + " again"
		}
		return []string{again, "Tell me a dog fact", "Give Daisy a treat"}
	}
	switch g.Kind {
	case GameFetch:
		return []string{"Throw the ball", "Throw it far", "Stop playing"}
	case GameTug:
		return []string{"Pull", "Pull harder", "Let go"}
	case GameHide:
		spots := spotsFor(g.Tier)
		switch g.Phase {
		case PhaseChoose:
			return []string{"You hide", "I'll hide"}
		case PhaseSeek:
			var out []string
			for _, s := range spots {
				if !contains(g.Checked, s.id) && len(out) < 2 {
					out = append(out, capitalise(s.name))
				}
			}
			return append(out, "Give me a hint")
		case PhaseHide:
			return []string{capitalise(spots[0].name), capitalise(spots[1].name), capitalise(spots[2].name)}
		case PhaseSearch:
			return []string{"Ready", "Shh", "Stop playing"}
		}
	case GameGuess:
		return []string{"5", "Give me a hint", "I give up"}
	case GameScramble:
		return []string{"Give me a hint", "I give up"}
	}
	return []string{"Stop playing", "Tell me a joke"}
}

// gamePhrase is how a child asks for a game kind (it classifies back to it).
func gamePhrase(kind string) string {
	switch kind {
	case GameFetch:
		return "Play fetch"
	case GameTug:
		return "Play tug of war"
	case GameHide:
		return "Play hide and seek"
	case GameGuess:
		return "Guess my number"
	case GameScramble:
		return "Play word scramble"
	}
	return "Play a game"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// count renders n with its noun: "1 try", "3 tries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func guessTries(tier string) int {
	switch tier {
	case Tier13to17:
		return 3
	case Tier9to12:
		return 4
	}
	return 5
}

// spot is a hiding place.
type spot struct {
	id, name string
	words    []string
	clue     string
}

func allSpots() []spot {
	return []spot{
		{"couch", "behind the couch", []string{"couch", "sofa", "settee"}, "somewhere soft and squishy"},
		{"bed", "under the bed", []string{"bed"}, "somewhere people sleep"},
		{"tree", "behind the tree", []string{"tree"}, "next to something tall with branches"},
		{"box", "in the big box", []string{"box", "cardboard"}, "inside something made of cardboard"},
		{"bush", "in the bush", []string{"bush", "bushes", "hedge"}, "somewhere green and leafy"},
		{"table", "under the table", []string{"table"}, "under something with four legs"},
		{"curtains", "behind the curtains", []string{"curtain", "curtains"}, "behind something that covers a window"},
		{"basket", "in the laundry basket", []string{"basket", "laundry"}, "somewhere full of socks and shirts"},
	}
}

// spotsFor: more places to hide as children grow.
func spotsFor(tier string) []spot {
	s := allSpots()
	switch normTier(tier) {
	case Tier13to17:
		return s
	case Tier9to12:
		return s[:6]
	}
	return s[:4]
}

// searchesFor: how many spots Daisy checks before giving up (about half).
func searchesFor(tier string) int { return len(spotsFor(tier)) / 2 }

func spotByID(id string) (spot, bool) {
	for _, s := range allSpots() {
		if s.id == id {
			return s, true
		}
	}
	return spot{}, false
}

// spotIn finds the first spot of spots named in w.
func spotIn(w words, spots []spot) (spot, bool) {
	for i := range w.toks {
		for _, s := range spots {
			for _, x := range s.words {
				for _, f := range w.fs[i] {
					if f == x {
						return s, true
					}
				}
			}
		}
	}
	return spot{}, false
}

func spotList(spots []spot) string {
	names := make([]string, len(spots))
	for i, s := range spots {
		names[i] = s.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
