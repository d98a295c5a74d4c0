package companion

import "strings"

// Intents Reply can return, plus the fixed intents of the safety replies.
const (
	IntentGreeting    = "greeting"
	IntentFood        = "food"
	IntentPlay        = "play"
	IntentJokes       = "jokes"
	IntentFeelings    = "feelings"
	IntentDefault     = "default"
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

// rule is one row of the intent table (see intentRules). Rules are tried in order; the first
// whose word or phrase occurs in the message wins. To add an intent, add a
// rule to intentRules and a pool in lines.go.
type rule struct {
	intent  string
	feeling string   // sub-pool for IntentFeelings, "" otherwise
	words   []string // single whole words
	phrases []string // consecutive whole words, space separated
}

// negatorWords cancel a single-word match directly after them ("not hungry",
// "never sad"). Phrases are not negated, and hurt phrases are never
// cancelled: a possible disclosure always gets the warm reply.
func negatorWords() []string {
	return []string{"not", "never", "dont", "isnt", "arent", "wasnt", "no"}
}

// intentRules lists intents in precedence order: feelings first (warmth beats
// cheer: "hi, I'm sad" is about the sadness), greeting last (any real topic
// beats a hello).
func intentRules() []rule {
	return []rule{
		{intent: IntentFeelings, feeling: feelingHurt,
			words: []string{"bullied", "bully", "bullies", "bullying"},
			phrases: []string{"hit me", "hits me", "hitting me", "hurt me", "hurts me", "hurting me",
				"kicked me", "kicks me", "pushed me", "pushes me", "punched me", "mean to me",
				"picks on me", "picking on me", "made fun of me", "makes fun of me", "laughed at me"}},
		{intent: IntentFeelings, feeling: feelingScared,
			words: []string{"scared", "afraid", "frightened", "terrified", "fear", "worried", "worry",
				"worrying", "nervous", "anxious", "nightmare", "nightmares"}},
		{intent: IntentFeelings, feeling: feelingLonely,
			words: []string{"lonely", "alone", "lonesome"},
			phrases: []string{"no friends", "no one likes me", "nobody likes me", "no one to play with",
				"nobody to play with", "left out"}},
		{intent: IntentFeelings, feeling: feelingAngry,
			words: []string{"angry", "mad", "furious", "annoyed", "frustrated", "grumpy"}},
		{intent: IntentFeelings, feeling: feelingSad,
			words: []string{"sad", "unhappy", "upset", "cry", "crying", "cried", "cries", "tears",
				"miserable", "heartbroken"},
			phrases: []string{"bad day", "feel bad", "feeling bad", "feel awful", "feeling awful",
				"feel down", "feeling down", "not ok", "not okay", "i miss"}},
		{intent: IntentJokes,
			words:   []string{"joke", "jokes", "funny", "laugh", "riddle", "riddles", "pun", "puns", "silly"},
			phrases: []string{"knock knock", "make me laugh"}},
		{intent: IntentFood,
			words: []string{"food", "treat", "treats", "hungry", "eat", "eating", "ate", "snack", "snacks",
				"feed", "feeding", "dinner", "lunch", "breakfast", "bone", "bones", "biscuit", "biscuits",
				"cookie", "cookies", "kibble", "yum", "yummy", "bacon", "cheese", "chicken", "apple",
				"carrot", "pizza", "sandwich"}},
		{intent: IntentPlay,
			words: []string{"play", "playing", "game", "games", "fetch", "ball", "toy", "toys", "fun",
				"frisbee", "tug", "trick", "tricks", "race", "chase", "tag"},
			phrases: []string{"hide and seek", "tug of war", "high five", "roll over"}},
		{intent: IntentGreeting,
			words: []string{"hi", "hello", "hey", "hiya", "heya", "howdy", "hola", "yo", "sup",
				"greetings", "woof"},
			phrases: []string{"good morning", "good afternoon", "good evening", "how are you",
				"how r u", "whats up"}},
	}
}

type compiledRule struct {
	intent, feeling string
	words           map[string]bool
	phrases         [][]string
}

// matcher is the compiled, read-only form of rules.
type matcher struct {
	rules    []compiledRule
	negators map[string]bool
}

func newMatcher(rules []rule, negators []string) *matcher {
	m := &matcher{negators: make(map[string]bool, len(negators))}
	for _, n := range negators {
		m.negators[n] = true
	}
	for _, r := range rules {
		c := compiledRule{intent: r.intent, feeling: r.feeling, words: make(map[string]bool, len(r.words))}
		for _, w := range r.words {
			c.words[w] = true
		}
		for _, p := range r.phrases {
			c.phrases = append(c.phrases, strings.Fields(p))
		}
		m.rules = append(m.rules, c)
	}
	return m
}

// classify returns the intent (and, for feelings, the feeling) of text.
func (m *matcher) classify(text string) (intent, feeling string) {
	toks := tokenize(text)
	fs := make([][]string, len(toks))
	for i, t := range toks {
		fs[i] = forms(t)
	}
	for _, r := range m.rules {
		if m.matches(r, toks, fs) {
			return r.intent, r.feeling
		}
	}
	return IntentDefault, ""
}

func (m *matcher) matches(r compiledRule, toks []string, fs [][]string) bool {
	for i := range toks {
		for _, p := range r.phrases {
			if phraseAt(p, fs, i) {
				return true
			}
		}
		if i > 0 && m.negators[toks[i-1]] && r.feeling != feelingHurt {
			continue
		}
		for _, f := range fs[i] {
			if r.words[f] {
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
