package rules

import "daisydog/policies/sdk"

// Span kinds reported by the contact-detail scanners.
const (
	KindPhone = "phone"
	KindEmail = "email"
	KindURL   = "url"
)

// The scanners below work on the ORIGINAL bytes (ASCII case-insensitive),
// so the spans they return are exact offsets into what the child typed.
// They only ever split at ASCII bytes, hence every span edge is a rune
// boundary.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Eight bytes at a time: the scanners below skip the bytes that cannot
// start what they look for (most of a text) a word of eight at a time
// rather than a loop step per byte, which is dear in a wasm guest.
const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// load8 returns text[i:i+8] as a little-endian word; i+8 <= len(text).
func load8(text string, i int) uint64 {
	s := text[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// bytesIn returns x with the high bit of each byte set where that byte,
// without its own high bit, is in [lo, hi] (lo <= hi < 0x80), and every
// other bit clear: exact for ASCII bytes, and a byte of 0x80 or more may
// be reported too (the callers only skip words that report none).
// Neither sum carries into the next byte.
func bytesIn(x uint64, lo, hi byte) uint64 {
	y := x &^ swarHigh
	ge := y + (0x80-uint64(lo))*swarOnes // high bit: y >= lo
	gt := y + (0x7F-uint64(hi))*swarOnes // high bit: y > hi
	return ge &^ gt & swarHigh
}

const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

// findPhones appends a span for every phone-number-like run of digits:
// 7–15 digits in groups separated by single spaces, dashes, dots or
// brackets, optionally starting with '+' or '('. Small numbers ("I am 9"),
// years, dates (2024-01-15) and decimals (3.14159265) are not phones.
func findPhones(text string, spans []sdk.Span) []sdk.Span {
	for i := 0; i < len(text); {
		c := text[i]
		// (The cheap test first, in a loop of its own: most characters
		// start no number, and a branch per character is dear in wasm.)
		if !isDigit(c) && c != '+' && c != '(' {
			i++
			for i+8 <= len(text) {
				x := load8(text, i)
				if bytesIn(x, '0', '9')|bytesIn(x, '+', '+')|bytesIn(x, '(', '(') != 0 {
					break
				}
				i += 8
			}
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

// phoneAt parses a candidate at i. It returns the end of the phone number
// when ok, and where scanning should resume (the start of the second group
// when the first group disqualified the candidate, so "I am 9 555 123 4567"
// still finds the number).
func phoneAt(text string, i int) (end, next int, ok bool) {
	var (
		starts [maxPhoneDigits + 1]int
		sizes  [maxPhoneDigits + 1]int
		seps   [maxPhoneDigits + 1]byte // separator class before group k
		n      int
		digits int
	)
	plus := text[i] == '+'
	j := i
	if plus || text[j] == '(' {
		j++
	}
	for n <= maxPhoneDigits {
		k := j
		for k < len(text) && isDigit(text[k]) {
			k++
		}
		if k == j {
			break
		}
		starts[n], sizes[n] = j, k-j
		n++
		digits += k - j
		j = k
		if digits > maxPhoneDigits {
			return 0, j, false
		}
		// Separator: up to three of " -.()" (e.g. ") " or " - "). Its class
		// is the first dash or dot, else ' ' or '('; 'x' when mixed.
		s, cls := j, byte(0)
		for s < len(text) && s-j < 3 {
			ch := text[s]
			if ch != ' ' && ch != '-' && ch != '.' && ch != '(' && ch != ')' {
				break
			}
			switch ch {
			case '-', '.':
				if cls == 0 || cls == ' ' || cls == '(' {
					cls = ch
				} else if cls != ch {
					cls = 'x'
				}
			case ' ':
				if cls == 0 {
					cls = ' '
				}
			default:
				if cls == 0 {
					cls = '('
				}
			}
			s++
		}
		if s == j || s >= len(text) || !isDigit(text[s]) {
			break
		}
		if n <= maxPhoneDigits {
			seps[n] = cls // #nosec G602 -- n <= maxPhoneDigits is checked on the line above
		}
		j = s
	}
	if n == 0 {
		return 0, i + 1, false
	}
	// Groups of one digit are only allowed first (country or trunk code
	// "+1 555…", "1-800-…", "0 800…"). A later one ends the candidate.
	// "+46 (0)8 928 571 38": a trunk zero in brackets after the country
	// code, then a one-digit area code.
	trunk := plus && n > 2 && sizes[1] == 1 && text[starts[1]-1] == '(' && starts[1]+1 < len(text) && text[starts[1]+1] == ')'
	for k := 1; k < n; k++ {
		if sizes[k] < 2 && !(trunk && k <= 2) {
			digits = 0
			for m := 0; m < k; m++ {
				digits += sizes[m]
			}
			n = k
			break
		}
	}
	resume := starts[n-1] + sizes[n-1]
	if n > 1 {
		resume = starts[1]
	}
	if digits < minPhoneDigits {
		return 0, resume, false
	}
	if sizes[0] == 1 && !plus && text[starts[0]] != '1' && text[starts[0]] != '0' {
		return 0, resume, false
	}
	if !plus && n == 3 && digits == 8 &&
		((sizes[0] == 4 && sizes[1] == 2 && sizes[2] == 2) || (sizes[0] == 2 && sizes[1] == 2 && sizes[2] == 4)) &&
		(seps[1] == '-' || seps[1] == '.') {
		return 0, starts[n-1] + sizes[n-1], false // a date: 2024-01-15, 15.01.2024
	}
	if n == 2 && seps[1] == '.' {
		return 0, starts[1] + sizes[1], false // a decimal number
	}
	end = starts[n-1] + sizes[n-1]
	return end, end, true
}

// digitsOf returns the digits of text[start:end] (for allow-lists).
func digitsOf(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			dst = append(dst, s[i])
		}
	}
	return dst
}

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isLabelChar(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// hasWordAt reports whether text[i:] starts with the ASCII word w,
// case-insensitively.
func hasWordAt(text string, i int, w string) bool {
	if i+len(w) > len(text) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if lower(text[i+k]) != w[k] {
			return false
		}
	}
	return true
}

// spelledSep recognises a spelled-out separator at i: optional spaces,
// then "(w)", "[w]", "{w}" or a bare w surrounded by spaces, then optional
// spaces. It returns the end, or -1.
func spelledSep(text string, i int, w string) int {
	j := i
	sp := 0
	for j < len(text) && text[j] == ' ' && sp < 2 {
		j++
		sp++
	}
	if j < len(text) && (text[j] == '(' || text[j] == '[' || text[j] == '{') {
		closeCh := map[byte]byte{'(': ')', '[': ']', '{': '}'}[text[j]]
		k := j + 1
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if !hasWordAt(text, k, w) {
			return -1
		}
		k += len(w)
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k >= len(text) || text[k] != closeCh {
			return -1
		}
		k++
		for k < len(text) && text[k] == ' ' && k-j < 8 {
			k++
		}
		return k
	}
	if sp == 0 || !hasWordAt(text, j, w) {
		return -1
	}
	k := j + len(w)
	if k >= len(text) || text[k] != ' ' {
		return -1
	}
	for k < len(text) && text[k] == ' ' && k-j < len(w)+3 {
		k++
	}
	return k
}

// domainAt parses a domain starting at i: labels separated by '.' (or by a
// spelled "dot" when spelled is set). It returns the end of the last label
// and whether the result looks like a real domain (two labels or more, an
// alphabetic top-level label of 2–24 letters; a known one when spelled).
func domainAt(text string, i int, spelled bool) (end int, ok bool) {
	end, ok, _ = domainChain(text, i, spelled)
	return end, ok
}

// domainChain is domainAt that also returns where the chain of labels
// it read ends (i when there is none), found or not.
func domainChain(text string, i int, spelled bool) (end int, ok bool, chainEnd int) {
	labels := 0
	j := i
	lastStart, lastEnd := -1, -1
	for {
		k := j
		for k < len(text) && isLabelChar(text[k]) {
			k++
		}
		if k == j {
			break
		}
		labels++
		lastStart, lastEnd = j, k
		// separator
		if k+1 < len(text) && text[k] == '.' && isLabelChar(text[k+1]) {
			j = k + 1
			continue
		}
		if spelled {
			if s := spelledSep(text, k, "dot"); s > 0 && s < len(text) && isLabelChar(text[s]) {
				j = s
				continue
			}
		}
		break
	}
	if labels == 0 {
		return 0, false, i
	}
	if labels < 2 {
		return 0, false, lastEnd
	}
	tld := text[lastStart:lastEnd]
	if len(tld) < 2 || len(tld) > 24 {
		return 0, false, lastEnd
	}
	for k := 0; k < len(tld); k++ {
		if !isAlpha(tld[k]) {
			return 0, false, lastEnd
		}
	}
	if spelled && !knownTLD(tld) {
		return 0, false, lastEnd
	}
	return lastEnd, true, lastEnd
}

// findEmails appends spans for e-mail addresses: name@host.tld, including
// spaced and spelled-out forms ("name at gmail dot com", "name (at) gmail
// (dot) com", "name ＠ gmail.com").
func findEmails(text string, spans []sdk.Span) []sdk.Span {
	for p := 0; p < len(text); p++ {
		// Eight bytes at a time past those that start nothing here: no
		// '@', no byte of a fullwidth one (none of 0x80 or more), no "at"
		// (an "a" in the last place may be followed by a "t").
		for p+8 <= len(text) {
			x := load8(text, p)
			a := bytesIn(x, 'a', 'a') | bytesIn(x, 'A', 'A')
			t := bytesIn(x, 't', 't') | bytesIn(x, 'T', 'T')
			if x&swarHigh != 0 || bytesIn(x, '@', '@') != 0 || a&(t>>8|0x80<<56) != 0 {
				break
			}
			p += 8
		}
		if p >= len(text) {
			break
		}
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

// findURLs appends spans for links: scheme://…, www.…, and bare domains
// with a known top-level domain (example.com/path).
func findURLs(text string, spans []sdk.Span) []sdk.Span {
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
				i = k // (text[k] is no label character: no link starts there)
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

// urlEnd extends a link to the next space, dropping trailing punctuation.
func urlEnd(text string, j int) int {
	for j < len(text) && text[j] > ' ' && text[j] != '"' && text[j] != '<' && text[j] != '>' && text[j] < 0x80 {
		j++
	}
	for j > 0 {
		switch text[j-1] {
		case '.', ',', '!', '?', ')', ']', '\'', ':', ';':
			j--
			continue
		}
		break
	}
	return j
}

func lastLabel(d string) string {
	for k := len(d) - 1; k >= 0; k-- {
		if d[k] == '.' {
			return d[k+1:]
		}
	}
	return d
}

// tlds are top-level domains recognised in bare links and spelled e-mail
// addresses. Short common words ("in", "it", "no", "at") are deliberately
// absent: "do.it" is more often a typo than a link.
var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "edu": true, "gov": true,
	"io": true, "co": true, "uk": true, "us": true, "ca": true, "au": true,
	"de": true, "fr": true, "nz": true, "ie": true, "info": true,
	"biz": true, "tv": true, "gg": true, "ly": true, "app": true,
	"dev": true, "xyz": true, "online": true, "site": true, "club": true,
	"live": true, "fm": true, "ru": true, "cn": true, "jp": true,
	"kr": true, "br": true, "es": true, "nl": true, "me": true,
	"ai": true, "link": true, "chat": true, "fun": true, "top": true,
}

func knownTLD(t string) bool {
	var b [24]byte
	if len(t) > len(b) {
		return false
	}
	for k := 0; k < len(t); k++ {
		b[k] = lower(t[k])
	}
	return tlds[string(b[:len(t)])]
}
