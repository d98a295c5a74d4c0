package policies

import (
	"unicode/utf8"

	"daisydog/policies/sdk"
)

// canonical maps each known action and category to itself, so the fast
// decoder returns the same strings without allocating.
var (
	canonicalActions    = canonicalSet(sdk.Actions)
	canonicalCategories = canonicalSet(sdk.Categories)
)

func canonicalSet(xs []string) map[string]string {
	m := make(map[string]string, len(xs))
	for _, x := range xs {
		m[x] = x
	}
	return m
}

// decodeVerdictFast decodes a verdict written exactly as the SDK writes it
// (sdk.Verdict.AppendJSON: fields in that order, no spaces, no escapes in
// strings). For anything else — other field order, white space, escapes,
// unknown or missing fields, numbers it does not expect — it reports false
// and the caller decodes with encoding/json, which then decides. When it
// reports true, the result is what encoding/json would decode
// (FuzzFastVerdictAgreesWithJSON).
func decodeVerdictFast(b []byte) (wireVerdict, bool) {
	p := verdictParser{b: b}
	var w wireVerdict
	p.lit(`{"action":`)
	action, ok := canonicalActions[string(p.str())]
	if !ok {
		return w, false // unknown actions are refused by the slow path's message
	}
	w.Action = &action
	p.lit(`,"escalate":`)
	switch {
	case p.has("true"):
		w.Escalate = true
	case p.has("false"):
	default:
		return w, false
	}
	p.lit(`,"categories":[`)
	for first := true; !p.bad && !p.has("]"); first = false {
		if !first {
			p.lit(",")
		}
		c, ok := canonicalCategories[string(p.str())]
		if !ok {
			return w, false
		}
		w.Categories = append(w.Categories, c)
	}
	p.lit(`,"severity":`)
	w.Severity = p.int()
	p.lit(`,"spans":[`)
	for first := true; !p.bad && !p.has("]"); first = false {
		if !first {
			p.lit(",")
		}
		var s Span
		p.lit(`{"start":`)
		s.Start = p.int()
		p.lit(`,"end":`)
		s.End = p.int()
		p.lit(`,"category":`)
		c, ok := canonicalCategories[string(p.str())]
		if !ok {
			return w, false
		}
		s.Category = c
		p.lit(`,"kind":`)
		s.Kind = string(p.str())
		p.lit("}")
		w.Spans = append(w.Spans, s)
	}
	p.lit(`,"rules":[`)
	for first := true; !p.bad && !p.has("]"); first = false {
		if !first {
			p.lit(",")
		}
		w.Rules = append(w.Rules, string(p.str()))
	}
	p.lit("}")
	if p.bad || p.pos != len(b) {
		return wireVerdict{}, false
	}
	// encoding/json decodes an empty array as an empty, non-nil slice.
	if w.Categories == nil {
		w.Categories = []string{}
	}
	if w.Spans == nil {
		w.Spans = []Span{}
	}
	if w.Rules == nil {
		w.Rules = []string{}
	}
	return w, true
}

// verdictParser reads b from pos; after the first mismatch bad is set and
// every further read is a no-op.
type verdictParser struct {
	b   []byte
	pos int
	bad bool
}

// lit consumes s exactly.
func (p *verdictParser) lit(s string) {
	if p.bad || len(p.b)-p.pos < len(s) || string(p.b[p.pos:p.pos+len(s)]) != s {
		p.bad = true
		return
	}
	p.pos += len(s)
}

// has consumes s if it comes next.
func (p *verdictParser) has(s string) bool {
	if p.bad || len(p.b)-p.pos < len(s) || string(p.b[p.pos:p.pos+len(s)]) != s {
		return false
	}
	p.pos += len(s)
	return true
}

// str reads a string without escapes or control characters, valid UTF-8.
func (p *verdictParser) str() []byte {
	if p.bad || p.pos >= len(p.b) || p.b[p.pos] != '"' {
		p.fail()
		return nil
	}
	start := p.pos + 1
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			if !utf8.Valid(s) {
				p.fail()
				return nil
			}
			p.pos = i + 1
			return s
		case c == '\\' || c < 0x20:
			p.fail()
			return nil
		}
	}
	p.fail()
	return nil
}

// int reads a decimal integer of at most 9 digits, no leading zeros.
func (p *verdictParser) int() int {
	if p.bad {
		return 0
	}
	neg := p.pos < len(p.b) && p.b[p.pos] == '-'
	if neg {
		p.pos++
	}
	start, n := p.pos, 0
	for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		n = n*10 + int(p.b[p.pos]-'0')
		p.pos++
	}
	digits := p.pos - start
	if digits == 0 || digits > 9 || (digits > 1 && p.b[start] == '0') {
		p.fail()
		return 0
	}
	if neg {
		return -n
	}
	return n
}

func (p *verdictParser) fail() { p.bad = true }
