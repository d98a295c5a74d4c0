package companion

import (
	"strings"
	"unicode"
)

// tokenize lowercases text, drops apostrophes (so "I'm" becomes "im" and
// "don't" becomes "dont") and splits on everything that is not a letter or a
// digit. The result is the sequence of whole words that intent matching sees.
func tokenize(text string) []string {
	var (
		tokens []string
		cur    strings.Builder
	)
	flush := func() {
		if cur.Len() > 0 {
			tokens = append(tokens, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == '\'' || r == '\u2019' || r == '\u2018' || r == '\u02bc':
			// apostrophes join: "what's" -> "whats"
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
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
