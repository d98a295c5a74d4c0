package rules

import "strings"

// Person names beyond a known given name: capitalised words that are not
// ordinary English words (dictionary in dict.go), two or more in a row,
// and surnames after a speech or question cue.

var nameParticle = setOfWords("van von de der den ten ter da di du del della le la bin al el dos das y")

// speechCue are words after which a lone capitalised non-dictionary word
// is a surname ("…, says Hartvigsson.").
var speechCue = setOfWords("says said asks asked replies replied explains explained writes wrote adds added")

// nameWord reports whether token k can be part of a person's name:
// capitalised, not all capitals, not a function word, street or school
// word, and a known given name or not an ordinary lower-case English word.
func nameWord(text string, toks []ptok, lw func(int) string, cls []uint32, k int) bool {
	t := toks[k]
	if !t.upper || t.digit || t.e-t.s < 2 || isAllCaps(text, t) || hasDigitTok(text, t) {
		return false
	}
	if t.s > 0 && (text[t.s-1] == '@' || text[t.s-1] == '#' || text[t.s-1] == '_') || t.e < len(text) && (text[t.e] == '_' || text[t.e] == '@') {
		return false // handles and hashtags
	}
	w, c := lw(k), cls[k]
	if a := indexApostrophe(w); a >= 0 {
		switch w[a:] {
		case "'s", "’s", "'", "’":
			w = w[:a] // "Sheen's"
			c = piiClass[w]
		default:
			return false // "Don't", "That's"
		}
	}
	if len(w) < 2 || c&(cCapStop|cStreetSuffix|cStreetPrefix|cSchoolWords|cUnitWords|cNameCue) != 0 {
		return false
	}
	return c&cFirstNames != 0 || !isCommonWord(w)
}

// indexApostrophe is strings.IndexAny(w, "'’") without decoding w rune by
// rune (slow in a wasm guest): neither character's bytes can occur inside
// another character's encoding.
func indexApostrophe(w string) int {
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '\'':
			return i
		case 0xE2:
			if i+2 < len(w) && w[i+1] == 0x80 && w[i+2] == 0x99 {
				return i
			}
		}
	}
	return -1
}

// initialTok reports a middle initial: one capital letter, maybe with a dot.
func initialTok(text string, t ptok) bool {
	return t.upper && (t.e-t.s <= 2 || t.e-t.s == 3 && text[t.e-1] == '.' && text[t.s] >= 0xC0)
}

// findNames calls add for full names (two or more name words in a row on
// one line, with middle initials and particles: "Weronika Martinsen",
// "Stefanía K. Oddgeirsdóttir", "Willemine ten Pas") and for surnames
// after a speech cue. In title-case text (headlines, where most words are
// capitalised) a run counts only when it starts with a known given name,
// has a middle initial ("Gladys L. Leblanc"), or no word of it is in the
// dictionary even as a proper noun.
//
// titleCase is asked only when a run needs it (it costs a dictionary
// look-up per word of the message, and most messages have no run).
func findNames(text string, toks []ptok, lw func(int) string, cls []uint32, titleCase func() bool, add func(a, b int, kind string)) {
	for i := 0; i < len(toks); i++ {
		if !nameWord(text, toks, lw, cls, i) {
			continue
		}
		if i > 0 && !toks[i].nl && !toks[i].punct && isNumberTok(text, toks[i-1]) {
			continue // "5049 Harjukuja": a street, the address scanner's
		}
		j, real, initial := i+1, 1, false
		for j < len(toks) && j < i+5 && !toks[j].nl && !toks[j].punct && spaceGap(text, toks[j-1].e, toks[j].s) {
			switch {
			case nameWord(text, toks, lw, cls, j):
				real++
				j++
				continue
			case j+1 < len(toks) && !toks[j+1].nl && !toks[j+1].punct && spaceGap(text, toks[j].e, toks[j+1].s) &&
				(initialTok(text, toks[j]) && nameWord(text, toks, lw, cls, j+1) ||
					cls[j]&cNameParticle != 0 && !toks[j].upper && toks[j+1].upper && !isAllCaps(text, toks[j+1]) && cls[j+1]&cCapStop == 0):
				// "K. Oddgeirsdóttir", "ten Pas" (after a particle any capitalised word)
				initial = initial || initialTok(text, toks[j])
				j += 2
				real++
				continue
			}
			break
		}
		if real >= 2 && (!titleCase() || cls[i]&cFirstNames != 0 || initial || unknownRun(toks, lw, i, j)) {
			add(toks[i].s, toks[j-1].e, KindName)
			i = j - 1
			continue
		}
		// A lone surname after a speech cue ("says Hartvigsson.") or as
		// the answer to a question about a name ("last name? Boyle").
		if real == 1 && i > 0 && cls[i]&cFirstNames == 0 && (cls[i-1]&cSpeechCue != 0 && !toks[i].nl ||
			lw(i-1) == "name" && strings.ContainsAny(text[toks[i-1].e:toks[i].s], "?:")) {
			add(toks[i].s, toks[i].e, KindName)
		}
	}
}

// unknownRun reports whether no word of toks[i:j] longer than an initial
// is in the dictionary at all, not even as a proper noun: in a headline,
// "Lukas Ostermann" is a person, "Saudi Arabia" or "Public Data" is not.
func unknownRun(toks []ptok, lw func(int) string, i, j int) bool {
	for k := i; k < j; k++ {
		w := lw(k)
		if toks[k].e-toks[k].s <= 2 {
			continue
		}
		if a := indexApostrophe(w); a >= 0 {
			w = w[:a]
		}
		if isCommonWord(w) || isProperNoun(w) {
			return false
		}
	}
	return true
}

// spaceGap reports whether text[a:b] holds only spaces (or a dot and
// spaces after a middle initial).
func spaceGap(text string, a, b int) bool {
	for i := a; i < b; i++ {
		if text[i] != ' ' && !(text[i] == '.' && i == a) {
			return false
		}
	}
	return b > a
}

// headline reports title-case text: most ordinary dictionary words that do
// not start a sentence are capitalised ("Local News And Weather Today").
func headline(text string, toks []ptok, lw func(int) string) bool {
	caps, words := 0, 0
	for k, t := range toks {
		if t.nl || t.digit || isAllCaps(text, t) || !isCommonWord(lw(k)) {
			continue
		}
		words++
		if t.upper {
			caps++
		}
	}
	return words >= 3 && caps*2 > words
}
