package companion

import (
	"unicode"
	"unicode/utf8"
)

// tokenize lowercases text, drops apostrophes (so "I'm" becomes "im" and
// "don't" becomes "dont") and splits on everything that is not a letter or a
// digit. The result is the sequence of whole words that intent matching sees.
func tokenize(text string) []string {
	// One lower-cased copy of the text holds every token; the tokens are
	// slices of it (two allocations per message, not one per word).
	buf := make([]byte, 0, len(text))
	var ends []int // token i is buf[ends[i-1]:ends[i]] (ends[-1] = 0)
	start := 0
	flush := func() {
		if len(buf) > start {
			ends = append(ends, len(buf))
			start = len(buf)
		}
	}
	for _, r := range text {
		switch {
		case r == '\'' || r == '\u2019' || r == '\u2018' || r == '\u02bc':
			// apostrophes join: "what's" -> "whats"
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			buf = append(buf, byte(r))
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			buf = append(buf, byte(r)+'a'-'A')
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	if len(ends) == 0 {
		return nil
	}
	all := string(buf)
	tokens := make([]string, len(ends))
	prev := 0
	for i, e := range ends {
		tokens[i] = all[prev:e]
		prev = e
	}
	return tokens
}

// forms returns the spellings a token may match: the token itself and, when
// it contains a run of three or more identical letters ("hiiii", "helllo"),
// the run collapsed to one and to two letters ("hi", "hello").
func forms(tok string) []string {
	one, two, changed := collapseRuns(tok)
	if !changed {
		return []string{tok}
	}
	return []string{tok, one, two}
}

func collapseRuns(tok string) (one, two string, changed bool) {
	if !hasRun3(tok) {
		return tok, tok, false
	}
	rs := []rune(tok)
	var b1, b2 []rune
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		run := j - i
		if run >= 3 {
			changed = true
			b1 = append(b1, rs[i])
			b2 = append(b2, rs[i], rs[i])
		} else {
			b1 = append(b1, rs[i:j]...)
			b2 = append(b2, rs[i:j]...)
		}
		i = j
	}
	return string(b1), string(b2), changed
}

// hasRun3 reports whether tok has three identical characters in a row.
func hasRun3(tok string) bool {
	var prev rune = -1
	n := 0
	for _, r := range tok {
		if r == prev {
			if n++; n >= 3 {
				return true
			}
		} else {
			prev, n = r, 1
		}
	}
	return false
}
