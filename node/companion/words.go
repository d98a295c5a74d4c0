package companion

import "strings"

// wordsFor is the kid-safe word list for the scramble game, per tier:
// short everyday words for 5–8, longer ones as children grow.
func wordsFor(tier string) []string {
	switch normTier(tier) {
	case Tier13to17:
		return []string{"journey", "galaxy", "volcano", "library", "penguin", "mystery", "giraffe", "blanket",
			"dolphin", "lantern", "thunder", "harvest", "science", "kitchen", "balloon", "captain", "diamond",
			"octopus", "pyramid", "rainbow", "sunrise", "trumpet", "weather", "gravity"}
	case Tier9to12:
		return []string{"puppy", "apple", "tiger", "zebra", "pizza", "river", "cloud", "train", "robot", "piano",
			"garden", "planet", "rocket", "pencil", "turtle", "castle", "bridge", "forest", "jungle", "pumpkin",
			"window", "basket", "banana", "monkey"}
	}
	return []string{"dog", "cat", "sun", "hat", "cup", "bed", "pig", "bus", "fox", "hen", "bone", "ball",
		"fish", "frog", "duck", "cake", "star", "moon", "tree", "milk", "boat", "rain", "kite", "book"}
}

// blockedStems must never appear in the letters a child is shown: a random
// shuffle of harmless letters can spell something rude. Checked on the
// joined, lowercase letters.
var blockedStems = []string{
	"ass", "arse", "fuk", "fuc", "fck", "shit", "sht", "cum", "tit", "dik", "dic", "cok", "cock", "fag",
	"nig", "sex", "poo", "pee", "wtf", "kkk", "hoe", "jiz", "twat", "slut", "crap", "damn", "hell",
	"piss", "porn", "nazi", "rape", "kil", "die", "gun", "butt", "anal", "anus", "bum", "pube", "turd",
	"wank", "cunt", "muff", "dumb", "idiot", "hate", "kill", "dead", "nude", "boob", "xxx",
}

func stemFree(s string) bool {
	for _, b := range blockedStems {
		if strings.Contains(s, b) {
			return false
		}
	}
	return true
}

// scramble shuffles word with pick (Fisher–Yates) and returns the letters
// upper-cased and spaced ("O G D"). The shuffle is never the word itself and
// never contains a blocked stem: failing candidates are rotated, then the
// word is reversed, then the letters sorted.
func scramble(word string, pick func(int) int) string {
	r := []rune(word)
	for i := len(r) - 1; i > 0; i-- {
		j := pickIndex(pick, i+1)
		r[i], r[j] = r[j], r[i]
	}
	var cands []string
	for k := 0; k < len(r); k++ {
		cands = append(cands, string(append(append([]rune{}, r[k:]...), r[:k]...)))
	}
	rev := []rune(word)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	cands = append(cands, string(rev), sortedLetters(word))
	for _, c := range cands {
		if c != word && stemFree(c) {
			return spaced(c)
		}
	}
	return spaced(string(rev))
}

func spaced(s string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(s) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
