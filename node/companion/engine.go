package companion

import (
	"fmt"
	"strings"
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
	suggestions map[string]map[string][]string
	redact      map[string]string
	failClosed  map[string]string
	support     map[string]supportText
	help        map[string]helpNumbers
}

// New builds an Engine with the built-in intents and lines.
func New() *Engine {
	return &Engine{
		matcher:     newMatcher(intentRules(), negatorWords()),
		pools:       linePools(),
		suggestions: suggestionTable(),
		redact:      redactReminders(),
		failClosed:  failClosedLines(),
		support:     supportTexts(),
		help:        regionHelp(),
	}
}

// Classify returns the intent Reply would use for text (one of IntentGreeting,
// IntentFood, IntentPlay, IntentJokes, IntentFeelings, IntentDefault).
func (e *Engine) Classify(text string) string {
	intent, _ := e.matcher.classify(text)
	return intent
}

// Reply picks Daisy's answer to text for a child in ageTier. pick(n) must
// return an index in [0,n); it is called exactly once, and the caller decides
// the randomness before replication, so Reply is deterministic given pick.
// prev is the previous reply text for this child ("" if none); Reply never
// returns it again.
func (e *Engine) Reply(text, ageTier, prev string, pick func(n int) int) Reply {
	intent, feeling := e.matcher.classify(text)
	key := intent
	if feeling != "" {
		key = feelingKey(feeling)
	}
	return e.choose(key, intent, normTier(ageTier), prev, pick)
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
	skip := -1
	if prev != "" {
		for i, l := range lines {
			if l.text == prev {
				skip = i
				break
			}
		}
	}
	n := len(lines)
	if skip >= 0 && n > 1 {
		n--
	} else {
		skip = -1
	}
	i := pickIndex(pick, n)
	if skip >= 0 && i >= skip {
		i++
	}
	l := lines[i]
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
	t := strings.TrimSpace(ageTier)
	t = strings.NewReplacer("\u2013", "-", "\u2014", "-", " ", "").Replace(t)
	switch t {
	case Tier5to8, Tier9to12, Tier13to17:
		return t
	}
	return Tier5to8
}
