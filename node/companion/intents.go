package companion

import "strings"

// Intents Respond and Reply can return, plus the fixed intents of the safety
// and parental-control replies.
const (
	IntentGreeting    = "greeting"
	IntentFood        = "food"
	IntentPlay        = "play"
	IntentJokes       = "jokes"
	IntentFeelings    = "feelings"
	IntentDefault     = "default"
	IntentTricks      = "tricks"
	IntentStories     = "stories"
	IntentFacts       = "facts"
	IntentAbout       = "about"
	IntentCompliment  = "compliment"
	IntentGame        = "game"        // a move in (or the start of) a game
	IntentRest        = "rest"        // bedtime or daily limit reached
	IntentFeatureOff  = "feature_off" // a parent switched this feature off
	IntentSupport     = "support"
	IntentRedirect    = "redirect"
	IntentBlocked     = "blocked"
	IntentUnavailable = "unavailable"
)

// Feelings are sub-pools of IntentFeelings: the reply names the feeling.
const (
	feelingHurt   = "hurt"
	feelingScared = "scared"
	feelingLonely = "lonely"
	feelingAngry  = "angry"
	feelingSad    = "sad"
)

// Sub-keys of IntentFood that are not treat IDs.
const (
	foodOffer = "offer" // "want a treat?", "let me feed you": Daisy gets a biscuit
)

// Sub-keys of IntentAbout: what the child asked about Daisy.
const (
	aboutMe        = "me" // questions about the child ("what's my name"): never answered
	aboutReal      = "real"
	aboutName      = "name"
	aboutAge       = "age"
	aboutBreed     = "breed"
	aboutFavFood   = "fav_food"
	aboutFavGame   = "fav_game"
	aboutFavColour = "fav_colour"
	aboutFavToy    = "fav_toy"
	aboutFav       = "fav"
	aboutHome      = "home"
	aboutFeel      = "feel" // "how are you feeling, daisy?"
)

// rule is one row of the intent table (see intentRules). Rules are tried in
// order; the first whose word or phrase occurs in the message wins.
type rule struct {
	intent  string
	sub     string   // feeling, treat ID, trick ID, game kind or about topic; "" for none
	words   []string // single whole words
	phrases []string // consecutive whole words, space separated
	// needs, when set, is a second condition: one of these words or phrases
	// must also occur, unless the message has at most short words. It keeps
	// "sit" (a trick) from firing on "I sit next to Sam at lunch".
	needs []string
	short int
}

// negatorWords cancel a single-word match directly after them ("not hungry",
// "never sad"). Phrases are not negated, and hurt phrases are never
// cancelled: a possible disclosure always gets the warm reply.
func negatorWords() []string {
	return []string{"not", "never", "dont", "isnt", "arent", "wasnt", "no"}
}

// youWords make a compliment or trick request about Daisy.
var youWords = []string{"you", "youre", "u", "ur", "daisy", "your", "such", "can you", "do a", "show me", "please"}

// intentRules lists intents in precedence order: feelings first (warmth beats
// cheer: "hi, I'm sad" is about the sadness), then explicit requests
// (stories, facts, jokes, questions about Daisy, tricks, food, games),
// compliments, and greeting last (any real topic beats a hello). Tricks come
// from the catalogue, treats from Treats.
func intentRules(c Catalog) []rule {
	rules := []rule{
		{intent: IntentFeelings, sub: feelingHurt,
			words: []string{"bullied", "bully", "bullies", "bullying"},
			phrases: []string{"hit me", "hits me", "hitting me", "hurt me", "hurts me", "hurting me",
				"kicked me", "kicks me", "pushed me", "pushes me", "punched me", "mean to me",
				"picks on me", "picking on me", "made fun of me", "makes fun of me", "laughed at me"}},
		{intent: IntentFeelings, sub: feelingScared,
			words: []string{"scared", "afraid", "frightened", "terrified", "fear", "worried", "worry",
				"worrying", "nervous", "anxious", "nightmare", "nightmares"}},
		{intent: IntentFeelings, sub: feelingLonely,
			words: []string{"lonely", "alone", "lonesome"},
			phrases: []string{"no friends", "no one likes me", "nobody likes me", "no one to play with",
				"nobody to play with", "left out"}},
		{intent: IntentFeelings, sub: feelingAngry,
			words: []string{"angry", "mad", "furious", "annoyed", "frustrated", "grumpy"}},
		{intent: IntentFeelings, sub: feelingSad,
			words: []string{"sad", "unhappy", "upset", "cry", "crying", "cried", "cries", "tears",
				"miserable", "heartbroken"},
			phrases: []string{"bad day", "feel bad", "feeling bad", "feel awful", "feeling awful",
				"feel down", "feeling down", "not ok", "not okay", "i miss"}},
		{intent: IntentStories,
			words:   []string{"story", "stories", "storytime", "tale", "tales"},
			phrases: []string{"once upon a time"}},
		{intent: IntentFacts,
			words:   []string{"fact", "facts", "trivia"},
			phrases: []string{"did you know", "teach me about dogs", "tell me about dogs", "something about dogs"}},
		{intent: IntentJokes,
			words:   []string{"joke", "jokes", "funny", "laugh", "riddle", "riddles", "pun", "puns", "silly"},
			phrases: []string{"knock knock", "make me laugh"}},
		// Questions about the child come first: Daisy never answers them.
		{intent: IntentAbout, sub: aboutMe,
			phrases: []string{"whats my name", "what is my name", "do you know my name", "do you know me",
				"where do i live", "how old am i", "do you know where i live", "what school do i go to",
				"whats my address", "who am i"}},
		{intent: IntentAbout, sub: aboutReal,
			phrases: []string{"are you real", "are you a robot", "are you ai", "are you an ai", "are you a computer",
				"are you a person", "are you human", "are you a real dog", "is this a robot", "are you alive"}},
		{intent: IntentAbout, sub: aboutName,
			phrases: []string{"your name", "who are you", "what are you called", "whats ur name", "who is this"}},
		{intent: IntentAbout, sub: aboutAge,
			phrases: []string{"how old are you", "how old r u", "your age", "your birthday", "when is your birthday"}},
		{intent: IntentAbout, sub: aboutBreed,
			phrases: []string{"what kind of dog", "what breed", "what type of dog", "are you a dog", "what dog are you",
				"your breed"}},
		{intent: IntentAbout, sub: aboutFavFood,
			phrases: []string{"your favourite food", "your favorite food", "your favourite treat", "your favorite treat",
				"your favourite snack", "your favorite snack", "you like to eat", "your fave food"}},
		{intent: IntentAbout, sub: aboutFavGame,
			phrases: []string{"your favourite game", "your favorite game", "you like to play", "your fave game"}},
		{intent: IntentAbout, sub: aboutFavColour,
			phrases: []string{"your favourite colour", "your favorite color", "your favourite color",
				"your favorite colour", "your fave colour", "your fave color"}},
		{intent: IntentAbout, sub: aboutFavToy,
			phrases: []string{"your favourite toy", "your favorite toy", "your fave toy"}},
		{intent: IntentAbout, sub: aboutFav,
			phrases: []string{"your favourite", "your favorite", "your fave", "what do you like", "what you like",
				"tell me about yourself", "about you"}},
		{intent: IntentAbout, sub: aboutHome,
			phrases: []string{"where do you live", "where are you", "where is your home", "where do you sleep",
				"wheres your home"}},
		{intent: IntentAbout, sub: aboutFeel,
			phrases: []string{"how are you feeling", "are you hungry", "are you tired", "are you sleepy",
				"how do you feel", "are you ok", "are you okay"}},
	}
	for _, t := range c.Tricks {
		rules = append(rules, trickRule(t))
	}
	rules = append(rules, rule{intent: IntentTricks, words: []string{"trick", "tricks"}})
	for _, tr := range Treats() {
		rules = append(rules, rule{intent: IntentFood, sub: tr.ID, words: tr.Words})
	}
	rules = append(rules,
		rule{intent: IntentFood, sub: foodOffer,
			words: []string{"treat", "treats", "feed", "feeding", "snack", "snacks", "kibble"},
			phrases: []string{"have some food", "want some food", "some food", "dinner time", "breakfast time",
				"lunch time", "here you go"}},
		rule{intent: IntentFood,
			words: []string{"food", "hungry", "eat", "eating", "ate", "dinner", "lunch", "breakfast",
				"cookie", "cookies", "yum", "yummy", "pizza", "sandwich", "candy", "pie", "cake", "icecream"},
			phrases: []string{"ice cream"}},
	)
	rules = append(rules, gameRules()...)
	rules = append(rules,
		rule{intent: IntentPlay,
			words: []string{"play", "playing", "game", "games", "ball", "toy", "toys", "fun", "frisbee", "race",
				"chase", "tag", "bored"}},
		rule{intent: IntentCompliment,
			words: []string{"cute", "adorable", "smart", "clever", "pretty", "beautiful", "fluffy", "gorgeous",
				"brilliant", "amazing", "awesome", "sweet", "lovely", "cool", "best", "kind"},
			phrases: []string{"good girl", "good dog", "good doggy", "good doggo", "good pup", "good puppy",
				"good job", "great job", "well done", "love you", "i love you", "nice dog", "best dog", "best friend"},
			needs: youWords, short: 2},
		rule{intent: IntentGreeting,
			words: []string{"hi", "hello", "hey", "hiya", "heya", "howdy", "hola", "yo", "sup",
				"greetings", "woof"},
			phrases: []string{"good morning", "good afternoon", "good evening", "how are you",
				"how r u", "whats up"}},
	)
	return rules
}

// trickRule matches a catalogue trick by its name words. A trick word alone
// in a long sentence is ordinary talk ("I sit next to Sam"), so it also
// needs "trick", "daisy", "can you", … or a message of at most four words.
func trickRule(t Trick) rule {
	needs := append([]string{"trick", "give me", "lets", "again", "now"}, youWords...)
	r := rule{intent: IntentTricks, sub: t.ID, needs: needs, short: 4}
	for _, w := range t.Words {
		if strings.Contains(w, " ") {
			r.phrases = append(r.phrases, w)
		} else {
			r.words = append(r.words, w)
		}
	}
	return r
}

// gameRules name each game kind. They come after tricks and food and before
// the generic play words.
func gameRules() []rule {
	return []rule{
		{intent: IntentPlay, sub: GameFetch, words: []string{"fetch", "throw"}, phrases: []string{"throw the ball", "catch the ball"}},
		{intent: IntentPlay, sub: GameTug, words: []string{"tug"}, phrases: []string{"tug of war", "tug o war", "tug a war"}},
		{intent: IntentPlay, sub: GameHide, words: []string{"hideandseek"}, phrases: []string{"hide and seek", "hide n seek", "hide an seek", "hide and go seek"}},
		// "guess" alone is not enough: "guess what, I got a puppy" is news, not a game.
		{intent: IntentPlay, sub: GameGuess, phrases: []string{"number game", "guess my number", "guess the number",
			"guess a number", "guessing game", "number guessing", "guess your number"}},
		{intent: IntentPlay, sub: GameScramble, words: []string{"scramble", "unscramble", "anagram", "anagrams"}, phrases: []string{"word game", "word scramble", "spelling game"}},
	}
}

type compiledRule struct {
	intent, sub string
	needs       [][]string
	short       int
	// always: a negator does not cancel this rule's words (hurt feelings:
	// a possible disclosure always gets the warm reply).
	always bool
}

// matcher is the compiled, read-only form of rules: an index from each
// word to the rules that list it, and from each phrase's first word to its
// phrases, so a message costs a lookup per word instead of a pass over
// every rule.
type matcher struct {
	rules    []compiledRule
	negators map[string]bool
	byWord   map[string][]int       // word → rules listing it, ascending
	byPhrase map[string][]phraseRef // first word → phrases starting with it
}

type phraseRef struct {
	rule  int
	words []string
}

func newMatcher(rules []rule, negators []string) *matcher {
	m := &matcher{negators: make(map[string]bool, len(negators)), byWord: map[string][]int{}, byPhrase: map[string][]phraseRef{}}
	for _, n := range negators {
		m.negators[n] = true
	}
	for i, r := range rules {
		c := compiledRule{intent: r.intent, sub: r.sub, short: r.short, always: r.intent == IntentFeelings && r.sub == feelingHurt}
		for _, w := range r.words {
			if ws := m.byWord[w]; len(ws) == 0 || ws[len(ws)-1] != i {
				m.byWord[w] = append(ws, i)
			}
		}
		for _, p := range r.phrases {
			if f := strings.Fields(p); len(f) > 0 {
				m.byPhrase[f[0]] = append(m.byPhrase[f[0]], phraseRef{rule: i, words: f})
			}
		}
		for _, p := range r.needs {
			c.needs = append(c.needs, strings.Fields(p))
		}
		m.rules = append(m.rules, c)
	}
	return m
}

// words is a message split into whole words, each with its spellings.
type words struct {
	toks []string
	fs   [][]string
}

func splitWords(text string) words {
	toks := tokenize(text)
	fs := make([][]string, len(toks))
	for i, t := range toks {
		fs[i] = forms(t)
	}
	return words{toks: toks, fs: fs}
}

// classify returns the intent of text and its sub-key (the feeling for
// IntentFeelings, the treat, trick, game or topic where one was named).
func (m *matcher) classify(text string) (intent, sub string) {
	return m.classifyWords(splitWords(text))
}

// classifyWords returns the first rule, in table order, that w matches: one
// of its phrases occurs, or one of its words occurs not cancelled by a
// negator before it; and, for a rule with needs, the message is short or
// one of the needs occurs too.
func (m *matcher) classifyWords(w words) (intent, sub string) {
	var small [8]uint64
	hit := small[:]
	if n := (len(m.rules) + 63) / 64; n > len(small) {
		hit = make([]uint64, n)
	}
	neg := m.negations(w.toks)
	for i, fs := range w.fs {
		for _, f := range fs {
			for _, ri := range m.byWord[f] {
				if neg == nil || !neg[i] || m.rules[ri].always {
					hit[ri/64] |= 1 << (ri % 64)
				}
			}
			for _, p := range m.byPhrase[f] {
				if phraseAt(p.words, w.fs, i) {
					hit[p.rule/64] |= 1 << (p.rule % 64)
				}
			}
		}
	}
	for ri := range m.rules {
		if hit[ri/64]&(1<<(ri%64)) == 0 {
			continue
		}
		if r := &m.rules[ri]; len(r.needs) == 0 || len(w.toks) <= r.short || containsAny(w, r.needs) {
			return r.intent, r.sub
		}
	}
	return IntentDefault, ""
}

// negations reports, per token, whether a negator cancels it (negated);
// nil when the message has no negator at all.
func (m *matcher) negations(toks []string) []bool {
	var neg []bool
	for i, t := range toks {
		if m.negators[t] {
			neg = make([]bool, len(toks))
			for j := i + 1; j < len(toks); j++ {
				neg[j] = m.negated(toks, j)
			}
			break
		}
	}
	return neg
}

// negationGap are words that may stand between a negator and the word it
// cancels: "don't want to play", "not a joke", "no more jokes".
var negationGap = map[string]bool{"want": true, "to": true, "wanna": true, "like": true, "feel": true, "play": true,
	"do": true, "a": true, "the": true, "any": true, "more": true, "some": true, "really": true, "have": true, "eat": true}

// negated reports whether toks[i] is cancelled by a negator before it,
// directly or across up to four negationGap words.
func (m *matcher) negated(toks []string, i int) bool {
	for j := i - 1; j >= 0 && j >= i-5; j-- {
		if m.negators[toks[j]] {
			return true
		}
		if !negationGap[toks[j]] {
			return false
		}
	}
	return false
}

// containsAny reports whether any of the phrases occurs in w.
func containsAny(w words, phrases [][]string) bool {
	for i := range w.toks {
		for _, p := range phrases {
			if phraseAt(p, w.fs, i) {
				return true
			}
		}
	}
	return false
}

// has reports whether one of the space-separated phrases occurs in w.
func (w words) has(phrases ...string) bool {
	ps := make([][]string, len(phrases))
	for i, p := range phrases {
		ps[i] = strings.Fields(p)
	}
	return containsAny(w, ps)
}

// hasUnnegated is like has for single words, but ignores a negated word
// ("don't stop").
func (w words) hasUnnegated(m *matcher, ws ...string) bool {
	for i, t := range w.toks {
		if m.negated(w.toks, i) {
			continue
		}
		for _, x := range ws {
			if t == x {
				return true
			}
		}
	}
	return false
}

func phraseAt(p []string, fs [][]string, i int) bool {
	if i+len(p) > len(fs) {
		return false
	}
	for j, w := range p {
		ok := false
		for _, f := range fs[i+j] {
			if f == w {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
