package rules

import (
	_ "embed" // the given-name list
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"daisydog/policies/sdk"
)

// More span kinds.
const (
	KindAddress  = "address"
	KindSchool   = "school"
	KindPassword = "password"
	KindHandle   = "handle"
	KindName     = "name"
	KindCard     = "card"
	KindIBAN     = "iban"
)

// ptok is a word of the original text for the PII scanners: a run of
// letters, digits and the inner punctuation . ' - (so "St.", "O'Neil",
// "12-14" stay one word). Offsets are bytes into the text.
type ptok struct {
	s, e  int
	digit bool // all ASCII digits
	upper bool // starts with an upper-case letter
	nl    bool // a line break or sentence end precedes it
	punct bool // a comma, colon or other separator precedes it
}

func piiTokens(text string, dst []ptok) []ptok {
	dst, _, _ = piiWords(text, dst, nil, nil)
	return dst
}

// piiWords is piiTokens that also writes each word's lower-case form
// (lowerWord) to low, word i at low[idx[i]:idx[i+1]], in the same pass
// over the text (a second pass per character is dear in a wasm guest).
func piiWords(text string, dst []ptok, low []byte, idx []int32) ([]ptok, []byte, []int32) {
	dst, low, idx = dst[:0], low[:0], idx[:0]
	nl, punct := true, false
	for i := 0; i < len(text); {
		// alnumAt's ASCII path written out: a call per character is dear
		// in a wasm guest.
		var r rune
		var size int
		var alnum bool
		if c := text[i]; c < utf8.RuneSelf {
			r, size, alnum = rune(c), 1, c-'a' < 26 || c-'A' < 26 || c-'0' < 10
		} else {
			r, size, alnum = alnumAt(text, i)
		}
		if !alnum {
			switch r {
			case '\n', '.', '!', '?', '>':
				nl = true
			case ',', ':', ';', '(', ')', '"', '/', '|':
				punct = true
			}
			i += size
			if i < len(text) && text[i] == ' ' {
				i++ // ", ": the space as the loop would take it, without a step
			}
			continue
		}
		start := i
		idx = append(idx, int32(len(low)))
		digit, upper := true, unicode.IsUpper(r)
		for i < len(text) {
			if c := text[i]; c-'a' < 26 {
				// A run of small letters in one step (most of a text).
				j := i + 1
				for j < len(text) && text[j]-'a' < 26 {
					j++
				}
				digit = false
				low = append(low, text[i:j]...)
				i = j
				if i < len(text) && text[i] == ' ' {
					break // (a space ends the word: no loop step to find it)
				}
				continue
			}
			if c := text[i]; c < utf8.RuneSelf {
				if c-'a' < 26 || c-'A' < 26 || c-'0' < 10 {
					if c-'0' >= 10 {
						digit = false
					}
					if c-'A' < 26 {
						c += 'a' - 'A'
					}
					low = append(low, c)
					i++
					continue
				}
				r, size = rune(c), 1
			} else {
				r, size, alnum = alnumAt(text, i)
				if alnum {
					digit = false // not an ASCII digit
					low = append(low, text[i:i+size]...)
					i += size
					continue
				}
			}
			// inner punctuation followed by a word character
			if (r == '\'' || r == '-' || r == '’') && i+size < len(text) {
				r2, _ := utf8.DecodeRuneInString(text[i+size:])
				if unicode.IsLetter(r2) || unicode.IsDigit(r2) {
					digit = false
					low = append(low, text[i:i+size]...)
					i += size
					continue
				}
			}
			break
		}
		end := i
		if end < len(text) && text[end] == '.' && !digit && end-start <= 4 && upper { // "St." "Apt." "Dr."
			end++
			i++
		}
		dst = append(dst, ptok{s: start, e: end, digit: digit, upper: upper, nl: nl, punct: punct})
		nl, punct = false, false
		if i < len(text) && text[i] == ' ' {
			i++ // the space after the word, as the loop's first branch would
		}
	}
	idx = append(idx, int32(len(low)))
	return dst, low, idx
}

func alnumAt(text string, i int) (rune, int, bool) {
	if c := text[i]; c < utf8.RuneSelf {
		return rune(c), 1, c-'a' < 26 || c-'A' < 26 || c-'0' < 10
	}
	r, size := utf8.DecodeRuneInString(text[i:])
	return r, size, unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lowerWords are the lower-case forms of the PII scanner's words, in one
// buffer: word i is low[idx[i]:idx[i+1]]. (A type with an inlinable
// method, not a closure: the scanners ask for words all the time, and an
// indirect call is dear in a wasm guest.)
type lowerWords struct {
	low []byte
	idx []int32
}

// at returns word i, aliasing the buffer.
func (l lowerWords) at(i int) string { return unsafeString(l.low[l.idx[i]:l.idx[i+1]]) }

// lowerWord appends the lower-case form of t (dots dropped) to buf.
func lowerWord(text string, t ptok, buf []byte) []byte {
	for i := t.s; i < t.e; i++ {
		c := text[i]
		if c == '.' {
			continue
		}
		buf = append(buf, lower(c))
	}
	return buf
}

var streetSuffix = setOfWords("road rd street st avenue ave av lane ln drive dr boulevard blvd court ct way place pl terrace close crescent circle cir highway hwy parkway pkwy square sq trail row grove gardens mews loop alley walk wynd strasse straße str gate gata gatan vej vei veien weg laan straat utca ulica ul rue via calle avenida rua piazza viale corso plaza")
var streetPrefix = setOfWords("ul rue via calle avenida rua piazza viale corso avenue boulevard chemin strada")

// unitWords start a unit number ("Apt. 478"). Not "room" or "floor":
// "Room 101" is a classroom or a game level more often than an address
// (inside an address the number is covered anyway).
var unitWords = setOfWords("apt apartment suite ste unit flat building bldg psc box")
var streetGlue = []string{"strasse", "straße", "gate", "gatan", "vej", "veien", "weg", "straat", "laan", "väg", "vägen", "allee", "platz", "gasse", "road", "street",
	// Nordic, Dutch, German and Polish street words ("Harjukuja 54",
	// "Søndergade 12", "Keizersgracht 7"), as the ending of a word that is
	// not an ordinary English one
	"kuja", "katu", "polku", "kaari", "rinne", "gade", "vænge", "gränd", "backe", "bakken", "vegen", "stien", "plein", "dijk", "gracht", "kade", "singel", "ufer", "pfad", "damm", "aleja"}
var schoolWords = setOfWords("school elementary primary academy middle high college prep preschool kindergarten montessori")
var nameCue = setOfWords("hi hello hey dear mr mrs ms miss dr")
var titleCue = setOfWords("mr mrs ms miss dr")
var passwordWords = setOfWords("password passwords passcode pin pw passwd")
var handleWords = setOfWords("username usernames user gamertag handle ign snapchat snap insta instagram tiktok discord roblox fortnite minecraft xbox psn steam twitter kik telegram")
var genericHandle = setOfWords("username usernames user gamertag handle ign")
var capStop = setOfWords("i i'm im the a an my your his her our their this that these those and or but if when what who why how where it its we you he she they me us them mom mum dad daddy mommy mommy grandma grandpa god jesus christmas easter halloween monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september october november december ok okay lol omg yes no hi hello hey dear thanks thank please rt daisy")

//go:embed data/first_names.txt
var firstNameData string

// firstNames are common given names: a capitalised one followed by another
// capitalised word is a full name ("Alma Jensen").
var firstNames = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(firstNameData, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, w := range strings.Fields(line) {
			m[w] = true
		}
	}
	delete(m, "daisy") // the companion's own name
	return m
}()

// nameIntro are words after which a capitalised word is a person's name
// even on its own ("great grandfather was called Halldór").
var nameIntro = setOfWords("called named surname lastname")

// addressCue are words after which the rest of the clause is an address
// once an address has been seen in it.
var zipWords = setOfWords("zip zipcode postcode postal")

func setOfWords(s string) map[string]bool {
	m := map[string]bool{}
	w := ""
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if w != "" {
				m[w] = true
			}
			w = ""
			continue
		}
		w += s[i : i+1]
	}
	return m
}

// tokAfter returns the index of the first word of toks (in text order,
// disjoint) that ends after byte a, or len(toks).
func tokAfter(toks []ptok, a int) int {
	lo, hi := 0, len(toks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if toks[m].e > a {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func isNumberTok(text string, t ptok) bool {
	if t.digit {
		return t.e-t.s <= 6
	}
	// 42b, 12-14 (the first byte first: most words start with a letter,
	// and a loop over their letters is dear in a wasm guest)
	if !isDigit(text[t.s]) || t.e-t.s > 7 {
		return false
	}
	n := 0
	for i := t.s; i < t.e; i++ {
		if isDigit(text[i]) {
			n++
		}
	}
	return n <= 6
}

// findPersonal appends spans for addresses, unit numbers, post codes in
// addresses, schools, passwords, handles, names, card numbers and IBANs.
//
// oneWord also reports names of one word (a first name alone, a name after
// "call me", "my friend …", in a list; findLoneNames): on for the younger
// tiers, off when relaxed (13–17 or a relaxed parent), where a first name
// alone is fine to share and only full names are redacted.
func (s *scratch) findPersonal(text string, spans []sdk.Span, oneWord bool) []sdk.Span {
	// The words and their lower-case forms, in one buffer.
	toks, plow, plowIdx := piiWords(text, s.ptoks, s.plow, s.plowIdx)
	s.ptoks, s.plow, s.plowIdx = toks, plow, plowIdx
	add := func(a, b int, kind string) {
		if a < b && !placeholderOnly(text, a, b) {
			spans = append(spans, sdk.Span{Start: a, End: b, Category: sdk.CategoryPIIDisclosure, Kind: kind})
		}
	}
	lw := lowerWords{s.plow, s.plowIdx}
	// Word classes of every word, one map look-up each.
	s.pcls = s.pcls[:0]
	for i := range toks {
		c, _ := piiClassTab.get(lw.at(i))
		s.pcls = append(s.pcls, uint32(c))
	}
	cls := s.pcls
	address := false
	for i := range toks {
		t := toks[i]
		w := lw.at(i)
		// Most words start none of the patterns below: skip them after a
		// few cheap tests (each pattern needs one of these word classes,
		// one of these words, or a number here or next).
		if cls[i]&(cTrigger|cScanWord) == 0 && !isNumberTok(text, t) && (i+1 >= len(toks) || toks[i+1].nl || !isNumberTok(text, toks[i+1])) {
			continue
		}
		// number + words + street suffix: "42 Elm Road", "1600 Pennsylvania Ave"
		if isNumberTok(text, t) {
			for j := i + 1; j < len(toks) && j <= i+5; j++ {
				if toks[j].nl && j > i+1 {
					break
				}
				if cls[j]&cStreetSuffix != 0 && j > i+1 || (j > i && cls[j]&cStreetPrefix != 0 && j+1 < len(toks)) {
					end := toks[j].e
					if cls[j]&cStreetPrefix != 0 { // "772 ul. Narewska 94"
						k := j + 1
						for k < len(toks) && k <= j+4 && !toks[k].nl && !toks[k].punct {
							end = toks[k].e
							if isNumberTok(text, toks[k]) {
								break
							}
							k++
						}
					}
					add(t.s, end, KindAddress)
					address = true
					break
				}
				if toks[j].digit {
					break
				}
			}
		}
		// "87 Harjukuja 54" as a line of its own: a number, a word no
		// dictionary knows and a house number (an address line without a
		// street word).
		if t.nl && isNumberTok(text, t) && i+2 < len(toks) && toks[i+1].upper && !toks[i+1].nl && !toks[i+1].punct &&
			isNumberTok(text, toks[i+2]) && toks[i+2].e-toks[i+2].s <= 4 && !toks[i+2].nl && !toks[i+2].punct &&
			lineBreakAfter(text, toks[i+2].e) && cls[i+1]&(cCapStop|cHandleWords) == 0 && !notPersonName[lw.at(i+1)] &&
			!isAllCaps(text, toks[i+1]) && unknownRun(toks, lw, i+1, i+2) {
			add(t.s, toks[i+2].e, KindAddress)
			address = true
		}
		// "ul. Narewska 94", "rue des Lilas 5", "Via Franscini 71"
		if cls[i]&cStreetPrefix != 0 && i+1 < len(toks) && (t.upper || (i > 0 && isNumberTok(text, toks[i-1]))) {
			for k := i + 1; k < len(toks) && k <= i+5 && !toks[k].nl; k++ {
				if isNumberTok(text, toks[k]) && k > i+1 {
					add(t.s, toks[k].e, KindAddress)
					address = true
					break
				}
			}
		}
		// "Villacher Strasse 89", "Trenerys gate 232", "Elm Street 5"
		// (The cheap test first: most words are not followed by a number.)
		for _, g := range streetGlue {
			if i+1 >= len(toks) || toks[i+1].nl || !isNumberTok(text, toks[i+1]) {
				break
			}
			if len(w) > len(g) && w[len(w)-len(g):] == g && !isCommonWord(w) || w == g {
				a := t.s
				if w == g && i > 0 && !toks[i].nl {
					a = toks[i-1].s
				}
				add(a, toks[i+1].e, KindAddress)
				address = true
				break
			}
		}
		// "Apt. 478", "Suite 838", "Flat 3"
		if cls[i]&cUnitWords != 0 && i+1 < len(toks) && isNumberTok(text, toks[i+1]) {
			add(t.s, toks[i+1].e, KindAddress)
			address = true
		}
		// "I live at/on ..." up to the end of the clause
		if w == "live" && i > 0 && i+2 < len(toks) {
			p := lw.at(i - 1)
			n := lw.at(i + 1)
			if (p == "i" || p == "we") && (n == "at" || n == "on") {
				end := -1
				for k := i + 2; k < len(toks) && k <= i+7; k++ {
					if k > i+2 && (toks[k].nl || toks[k].punct) {
						break
					}
					end = toks[k].e
				}
				if end > 0 {
					add(toks[i+2].s, end, KindAddress)
					address = true
				}
			}
		}
		// schools: "Lincoln Elementary", "my school is Oak Hill"
		if cls[i]&cSchoolWords != 0 && i > 0 && w != "high" && w != "middle" {
			a := -1
			for k := i - 1; k >= 0 && k >= i-4 && !toks[k+1].nl; k-- {
				wk := lw.at(k)
				if !toks[k].upper || cls[k]&cCapStop != 0 || wk == "school" {
					break
				}
				a = toks[k].s
			}
			if a >= 0 {
				add(a, t.e, KindSchool)
			}
		}
		if (w == "school" || w == "schools") && i+2 < len(toks) {
			if n := lw.at(i + 1); n == "is" || n == "called" {
				end := -1
				for k := i + 2; k < len(toks) && k <= i+6; k++ {
					if k > i+2 && (toks[k].nl || toks[k].punct) {
						break
					}
					end = toks[k].e
				}
				add(toks[i+2].s, end, KindSchool)
			}
		}
		// passwords: "my password is sunshine99", "pin: 1234"
		if cls[i]&cPasswordWords != 0 && i+1 < len(toks) {
			k := i + 1
			if n := lw.at(k); (n == "is" || n == "s") && k+1 < len(toks) {
				k++
			}
			if k > i+1 || toks[k].punct {
				add(toks[k].s, toks[k].e, KindPassword)
			}
		}
		// handles: "my username is sky_kid", "my snap is @kid"
		// (after an app or game name only with "my": "my roblox is sky_kid",
		// not "Minecraft is awesome")
		if cls[i]&cHandleWords != 0 && i+2 < len(toks) && lw.at(i+1) == "is" && cls[i+2]&cCapStop == 0 &&
			(genericHandle[w] || i > 0 && cls[i-1]&cPossessive != 0) {
			a := toks[i+2].s
			if a > 0 && text[a-1] == '@' {
				a--
			}
			e := toks[i+2].e
			for e < len(text) && (text[e] == '_' || isAlnum(text[e])) {
				e++
			}
			add(a, e, KindHandle)
		}
		// Full names after a cue: "my name is Sam Lee", "Hi Lily Nolan",
		// "Mr. Becker". A first name alone is fine to share.
		if (w == "name" && i+2 < len(toks) && (lw.at(i+1) == "is" || lw.at(i+1) == "s")) || (cls[i]&cNameCue != 0 && i+1 < len(toks) && toks[i+1].upper) {
			k := i + 1
			if w == "name" {
				k = i + 2
			}
			if k < len(toks) && (toks[k].upper || w == "name") && cls[k]&cCapStop == 0 {
				end, n := toks[k].e, 1
				for m := k + 1; m < len(toks) && m <= k+2 && (toks[m].upper || w == "name") && !toks[m].nl && !toks[m].punct && cls[m]&cCapStop == 0; m++ {
					end = toks[m].e
					n++
				}
				if cls[i]&cTitleCue != 0 {
					switch {
					case placeholderOnly(text, toks[k].s, end):
					case strings.Trim(text[t.e:toks[k].s], ". ") == "":
						add(t.s, end, KindName) // the title is part of the name: "Mrs. Kathrine Filemonsen"
					default:
						add(toks[k].s, end, KindName) // "Mr_Perfect", "dr: Alcohol"
					}
				} else if n >= 2 {
					add(toks[k].s, end, KindName)
				}
			}
		}
		// A known given name followed by a capitalised surname, with an
		// optional middle initial: "Alma Jensen", "Iva D. Grusová".
		if t.upper && cls[i]&cFirstNames != 0 && i+1 < len(toks) && !isAllCaps(text, t) {
			j := i + 1
			if j+1 < len(toks) && toks[j].e-toks[j].s <= 2 && toks[j].upper && !toks[j+1].nl {
				j++ // middle initial
			}
			if toks[j].upper && !toks[j].nl && !toks[j].punct && cls[j]&cCapStop == 0 && cls[j]&cStreetSuffix == 0 &&
				cls[j]&cSchoolWords == 0 && !isAllCaps(text, toks[j]) && cls[j]&cFirstNames == 0 || (j == i+2 && toks[j].upper) {
				add(t.s, toks[j].e, KindName)
			}
		}
		// "was called Halldór Árnþórsson", "Name: Iva", "surname is Lee"
		if (cls[i]&cNameIntro != 0 || (w == "name" && i+1 < len(toks) && toks[i+1].punct)) && i+1 < len(toks) {
			k := i + 1
			if k+1 < len(toks) && (lw.at(k) == "is" || lw.at(k) == "was") {
				k++
			}
			// "name:    hyuuma t. maida" on a line of its own, in lower case
			form := w == "name" && k == i+1 && toks[k].punct && strings.TrimRight(text[t.e:toks[k].s], " \t") == ":" && !toks[k].upper && cls[k]&cCapStop == 0 && lineEndWithin(toks, k, 3)
			if (toks[k].upper || form) && cls[k]&cCapStop == 0 {
				end, n := toks[k].e, 1
				for m := k + 1; m < len(toks) && m <= k+2 && (toks[m].upper || form) && !(toks[m].nl && !initialDot(text, toks, m)) && !toks[m].punct && cls[m]&cCapStop == 0; m++ {
					end = toks[m].e
					n++
				}
				// One word is a name only when a person was named ("my
				// grandfather was called Halldór"; a dog called Rex is not).
				person := w == "name" || w == "surname" || w == "lastname"
				for m := i - 1; m >= 0 && m >= i-4; m-- {
					person = person || cls[m]&cPersonWords != 0
				}
				if n >= 2 || person {
					add(toks[k].s, end, KindName)
				}
			}
		}
		// "my zip code is 35350", "postcode: SW1A 1AA"
		if cls[i]&cZipWords != 0 && i+1 < len(toks) {
			k := i + 1
			for k < len(toks) && k <= i+3 && !hasDigitTok(text, toks[k]) {
				if wk := lw.at(k); wk != "code" && wk != "is" && wk != "number" {
					break
				}
				k++
			}
			if k < len(toks) && k <= i+3 && hasDigitTok(text, toks[k]) {
				end := toks[k].e
				if k+1 < len(toks) && hasDigitTok(text, toks[k+1]) && !toks[k+1].nl && toks[k+1].e-toks[k+1].s <= 4 {
					end = toks[k+1].e // "SW1A 1AA"
				}
				add(toks[k].s, end, KindAddress)
				address = true
			}
		}
	}
	// Full names: two or three capitalised words in a row (not function
	// words), e.g. "Theodore Marshall", "Stefanie F. Schneider". Not in
	// text where most words are capitalised (titles, headlines).
	caps, words := 0, 0
	for _, t := range toks {
		if !t.digit {
			words++
			if t.upper {
				caps++
			}
		}
	}
	titleCase := words >= 4 && caps*2 > words
	tc := -1 // headline(text, …), once, when findNames first asks
	findNames(text, toks, lw, cls, func() bool {
		if tc < 0 {
			tc = 0
			if headline(text, toks, lw) {
				tc = 1
			}
		}
		return tc == 1
	}, add)
	for i := 0; i+1 < len(toks) && !titleCase; i++ {
		if !toks[i].upper || cls[i]&cCapStop != 0 || isAllCaps(text, toks[i]) {
			continue
		}
		j := i + 1
		for j < len(toks) && j <= i+2 && toks[j].upper && !toks[j].nl && !toks[j].punct && cls[j]&cCapStop == 0 && !isAllCaps(text, toks[j]) {
			j++
		}
		// Only a line that holds nothing but the name counts (address
		// blocks, signatures, "> Lina Artemova"): capitalised pairs inside
		// sentences are as often places, teams or titles as people.
		alone := toks[i].nl && (j >= len(toks) || toks[j].nl)
		// not a heading of ordinary words ("View Profile", "Local News");
		// (the dictionary look-ups of nameWord last)
		if j-i >= 2 && alone && nameWord(text, toks, lw, cls, i) && nameWord(text, toks, lw, cls, j-1) {
			add(toks[i].s, toks[j-1].e, KindName)
			i = j - 1
		}
	}
	if oneWord {
		// One-word names: known given names, names after a cue, lists.
		s.pnb = s.pnb[:0]
		s.pnamed = s.pnamed[:0]
		s.psep = s.psep[:0]
		for range toks {
			s.pnb = append(s.pnb, 0)
			s.pnamed = append(s.pnamed, false)
			s.psep = append(s.psep, sepUnknown)
		}
		for _, sp := range spans {
			if sp.Kind != KindName {
				continue
			}
			// The words it overlaps: from the first that ends after its
			// start (a binary search, not a pass over every word per span).
			for i := tokAfter(toks, sp.Start); i < len(toks) && toks[i].s < sp.End; i++ {
				s.pnamed[i] = true
			}
		}
		findLoneNames(text, toks, lw, cls, s.pnb, s.pnamed, s.psep, add)
	}
	// A name that ends in a particle goes on to the capitalised word
	// after it ("says Du Cane", "Ludwig van Beethoven").
	// (Words end in increasing order: only the one found by a binary
	// search can end where the span does.)
	for n := range spans {
		if spans[n].Kind != KindName {
			continue
		}
		if i := tokAfter(toks, spans[n].End-1); i+1 < len(toks) && toks[i].e == spans[n].End && cls[i]&cNameParticle != 0 &&
			toks[i+1].upper && !toks[i+1].nl && !toks[i+1].punct && cls[i+1]&cCapStop == 0 && spaceGap(text, toks[i].e, toks[i+1].s) {
			spans[n].End = toks[i+1].e
		}
	}
	for i := 0; i+2 < len(toks); i++ {
		switch {
		case cls[i]&cCornerWords != 0 && lw.at(i+1) == "of" && (toks[i+2].upper || isNumberTok(text, toks[i+2]) || cls[i+2]&cStreetPrefix != 0 ||
			(i+3 < len(toks) && isNumberTok(text, toks[i+3]))):
			// "the corner of Beiteveien 2 and Sieda Radial": all of it
			a := i
			if i > 0 && lw.at(i-1) == "the" && !toks[i].nl {
				a = i - 1
			}
			add(toks[a].s, cornerEnd(text, toks, lw, i+2), KindAddress)
			address = true
		case lw.at(i) == "lives" && i > 1 && !toks[i].nl && !toks[i].punct && (lw.at(i+1) == "at" || lw.at(i+1) == "in" || lw.at(i+1) == "on"):
			// "Caitlin Lennox lives at …", "eva kleist lives at …": the
			// person whose address follows. Two or three words, capitalised
			// or starting with a known given name.
			lo := i
			for k := i - 1; k >= 0 && k >= i-3 && cls[k]&cCapStop == 0 && !toks[k].digit; k-- {
				lo = k
				if toks[k].nl || toks[k].punct {
					break
				}
			}
			for a := lo; a <= i-2; a++ {
				caps := true
				for k := a; k < i; k++ {
					caps = caps && toks[k].upper
				}
				if caps || cls[a]&cFirstNames != 0 {
					add(toks[a].s, toks[i-1].e, KindName)
					break
				}
			}
		case lw.at(i) == "in" && !toks[i+1].nl:
			// "in Springfield 62704", "in Lake Tahoe CA 96150": a post code
			// after a place (capitalised words no dictionary has in lower
			// case, or a state abbreviation); not a year ("in Paris 2024").
			// Place words: capitalised (or all capitals) and not ordinary
			// words, a one-letter abbreviation, particles ("Pozuelo de
			// Alarcón"). Post codes of one group or 3+2 digits ("114 55").
			k := i + 1
			for k < len(toks) && k <= i+5 && !toks[k].nl && !toks[k].digit && !toks[k].punct &&
				(toks[k].upper && cls[k]&(cCapStop|cHandleWords) == 0 && !notPersonName[lw.at(k)] && (toks[k].e-toks[k].s <= 2 || !isCommonWord(lw.at(k))) ||
					k > i+1 && cls[k]&cNameParticle != 0 && !toks[k].upper) {
				k++
			}
			if k > i+1 && k < len(toks) && !toks[k].nl && !toks[k].punct && toks[k-1].upper {
				end := -1
				switch {
				case postCodeTok(text, toks[k]):
					end = toks[k].e
				case toks[k].digit && toks[k].e-toks[k].s == 3 && k+1 < len(toks) && toks[k+1].digit &&
					toks[k+1].e-toks[k+1].s == 2 && spaceGap(text, toks[k].e, toks[k+1].s):
					end = toks[k+1].e
				}
				if end > 0 {
					add(toks[i+1].s, end, KindAddress)
					address = true
				}
			}
		case toks[i+1].e-toks[i+1].s == 2 && toks[i+2].digit && militaryPost[lw.at(i)] && // (the map look-up last)
			(isAllCaps(text, toks[i+1]) || militaryArea[lw.at(i+1)] && toks[i+2].e-toks[i+2].s == 5):
			add(toks[i].s, toks[i+2].e, KindAddress) // "APO AE 85103"
			address = true
		}
	}
	// Once a text holds an address, a line of just a capitalised word and
	// a house number is a street line of it too ("Harjukuja 54").
	if address {
		for i := 0; i+1 < len(toks); i++ {
			if toks[i].nl && toks[i].upper && isNumberTok(text, toks[i+1]) && !toks[i+1].nl &&
				(i+2 >= len(toks) || toks[i+2].nl) {
				add(toks[i].s, toks[i+1].e, KindAddress)
			}
		}
	}
	// Address cues followed by a house number: "located at 9931 14 Iliou
	// Street", "my new address is 68954 Geddingmoor 24".
	for i := 0; i+2 < len(toks); i++ {
		if cls[i]&cAddressCue == 0 {
			continue
		}
		k := i + 1
		if n := lw.at(k); n == "at" || n == "is" || n == "to" || n == "in" || n == "on" || toks[k].punct {
			if toks[k].punct && n != "at" && n != "is" && n != "to" && n != "in" && n != "on" {
				k-- // "Address: 17693 Király u. 15."
			}
			if k+1 < len(toks) && isNumberTok(text, toks[k+1]) {
				add(toks[k+1].s, toks[k+1].e, KindAddress)
				address = true
			}
		}
	}
	// An address runs on to the end of its clause: street, unit, town,
	// post code and country, possibly over several short lines.
	if address {
		for n := range spans {
			if spans[n].Kind == KindAddress {
				spans[n].Start, spans[n].End = s.extendAddress(text, toks, lw, spans[n].Start, spans[n].End)
			}
		}
	}
	// In an address, house numbers and post codes on their own too.
	if address {
		for i, t := range toks {
			if isNumberTok(text, t) && t.e-t.s >= 3 {
				add(t.s, t.e, KindAddress)
			}
			_ = i
		}
	}
	spans = findCards(text, spans)
	return spans
}

// Word classes for the PII scanners (bits of piiClass).
const (
	cStreetSuffix uint32 = 1 << iota
	cStreetPrefix
	cUnitWords
	cSchoolWords
	cNameCue
	cTitleCue
	cPasswordWords
	cHandleWords
	cCapStop
	cFirstNames
	cNameIntro
	cZipWords
	cPersonWords
	cAddressCue
	cAddressWords
	cSpeechCue
	cNameParticle
	cKinWords
	cPossessive
	cPlacePrep
	cSubjectVerb
	cCornerWords
	// cLoneCue: the words before a lower-case one-word name that
	// findLoneNames compares (lets it skip most words after a few bit tests)
	cLoneCue
	// cScanWord: the words other than cTrigger's that start a pattern of
	// findPersonal's per-word loop ("live", "school", "schools", "name")
	cScanWord
	// cAndOr: "and" and "or", which continue a list (listNext)
	cAndOr
)

// cTrigger are the classes that start a pattern of findPersonal's
// per-word loop.
const cTrigger = cStreetPrefix | cUnitWords | cSchoolWords | cPasswordWords | cHandleWords | cNameCue | cFirstNames | cNameIntro | cZipWords

// piiClassTab is piiClass for the per-word look-ups (strtab.go).
var piiClassTab = newStrTab(piiClass)

// piiClass maps a lower-case word to its classes, so that the scanners
// look each word up once instead of once per word set.
var piiClass = func() map[string]uint32 {
	m := map[string]uint32{}
	for _, e := range []struct {
		set map[string]bool
		bit uint32
	}{
		{streetSuffix, cStreetSuffix},
		{streetPrefix, cStreetPrefix},
		{unitWords, cUnitWords},
		{schoolWords, cSchoolWords},
		{nameCue, cNameCue},
		{titleCue, cTitleCue},
		{passwordWords, cPasswordWords},
		{handleWords, cHandleWords},
		{capStop, cCapStop},
		{firstNames, cFirstNames},
		{nameIntro, cNameIntro},
		{zipWords, cZipWords},
		{personWords, cPersonWords},
		{addressCue, cAddressCue},
		{addressWords, cAddressWords},
		{speechCue, cSpeechCue},
		{nameParticle, cNameParticle},
		{kinWords, cKinWords},
		{possessives, cPossessive},
		{placePrep, cPlacePrep},
		{subjectVerbs, cSubjectVerb},
		{setOfWords("corner intersection junction crossroads"), cCornerWords},
		{setOfWords("me i'm im i’m am mr mrs"), cLoneCue},
		{setOfWords("live school schools name"), cScanWord},
		{setOfWords("and or"), cAndOr},
	} {
		for w := range e.set {
			m[w] |= e.bit
		}
	}
	return m
}()

var personWords = setOfWords("grandfather grandmother grandpa grandma father mother dad mom mum brother sister son daughter uncle aunt cousin friend teacher coach man woman boy girl guy lady person he she husband wife boyfriend girlfriend neighbour neighbor")

var addressCue = setOfWords("address located lives live living moved reside resides arrived")

// addressWords may appear in lower case inside an address.
var addressWords = setOfWords("and de del della di da do dos das du des la le les el van von der den z u ut út ul st rd ave apt suite unit box po nan of the am im v na nad pod rkp krt utca tér")

// countryWords are country names (lower case) that end an address.
var countryWords = setOfWords("afghanistan albania algeria argentina armenia australia austria belgium bolivia brazil bulgaria canada chile china colombia croatia cyprus czech czechia denmark ecuador egypt estonia finland france georgia germany ghana greece greenland hungary iceland india indonesia ireland israel italy japan jordan kenya latvia lithuania luxembourg malaysia malta mexico morocco netherlands nigeria norway pakistan peru philippines poland portugal romania russia serbia singapore slovakia slovenia spain sweden switzerland taiwan thailand tunisia turkey ukraine uruguay usa venezuela vietnam republic kingdom")

// extendAddress widens an address span [a, b) over the neighbouring
// words that belong to the same address (capitalised words, numbers,
// short particles, commas, following short lines), stopping at ordinary
// lower-case words and sentence ends.
func (s *scratch) extendAddress(text string, toks []ptok, lw lowerWords, a, b int) (int, int) {
	first, last := -1, -1
	for i, t := range toks {
		if t.s < b && a < t.e {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return a, b
	}
	member := func(k int) bool {
		t := toks[k]
		if t.digit || t.upper || hasDigitTok(text, t) {
			return !(t.upper && capStop[lw.at(k)] && lw.at(k) != "the")
		}
		return addressWords[lw.at(k)]
	}
	for k := last + 1; k < len(toks) && k <= last+14; k++ {
		gap := text[toks[k-1].e:toks[k].s]
		if strings.ContainsAny(gap, "?!;\"()") || (strings.Contains(gap, ". ") && toks[k].upper && toks[k-1].e-toks[k-1].s > 3 && !toks[k-1].digit) {
			break
		}
		if toks[k].nl && strings.Contains(gap, "\n") {
			// a following line belongs to the address when it is short
			m := k
			for m < len(toks) && (m == k || !toks[m].nl) {
				m++
			}
			if m-k > 6 {
				break
			}
		}
		if !member(k) && !foreignWord(text, toks[k]) && !countryWords[lw.at(k)] {
			break
		}
		last = k
	}
	// "Cyprus (Greek)": a country's qualifier in brackets.
	if last+2 < len(toks) && toks[last].upper && text[toks[last].e:toks[last+1].s] == " (" && toks[last+1].upper &&
		toks[last+1].e < len(text) && text[toks[last+1].e] == ')' && (last+2 >= len(toks) || toks[last+2].s > toks[last+1].e) {
		last++
		b = max(b, toks[last].e+1)
	}
	// Backwards over the street: capitalised words and numbers, street
	// particles ("Rákóczi út 66.", "ul. Jesionowa"), a house number with
	// an ordinal dot ("Belgrád rkp. 18. Apt. 417").
	for k, ok := first-1, first; k >= 0 && k >= first-5; k-- {
		gap := text[toks[k].e:toks[k+1].s]
		dotted := strings.TrimRight(gap, " ") == "." && (toks[k].digit || addressWords[lw.at(k)])
		if (toks[k+1].nl && !dotted) || (strings.ContainsAny(gap, ".?!:;\n") && !dotted) {
			break
		}
		if toks[k].digit || (toks[k].upper && !capStop[lw.at(k)]) || foreignWord(text, toks[k]) {
			ok = k
		} else if !addressWords[lw.at(k)] || lw.at(k) == "the" || lw.at(k) == "of" {
			break
		}
		first = ok
	}
	// The street line above a line that starts the span ("Storgarden 52
	// Trajanka Forks" above "Suite 894"), or a military unit above its
	// APO/FPO line ("USNS Møller", "Unit 1009 Box 0219").
	if first > 0 && toks[first].nl && strings.Contains(text[toks[first-1].e:toks[first].s], "\n") {
		military := militaryPost[lw.at(first)]
		k := first - 1
		lineStart := k
		for lineStart > 0 && !(toks[lineStart].nl && strings.ContainsAny(text[toks[lineStart-1].e:toks[lineStart].s], "\n.?!")) && lineStart > first-8 {
			lineStart--
		}
		run, digits := first, false
		for m := k; m >= lineStart && m > first-7 && (!military || m > first-5); m-- {
			w := lw.at(m)
			if military {
				if militaryUnit[w] {
					run = m
				}
				continue
			}
			if !(toks[m].digit || hasDigitTok(text, toks[m]) || (toks[m].upper && !capStop[w]) || foreignWord(text, toks[m]) || (addressWords[w] && w != "and" && w != "the" && w != "of")) {
				break
			}
			digits = digits || hasDigitTok(text, toks[m])
			if !military && (toks[m].digit || toks[m].upper || foreignWord(text, toks[m])) {
				run = m
			}
		}
		if run < first && (military || (digits && first-run >= 2)) {
			first = run
		}
	}
	a, b = min(a, toks[first].s), max(b, toks[last].e)
	return a, b
}

// militaryPost are the post office words of US military addresses, and
// militaryUnit the words that start the line above them ("USS Lorenzen",
// "Unit 4526 Box 0671", "PSC 1234, Box 56").
var (
	militaryPost = setOfWords("apo fpo dpo")
	militaryUnit = setOfWords("uss usns uscgc usnv unit psc cmr")
)

// lineEndWithin reports whether the words from k on reach the end of
// their line (or of the text) within n words.
func lineEndWithin(toks []ptok, k, n int) bool {
	for m := k + 1; m <= k+n; m++ {
		if m >= len(toks) || (toks[m].nl && !toks[m].punct) {
			return true
		}
	}
	return false
}

// initialDot reports whether word m follows a one-letter initial and its
// dot ("t. maida"), which does not end a sentence.
func initialDot(text string, toks []ptok, m int) bool {
	p := toks[m-1]
	return p.e-p.s == 1 && strings.TrimRight(text[p.e:toks[m].s], " ") == "."
}

// militaryArea are the "states" of US military addresses.
var militaryArea = setOfWords("aa ae ap")

// cornerEnd returns where "the corner of A and B" ends, A starting at word
// k: through the word after "and" up to the end of the clause when it
// ends within three words ("Csabai kapu 39. and Mathias Pass"), else
// word k.
func cornerEnd(text string, toks []ptok, lw lowerWords, k int) int {
	for j := k + 1; j < len(toks) && j <= k+6; j++ {
		if toks[j].punct || (toks[j].nl && !(toks[j-1].digit && strings.TrimRight(text[toks[j-1].e:toks[j].s], " ") == ".")) {
			break
		}
		if lw.at(j) != "and" {
			continue
		}
		m := j + 1
		for m < len(toks) && m <= j+3 && !toks[m].nl && !toks[m].punct {
			m++
		}
		if m > j+1 && (m >= len(toks) || toks[m].nl || toks[m].punct) {
			return toks[m-1].e
		}
		break
	}
	return toks[k].e
}

// foreignWord reports a lower-case word with letters outside ASCII
// ("põik", "mohács"): in an address, a street or town word of another
// language rather than an ordinary English word.
func foreignWord(text string, t ptok) bool {
	for i := t.s; i < t.e; i++ {
		if text[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// lineBreakAfter reports whether text[i:] is, after spaces, a line break
// or a '>' separator (not the end of the text: a one-line message is a
// chat line more often than an address block).
func lineBreakAfter(text string, i int) bool {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r') {
		i++
	}
	return i < len(text) && (text[i] == '\n' || text[i] == '>')
}

// postCodeTok reports a post code: 4 to 6 digits, not a year (1900–2099
// when it has four).
func postCodeTok(text string, t ptok) bool {
	n := t.e - t.s
	if !t.digit || n < 4 || n > 6 {
		return false
	}
	if n == 4 && (text[t.s:t.s+2] == "19" || text[t.s:t.s+2] == "20") {
		return false
	}
	return true
}

func hasDigitTok(text string, t ptok) bool {
	for i := t.s; i < t.e; i++ {
		if isDigit(text[i]) {
			return true
		}
	}
	return false
}

func isAllCaps(text string, t ptok) bool {
	n := 0
	for i := t.s; i < t.e; i++ {
		c := text[i]
		if c >= 'a' && c <= 'z' {
			return false
		}
		if c >= 'A' && c <= 'Z' {
			n++
		}
	}
	return n >= 2
}

// findCards appends card numbers (13–19 digits, contiguous or in groups
// of four) and IBANs (two letters, two digits, 10–30 letters/digits).
func findCards(text string, spans []sdk.Span) []sdk.Span {
	for i := 0; i < len(text); i++ {
		// Both start with a capital letter or a digit: eight bytes at a
		// time, then one test, pass over the small letters, spaces and
		// punctuation of most text.
		for i+8 <= len(text) {
			x := load8(text, i)
			if bytesIn(x, '0', '9')|bytesIn(x, 'A', 'Z') != 0 {
				break
			}
			i += 8
		}
		if i >= len(text) {
			break
		}
		if c := text[i]; c-'0' >= 10 && c-'A' >= 26 || i > 0 && isAlnum(text[i-1]) {
			continue
		}
		// IBAN
		if i+4 < len(text) && isAlpha(text[i]) && isAlpha(text[i+1]) && text[i] <= 'Z' && text[i+1] <= 'Z' && isDigit(text[i+2]) && isDigit(text[i+3]) {
			j := i + 4
			n := 0
			for j < len(text) && (isDigit(text[j]) || (text[j] >= 'A' && text[j] <= 'Z') || (text[j] == ' ' && j+1 < len(text) && (isDigit(text[j+1]) || text[j+1] >= 'A' && text[j+1] <= 'Z'))) {
				if text[j] != ' ' {
					n++
				}
				j++
			}
			for j > i && text[j-1] == ' ' {
				j--
			}
			if n >= 10 && n <= 30 && (j == len(text) || !isAlnum(text[j])) && ibanValid(text[i:j]) {
				spans = append(spans, sdk.Span{Start: i, End: j, Category: sdk.CategoryPIIDisclosure, Kind: KindIBAN})
				i = j
				continue
			}
		}
		if !isDigit(text[i]) {
			continue
		}
		j, n := i, 0
		for j < len(text) && (isDigit(text[j]) || ((text[j] == ' ' || text[j] == '-') && j+1 < len(text) && isDigit(text[j+1]) && n%4 == 0 && n > 0)) {
			if isDigit(text[j]) {
				n++
			}
			j++
		}
		if n >= 13 && n <= 19 && (j == len(text) || !isAlnum(text[j])) {
			spans = append(spans, sdk.Span{Start: i, End: j, Category: sdk.CategoryPIIDisclosure, Kind: KindCard})
		}
		i = j
	}
	return spans
}

// ibanValid checks the IBAN checksum (ISO 13616: move the first four
// characters to the end, letters as 10–35, the number mod 97 is 1).
func ibanValid(s string) bool {
	rem, n := 0, 0
	step := func(c byte) {
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	for k := 0; k < len(s); k++ {
		if s[k] != ' ' {
			if n >= 4 {
				step(s[k])
			}
			n++
		}
	}
	for k, m := 0, 0; k < len(s) && m < 4; k++ {
		if s[k] != ' ' {
			step(s[k])
			m++
		}
	}
	return rem == 1
}

// unsafeString views b as a string without copying; the caller must not
// keep it past the next change of b (here: within one findPersonal call,
// where s.plow is only appended to before any view is taken).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// placeholderOnly reports whether every word of text[a:b] is a redaction
// placeholder: a word wrapped in angle or square brackets ("<Person>",
// "[NAME]"), which is where personal data used to be, not personal data.
func placeholderOnly(text string, a, b int) bool {
	words := 0
	for i := a; i < b; {
		if !isAlpha(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlpha(text[j]) {
			j++
		}
		if i == 0 || j >= len(text) || !(text[i-1] == '<' && text[j] == '>' || text[i-1] == '[' && text[j] == ']') {
			return false
		}
		words++
		i = j
	}
	return words > 0
}
