package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A token is one word of the normalised text. The normalised bytes live in
// scratch.norm[ns:ne]; os/oe are the UTF-8 byte offsets of the word in the
// original text, so a match can always be mapped back to what the child
// typed.
type token struct {
	ns, ne int32
	os, oe int32
	flags  uint8
}

const (
	fLetter   uint8 = 1 << iota // contains at least one letter
	fLeet                       // contained leet symbols or digits mixed with letters
	fOne                        // contained '1': try the 1→l reading too
	fLongRun                    // an ASCII letter repeated 3+ times in a row
	fWildcard                   // contains '*' masking a letter (f**k)
	fJoined                     // built from spaced-out single letters (k i l l)
	// fDisguise: ASCII letters mixed with look-alikes from elsewhere
	// (another script, accents, small capitals, a capital I for an l):
	// "һell", "gaý", "heII". Someone hiding a word from a filter.
	fDisguise
)

// Token is the exported view of a normalised word (for tests and tools).
type Token struct {
	Text       string // normalised form
	Start, End int    // byte offsets in the original text
}

// Normalize returns the normalised words of text. It is the same pipeline
// the matcher uses: case folding, zero-width and combining-mark removal,
// accent/fullwidth/confusable folding, apostrophe joining, leetspeak
// mapping inside words, and joining of spaced-out single letters.
func Normalize(text string) []Token {
	var s scratch
	s.normalize(text)
	out := make([]Token, len(s.toks))
	for i, t := range s.toks {
		out[i] = Token{Text: string(s.norm[t.ns:t.ne]), Start: int(t.os), End: int(t.oe)}
	}
	return out
}

// rune classes produced by classify.
const (
	clSep = iota
	clLetter
	clDigit
	clLeet   // @ $ € : letters in disguise, allowed anywhere in a word
	clInner  // ! | * : letters in disguise only between word characters
	clApos   // apostrophes: dropped inside a word
	clIgnore // zero-width, joiners, variation selectors, combining marks
)

// fold maps r to its normalised lower-case form. It returns up to two
// ASCII bytes in a/b (b==0 when one), or ok=false when r should be kept
// (lower-cased) as is.
func fold(r rune) (a, b byte, ok bool) {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
		r -= 0xFEE0
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return byte(r), 0, true
	case r >= 0x1D400 && r <= 0x1D6A3: // mathematical alphanumeric letters
		k := (r - 0x1D400) % 52
		if k >= 26 {
			k -= 26
		}
		return byte('a' + k), 0, true
	case r >= 0x1D7CE && r <= 0x1D7FF: // mathematical digits
		return byte('0' + (r-0x1D7CE)%10), 0, true
	case r >= 0x24B6 && r <= 0x24CF: // circled capitals
		return byte('a' + r - 0x24B6), 0, true
	case r >= 0x24D0 && r <= 0x24E9: // circled small letters
		return byte('a' + r - 0x24D0), 0, true
	case r >= 0x1F130 && r <= 0x1F149: // squared capitals
		return byte('a' + r - 0x1F130), 0, true
	case r >= 0x1F150 && r <= 0x1F169: // negative circled capitals
		return byte('a' + r - 0x1F150), 0, true
	case r >= 0x1F170 && r <= 0x1F189: // negative squared capitals
		return byte('a' + r - 0x1F170), 0, true
	case r >= 0x1F1E6 && r <= 0x1F1FF: // regional indicators
		return byte('a' + r - 0x1F1E6), 0, true
	case r >= 0x1F110 && r <= 0x1F129: // parenthesized capitals
		return byte('a' + r - 0x1F110), 0, true
	case r >= 0x1E00 && r <= 0x1EFF: // Latin Extended Additional (dots, hooks, ...)
		if b, ok := latinExtAdditional(r); ok {
			return b, 0, true
		}
	}
	if s, found := foldTable[r]; found {
		if len(s) == 2 {
			return s[0], s[1], true
		}
		return s[0], 0, true
	}
	return 0, 0, false
}

// foldTable folds accented Latin letters (lower-case forms; input is
// lower-cased first), ligatures and the Cyrillic/Greek letters that look
// like Latin ones (the common confusables).
var foldTable = func() map[rune]string {
	m := map[rune]string{}
	add := func(lo, hi rune, s string) {
		for r := lo; r <= hi; r++ {
			m[r] = s
		}
	}
	// Latin-1 supplement.
	add('à', 'å', "a")
	m['æ'] = "ae"
	m['ç'] = "c"
	add('è', 'ë', "e")
	add('ì', 'ï', "i")
	m['ð'] = "d"
	m['ñ'] = "n"
	add('ò', 'ö', "o")
	m['ø'] = "o"
	add('ù', 'ü', "u")
	m['ý'] = "y"
	m['ÿ'] = "y"
	m['þ'] = "th"
	m['ß'] = "ss"
	// Latin Extended-A (upper and lower forms alternate).
	add(0x100, 0x105, "a")
	add(0x106, 0x10D, "c")
	add(0x10E, 0x111, "d")
	add(0x112, 0x11B, "e")
	add(0x11C, 0x123, "g")
	add(0x124, 0x127, "h")
	add(0x128, 0x131, "i")
	add(0x132, 0x133, "ij")
	add(0x134, 0x135, "j")
	add(0x136, 0x138, "k")
	add(0x139, 0x142, "l")
	add(0x143, 0x14B, "n")
	add(0x14C, 0x151, "o")
	add(0x152, 0x153, "oe")
	add(0x154, 0x159, "r")
	add(0x15A, 0x161, "s")
	add(0x162, 0x167, "t")
	add(0x168, 0x173, "u")
	add(0x174, 0x175, "w")
	add(0x176, 0x178, "y")
	add(0x179, 0x17E, "z")
	m[0x17F] = "s"
	// Latin Extended-B / IPA look-alikes seen in obfuscation.
	m['ƒ'] = "f"
	m['ɑ'] = "a"
	m['ɡ'] = "g"
	m['ı'] = "i"
	m['ȷ'] = "j"
	// Small capitals, modifier letters, subscripts and other look-alikes.
	for k, v := range map[rune]string{
		'ᴀ': "a", 'ʙ': "b", 'ᴄ': "c", 'ᴅ': "d", 'ᴇ': "e", 'ғ': "f", 'ɢ': "g", 'ʜ': "h",
		'ɪ': "i", 'ᴊ': "j", 'ᴋ': "k", 'ʟ': "l", 'ᴍ': "m", 'ɴ': "n", 'ᴏ': "o", 'ᴘ': "p",
		'ʀ': "r", 'ꜱ': "s", 'ᴛ': "t", 'ᴜ': "u", 'ᴠ': "v", 'ᴡ': "w", 'ʏ': "y", 'ᴢ': "z",
		'ᵃ': "a", 'ᵇ': "b", 'ᶜ': "c", 'ᵈ': "d", 'ᵉ': "e", 'ᶠ': "f", 'ᵍ': "g", 'ʰ': "h",
		'ⁱ': "i", 'ᶤ': "i", 'ʲ': "j", 'ᵏ': "k", 'ˡ': "l", 'ᵐ': "m", 'ⁿ': "n", 'ᶰ': "n",
		'ᵒ': "o", 'ᵖ': "p", 'ʳ': "r", 'ˢ': "s", 'ᵗ': "t", 'ᵘ': "u", 'ᵛ': "v", 'ʷ': "w",
		'ˣ': "x", 'ʸ': "y", 'ᶻ': "z", 'ₐ': "a", 'ₑ': "e", 'ₒ': "o", 'ₓ': "x", 'ₕ': "h",
		'ₖ': "k", 'ₗ': "l", 'ₘ': "m", 'ₙ': "n", 'ₚ': "p", 'ₛ': "s", 'ₜ': "t", 'ᵢ': "i",
		'ᵣ': "r", 'ᵤ': "u", 'ᵥ': "v", 'ⱼ': "j", 'ȯ': "o", 'ȧ': "a", 'ꓘ': "k", 'ꓗ': "k",
		'ⅰ': "i", 'ⅴ': "v", 'ⅹ': "x", 'ⅼ': "l", 'ⅽ': "c", 'ⅾ': "d", 'ⅿ': "m",
		'µ': "u", 'μ': "u", 'ո': "n", 'ս': "u", 'օ': "o", 'ց': "g", 'հ': "h", 'ɩ': "i",
		'¡': "i", '§': "s", '¦': "l", 'ǀ': "l", 'ı': "i", '†': "t",
		// Georgian and Arabic letters used as Latin look-alikes
		'ი': "n", 'უ': "g", 'و': "g",
	} {
		m[k] = v
	}
	// Cyrillic confusables (lower case).
	for k, v := range map[rune]string{
		'а': "a", 'в': "b", 'е': "e", 'ё': "e", 'к': "k", 'м': "m",
		'н': "h", 'о': "o", 'р': "p", 'с': "c", 'т': "t", 'у': "y",
		'х': "x", 'і': "i", 'ї': "i", 'ј': "j", 'ѕ': "s", 'ԁ': "d",
		'ӏ': "l", 'ԛ': "q", 'ԝ': "w", 'һ': "h", 'ԍ': "g",
	} {
		m[k] = v
	}
	// Greek confusables (lower case).
	for k, v := range map[rune]string{
		'α': "a", 'β': "b", 'ε': "e", 'ι': "i", 'κ': "k", 'ν': "v",
		'ο': "o", 'ρ': "p", 'τ': "t", 'υ': "u", 'χ': "x", 'ς': "s",
		'ω': "w", 'η': "n",
	} {
		m[k] = v
	}
	return m
}()

// latinExtAdditional folds U+1E00–U+1EFF (letters with dots below, hooks
// and the like) to their base letter. The block mostly alternates capital
// and small forms in alphabetical runs; this table lists each run's start.
func latinExtAdditional(r rune) (byte, bool) {
	runs := []struct {
		lo rune
		b  byte
	}{
		{0x1E00, 'a'}, {0x1E02, 'b'}, {0x1E08, 'c'}, {0x1E0A, 'd'}, {0x1E14, 'e'}, {0x1E1E, 'f'},
		{0x1E20, 'g'}, {0x1E22, 'h'}, {0x1E2C, 'i'}, {0x1E30, 'k'}, {0x1E36, 'l'}, {0x1E3E, 'm'},
		{0x1E44, 'n'}, {0x1E4C, 'o'}, {0x1E54, 'p'}, {0x1E58, 'r'}, {0x1E60, 's'}, {0x1E6A, 't'},
		{0x1E72, 'u'}, {0x1E7C, 'v'}, {0x1E80, 'w'}, {0x1E8A, 'x'}, {0x1E8E, 'y'}, {0x1E90, 'z'},
		{0x1E96, 'h'}, {0x1E97, 't'}, {0x1E98, 'w'}, {0x1E99, 'y'}, {0x1E9A, 'a'}, {0x1E9B, 's'},
		{0x1E9C, 0}, {0x1EA0, 'a'}, {0x1EB8, 'e'}, {0x1EC8, 'i'}, {0x1ECC, 'o'}, {0x1EE4, 'u'},
		{0x1EF2, 'y'}, {0x1EFA, 0},
	}
	var b byte
	for _, run := range runs {
		if r < run.lo {
			break
		}
		b = run.b
	}
	return b, b != 0
}

// disguiseRune reports look-alike letters that no language writes inside
// an English word: other scripts, small capitals and modifier letters,
// mathematical, enclosed and fullwidth forms, dotted letters outside the
// Vietnamese range, Maltese ċ and ġ. Accents of the Latin-1 and
// Latin Extended-A letters are ordinary spelling in many languages
// (Hungarian "fát", Polish "ż"), so they are not disguise.
func disguiseRune(r rune) bool {
	switch {
	case r >= 0x0250 && r <= 0x02FF, // IPA look-alikes, modifier letters
		r >= 0x0370 && r <= 0x058F,   // Greek, Cyrillic, Armenian
		r >= 0x0600 && r <= 0x06FF,   // Arabic
		r >= 0x10A0 && r <= 0x10FF,   // Georgian
		r >= 0x1D00 && r <= 0x1DBF,   // small capitals, phonetic modifiers
		r >= 0x1E00 && r <= 0x1E9F,   // dots and hooks below and above (not Vietnamese)
		r >= 0x2070 && r <= 0x209F,   // superscripts and subscripts
		r >= 0x2100 && r <= 0x218F,   // letterlike forms, Roman numerals
		r >= 0x2460 && r <= 0x24FF,   // enclosed letters
		r >= 0xA4D0 && r <= 0xA4FF,   // Lisu look-alikes
		r >= 0xA700 && r <= 0xA7FF,   // small capitals (Latin Extended-D)
		r >= 0xFF01 && r <= 0xFF5E,   // fullwidth forms
		r >= 0x1D400 && r <= 0x1D7FF, // mathematical letters
		r >= 0x1F100 && r <= 0x1F1FF: // enclosed and squared letters
		return true
	}
	switch r {
	case 0x010A, 0x010B, 0x0120, 0x0121, 0x017F, 0x0192, 0x0227, 0x022F, 0x0237, 0x00B5:
		return true
	}
	return false
}

// ignorable reports runes that must vanish without splitting a word.
func ignorable(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x061C, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, r == 0x3164, r == 0xFEFF, r == 0xFFA0:
		return true
	case r >= 0x180B && r <= 0x180F,
		r >= 0x200B && r <= 0x200F,
		r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x206F,
		r >= 0xFE00 && r <= 0xFE0F,
		r >= 0xFC5E && r <= 0xFC63, // Arabic shadda ligatures sprinkled between letters
		r >= 0xE0000 && r <= 0xE0FFF:
		return true
	}
	return unicode.Is(unicode.Mn, r)
}

// leetByte maps a digit or symbol inside a word to the letter it stands for
// (0 when it stands for nothing). '1' maps to 'i' here; fOne asks the
// matcher to also try 'l'.
func leetByte(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1', '!':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7':
		return 't'
	case '9', '6':
		return 'g'
	case '8':
		return 'b'
	case '<', '(':
		return 'c'
	case '|':
		return 'l'
	}
	return 0
}

// scratch is per-evaluation working memory, reused through a sync.Pool.
type scratch struct {
	text string // the text being evaluated (toks' os/oe index it)
	norm []byte
	toks []token
	ids  []uint32 // candidate word ids, flat
	idx  []int32  // token i's ids are ids[idx[i]:idx[i+1]]
	// thash[i] is tabHash of token i's normalised word (lexicon.candidates
	// fills it; looseWords reuses it)
	thash []uint32
	// same[i] is the first token with the same normalised word as token i
	// and the same flags, neither of them carrying fLeet or fOne (whose
	// readings depend on the original bytes), or i itself (lexicon.
	// candidates fills it): what candidates and looseWords work out from
	// the word alone is worked out once per distinct word.
	same    []int32
	memo    []int32     // open-addressed table of token index+1 by thash (candidates)
	looseOf []int32     // looseWords' result per token, looseUnknown until known
	wfeat   []wordFeats // per token, what its word's own features add (Model.logits)
	fill    []bool      // token i is a filler word a phrase may skip (lexicon.match)
	// present has bit id set when some token can stand for word id
	// (lexicon.match)
	present []uint64
	pcls    []uint32 // word classes of the PII scanner's words (findPersonal)
	key     []byte   // temporary key buffer
	raw     []byte   // norm before leet mapping, same offsets
	hits    []hit
	tmp     []hit
	// per token: sentence index and whether it is inside double quotes
	sent    []int32
	quoted  []bool
	ptoks   []ptok // words of the original text, for the PII scanners
	plow    []byte // their lower-case forms, concatenated
	plowIdx []int32
	pnb     []uint8  // name-list bits of the PII scanner's words (nameBits)
	pnamed  []bool   // the PII scanner's words inside a name span
	psep    []int32  // listSep of the PII scanner's words, or sepUnknown (findLoneNames)
	feats   []uint32 // hashed model features
	// Per word id, the programs that start with it and pass the needed-
	// words filter in this message (lexicon.match): computed once per
	// distinct word, valid where progStamp[id] == stamp.
	stamp            uint32
	progStamp        []uint32
	progFrom, progTo []int32
	progList         []int32
}

// wordState accumulates the current word while normalize scans the text.
type wordState struct {
	active    bool
	ns        int // start in norm
	os        int // start in original
	oe        int // end in original of last word rune
	flags     uint8
	pending   []byte // inner leet symbols waiting for a following word char
	pendEnd   int
	hasDigit  bool
	lowerSeen bool // an ASCII small letter was typed in this word
	ascii     bool // an ASCII letter (either case) was typed in this word
}

// normalize fills s.norm and s.toks from text.
func (s *scratch) normalize(text string) {
	s.text = text
	s.norm = s.norm[:0]
	s.raw = s.raw[:0]
	s.toks = s.toks[:0]
	s.same = s.same[:0] // (valid once candidates runs on these words)
	var w wordState
	var pend [8]byte
	w.pending = pend[:0]

	finish := func() {
		if !w.active {
			return
		}
		w.active = false
		w.pending = w.pending[:0]
		ns, ne := w.ns, len(s.norm)
		if ne == ns {
			return
		}
		flags := w.flags
		if !w.ascii {
			flags &^= fDisguise // all look-alikes: another language, or a fancy font
		}
		word := s.norm[ns:ne]
		for len(s.raw) < ns {
			s.raw = append(s.raw, 0)
		}
		s.raw = append(s.raw[:ns], word...) // pre-leet form, for oneAt
		// Letters, other bytes and runs of a repeated letter, in one pass
		// (runs are counted again below if the leet reading changes the
		// word).
		letters, other, longRun := 0, false, false
		run := 1
		for i, c := range word {
			if c >= 'a' && c <= 'z' || c >= utf8.RuneSelf {
				letters++
			} else {
				other = true
			}
			if i > 0 && c == word[i-1] && c >= 'a' && c <= 'z' {
				run++
				if run >= 3 {
					longRun = true
				}
			} else {
				run = 1
			}
		}
		// (Without other ASCII bytes, most words, the loop below changes
		// nothing.)
		if (flags&fLeet != 0 || letters >= 2) && other {
			// A word with two letters or more (or leet symbols): digits
			// and symbols inside it are leetspeak; "45s" stays a number.
			// A final 8 after letters reads "ate" ("masterb8", "sk8").
			if n := len(word); n >= 3 && word[n-1] == '8' && isAlpha(word[n-2]) && isAlpha(word[n-3]) {
				s.norm = append(s.norm, 't', 'e')
				s.raw = append(s.raw, 't', 'e')
				ne = len(s.norm)
				word = s.norm[ns:ne]
				word[n-1] = 'a'
				flags |= fLeet
			}
			for i, c := range word {
				if c < utf8.RuneSelf && (c < 'a' || c > 'z') {
					if c == '1' {
						flags |= fOne
					}
					if l := leetByte(c); l != 0 {
						word[i] = l
						flags |= fLeet
					}
				}
			}
			longRun = false
			run = 1
			for i := 1; i < len(word); i++ {
				if word[i] == word[i-1] && word[i] >= 'a' && word[i] <= 'z' {
					run++
					if run >= 3 {
						longRun = true
					}
				} else {
					run = 1
				}
			}
		}
		if longRun {
			flags |= fLongRun
		}
		s.toks = append(s.toks, token{ns: int32(ns), ne: int32(ne), os: int32(w.os), oe: int32(w.oe), flags: flags})
	}

	for i := 0; i < len(text); {
		c := text[i]
		if c == ' ' {
			// A space ends the word, as the general path below would
			// find after classifying it.
			if w.active {
				finish()
			}
			i++
			continue
		}
		if c-'a' < 26 && !w.active && c != 'l' {
			// A word that starts with a small letter (not an l, which
			// may start a drawn letter: glyphAt): start it as the general
			// path would (no symbols are pending outside a word), then
			// take its run of small letters below.
			w.active, w.ns, w.os, w.flags, w.lowerSeen, w.ascii = true, len(s.norm), i, 0, false, false
		}
		if c-'a' < 26 && w.active && len(w.pending) == 0 {
			// The common case, a run of small ASCII letters inside a
			// word, in one step: what the general path below does for
			// each of them (a branch per character is dear in wasm).
			j := i + 1
			for j < len(text) && text[j]-'a' < 26 {
				j++
			}
			s.norm = append(s.norm, text[i:j]...)
			w.lowerSeen, w.ascii = true, true
			w.flags |= fLetter
			w.oe = j
			i = j
			continue
		}
		if c == '|' || c == '/' || c == '\\' || c == '[' || c == 'l' && !w.active {
			if g, n := glyphAt(text, i, w.active); n > 0 {
				// A letter drawn with symbols ("|\|" for n, "|3" for b).
				if !w.active {
					w.active, w.ns, w.os, w.flags, w.lowerSeen, w.ascii = true, len(s.norm), i, 0, false, false
				}
				s.flushPending(&w)
				s.norm = append(s.norm, g)
				w.flags |= fLetter | fLeet
				w.ascii = true
				i += n
				w.oe = i
				continue
			}
		}
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		start := i
		i += size

		var a, b byte
		cls := clSep
		disguise := false
		switch {
		case r < utf8.RuneSelf:
			switch {
			case c >= 'a' && c <= 'z':
				a, cls = c, clLetter
			case c == 'I' && w.active && w.lowerSeen:
				// A capital I after a small letter is usually an l in
				// disguise ("heII"): the '1' reading tries both.
				a, cls, disguise = '1', clDigit, true
			case c >= 'A' && c <= 'Z':
				a, cls = c+'a'-'A', clLetter
			case c >= '0' && c <= '9':
				a, cls = c, clDigit
			case c == '@' || c == '$':
				a, cls = c, clLeet
			case c == '!' || c == '|' || c == '*':
				a, cls = c, clInner
			case c == '#' || c == '^' || c == '%' || c == '&':
				a, cls = '*', clInner // w#nker, fu^k: a masked letter
			case c == '<' && !w.active && i < len(text) && isAlpha(text[i]):
				a, cls = 'c', clLeet // <unt, <vnt: a c in disguise starting a word
			case c == '<':
				a, cls = c, clInner // fu<k: a c in disguise
			case (c == '.' || c == '-' || c == '_') && w.active && len(s.norm)-w.ns == 1 && len(w.pending) == 0 &&
				i+1 < len(text) && isAlpha(text[i]) && isAlpha(text[i+1]):
				continue // f.uck, s-hit: one letter split off a word
			case c == '\'' || c == '`':
				cls = clApos
			}
		case r == utf8.RuneError && size == 1:
			cls = clSep
		case r == '’' || r == 'ʼ' || r == '‘' || r == '´':
			cls = clApos
		case r == '€':
			a, cls = 'e', clLeet
		case r == '¢':
			a, cls = 'c', clLeet
		case ignorable(r):
			cls = clIgnore
		default:
			lr := unicode.ToLower(r)
			if lr == 'ß' && !w.active && i < len(text) && isAlnum(text[i]) {
				// No word starts with ß: at the start it is a B in disguise
				// ("ßitch", "ß0ll0cks").
				a, cls, disguise = 'b', clLetter, true
				break
			}
			if fa, fb, ok := fold(lr); ok {
				a, b = fa, fb
				switch {
				case fa >= 'a' && fa <= 'z':
					cls, disguise = clLetter, disguiseRune(lr)
				case fa >= '0' && fa <= '9':
					cls = clDigit
				case fa == '@' || fa == '$':
					cls = clLeet
				case fa == '!' || fa == '|' || fa == '*':
					cls = clInner
				case fa == '\'':
					cls = clApos
				default:
					cls = clSep
				}
			} else if unicode.IsLetter(lr) || unicode.IsDigit(lr) {
				// A letter of another script: keep it, lower-cased.
				if !w.active {
					w.active, w.ns, w.os, w.flags, w.lowerSeen, w.ascii = true, len(s.norm), start, 0, false, false
				}
				s.flushPending(&w)
				s.norm = utf8.AppendRune(s.norm, lr)
				w.flags |= fLetter
				w.oe = i
				continue
			}
		}

		switch cls {
		case clIgnore:
			continue
		case clApos:
			// Dropped; a word continues across it ("i'm" → "im"), but an
			// apostrophe never starts a word. "he'll" must not read "hell".
			if w.active && len(s.norm)-w.ns == 2 && s.norm[w.ns] == 'h' && s.norm[w.ns+1] == 'e' &&
				i+1 < len(text) && text[i]|0x20 == 'l' && text[i+1]|0x20 == 'l' {
				s.norm = append(s.norm, 'w', 'i')
			}
			continue
		case clInner:
			if w.active {
				if len(w.pending) < cap(w.pending) {
					w.pending = append(w.pending, a)
				}
				w.pendEnd = i
				continue
			}
			finish()
			continue
		case clLetter, clDigit, clLeet:
			if !w.active {
				w.active, w.ns, w.os, w.flags, w.lowerSeen, w.ascii = true, len(s.norm), start, 0, false, false
			}
			s.flushPending(&w)
			if r >= 'a' && r <= 'z' {
				w.lowerSeen = true
			}
			if r < utf8.RuneSelf && cls == clLetter {
				w.ascii = true
			}
			if disguise {
				w.flags |= fDisguise
			}
			if cls == clLetter {
				w.flags |= fLetter
			} else if cls == clLeet {
				w.flags |= fLeet
			}
			s.norm = append(s.norm, a)
			if b != 0 {
				s.norm = append(s.norm, b)
			}
			w.oe = i
		default:
			finish()
		}
	}
	finish()
	s.joinSingles()
}

// flushPending commits inner symbols (! | *) that turned out to sit between
// two word characters.
func (s *scratch) flushPending(w *wordState) {
	if len(w.pending) == 0 {
		return
	}
	for _, c := range w.pending {
		if c == '<' {
			w.flags |= fLeet
			s.norm = append(s.norm, 'c')
			continue
		}
		if c == '*' {
			w.flags |= fWildcard
		} else {
			w.flags |= fLeet
		}
		s.norm = append(s.norm, c)
	}
	w.pending = w.pending[:0]
}

// joinSingles replaces runs of three or more single-letter words
// ("k i l l", "f.u.c.k") by one joined word. Tokens are contiguous in
// s.norm, so the joined word is simply the union of their ranges.
func (s *scratch) joinSingles() {
	toks := s.toks
	out := toks[:0]
	for i := 0; i < len(toks); {
		j := i
		for j < len(toks) && toks[j].ne-toks[j].ns == 1 && toks[j].flags&fLetter != 0 {
			j++
		}
		if j-i >= 3 {
			t := token{ns: toks[i].ns, ne: toks[j-1].ne, os: toks[i].os, oe: toks[j-1].oe, flags: fLetter | fJoined}
			word := s.norm[t.ns:t.ne]
			for k := 2; k < len(word); k++ {
				if word[k] == word[k-1] && word[k] == word[k-2] {
					t.flags |= fLongRun
				}
			}
			out = append(out, t)
			i = j
			continue
		}
		if j == i {
			j = i + 1
		}
		out = append(out, toks[i:j]...)
		i = j
	}
	s.toks = out
}

// collapse1 appends word with every run of a repeated ASCII letter reduced
// to one letter ("kiiilll" → "kil").
func collapse1(dst, word []byte) []byte {
	for i, c := range word {
		if i > 0 && c == word[i-1] && c >= 'a' && c <= 'z' {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// oneAt reports whether normalised byte i of token t was a '1' before leet
// mapping.
func (s *scratch) oneAt(t token, i int) bool {
	k := int(t.ns) + i
	return k < len(s.raw) && s.raw[k] == '1'
}

// glyphs are letters drawn with ASCII symbols, longest first.
var glyphs = [...]struct {
	seq    string
	letter byte
}{
	{`|\/|`, 'm'}, {`/\/\`, 'm'}, {`\/\/`, 'w'},
	{`|\|`, 'n'}, {`/\/`, 'n'}, {`/\|`, 'n'}, {`|_|`, 'u'},
	{`|3`, 'b'}, {`|<`, 'k'}, {`|)`, 'd'}, {`[)`, 'd'}, {`\/`, 'v'},
}

// glyphAt reports the letter drawn by the symbols at text[i:] and how many
// bytes they take (0: none). A drawn letter continues a word or starts one
// that goes on with a letter or digit ("|\|igga", "fu|<"), so a symbol
// between words stays punctuation. "l3" at the start of a word before a
// letter is a b ("l3itch").
func glyphAt(text string, i int, inWord bool) (byte, int) {
	c := text[i]
	if c == 'l' {
		if !inWord && i+2 < len(text) && text[i+1] == '3' && isAlpha(text[i+2]) {
			return 'b', 2
		}
		return 0, 0
	}
	if c != '|' && c != '/' && c != '\\' && c != '[' {
		return 0, 0
	}
	for _, g := range glyphs {
		if strings.HasPrefix(text[i:], g.seq) {
			end := i + len(g.seq)
			if inWord || (end < len(text) && isAlnum(text[end])) {
				return g.letter, len(g.seq)
			}
		}
	}
	return 0, 0
}
