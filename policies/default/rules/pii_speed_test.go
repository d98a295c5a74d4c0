package rules

import (
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"daisydog/policies/sdk"
)

// The checks below compare the PII scanners' and the picture check's
// shortcuts (eight bytes a step, binary searches, answers worked out
// before a call) with the straightforward code they replace, kept here
// as it was (plain…).

// piiSpeedTexts are speedTexts and texts made of the pieces the
// scanners look for (digits, '@', a spelled "at", capitals, names,
// emoji, non-ASCII letters, '=' and '_') at every offset modulo eight.
func piiSpeedTexts(t *testing.T) []string {
	t.Helper()
	texts := speedTexts(t)
	pieces := []string{"a", "t", "at", "AT", "A", "T", "@", "＠", " ", " ", " ", "  ", "(", ")", "[", "+", "1", "5", "0", "42", "555", "-", ".", ",", "=", "==", "_", "|", "8", "D", "B", "c", "3", ">",
		"é", "ø", "Zoë", "🖕", "🍆", "💦", "卐", "࿕", "\n", "x", "gmail", "dot", "com", "DE89", "3704", "0044", "0532", "0130", "00",
		"4111", "1111", "Ana", "Ola", "Kit", "and", "or", "de", "van", "Beethoven", "Ludwig", "Lee", "Sam", "my", "name", "is", "live", "lives", "school", "schools",
		"Street", "Rd", "Apt", "the", "corner", "of", "in", "Springfield", "62704", "friend", "Mr", "hi", "call", "me", "says", "'s", "’s", "mom",
		"sky_kid@mail.com", "ana.lee at gmail dot com", "ola (at) yahoo (dot) co.uk", "kit ＠ web.de", "4111 1111 1111 1111", "4111111111111111",
		"GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "+44 20 7946 0958", "(555) 123-4567", "8===D", "_|_", "www.example.com"}
	rng := rand.New(rand.NewSource(3))
	for range 4000 {
		var b strings.Builder
		for range rng.Intn(10) { // any offset modulo eight
			b.WriteByte('x')
		}
		for range 2 + rng.Intn(60) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
			if rng.Intn(3) > 0 {
				b.WriteByte(' ')
			}
		}
		texts = append(texts, b.String())
	}
	return texts
}

// TestBytesInIsPerByte checks bytesIn against a test of each byte: the
// same for ASCII bytes, and never missing a byte in the range.
func TestBytesInIsPerByte(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	ranges := [][2]byte{{'0', '9'}, {'A', 'Z'}, {'a', 'a'}, {'@', '@'}, {'=', '='}, {'_', '_'}, {'+', '+'}, {'(', '('}, {0x60, 0x60}, {0x70, 0x70}, {1, 0x7F}}
	for range 200000 {
		var b [8]byte
		for k := range b {
			switch rng.Intn(3) {
			case 0:
				b[k] = byte(rng.Intn(256))
			default:
				b[k] = byte(rng.Intn(128))
			}
		}
		text := string(b[:])
		x := load8(text, 0)
		for _, r := range ranges {
			got := bytesIn(x, r[0], r[1])
			for k, c := range b {
				bit := got >> (8*k + 7) & 1
				if in := c >= r[0] && c <= r[1]; in && bit == 0 || c < 0x80 && !in && bit != 0 {
					t.Fatalf("bytesIn(%x, %#x, %#x): byte %d (%#x) flagged %d", text, r[0], r[1], k, c, bit)
				}
			}
			if got&^swarHigh != 0 {
				t.Fatalf("bytesIn(%x, %#x, %#x) = %#x: bits other than the high ones", text, r[0], r[1], got)
			}
		}
	}
}

// TestScannerSkipsChangeNothing compares the scanners that skip eight
// bytes a step with their plain loops.
func TestScannerSkipsChangeNothing(t *testing.T) {
	found := map[string]int{}
	for _, text := range piiSpeedTexts(t) {
		for _, f := range []struct {
			name        string
			fast, plain func(string, []sdk.Span) []sdk.Span
		}{
			{"findPhones", findPhones, plainFindPhones},
			{"findEmails", findEmails, plainFindEmails},
			{"findCards", findCards, plainFindCards},
			{"findURLs", findURLs, plainFindURLs},
		} {
			got, want := f.fast(text, nil), f.plain(text, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("%s(%q) = %v, plain loop %v", f.name, text, got, want)
			}
			found[f.name] += len(want)
		}
		var got, want verdictBuilder
		artVerdicts(text, &got)
		plainArtVerdicts(text, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("artVerdicts(%q) = %+v, plain %+v", text, got, want)
		}
		found["art"] += len(want.rules)
	}
	for _, name := range []string{"findPhones", "findEmails", "findCards", "findURLs", "art"} {
		if found[name] < 50 {
			t.Errorf("%s: only %d found: the texts do not exercise it", name, found[name])
		}
	}
}

// TestPIIWordShortcutsChangeNothing checks the per-word shortcuts of
// findPersonal and findLoneNames: piiWords taking the space after a word
// at once, isNumberTok's first-byte test, tokAfter
// (a binary search) against a pass over the words, and listNext against
// listSep.
func TestPIIWordShortcutsChangeNothing(t *testing.T) {
	s := new(scratch)
	lists := 0
	var ptoks []ptok
	var plow []byte
	var pidx []int32
	for _, text := range piiSpeedTexts(t) {
		toks, low, idx := piiWords(text, s.ptoks, s.plow, s.plowIdx)
		s.ptoks, s.plow, s.plowIdx = toks, low, idx
		ptoks, plow, pidx = plainPIIWords(text, ptoks, plow, pidx)
		if !slices.Equal(toks, ptoks) || !slices.Equal(low, plow) || !slices.Equal(idx, pidx) {
			t.Fatalf("%q: piiWords gives %v %q %v, the plain loop %v %q %v", text, toks, low, idx, ptoks, plow, pidx)
		}
		lw := lowerWords{low, idx}
		cls := make([]uint32, len(toks))
		for i := range toks {
			cls[i] = piiClass[lw.at(i)]
		}
		for i, tk := range toks {
			if got, want := isNumberTok(text, tk), plainIsNumberTok(text, tk); got != want {
				t.Fatalf("%q: isNumberTok(%q) = %v, plain %v", text, text[tk.s:tk.e], got, want)
			}
			if got, want := listNext(text, toks, lw, cls, i), listSep(text, toks, lw, i); got != want {
				t.Fatalf("%q: listNext(%d) = %d, listSep %d", text, i, got, want)
			} else if want >= 0 {
				lists++
			}
		}
		for a := -1; a <= len(text); a++ {
			want := len(toks)
			for i, tk := range toks {
				if tk.e > a {
					want = i
					break
				}
			}
			if got := tokAfter(toks, a); got != want {
				t.Fatalf("%q: tokAfter(%d) = %d, want %d", text, a, got, want)
			}
		}
	}
	if lists < 500 {
		t.Fatalf("only %d list separators: the texts do not exercise listNext", lists)
	}
}

func plainFindPhones(text string, spans []sdk.Span) []sdk.Span {
	for i := 0; i < len(text); {
		c := text[i]
		// (The cheap test first, in a loop of its own: most characters
		// start no number, and a branch per character is dear in wasm.)
		if !isDigit(c) && c != '+' && c != '(' {
			i++
			for i < len(text) && !isDigit(text[i]) && text[i] != '+' && text[i] != '(' {
				i++
			}
			continue
		}
		startsNumber := isDigit(c) || ((c == '+' || c == '(') && i+1 < len(text) && isDigit(text[i+1]))
		afterNumber := i > 0 && (isDigit(text[i-1]) ||
			(i > 1 && (text[i-1] == '.' || text[i-1] == ',') && isDigit(text[i-2])))
		if !startsNumber || afterNumber {
			i++
			continue
		}
		end, next, ok := phoneAt(text, i)
		if ok {
			spans = append(spans, sdk.Span{Start: i, End: end, Category: sdk.CategoryPIIDisclosure, Kind: KindPhone})
		}
		if next <= i {
			next = i + 1
		}
		i = next
	}
	return spans
}

func plainFindEmails(text string, spans []sdk.Span) []sdk.Span {
	for p := 0; p < len(text); p++ {
		var sepStart, sepEnd int
		spelled := false
		switch {
		case text[p] == '@':
			sepStart, sepEnd = p, p+1
		case text[p] == 0xEF && hasWordAt(text, p, "\xef\xbc\xa0"): // fullwidth ＠
			sepStart, sepEnd = p, p+3
		case (text[p] == 'a' || text[p] == 'A') && p > 0 &&
			(text[p-1] == ' ' || text[p-1] == '(' || text[p-1] == '[' || text[p-1] == '{') &&
			p+1 < len(text) && lower(text[p+1]) == 't': // (spelledSep finds "at" only here)
			// spelled "at": find where its separator begins
			s := p - 1
			for s > 0 && (text[s-1] == ' ' || text[s-1] == '(' || text[s-1] == '[' || text[s-1] == '{') && p-s < 4 {
				s--
			}
			e := spelledSep(text, s, "at")
			if e < 0 {
				continue
			}
			sepStart, sepEnd, spelled = s, e, true
		default:
			continue
		}
		if !spelled {
			for sepStart > 0 && text[sepStart-1] == ' ' && p-sepStart < 2 {
				sepStart--
			}
			for sepEnd < len(text) && text[sepEnd] == ' ' && sepEnd-p < 3 {
				sepEnd++
			}
		}
		ls := sepStart
		for ls > 0 && isLocalChar(text[ls-1]) {
			ls--
		}
		for ls < sepStart && (text[ls] == '.' || text[ls] == '-') {
			ls++
		}
		if ls == sepStart {
			continue
		}
		end, ok := domainAt(text, sepEnd, spelled)
		if !ok || (spelled && hasWordAt(text, sepEnd, "www.")) { // "look at www.x.com" is a link
			continue
		}
		spans = append(spans, sdk.Span{Start: ls, End: end, Category: sdk.CategoryPIIDisclosure, Kind: KindEmail})
		p = end - 1
	}
	return spans
}

func plainFindCards(text string, spans []sdk.Span) []sdk.Span {
	for i := 0; i < len(text); i++ {
		// Both start with a capital letter or a digit: one test passes
		// over the small letters, spaces and punctuation of most text.
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

func plainArtVerdicts(text string, b *verdictBuilder) {
	// The emoji and symbols below are all outside ASCII; most messages are
	// plain ASCII and skip those searches.
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if asciiPenis(text) || asciiFinger(text) || (!ascii && strings.Contains(text, "🖕")) {
		b.add(RuleArtRude, sdk.CategoryProfanity, sdk.ActionBlock, 2, false)
	}
	if ascii {
		return
	}
	if strings.Contains(text, "🍆") && (strings.Contains(text, "💦") || strings.Contains(text, "🍑") || strings.Contains(text, "👅")) {
		b.add(RuleArtSexual, sdk.CategorySexual, sdk.ActionBlock, 3, false)
	}
	for _, sw := range swastikas {
		if strings.Contains(text, sw) {
			b.add(RuleArtHate, sdk.CategoryHate, sdk.ActionBlock, 3, false)
			break
		}
	}
}

func plainIsNumberTok(text string, t ptok) bool {
	if t.digit {
		return t.e-t.s <= 6
	}
	// 42b, 12-14
	n := 0
	for i := t.s; i < t.e; i++ {
		if isDigit(text[i]) {
			n++
		}
	}
	return n > 0 && n <= 6 && isDigit(text[t.s]) && t.e-t.s <= 7
}

func plainPIIWords(text string, dst []ptok, low []byte, idx []int32) ([]ptok, []byte, []int32) {
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
	}
	idx = append(idx, int32(len(low)))
	return dst, low, idx
}

func plainFindURLs(text string, spans []sdk.Span) []sdk.Span {
	for i := 0; i < len(text); i++ {
		// A link starts with a label character ("https://", "www." and
		// domains all do) that does not follow one.
		if !isLabelChar(text[i]) || i > 0 && isLabelChar(text[i-1]) {
			continue
		}
		// A word that starts none of "https://", "http://" and "www." and
		// is not followed by a dot and a label is a chain of one label:
		// domainChain would read it and fail (skipped here without the
		// calls; most words are such).
		if c := lower(text[i]); c != 'h' && c != 'w' {
			k := i + 1
			for k < len(text) && isLabelChar(text[k]) {
				k++
			}
			if k+1 >= len(text) || text[k] != '.' || !isLabelChar(text[k+1]) {
				i = k - 1
				continue
			}
		}
		start := i
		j := i
		switch {
		case hasWordAt(text, i, "https://"):
			j = i + 8
		case hasWordAt(text, i, "http://"):
			j = i + 7
		case hasWordAt(text, i, "www."):
			j = i + 4
		default:
			end, ok, chainEnd := domainChain(text, i, false)
			if !ok || !knownTLD(lastLabel(text[i:end])) || (end < len(text) && isAlnum(text[end])) {
				// Skip the whole dotted chain: every suffix of it ends in
				// the same last label, so none can match either (and
				// rescanning from each label would be quadratic).
				// domainChain has read it: no second pass over its letters.
				i = chainEnd - 1
				continue
			}
			j = end
		}
		end := urlEnd(text, j)
		if end <= start+4 {
			continue
		}
		spans = append(spans, sdk.Span{Start: start, End: end, Category: sdk.CategoryPIIDisclosure, Kind: KindURL})
		i = end - 1
	}
	return spans
}
