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
func nameWord(text string, toks []ptok, lw lowerWords, cls []uint32, k int) bool {
	t := toks[k]
	if !t.upper || t.digit || t.e-t.s < 2 || isAllCaps(text, t) || hasDigitTok(text, t) {
		return false
	}
	if t.s > 0 && (text[t.s-1] == '@' || text[t.s-1] == '#' || text[t.s-1] == '_') || t.e < len(text) && (text[t.e] == '_' || text[t.e] == '@') {
		return false // handles and hashtags
	}
	w, c := lw.at(k), cls[k]
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
func findNames(text string, toks []ptok, lw lowerWords, cls []uint32, titleCase func() bool, add func(a, b int, kind string)) {
	for i := 0; i < len(toks); i++ {
		if !toks[i].upper || !nameWord(text, toks, lw, cls, i) { // (the first test of nameWord, without its call)
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
		// (A byline counts in a headline too: "… by: Lukas Ostermann".)
		byline := i > 0 && lw.at(i-1) == "by" && toks[i-1].e < toks[i].s
		if real >= 2 && (byline || !titleCase() || cls[i]&cFirstNames != 0 || initial || unknownRun(toks, lw, i, j)) {
			add(toks[i].s, toks[j-1].e, KindName)
			i = j - 1
			continue
		}
		// A lone surname after a speech cue ("says Hartvigsson.") or as
		// the answer to a question about a name ("last name? Boyle").
		if real == 1 && i > 0 && cls[i]&cFirstNames == 0 && (cls[i-1]&cSpeechCue != 0 && !toks[i].nl ||
			lw.at(i-1) == "name" && strings.ContainsAny(text[toks[i-1].e:toks[i].s], "?:")) {
			add(toks[i].s, toks[i].e, KindName)
		}
	}
}

// unknownRun reports whether no word of toks[i:j] longer than an initial
// is in the dictionary at all, not even as a proper noun: in a headline,
// "Lukas Ostermann" is a person, "Saudi Arabia" or "Public Data" is not.
func unknownRun(toks []ptok, lw lowerWords, i, j int) bool {
	for k := i; k < j; k++ {
		w := lw.at(k)
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
func headline(text string, toks []ptok, lw lowerWords) bool {
	caps, words := 0, 0
	for k, t := range toks {
		if t.nl || t.digit || isAllCaps(text, t) || !isCommonWord(lw.at(k)) {
			continue
		}
		words++
		if t.upper {
			caps++
		}
	}
	return words >= 3 && caps*2 > words
}

// kinWords are words for people close to the speaker; after "my"/"our"/…
// and one of them, a single capitalised word or a known given name is a
// person's name ("my kid Ana", "my best friend Ola"), and so is a name
// before "'s" and one of them ("Ana's daughter"). Pets are not here: "my
// dog Rex" is fine to share.
var kinWords = setOfWords("kid kids child children son sons daughter daughters baby brother brothers sister sisters sibling cousin cousins friend friends bestie bff mate buddy pal classmate classmates teacher coach neighbour neighbor neighbours neighbors mom mum dad mother father parent parents stepmom stepdad stepmother stepfather grandma grandpa grandmother grandfather granny nana aunt auntie uncle husband wife boyfriend girlfriend crush partner wife's babysitter nanny tutor principal")

var possessives = setOfWords("my our his her their your")

// notPersonName are capitalised words found in given-name lists that in a
// child's chat name someone everybody knows, not a person to protect.
// So are words for faiths and peoples that the lists hold as names
// ("Christian"): alone they are about a group, not a person.
var notPersonName = setOfWords("santa claus jesus christ god allah lord buddha muhammad mohammed moses krishna muslim muslims islam christian christians jew jews jewish hindu hindus sikh sikhs buddhist buddhists catholic catholics protestant protestants mormon mormons arab arabs asian asians african africans european europeans latino latinos latina latinas roma gypsy gypsies minecraft roblox fortnite pokemon pikachu youtube tiktok nintendo playstation lego barbie")

// placePrep are words after which a capitalised given name is more often
// a place ("in Georgia", "from Jordan").
var placePrep = setOfWords("in from near visit visited visiting across")

// subjectVerbs follow a person's name that starts a sentence.
// (Regular past tenses count too: pastTense.)
var subjectVerbs = setOfWords("is was has had and said says told asked will would can could does did likes loves went lives gets got made makes wants needs thinks knows " +
	"began became brought built bought came chose drew drove fell felt found gave grew held kept knew led left lost met paid ran rode sang sat saw sent sold spent spoke stood swam taught thought took won wore wrote")

// pastTense reports a lower-case word of five letters or more that ends
// in "ed" ("worked", "served"): a verb after a name.
func pastTense(text string, t ptok) bool {
	return !t.upper && t.e-t.s >= 5 && text[t.e-2:t.e] == "ed"
}

// listSep reports whether toks[j] continues a list from toks[j-1]: the gap
// holds a comma (", ") or an ampersand, or toks[j] is "and"/"or" (then the
// item starts at j+1). It returns the index of the next item, or -1.
func listSep(text string, toks []ptok, lw lowerWords, i int) int {
	j := i + 1
	if j >= len(toks) || toks[j].nl {
		return -1
	}
	gap := text[toks[i].e:toks[j].s]
	switch {
	case gap == ", " || gap == "," || gap == " & " || gap == "& " || gap == " &":
		if w := lw.at(j); (w == "and" || w == "or") && j+1 < len(toks) && !toks[j+1].nl && spaceGap(text, toks[j].e, toks[j+1].s) {
			return j + 1 // ", and Ola"
		}
		return j
	case spaceGap(text, toks[i].e, toks[j].s):
		if w := lw.at(j); (w == "and" || w == "or") && j+1 < len(toks) && !toks[j+1].nl && spaceGap(text, toks[j].e, toks[j+1].s) {
			return j + 1
		}
	}
	return -1
}

// listNext is listSep with its commonest answer worked out before the
// call: a word followed by nothing, by a line break, or by one space and a
// word other than "and" or "or" (most words of a text) continues no list.
// (A call per word is dear in a wasm guest; TestPIIWordShortcutsChangeNothing
// compares the two.)
func listNext(text string, toks []ptok, lw lowerWords, cls []uint32, i int) int {
	j := i + 1
	if j >= len(toks) || toks[j].nl || toks[j].s == toks[i].e+1 && text[toks[i].e] == ' ' && cls[j]&cAndOr == 0 {
		return -1
	}
	return listSep(text, toks, lw, i)
}

// findLoneNames calls add for person names that stand alone, one word:
//   - a capitalised known given name that is not an ordinary English word
//     ("Ana", "Weronika"; not "Will" or "Rose", not "in Georgia");
//   - a name after a cue: "call me Ana", "I'm Ana", "hi Ana", "my kid Ana",
//     "Ana's daughter", a speaker label ("Ana: \"…\"");
//   - the other items of a list that holds a name ("Ana, Ola and Kit").
//
// nb holds the name-list bits of every word (nameBits), filled in on first
// use (nKnown marks a word looked up; the caller passes zeros); sep holds
// listSep of every word, likewise (the caller passes sepUnknown). Lower-case words
// count only as known given names, and only after a cue or in a list with
// another one ("call me ana", "ana and ola"). named marks the words already
// inside a name span on entry; it is updated.
func findLoneNames(text string, toks []ptok, lw lowerWords, cls []uint32, nb []uint8, named []bool, sep []int32, add func(a, b int, kind string)) {
	given := func(k int) bool {
		if toks[k].digit || toks[k].e-toks[k].s < 2 || cls[k]&(cCapStop|cStreetSuffix|cSchoolWords|cUnitWords) != 0 {
			return false
		}
		if nb[k]&nKnown == 0 { // looked up on first use: most words never are
			nb[k] = nameBits(lw.at(k)) | nKnown
		}
		return nb[k]&(nGiven|nCommon) == nGiven && !notPersonName[lw.at(k)] && !isAllCaps(text, toks[k])
	}
	// name reports whether word k can be a one-word name: a capitalised
	// name word (nameWord) or, in any case, a known given name.
	name := func(k int) bool {
		return given(k) || nameWord(text, toks, lw, cls, k) && !notPersonName[lw.at(k)]
	}
	// listedCap reports a capitalised word of the name lists, even an
	// ordinary word ("Grace", "Will"): a name when listed next to one.
	listedCap := func(k int) bool {
		if !toks[k].upper || toks[k].digit || isAllCaps(text, toks[k]) || cls[k]&(cCapStop|cStreetSuffix|cSchoolWords|cUnitWords) != 0 || notPersonName[lw.at(k)] {
			return false
		}
		if nb[k]&nKnown == 0 {
			nb[k] = nameBits(lw.at(k)) | nKnown
		}
		return nb[k]&(nGiven|nSurname) != 0
	}
	mark := func(k int) {
		if !named[k] {
			named[k] = true
			add(toks[k].s, toks[k].e, KindName)
		}
	}
	for i := range toks {
		t := toks[i]
		if t.digit {
			continue
		}
		// Most words are in lower case, inside a sentence, before no verb
		// of subjectVerbs and after none of the cue words: no pattern
		// below can match them.
		if !t.upper && !t.nl && (i+1 >= len(toks) || cls[i+1]&cSubjectVerb == 0) && (i == 0 || cls[i-1]&(cLoneCue|cNameCue|cKinWords) == 0) {
			continue
		}
		// A capitalised known given name anywhere, except after "in"/"from".
		if t.upper && len(lw.at(i)) >= 4 && (i == 0 || cls[i-1]&cPlacePrep == 0) && given(i) && (cls[i]&cFirstNames != 0 || !isProperNoun(lw.at(i))) {
			mark(i)
			continue
		}
		// Speaker labels: a line that starts "Ana: \"…".
		if t.nl && quoteAfterColon(text, t.e) && name(i) {
			mark(i)
			continue
		}
		// A sentence that starts with a capitalised word no dictionary
		// knows, followed by a verb: "Weronika is …", "Oddgeir had …".
		if t.nl && t.upper && i+1 < len(toks) && (cls[i+1]&cSubjectVerb != 0 || pastTense(text, toks[i+1])) && !toks[i+1].nl &&
			spaceGap(text, t.e, toks[i+1].s) && nameWord(text, toks, lw, cls, i) && cls[i]&cHandleWords == 0 &&
			!notPersonName[lw.at(i)] && (unknownRun(toks, lw, i, i+1) || cls[i]&cFirstNames != 0 && given(i)) {
			mark(i)
			continue
		}
		// Inside a sentence: a word of the name lists that is not an
		// ordinary word, before "has been"/"had been" ("the nickname of
		// Dalton has been …").
		if t.upper && !t.nl && i+2 < len(toks) && (lw.at(i+1) == "has" || lw.at(i+1) == "had") && lw.at(i+2) == "been" &&
			!toks[i+1].nl && len(lw.at(i)) >= 3 && cls[i]&(cCapStop|cHandleWords) == 0 && !notPersonName[lw.at(i)] &&
			(nameWord(text, toks, lw, cls, i) || given(i)) {
			mark(i)
			continue
		}
		// In lower case: a known given name before a verb ("emma is
		// coming"), a word after "mr."/"mrs." ("mr. hartvigsson").
		if !t.upper && i+1 < len(toks) && cls[i+1]&cSubjectVerb != 0 && lw.at(i+1) != "and" && !toks[i+1].nl &&
			len(lw.at(i)) >= 4 && given(i) && !isProperNoun(lw.at(i)) {
			mark(i)
			continue
		}
		if !t.upper && i > 0 && (lw.at(i-1) == "mr" || lw.at(i-1) == "mrs") && cls[i]&cCapStop == 0 && len(lw.at(i)) >= 3 &&
			(spaceGap(text, toks[i-1].e, t.s) || text[toks[i-1].e:t.s] == ".") {
			mark(i)
			continue
		}
		// Names after a cue (the cheap word tests first: the name-list
		// look-up only for a word after a cue).
		if i == 0 {
			continue
		}
		p := lw.at(i - 1)
		var cue int
		switch {
		case p == "me" && i >= 2 && lw.at(i-2) == "call",
			(p == "i'm" || p == "im" || p == "i’m") && !t.punct,
			p == "am" && i >= 2 && lw.at(i-2) == "i" && !t.punct,
			cls[i-1]&cNameCue != 0 && cls[i-1]&cTitleCue == 0 && !t.nl:
			cue = 1 // "call me Ana", "I'm Ana", "hi Ana"
		case (strings.HasPrefix(p, "ex-") && toks[i-1].e-toks[i-1].s > 4 || p == "former") && t.upper && !t.nl && !t.punct:
			cue = 2 // a former role: "ex-Googler Hartvigsson", "my ex-boyfriend Zyrkowski"
		case cls[i-1]&cKinWords != 0 && !t.nl:
			cue = 3 // "my kid Ana", "our best friend Ola"
		default:
			continue
		}
		if !name(i) || t.nl && !(t.upper || given(i)) {
			continue
		}
		switch cue {
		case 1:
			// a word no list knows only before a comma ("hi Zorblax,")
			if cls[i-1]&cNameCue != 0 && !given(i) && !commaAfter(text, t.e) {
				continue
			}
			if t.upper || given(i) {
				mark(i)
			}
		case 2:
			if unknownRun(toks, lw, i, i+1) {
				mark(i)
			}
		case 3:
			for k := i - 2; k >= 0 && k >= i-3; k-- {
				if cls[k]&cPossessive != 0 {
					mark(i)
					break
				}
			}
		}
	}
	// "Ana's daughter"
	for i := 0; i+1 < len(toks); i++ {
		if cls[i+1]&cKinWords == 0 || toks[i+1].nl { // (the cheap tests first)
			continue
		}
		w := lw.at(i)
		if len(w) < 4 {
			continue
		}
		if a := indexApostrophe(w); a > 0 && (w[a:] == "'s" || w[a:] == "’s") && !isAllCaps(text, toks[i]) {
			// capitalised: a listed name (even an ordinary word: "Grace's
			// mom") or a word no dictionary knows; lower case: a listed
			// given name that is not an ordinary word
			base := w[:a]
			nbb := nameBits(base)
			if c := piiClass[base]; c&(cCapStop|cStreetSuffix|cSchoolWords) == 0 && !notPersonName[base] &&
				(toks[i].upper && (nbb&(nGiven|nSurname) != 0 || !isCommonWord(base)) || !toks[i].upper && nbb&(nGiven|nCommon) == nGiven) {
				if !named[i] {
					named[i] = true
					add(toks[i].s, toks[i].s+a, KindName)
				}
			}
		}
	}
	// Lists: a word listed next to a name is a name too ("Ana, Ola and
	// Kit"), forwards then backwards; two known given names side by side
	// start a list even in lower case ("ana and ola").
	for pass := 0; pass < 2; pass++ {
		for i := range toks {
			if !named[i] && toks[i].upper {
				continue
			}
			j := int(sep[i])
			if j == sepUnknown { // the second pass asks again
				j = listNext(text, toks, lw, cls, i)
				sep[i] = int32(j)
			}
			if j < 0 || named[j] || !named[i] && !given(i) || !name(j) && !(named[i] && listedCap(j)) {
				continue
			}
			if !named[i] { // two lower-case given names
				if !given(j) {
					continue
				}
				mark(i)
			}
			if toks[j].upper || given(j) {
				mark(j)
			}
		}
		for i := len(toks) - 1; i > 0; i-- {
			if !named[i] {
				continue
			}
			for k := i - 1; k >= 0 && k >= i-2; k-- {
				if listNext(text, toks, lw, cls, k) == i {
					if !named[k] && (name(k) && (toks[k].upper || given(k)) || listedCap(k)) {
						mark(k)
					}
					break
				}
			}
		}
	}
}

// sepUnknown marks a word whose listSep findLoneNames has not computed.
const sepUnknown = -2

// commaAfter reports whether a comma follows text[:i] ("hi Ana, …").
func commaAfter(text string, i int) bool {
	return i < len(text) && text[i] == ','
}

// quoteAfterColon reports whether text[i:] is a colon and then, after
// spaces, a quotation mark: a speaker label in a dialogue.
func quoteAfterColon(text string, i int) bool {
	for i < len(text) && text[i] == ' ' {
		i++
	}
	if i >= len(text) || text[i] != ':' {
		return false
	}
	i++
	for i < len(text) && text[i] == ' ' {
		i++
	}
	return i < len(text) && (text[i] == '"' || text[i] == '\'' || strings.HasPrefix(text[i:], "“"))
}
