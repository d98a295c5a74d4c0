package rules

import "daisydog/policies/sdk"

// looseWords adds stem hits (words.go) for tokens no phrase matched.
func (p *Policy) looseWords(s *scratch) {
	if len(p.words.stems) == 0 {
		return
	}
	n := len(s.hits)
	// The words' hashes from lexicon.candidates, which runs first on the
	// same tokens (computed here when it did not).
	if len(s.thash) != len(s.toks) {
		s.thash = s.thash[:0]
		for _, t := range s.toks {
			s.thash = append(s.thash, tabHash(unsafeString(s.norm[t.ns:t.ne])))
		}
	}
	// A word met before (lexicon.candidates' same) has the result it had
	// then: it depends on the word and its flags alone.
	memo := len(s.same) == len(s.toks)
	s.looseOf = s.looseOf[:0]
	for range s.toks {
		s.looseOf = append(s.looseOf, looseUnknown)
	}
	for i, t := range s.toks {
		if t.flags&fLetter == 0 || t.ne-t.ns < 4 {
			continue
		}
		covered := false
		for _, h := range s.hits[:n] {
			if h.role == roleMain && int(h.first) <= i && i <= int(h.last) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		if memo {
			if o := s.same[i]; s.looseOf[o] != looseUnknown && unsafeString(s.raw[s.toks[o].ns:s.toks[o].ne]) == unsafeString(s.raw[t.ns:t.ne]) {
				r := s.looseOf[o]
				if r >= 0 {
					s.hits = append(s.hits, hit{rule: r, first: int32(i), last: int32(i), role: roleMain})
				}
				continue
			}
		}
		r := p.looseWord(s, t, i)
		if memo {
			s.looseOf[s.same[i]] = r
		}
		if r >= 0 {
			s.hits = append(s.hits, hit{rule: r, first: int32(i), last: int32(i), role: roleMain})
		}
	}
}

// looseUnknown marks a token whose looseWord result is not known yet.
const looseUnknown = -2

// looseWord is the stem rule that token i (t) matches loosely, or -1.
func (p *Policy) looseWord(s *scratch, t token, i int) int32 {
	r := p.words.looseH(s.norm[t.ns:t.ne], s.key, s.thash[i])
	if r < 0 {
		r = p.trailingDigits(s, t)
	}
	if n := t.ne - t.ns; r < 0 {
		// a rude word at the start or end of a word no dictionary knows
		// (the call only when its first or last two letters are those
		// of such a word)
		w := s.norm[t.ns:t.ne]
		k, j := affixKey(w[0], w[1]), affixKey(w[n-2], w[n-1])
		if p.words.hasAffixAt(k, j) {
			if r = p.words.affixRule(unsafeString(w)); r >= 0 && p.words.isInnocentH(unsafeString(w), s.thash[i]) {
				r = -1
			}
		}
	}
	if n := t.ne - t.ns; r < 0 && n >= 5 {
		// (the call only when the word's last two letters could start
		// a strong form backwards: a call per word is dear in wasm)
		if a, b := s.norm[t.ne-1]-'a', s.norm[t.ne-2]-'a'; a < 26 && b < 26 && p.words.delPre[int(a)*26+int(b)] {
			r = p.reversed(s, s.norm[t.ns:t.ne])
		}
	}
	return r
}

// reversed matches a word written backwards ("gnikcuf", "reggin"): the
// exact forms of the strongest stems only, in a word no dictionary knows.
func (p *Policy) reversed(s *scratch, w []byte) int32 {
	n := len(w)
	if n < 5 || n > 24 || !p.words.hasDelPre(w[n-1], w[n-2]) {
		return -1
	}
	var buf [24]byte
	for i, c := range w {
		if c < 'a' || c > 'z' {
			return -1
		}
		buf[n-1-i] = c
	}
	r, ok := p.words.strongRule(unsafeString(buf[:n]))
	if !ok || isCommonWord(unsafeString(w)) || p.words.isInnocent(unsafeString(w)) {
		return -1
	}
	return r
}

// trailingDigits matches a user-name-like word without the digits it ends
// with ("fuker123", "sexmaster69"); the digits were read as leetspeak by
// the normaliser, so the letters come from the pre-leet form.
func (p *Policy) trailingDigits(s *scratch, t token) int32 {
	raw := s.raw[t.ns:t.ne]
	n := len(raw)
	for n > 0 && raw[n-1] >= '0' && raw[n-1] <= '9' {
		n--
	}
	if n == len(raw) || n < 4 {
		return -1
	}
	for _, c := range raw[:n] {
		if c < 'a' || c > 'z' {
			return -1
		}
	}
	word := raw[:n]
	if r, ok := p.words.exactRule(unsafeString(word)); ok {
		return r
	}
	if id, ok := p.lex.wordID(word); ok {
		for _, pi := range p.lex.single[id] {
			return p.lex.progs[pi].rule
		}
	}
	return p.words.loose(word, s.key)
}

// negators make the phrase right after them not count in a co-occurrence
// rule ("they are not disgusting").
var negators = map[string]bool{
	"not": true, "never": true, "no": true, "isnt": true, "arent": true, "wasnt": true,
	"werent": true, "dont": true, "doesnt": true, "didnt": true, "wont": true, "cant": true,
	"cannot": true, "shouldnt": true, "wouldnt": true, "nor": true, "without": true,
	"nothing": true, "stop": true, "opposite": true,
}

// resolve applies exemptions and co-occurrence conditions to s.hits, in
// place. Sentences are split at . ! ? ; and line breaks; a token is "in
// quotes" when an odd number of double quotes precede it.
func (p *Policy) resolve(s *scratch, text string) {
	if len(s.hits) == 0 {
		return
	}
	s.sent = s.sent[:0]
	s.quoted = s.quoted[:0]
	sent, quotes := int32(0), 0
	prev := 0
	for _, t := range s.toks {
		for k := prev; k < int(t.os); k++ {
			switch text[k] {
			case '.', '!', '?', ';', '\n':
				sent++
			case '"':
				quotes++
			case 0xE2: // “ ” (E2 80 9C / E2 80 9D)
				if k+2 < len(text) && text[k+1] == 0x80 && (text[k+2] == 0x9C || text[k+2] == 0x9D) {
					quotes++
				}
			}
		}
		prev = int(t.oe)
		s.sent = append(s.sent, sent)
		s.quoted = append(s.quoted, quotes%2 == 1)
	}

	hits := s.hits
	// Exemptions.
	for _, h := range hits {
		if p.rules[h.rule].Exempt {
			hits = p.applyExempt(s)
			break
		}
	}

	// Co-occurrence rules.
	kept := hits[:0]
	for _, h := range hits {
		r := &p.rules[h.rule]
		if len(r.Targets) == 0 || h.role != roleMain {
			kept = append(kept, h)
			continue
		}
		if s.quoted[h.first] || p.negated(s, int(h.first)) {
			continue
		}
		st := s.sent[h.first]
		// "Those kinds of X will never fit in. They ought to be …": a
		// target in the sentence before counts when this one refers back
		// to it with they/them.
		prevOK := st > 0 && p.refersBack(s, st)
		target, unless := false, false
		for _, o := range hits {
			if o.rule != h.rule {
				continue
			}
			same := s.sent[o.first] == st || s.sent[o.last] == st
			if !same && !(prevOK && o.role == roleTarget && s.sent[o.last] == st-1) {
				continue
			}
			switch o.role {
			case roleTarget:
				target = true
			case roleUnless:
				unless = true
			}
		}
		if target && !unless {
			kept = append(kept, h)
		}
	}
	s.hits = kept
}

// refersBack reports whether sentence st contains "they", "them" or
// "their".
func (p *Policy) refersBack(s *scratch, st int32) bool {
	for i, t := range s.toks {
		if s.sent[i] != st {
			continue
		}
		switch string(s.norm[t.ns:t.ne]) {
		case "they", "them", "their", "theyre":
			return true
		}
	}
	return false
}

// applyExempt returns s.hits without exempt hits and without hits that
// lie inside an exempt hit.
func (p *Policy) applyExempt(s *scratch) []hit {
	s.tmp = append(s.tmp[:0], s.hits...)
	kept := s.hits[:0]
	for _, h := range s.tmp {
		if p.rules[h.rule].Exempt {
			continue
		}
		shielded := false
		for _, e := range s.tmp {
			if p.rules[e.rule].Exempt && e.first <= h.first && h.last <= e.last {
				shielded = true
				break
			}
		}
		if !shielded {
			kept = append(kept, h)
		}
	}
	return kept
}

// negated reports whether one of the three tokens before i is a negator
// ("not let women suffer", "the very opposite of stupid").
// A target of several words ("no disabled people are …") counts as one.
func (p *Policy) negated(s *scratch, i int) bool {
	for k, n := i-1, 0; k >= 0 && n < 3; k, n = k-1, n+1 {
		t := s.toks[k]
		if negators[string(s.norm[t.ns:t.ne])] {
			return true
		}
		for _, o := range s.hits {
			if o.role == roleTarget && int(o.first) < k && k <= int(o.last) {
				k = int(o.first)
				break
			}
		}
	}
	return false
}

// reportable are the categories whose words, quoted as reported speech,
// are not held against the child who reports them. Sexual words, threats
// and everything graver still count: a child repeating what someone asked
// them for or threatened them with must reach the grooming, crisis and
// escalation rules, not be waved through.
var reportable = map[string]bool{"profanity": true, "hate": true, "harassment": true}

// counterCategories are the graver categories whose words count as
// counter-speech only when quoted about a group and condemned
// (counterQuoted).
var counterCategories = map[string]bool{"violence": true, "sexual": true}

// reportWords, outside the quotes and near them, mark quoted words as
// reported speech: `people who send me messages like "…"`, `he called me
// "…"`, `statements like "…" are hurtful`. A report counts when it is
// aimed at the child ("called me", "sent us") or the message judges it
// (condemnWords): a retweet or a saying quoted for fun is not a report.
var reportWords = map[string]bool{
	"say": true, "says": true, "said": true, "saying": true,
	"call": true, "calls": true, "called": true, "calling": true,
	"write": true, "writes": true, "wrote": true, "writing": true, "written": true,
	"tweet": true, "tweets": true, "tweeted": true, "post": true, "posts": true, "posted": true,
	"text": true, "texts": true, "texted": true, "message": true, "messages": true,
	"statement": true, "statements": true, "comment": true, "comments": true,
	"word": true, "words": true, "phrase": true, "phrases": true, "things": true,
	"threat": true, "threats": true, "slur": true, "slurs": true, "insult": true, "insults": true,
	"quote": true, "quotes": true, "quoted": true, "yell": true, "yelled": true, "yells": true,
	"shout": true, "shouted": true, "shouts": true, "scream": true, "screamed": true,
	"told": true, "tells": true, "telling": true, "sent": true, "sends": true, "send": true,
	"sending": true, "texting": true, "posting": true, "tweeting": true, "yelling": true,
	"shouting": true, "screaming": true,
}

// condemnWords judge what was said.
var condemnWords = map[string]bool{
	"wrong": true, "hurtful": true, "hurts": true, "hurt": true, "horrible": true, "awful": true,
	"terrible": true, "unacceptable": true, "offensive": true, "hateful": true, "racist": true,
	"sexist": true, "bigoted": true, "bigot": true, "homophobic": true, "transphobic": true,
	"blocked": true, "block": true, "report": true, "reported": true, "banned": true, "ban": true,
	"court": true, "prison": true, "jail": true, "police": true, "arrested": true,
	"mean": true, "rude": true, "bully": true, "bullies": true, "bullying": true, "bullied": true,
	"upset": true, "sad": true, "cry": true, "cried": true, "crying": true, "scared": true,
	"respect": true, "disrespect": true, "disrespectful": true, "ignorant": true, "shameful": true,
	"stop": true, "shouldnt": true, "mustnt": true, "never": true, "not": true, "dont": true,
	"disgusting": true, "vile": true, "evil": true, "appalling": true, "disgraceful": true,
	"abhorrent": true, "outrageous": true, "inexcusable": true, "despicable": true,
}

// reportSpan is how many unquoted words before the opening quote or after
// the closing quote may hold the report word.
const reportSpan = 6

// reported reports whether hit h lies wholly inside double quotes that
// some words of the message stand outside of, with a report word that
// counts (reportCounts) among the reportSpan unquoted words on either side
// of the quotation. A child telling us what someone wrote is not swearing;
// a message that is only a quotation, or quotes without a report, still
// counts.
func (p *Policy) reported(s *scratch, h hit) bool {
	k := p.reportWord(s, h)
	return k >= 0 && p.reportCounts(s, k)
}

// reportWord returns the index of the report word that makes hit h
// reported speech (see reported), or -1.
func (p *Policy) reportWord(s *scratch, h hit) int {
	a, b, ok := p.quotation(s, h)
	if !ok {
		return -1
	}
	for k := a - 1; k >= 0 && k >= a-reportSpan; k-- {
		if s.quoted[k] {
			break
		}
		if reportWords[p.tokText(s, k)] {
			return k
		}
	}
	for k := b + 1; k < len(s.toks) && k <= b+reportSpan; k++ {
		if s.quoted[k] {
			break
		}
		if reportWords[p.tokText(s, k)] {
			return k
		}
	}
	return -1
}

// quotation returns the token range [a, b] of the quotation that holds
// hit h wholly, if it does.
func (p *Policy) quotation(s *scratch, h hit) (a, b int, ok bool) {
	if len(s.quoted) != len(s.toks) || int(h.last) >= len(s.toks) {
		return 0, 0, false
	}
	for i := h.first; i <= h.last; i++ {
		if !s.quoted[i] {
			return 0, 0, false
		}
	}
	a, b = int(h.first), int(h.last)
	for a > 0 && s.quoted[a-1] {
		a--
	}
	for b+1 < len(s.toks) && s.quoted[b+1] {
		b++
	}
	return a, b, true
}

// personalWords in a quotation make it about someone in particular — the
// child or a person near them — not about a group.
// The speaker's own "I" does not count: `"I will … all of them"` is about a group.
var personalWords = map[string]bool{
	"me": true, "my": true, "mine": true, "myself": true,
	"you": true, "u": true, "ya": true, "your": true, "ur": true, "youre": true, "yourself": true,
	"him": true, "his": true, "her": true, "hers": true,
}

// counterQuoted reports whether hit h, a threat or a sexual-violence word,
// is counter-speech: it lies inside a quotation about a group (a hate
// rule's target stands in the quotation and no personal word does: "…
// all of them" is about a group, "I'll … you" is not), the report word
// next to the quotation is not aimed at the child, and an unquoted word
// condemns what was said (`statements like "…" are unacceptable`). A
// child repeating a threat made to them or about a person still counts.
func (p *Policy) counterQuoted(s *scratch, h hit) bool {
	k := p.reportWord(s, h)
	if k < 0 {
		return false
	}
	for j := k + 1; j < len(s.toks) && j <= k+2 && !s.quoted[j]; j++ {
		switch p.tokText(s, j) {
		case "me", "us":
			return false
		}
	}
	a, b, _ := p.quotation(s, h)
	for j := a; j <= b; j++ {
		if personalWords[p.tokText(s, j)] {
			return false
		}
	}
	group := false
	for _, o := range s.hits {
		if o.role == roleTarget && p.rules[o.rule].Category == sdk.CategoryHate && int(o.first) >= a && int(o.last) <= b {
			group = true
			break
		}
	}
	if !group {
		return false
	}
	for j := range s.toks {
		if !s.quoted[j] && condemnWords[p.tokText(s, j)] {
			return true
		}
	}
	return false
}

// reportCounts reports whether the report word at k is aimed at the child
// ("called me", "sent us", "said to me") or some unquoted word of the
// message condemns what was said.
func (p *Policy) reportCounts(s *scratch, k int) bool {
	for j := k + 1; j < len(s.toks) && j <= k+2 && !s.quoted[j]; j++ {
		switch p.tokText(s, j) {
		case "me", "us":
			return true
		}
	}
	for j := range s.toks {
		if !s.quoted[j] && condemnWords[p.tokText(s, j)] {
			return true
		}
	}
	return false
}

func (p *Policy) tokText(s *scratch, k int) string {
	t := s.toks[k]
	return unsafeString(s.norm[t.ns:t.ne])
}
