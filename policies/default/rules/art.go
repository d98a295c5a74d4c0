package rules

import (
	"strings"

	"daisydog/policies/sdk"
)

// Rude pictures made of characters, which no word rule can see: ASCII
// genitals ("8===>", "c====3"), the ASCII middle finger ("_|_"), the
// middle-finger emoji, suggestive emoji combinations and hate symbols.

// Rule ids of the picture checks.
const (
	RuleArtRude   = "art.rude"
	RuleArtSexual = "art.sexual"
	RuleArtHate   = "art.hate"
)

// artVerdicts adds the picture checks that text trips to b.
func artVerdicts(text string, b *verdictBuilder) {
	// The emoji and symbols below are all outside ASCII; most messages are
	// plain ASCII and skip those searches. Most have no '=' (the shaft of
	// asciiPenis) and no '_' (asciiFinger) either: one pass, eight bytes a
	// step, tells all three (may report '=' or '_' that is not there, never
	// the other way round: the two check again). The emoji start with the
	// byte 0xF0 and the swastikas with 0xE0 or 0xE5: their searches (a pass
	// each) run only when such a byte is there.
	var high, eq, under, f0, e0 uint64
	i := 0
	for ; i+8 <= len(text); i += 8 {
		x := load8(text, i)
		high |= x & swarHigh
		eq |= bytesIn(x, '=', '=')
		under |= bytesIn(x, '_', '_')
		f0 |= x & bytesIn(x, 0x70, 0x70)
		e0 |= x & (bytesIn(x, 0x60, 0x60) | bytesIn(x, 0x65, 0x65))
	}
	for ; i < len(text); i++ {
		x := uint64(text[i])
		high |= x & swarHigh
		eq |= bytesIn(x, '=', '=')
		under |= bytesIn(x, '_', '_')
		f0 |= x & bytesIn(x, 0x70, 0x70)
		e0 |= x & (bytesIn(x, 0x60, 0x60) | bytesIn(x, 0x65, 0x65))
	}
	ascii := high == 0
	if eq != 0 && asciiPenis(text) || under != 0 && asciiFinger(text) || (f0 != 0 && strings.Contains(text, "🖕")) {
		b.add(RuleArtRude, sdk.CategoryProfanity, sdk.ActionBlock, 2, false)
	}
	if ascii {
		return
	}
	if f0 != 0 && strings.Contains(text, "🍆") && (strings.Contains(text, "💦") || strings.Contains(text, "🍑") || strings.Contains(text, "👅")) {
		b.add(RuleArtSexual, sdk.CategorySexual, sdk.ActionBlock, 3, false)
	}
	for _, sw := range swastikas {
		if e0 != 0 && strings.Contains(text, sw) {
			b.add(RuleArtHate, sdk.CategoryHate, sdk.ActionBlock, 3, false)
			break
		}
	}
}

// swastikas (卍 alone is a Buddhist temple mark on maps). Searched one by
// one with strings.Contains: strings.ContainsAny with non-ASCII characters
// decodes the text rune by rune, which is slow in a wasm guest.
var swastikas = []string{"卐", "࿕", "࿖", "࿗", "࿘"}

// asciiPenis finds a shaft of two or more '=' between a base (8, B, 3,
// c) and a tip (D, >, o, 3, B): "8===D", "3==>", "c=====3".
func asciiPenis(text string) bool {
	if strings.IndexByte(text, '=') < 0 {
		return false // no shaft (most texts)
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '8' && c != 'B' && c != '3' && c != 'c' {
			continue
		}
		if i > 0 && isAlnum(text[i-1]) {
			continue
		}
		j := i + 1
		for j < len(text) && text[j] == '=' {
			j++
		}
		if j-i-1 < 2 || j >= len(text) {
			continue
		}
		switch text[j] {
		case 'D', '>', 'o', '3', 'B', '0':
			if j+1 == len(text) || !isAlnum(text[j+1]) {
				return true
			}
		}
	}
	return false
}

// asciiFinger finds "_|_" and its look-alikes standing alone.
func asciiFinger(text string) bool {
	if strings.IndexByte(text, '_') < 0 {
		return false
	}
	for _, f := range []string{"_|_", "_/_", "_\\_", "_i_", "_l_", "_¦_", "_I_"} {
		for k := 0; k < len(text); {
			i := strings.Index(text[k:], f)
			if i < 0 {
				break
			}
			i += k
			e := i + len(f)
			before := i == 0 || !(isAlnum(text[i-1]) || text[i-1] == '_')
			after := e == len(text) || !(isAlnum(text[e]) || text[e] == '_')
			if before && after {
				return true
			}
			k = i + 1
		}
	}
	return false
}
