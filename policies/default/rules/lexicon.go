package rules

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Phrase pattern syntax (one line of Rule.Phrases):
//
//	word            a word, normalised like the input ("I'm" → "im", "k1ll" → "kill")
//	(a|b c|d)       alternatives; each alternative is a sequence and may be empty
//	[a b]           optional sequence, same as (a b|)
//
// Groups nest. A pattern matches a run of consecutive input words (filler
// words such as "really" or "just" may be skipped inside a phrase, at most
// two). Matching is always on whole words: "ass" never matches inside
// "assassin". A pattern that can match zero words is refused.

type patParser struct {
	src   string
	pos   int
	depth int
}

// alternatives := sequence ('|' sequence)*
func (p *patParser) alternatives() (*patNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 16 {
		return nil, fmt.Errorf("pattern %q: nested too deeply", p.src)
	}
	var alts []*patNode
	for {
		seq, err := p.sequence()
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			continue
		}
		if len(alts) == 1 {
			return alts[0], nil
		}
		return &patNode{alts: alts, isAlt: true}, nil
	}
}

// sequence := item*, where item is a word, (alternatives) or [alternatives].
// An empty sequence is nil.
func (p *patParser) sequence() (*patNode, error) {
	var items []*patNode
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '|' || c == ')' || c == ']':
			return seqNode(items), nil
		case c == '(' || c == '[':
			p.pos++
			inner, err := p.alternatives()
			if err != nil {
				return nil, err
			}
			want := byte(')')
			if c == '[' {
				want = ']'
				inner = &patNode{alts: []*patNode{inner, nil}, isAlt: true}
			}
			if p.pos >= len(p.src) || p.src[p.pos] != want {
				return nil, fmt.Errorf("pattern %q: missing %q", p.src, want)
			}
			p.pos++
			if inner != nil {
				items = append(items, inner)
			}
		default:
			start := p.pos
			for p.pos < len(p.src) && !strings.ContainsRune(" \t|()[]", rune(p.src[p.pos])) {
				p.pos++
			}
			items = append(items, &patNode{word: p.src[start:p.pos]})
		}
	}
	return seqNode(items), nil
}

func seqNode(items []*patNode) *patNode {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return &patNode{seq: items}
}

// Patterns compile to a tiny backtracking program over words (a regexp VM
// whose alphabet is word ids): no expansion into sequences, so compiling is
// cheap even for patterns with thousands of spellings, which matters
// because every new wasm instance compiles the tables in _initialize.
const (
	opWord  uint8 = iota // consume a word equal to arg
	opSplit              // try x, then y
	opJmp                // go to x
	opMatch              // the pattern matched
)

type inst struct {
	op   uint8
	arg  uint32
	x, y int32
}

type program struct {
	code []inst
	rule int32
	role uint8 // roleMain, roleTarget or roleUnless (co-occurrence rules)
	// need lists words that every match of the program consumes (besides
	// the word it starts with, up to maxNeed): when one of them is absent
	// from the message, the program cannot match and is not run.
	need []uint32
}

// maxNeed bounds program.need.
const maxNeed = 3

// Roles of a phrase within its rule.
const (
	roleMain   uint8 = iota // a Phrases entry
	roleTarget              // a Targets entry (co-occurrence rules)
	roleUnless              // an Unless entry (co-occurrence rules)
)

// lexicon is the compiled form of all phrase rules.
type lexicon struct {
	words     map[string]uint32   // normalised word → id
	collapsed map[string][]uint32 // collapse1(word) → ids, for elongated input
	byLen     map[int][]uint32    // words by length, for masked input (f**k)
	wordText  []string            // id → word
	filler    map[uint32]bool
	progs     []program
	first     map[uint32][]int32 // word id → programs that can start with it
	squash    []squashEntry      // joined forms for spaced-out / glued input
	single    map[uint32][]int32 // word id → one-word main programs, for split words
	// singleStart marks the first two letters (each & 31) of the words
	// of single: a plural can only be one of them when they match.
	singleStart [32 * 32]bool
	typos       map[string]uint32 // one-typo spellings of typo-tolerant words → word id
	normCache   map[string][]string
	// Dense copies of first and filler indexed by word id (freeze): the
	// matcher's per-word look-ups are slice indexing, not map probes.
	firstByID  [][]int32
	fillerByID []bool
	// Tables of words and typos for Evaluate (strtab.go), built by freeze.
	wordsTab, typosTab *strTab
	squashIdx          *squashIndex // built by freeze
	// splitFirst holds, for an opSplit whose arg is k, from k-1 on the
	// words that its x branch can consume first, and for the head of a
	// chain of alternatives the words that any of them can consume first
	// (splitFirsts): run does not try a branch whose first word is not at
	// hand. One flat slice, so the guest's collector has no pointers to
	// follow in it. Built by freeze.
	splitFirst []uint32
	// byPosChar lists, for a word length n, position p and byte c, the
	// ids of byLen[n] (in the same order) whose byte p is c (key
	// posCharKey; the value is start<<32|end in posCharIDs): a masked
	// word is compared only with the words that agree with one of its
	// letters (wildCands). Built by freeze.
	byPosChar  map[uint32]uint64
	posCharIDs []uint32
}

// posCharKey is the byPosChar key of length n, position p, byte c.
func posCharKey(n, p int, c byte) uint32 { return uint32(n)<<16 | uint32(p)<<8 | uint32(c) }

// wildCands returns the lexicon words that wildMatch(w, word) may accept,
// in byLen order: all of byLen[len(w)], or (once frozen) the shortest of
// the byPosChar lists of w's unmasked positions, which holds every word
// that agrees with w there. A word with fewer than two unmasked bytes
// matches nothing.
func (l *lexicon) wildCands(w []byte) []uint32 {
	if l.byPosChar == nil {
		return l.byLen[len(w)]
	}
	var best []uint32
	letters := 0
	for p, c := range w {
		if c == '*' {
			continue
		}
		letters++
		if p >= 256 {
			continue // (not indexed)
		}
		se, ok := l.byPosChar[posCharKey(len(w), p, c)]
		if !ok {
			return nil
		}
		list := l.posCharIDs[se>>32 : uint32(se)]
		if best == nil || len(list) < len(best) {
			best = list
		}
	}
	if letters < 2 {
		return nil
	}
	if best == nil {
		return l.byLen[len(w)]
	}
	return best
}

// splitFirsts sets the arg of every opSplit whose x branch must consume
// a word before it can match. For arg k, splitFirst holds from k-1 on:
//
//	n, the n words (sorted) that the x branch can consume first
//	(following splits and jumps, as firstWords does),
//	c, and when c != 0, m and m words (sorted)
//
// c != 0 marks the head of a chain of such splits (an alternation: each
// split's y is the next one), of at least minChain: the union of their
// first words is the m words, and c-1 is the pc where the chain ends (the
// y of its last split). When no word of the union is at hand, run skips
// the whole chain at once. Branches that can reach opMatch without a word
// keep arg 0 (always tried).
func (l *lexicon) splitFirsts() {
	l.splitFirst = nil
	var seen []bool
	var stack []int32
	var set, union []uint32
	var firsts [][]uint32 // per pc of the program: the split's first words (nil: none)
	var inChain []bool    // per pc: the y of a split that has first words
	for pi := range l.progs {
		code := l.progs[pi].code
		firsts = append(firsts[:0], make([][]uint32, len(code))...)
		inChain = append(inChain[:0], make([]bool, len(code))...)
		for pc := range code {
			if code[pc].op != opSplit {
				continue
			}
			code[pc].arg = 0
			if cap(seen) < len(code) {
				seen = make([]bool, len(code))
			}
			seen = seen[:len(code)]
			clear(seen)
			stack = append(stack[:0], code[pc].x)
			set = set[:0]
			empty := false
			for len(stack) > 0 && !empty {
				at := int(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
				if at >= len(code) || seen[at] {
					continue
				}
				seen[at] = true
				switch in := code[at]; in.op {
				case opWord:
					set = append(set, in.arg)
				case opSplit:
					stack = append(stack, in.y, in.x)
				case opJmp:
					stack = append(stack, in.x)
				case opMatch:
					empty = true
				}
			}
			if empty || len(set) == 0 {
				continue
			}
			slices.Sort(set)
			firsts[pc] = slices.Compact(slices.Clone(set))
		}
		for pc := range code {
			if firsts[pc] != nil {
				if y := int(code[pc].y); y < len(code) {
					inChain[y] = true
				}
			}
		}
		for pc := range code {
			f := firsts[pc]
			if f == nil {
				continue
			}
			code[pc].arg = uint32(len(l.splitFirst)) + 1
			l.splitFirst = append(append(l.splitFirst, uint32(len(f))), f...)
			// A chain head: follow y while it is a split with first words.
			end, n := pc, 0
			union = union[:0]
			for end < len(code) && firsts[end] != nil && n <= len(code) {
				union = append(union, firsts[end]...)
				end = int(code[end].y)
				n++
			}
			if inChain[pc] || n < minChain {
				l.splitFirst = append(l.splitFirst, 0)
				continue
			}
			slices.Sort(union)
			union = slices.Compact(union)
			l.splitFirst = append(append(l.splitFirst, uint32(end)+1, uint32(len(union))), union...)
		}
	}
}

// minChain is the shortest chain of splits that splitFirsts gives a union
// of first words.
const minChain = 4

// freeze builds the dense per-word-id tables once compiling is done.
func (l *lexicon) freeze() {
	l.firstByID = make([][]int32, len(l.wordText))
	for id, ps := range l.first {
		l.firstByID[id] = ps
	}
	l.fillerByID = make([]bool, len(l.wordText))
	for id, f := range l.filler {
		l.fillerByID[id] = f
	}
	l.wordsTab = newStrTab(l.words)
	l.typosTab = newStrTab(l.typos)
	l.squashIdx = newSquashIndex(l.squash)
	l.splitFirsts()
	l.indexPosChar()
}

// indexPosChar builds byPosChar and posCharIDs from byLen.
func (l *lexicon) indexPosChar() {
	lists := map[uint32][]uint32{}
	for n, ids := range l.byLen {
		if n >= 1<<16 {
			l.byPosChar, l.posCharIDs = nil, nil // (no such words; keys would collide)
			return
		}
		for _, id := range ids {
			w := l.wordText[id]
			for p := 0; p < len(w) && p < 256; p++ {
				k := posCharKey(n, p, w[p])
				lists[k] = append(lists[k], id)
			}
		}
	}
	l.byPosChar = make(map[uint32]uint64, len(lists))
	l.posCharIDs = l.posCharIDs[:0]
	for _, k := range slices.Sorted(maps.Keys(lists)) {
		start := uint64(len(l.posCharIDs))
		l.posCharIDs = append(l.posCharIDs, lists[k]...)
		l.byPosChar[k] = start<<32 | uint64(len(l.posCharIDs))
	}
}

// wordID returns the id of the lexicon word w.
func (l *lexicon) wordID(w []byte) (uint32, bool) {
	return l.wordIDH(w, tabHash(unsafeString(w)))
}

// wordIDH is wordID for a word whose tabHash is h.
func (l *lexicon) wordIDH(w []byte, h uint32) (uint32, bool) {
	if l.wordsTab == nil {
		id, ok := l.words[string(w)]
		return id, ok
	}
	id, ok := l.wordsTab.getH(unsafeString(w), h)
	return uint32(id), ok
}

// typoIDH returns the id of the lexicon word that w, whose tabHash is h,
// is a typo of.
func (l *lexicon) typoIDH(w []byte, h uint32) (uint32, bool) {
	if l.typosTab == nil {
		id, ok := l.typos[string(w)]
		return id, ok
	}
	id, ok := l.typosTab.getH(unsafeString(w), h)
	return uint32(id), ok
}

func (l *lexicon) programsFor(id uint32) []int32 {
	if int(id) < len(l.firstByID) {
		return l.firstByID[id]
	}
	return l.first[id]
}

type squashEntry struct {
	text, collapsed string
	rule            int32
}

func newLexicon() *lexicon {
	return &lexicon{
		words:     map[string]uint32{},
		collapsed: map[string][]uint32{},
		byLen:     map[int][]uint32{},
		filler:    map[uint32]bool{},
		first:     map[uint32][]int32{},
		normCache: map[string][]string{},
	}
}

func (l *lexicon) intern(w string) uint32 {
	if id, ok := l.words[w]; ok {
		return id
	}
	id := uint32(len(l.wordText))
	l.words[w] = id
	l.wordText = append(l.wordText, w)
	c := string(collapse1(nil, []byte(w)))
	l.collapsed[c] = append(l.collapsed[c], id)
	l.byLen[len(w)] = append(l.byLen[len(w)], id)
	return id
}

// normWords normalises a pattern word exactly like input text.
func (l *lexicon) normWords(w string) []string {
	if ws, ok := l.normCache[w]; ok {
		return ws
	}
	ws := normWords(w)
	l.normCache[w] = ws
	return ws
}

func normWords(w string) []string {
	var s scratch
	s.normalize(w)
	out := make([]string, 0, len(s.toks))
	for _, t := range s.toks {
		out = append(out, string(s.norm[t.ns:t.ne]))
	}
	return out
}

// patNode is the parsed form of a pattern.
type patNode struct {
	word  string     // a word (when alts and seq are nil)
	seq   []*patNode // a sequence
	alts  []*patNode // alternatives (a nil entry is the empty sequence)
	isAlt bool
}

// add compiles pattern for rule r.
func (l *lexicon) add(pattern string, r int32) error { return l.addRole(pattern, r, roleMain) }

// addRole compiles pattern for rule r in the given role.
func (l *lexicon) addRole(pattern string, r int32, role uint8) error {
	p := &patParser{src: pattern}
	n, err := p.alternatives()
	if err != nil {
		return err
	}
	if p.pos != len(p.src) {
		return fmt.Errorf("pattern %q: unexpected %q at %d", pattern, p.src[p.pos], p.pos)
	}
	// A leading alternation ("(a|b|c) rest") becomes one program per
	// alternative, so that a word only runs the programs that start with
	// it instead of trying every alternative in turn.
	var variants []*patNode
	switch {
	case n != nil && n.isAlt:
		variants = n.alts
	case n != nil && n.seq != nil && n.seq[0].isAlt:
		for _, a := range n.seq[0].alts {
			items := append([]*patNode{}, n.seq[1:]...)
			if a != nil {
				items = append([]*patNode{a}, items...)
			}
			variants = append(variants, seqNode(items))
		}
	default:
		variants = []*patNode{n}
	}
	for _, v := range variants {
		var code []inst
		code = l.emit(code, v)
		code = append(code, inst{op: opMatch})
		first, empty := firstWords(code)
		if empty {
			return fmt.Errorf("pattern %q: can match no words", pattern)
		}
		pi := int32(len(l.progs))
		l.progs = append(l.progs, program{code: code, rule: r, role: role, need: l.neededWords(code, first)})
		for id := range first {
			l.first[id] = append(l.first[id], pi)
		}
	}
	return nil
}

func (l *lexicon) emit(code []inst, n *patNode) []inst {
	switch {
	case n == nil:
		return code
	case n.isAlt:
		// split L1, next; L1: alt0; jmp end; next: split L2, next2; ...
		var jumps []int
		for i, a := range n.alts {
			if i == len(n.alts)-1 {
				code = l.emit(code, a)
				break
			}
			split := len(code)
			code = append(code, inst{op: opSplit, x: int32(split + 1)})
			code = l.emit(code, a)
			jumps = append(jumps, len(code))
			code = append(code, inst{op: opJmp})
			code[split].y = int32(len(code))
		}
		for _, j := range jumps {
			code[j].x = int32(len(code))
		}
		return code
	case n.seq != nil:
		for _, c := range n.seq {
			code = l.emit(code, c)
		}
		return code
	default:
		for _, w := range l.normWords(n.word) {
			code = append(code, inst{op: opWord, arg: l.intern(w)})
		}
		return code
	}
}

// neededWords returns up to maxNeed words, none of them a possible first
// word, that every path from the start of code to opMatch consumes: a
// word w is needed when opMatch is unreachable once the opWord
// instructions for w are blocked. Longer words come first (they are the
// rarer ones, so the check rejects sooner).
func (l *lexicon) neededWords(code []inst, first map[uint32]bool) []uint32 {
	var cands []uint32
	seenWord := map[uint32]bool{}
	for _, in := range code {
		if in.op == opWord && !first[in.arg] && !seenWord[in.arg] {
			seenWord[in.arg] = true
			cands = append(cands, in.arg)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return len(l.wordText[cands[i]]) > len(l.wordText[cands[j]]) })
	seen := make([]bool, len(code))
	var need []uint32
	for _, w := range cands {
		clear(seen)
		if !reachesMatch(code, 0, w, seen) {
			need = append(need, w)
			if len(need) == maxNeed {
				break
			}
		}
	}
	return need
}

// reachesMatch reports whether opMatch is reachable from pc without
// passing an opWord for blocked.
func reachesMatch(code []inst, pc int, blocked uint32, seen []bool) bool {
	for pc < len(code) && !seen[pc] {
		seen[pc] = true
		switch in := code[pc]; in.op {
		case opMatch:
			return true
		case opWord:
			if in.arg == blocked {
				return false
			}
			pc++
		case opJmp:
			pc = int(in.x)
		case opSplit:
			if reachesMatch(code, int(in.x), blocked, seen) {
				return true
			}
			pc = int(in.y)
		}
	}
	return false
}

// firstWords returns the word ids a program can start with, and whether
// it can reach opMatch without consuming a word.
func firstWords(code []inst) (map[uint32]bool, bool) {
	first := map[uint32]bool{}
	seen := make([]bool, len(code))
	empty := false
	var visit func(pc int)
	visit = func(pc int) {
		if pc >= len(code) || seen[pc] {
			return
		}
		seen[pc] = true
		switch in := code[pc]; in.op {
		case opWord:
			first[in.arg] = true
		case opSplit:
			visit(int(in.x))
			visit(int(in.y))
		case opJmp:
			visit(int(in.x))
		case opMatch:
			empty = true
		}
	}
	visit(0)
	return first, empty
}

// addSquash registers joined forms of phrases ("kill myself" →
// "killmyself") searched inside single long words.
func (l *lexicon) addSquash(phrase string, r int32) error {
	j := strings.Join(normWords(phrase), "")
	if len(j) < minSquash {
		return fmt.Errorf("squash phrase %q: shorter than %d letters", phrase, minSquash)
	}
	l.squash = append(l.squash, squashEntry{text: j, collapsed: string(collapse1(nil, []byte(j))), rule: r})
	return nil
}

// minSquash is the shortest joined phrase searched for inside a word; short
// ones would hit innocent words.
const minSquash = 7

// hit is one rule match over tokens [first, last].
type hit struct {
	rule        int32
	first, last int32
	role        uint8
}

// candidates computes the word ids each token can stand for.
func (l *lexicon) candidates(s *scratch) {
	s.ids = s.ids[:0]
	s.idx = append(s.idx[:0], 0)
	s.thash = s.thash[:0]
	s.same = s.same[:0]
	// A table of the words seen so far, at most half full.
	size := 16
	for size < 2*len(s.toks) {
		size *= 2
	}
	if cap(s.memo) < size {
		s.memo = make([]int32, size)
	}
	s.memo = s.memo[:size]
	clear(s.memo)
	for i, t := range s.toks {
		w := s.norm[t.ns:t.ne]
		from := len(s.ids)
		h := tabHash(unsafeString(w))
		s.thash = append(s.thash, h)
		s.same = append(s.same, int32(i))
		if t.flags&(fLeet|fOne) == 0 {
			// The ids depend on the word and its flags alone: a word seen
			// before has the ids it had then.
			k := int(h) & (size - 1)
			for ; s.memo[k] != 0; k = (k + 1) & (size - 1) {
				if o := s.memo[k] - 1; s.thash[o] == h && s.toks[o].flags == t.flags && unsafeString(s.norm[s.toks[o].ns:s.toks[o].ne]) == unsafeString(w) {
					s.same[i] = o
					break
				}
			}
			if o := s.same[i]; int(o) != i {
				s.ids = append(s.ids, s.ids[s.idx[o]:s.idx[o+1]]...)
				s.idx = append(s.idx, int32(len(s.ids)))
				continue
			}
			s.memo[k] = int32(i) + 1
		}
		if id, ok := l.wordIDH(w, h); ok {
			s.ids = append(s.ids, id)
		}
		if t.flags&fLongRun != 0 {
			s.key = collapse1(s.key[:0], w)
			s.ids = appendUnique(s.ids, from, l.collapsed[string(s.key)]...)
		}
		if t.flags&fOne != 0 {
			// Second reading of '1' as 'l' ("ki11" → "kill").
			s.key = s.key[:0]
			for i, c := range w {
				if c == 'i' && s.oneAt(t, i) {
					c = 'l'
				}
				s.key = append(s.key, c)
			}
			if id, ok := l.wordID(s.key); ok {
				s.ids = appendUnique(s.ids, from, id)
			}
			if hasLongRun(s.key) {
				s.key = collapse1(s.key[:0], s.key)
				s.ids = appendUnique(s.ids, from, l.collapsed[string(s.key)]...)
			}
		}
		if n := len(w); n >= 4 && n <= 8 && t.flags&fLetter != 0 {
			// disguised reads only a k in front, an x or v after it and a
			// y inside: the call only for a word that has one.
			need := w[0] == 'k'
			for k := 1; k < n && !need; k++ {
				c := w[k]
				need = c == 'x' || c == 'v' || c == 'y' && k < n-1
			}
			if need {
				s.ids = l.disguised(s, w, from)
			}
		}
		if len(s.ids) == from && len(l.typos) > 0 && len(w) >= 4 {
			if id, ok := l.typoIDH(w, h); ok { // "haet", "killd", "immigrnt"
				s.ids = append(s.ids, id)
			}
		}
		if len(s.ids) == from && t.flags&fLeet != 0 && len(w) >= 4 && len(w) <= 8 {
			s.ids = l.symbolMasks(s, t, w, from) // "fu@k", "f$cks"
		}
		if len(s.ids) == from && len(w) >= 5 && w[len(w)-1] == 's' && w[len(w)-2] != 's' && l.singleStart[int(w[0]&31)*32+int(w[1]&31)] {
			// the plural of a one-word rule's word ("penchods")
			if id, ok := l.wordID(w[:len(w)-1]); ok && len(l.single[id]) > 0 && !isCommonWord(unsafeString(w)) {
				s.ids = append(s.ids, id)
			}
		}
		if t.flags&fWildcard != 0 {
			for _, id := range l.wildCands(w) {
				if wildMatch(w, l.wordText[id]) {
					s.ids = appendUnique(s.ids, from, id)
				}
			}
		}
		s.idx = append(s.idx, int32(len(s.ids)))
	}
}

// disguised adds the readings of letters commonly swapped for look-alikes
// inside a rude word: x for a vowel or c ("fuxk", "shxt"), v for u
// ("fvck") and vv for w ("tvvats"). Only whole-word lexicon entries can
// come out of it, so ordinary words stay what they are.
func (l *lexicon) disguised(s *scratch, w []byte, from int) []uint32 {
	ids := s.ids
	hasX, hasV := false, false
	for _, c := range w[1:] {
		hasX = hasX || c == 'x'
		hasV = hasV || c == 'v'
	}
	// k for c at the start ("kunt", "kock", "krap"), y for i inside
	// ("shyt", "byatch").
	if w[0] == 'k' {
		s.key = append(append(s.key[:0], 'c'), w[1:]...)
		if id, ok := l.wordID(s.key); ok {
			ids = appendUnique(ids, from, id)
		}
	}
	if n := len(w); n >= 4 {
		s.key = append(s.key[:0], w...)
		changed := false
		for i := 1; i < n-1; i++ {
			if s.key[i] == 'y' {
				s.key[i], changed = 'i', true
			}
		}
		if changed {
			if id, ok := l.wordID(s.key); ok {
				ids = appendUnique(ids, from, id)
			}
		}
	}
	if hasV {
		s.key = s.key[:0]
		for i := 0; i < len(w); i++ {
			switch {
			case w[i] == 'v' && i+1 < len(w) && w[i+1] == 'v':
				s.key = append(s.key, 'w')
				i++
			case w[i] == 'v' && i > 0:
				s.key = append(s.key, 'u')
			default:
				s.key = append(s.key, w[i])
			}
		}
		if id, ok := l.wordID(s.key); ok {
			ids = appendUnique(ids, from, id)
		}
	}
	if hasX {
		// The lexicon words equal to w but for one x (not the first
		// letter) standing for a maskable letter: look up each such
		// reading instead of comparing w with every word of its length,
		// and add them in id order, as that scan did.
		var found [48]uint32 // at most 7 x × 6 letters in an 8-letter word
		nf := 0
		s.key = append(s.key[:0], w...)
		for i := 1; i < len(w); i++ {
			if w[i] != 'x' {
				continue
			}
			for _, c := range maskable {
				s.key[i] = c
				if id, ok := l.wordID(s.key); ok && nf < len(found) {
					found[nf] = id
					nf++
				}
			}
			s.key[i] = 'x'
		}
		slices.Sort(found[:nf])
		ids = appendUnique(ids, from, found[:nf]...)
	}
	return ids
}

// addTypos registers one-typo spellings of word: two neighbouring letters
// swapped (words of 4 letters or more) and one letter dropped (7 or more,
// so "black" never reads "back" nor "threat" "treat"). Spellings that are lexicon words
// themselves are left alone.
func (l *lexicon) addTypos(word string) {
	id, ok := l.words[word]
	if !ok || len(word) < 4 {
		return
	}
	for _, c := range []byte(word) {
		if c < 'a' || c > 'z' {
			return
		}
	}
	add := func(v string) {
		if _, real := l.words[v]; real || v == word {
			return
		}
		if _, dup := l.typos[v]; !dup {
			l.typos[v] = id
		}
	}
	b := []byte(word)
	for i := 0; i+1 < len(b); i++ {
		if b[i] == b[i+1] {
			continue
		}
		b[i], b[i+1] = b[i+1], b[i]
		add(string(b))
		b[i], b[i+1] = b[i+1], b[i]
	}
	if len(word) >= 7 { // shorter ones drop into real words: "threat" → "treat"
		for i := 1; i < len(word); i++ { // the first letter is kept
			add(word[:i] + word[i+1:])
		}
	}
}

// maskable are the letters isMaskable accepts.
var maskable = [...]byte{'a', 'e', 'i', 'o', 'u', 'c'}

func isMaskable(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'c':
		return true
	}
	return false
}

// splitJoins adds hits for a rude word typed in two or three pieces, one
// of them a lone letter ("w anker", "wan k er"). Pieces that
// are ordinary short words ("is", "to", "a") never start a join.
func (l *lexicon) splitJoins(s *scratch) {
	for i := range s.toks {
		// (The call only for a pair that may be one: most pairs are two
		// words of two letters or more with one space between them.)
		if i+1 < len(s.toks) {
			a, b := &s.toks[i], &s.toks[i+1]
			if g := b.os - a.oe; g >= 1 && g <= 3 && (g > 1 || s.text[a.oe] != ' ' || a.ne-a.ns == 1 || b.ne-b.ns == 1) {
				l.maskedJoin(s, i)
			}
		}
		for k := 2; k <= 3 && i+k <= len(s.toks); k++ {
			// The cheap tests first, the short-word look-ups only for a
			// window that passes them (most have no one-letter word).
			frag, n := false, 0
			ok := true
			for j := i; j < i+k; j++ {
				t := s.toks[j]
				if t.flags&fLetter == 0 || t.ne-t.ns > 8 {
					ok = false
					break
				}
				frag = frag || t.ne-t.ns == 1 // "se men", "un dress" are words, "w anker" is not
				n += int(t.ne - t.ns)
			}
			if !ok || !frag || n < 4 {
				continue
			}
			s.key = s.key[:0]
			for j := i; j < i+k; j++ {
				t := s.toks[j]
				w := s.norm[t.ns:t.ne]
				if len(w) <= 2 && commonShortTab.has(unsafeString(w)) {
					ok = false
					break
				}
				s.key = append(s.key, w...)
			}
			if !ok {
				continue
			}
			if id, found := l.wordID(s.key); found {
				for _, pi := range l.single[id] {
					s.hits = append(s.hits, hit{rule: l.progs[pi].rule, first: int32(i), last: int32(i + k - 1), role: roleMain})
				}
			}
		}
	}
}

// symbolMasks reads the symbols '@' and '$' inside a word, which the
// normaliser took for the letters they look like, as masks of any
// letter instead ("fu@k", "f$cks"): the one-word rules' words the word
// then matches.
func (l *lexicon) symbolMasks(s *scratch, t token, w []byte, from int) []uint32 {
	ids := s.ids
	if int(t.oe) > len(s.text) || int(t.oe)-int(t.os) != len(w) {
		return ids // the original has other bytes (accents, joins): no position map
	}
	orig := s.text[t.os:t.oe]
	s.key = append(s.key[:0], w...)
	masked := false
	for i := 1; i < len(orig)-1; i++ {
		if c := orig[i]; c == '@' || c == '$' || c == '8' { // f8ck: an 8 over the vowel
			s.key[i] = '*'
			masked = true
		}
	}
	if !masked {
		return ids
	}
	for _, id := range l.wildCands(s.key) {
		if len(l.single[id]) > 0 && wildMatch(s.key, l.wordText[id]) {
			ids = appendUnique(ids, from, id)
		}
	}
	return ids
}

// maskedJoin adds hits for a rude word cut in two by punctuation inside
// it ("fu.ck", "sh_it"), with letters masked by stars or dashes ("f--k",
// "c *nt", "p-rnhub"), or split by a space before or after one letter
// ("twa t"): the two pieces joined must be a one-word rule's word.
func (l *lexicon) maskedJoin(s *scratch, i int) {
	a, b := s.toks[i], s.toks[i+1]
	if a.flags&fLetter == 0 || b.flags&fLetter == 0 || a.oe > b.os || int(b.os) > len(s.text) {
		return
	}
	gap := s.text[a.oe:b.os]
	stars, dashes, spaces := 0, 0, 0
	for k := 0; k < len(gap); k++ {
		switch gap[k] {
		case '*':
			stars++
		case '-':
			dashes++
		case ' ':
			spaces++
		case '.', '_':
		default:
			return
		}
	}
	wa, wb := s.norm[a.ns:a.ne], s.norm[b.ns:b.ne]
	if len(gap) == 0 || spaces > 1 {
		return
	}
	if spaces == 1 && stars == 0 {
		// a space alone splits off one letter: "twa t", not "sh it"
		long, letter := wa, wb
		if len(wa) == 1 {
			long, letter = wb, wa
		} else if len(wb) != 1 {
			return
		}
		if l := letter[0]; l == 'a' || l == 'i' || l == 'u' { // words: "lol i", "want a"
			return
		}
		if len(gap) != 1 || len(long) < 3 || isCommonWord(unsafeString(long)) || commonShortTab.has(unsafeString(long)) {
			return
		}
	}
	try := func(masks int) {
		n := len(wa) + masks + len(wb)
		if n < 4 || n > 12 {
			return
		}
		s.key = append(s.key[:0], wa...)
		for range masks {
			s.key = append(s.key, '*')
		}
		s.key = append(s.key, wb...)
		if masks == 0 {
			if id, ok := l.wordID(s.key); ok {
				l.addSingle(s, id, i)
			}
			return
		}
		for _, id := range l.wildCands(s.key) {
			if wildMatch(s.key, l.wordText[id]) {
				l.addSingle(s, id, i)
			}
		}
	}
	switch {
	case stars > 0 || dashes >= 2:
		try(stars + dashes) // "f--k", "c *nt"
	case dashes == 1:
		try(0) // "fu-ck"
		try(1) // "p-rnhub"
	default:
		try(0) // "fu.ck", "twa t"
	}
}

// addSingle adds the hits of the one-word rules of word id for the two
// tokens from i.
func (l *lexicon) addSingle(s *scratch, id uint32, i int) {
	for _, pi := range l.single[id] {
		s.hits = append(s.hits, hit{rule: l.progs[pi].rule, first: int32(i), last: int32(i + 1), role: roleMain})
	}
}

var commonShortTab = newStrTab(commonShort)

// commonShort are short words that are words, not fragments.
var commonShort = map[string]bool{
	"a": true, "i": true, "is": true, "as": true, "in": true, "to": true, "it": true, "at": true,
	"of": true, "on": true, "an": true, "or": true, "so": true, "no": true, "me": true, "my": true,
	"be": true, "we": true, "he": true, "up": true, "us": true, "do": true, "go": true, "if": true,
	"by": true, "am": true, "oh": true, "ok": true, "hi": true, "ya": true, "yo": true, "u": true,
	"ur": true, "im": true, "id": true, "lol": true, "ah": true, "eh": true, "ha": true, "uh": true,
	"mom": true, "dad": true, "x": true, "o": true, "ll": true, "ve": true, "re": true, "s": true, "t": true,
}

func hasLongRun(w []byte) bool {
	for i := 2; i < len(w); i++ {
		if w[i] == w[i-1] && w[i] == w[i-2] && w[i] >= 'a' && w[i] <= 'z' {
			return true
		}
	}
	return false
}

func appendUnique(ids []uint32, from int, add ...uint32) []uint32 {
	for _, a := range add {
		dup := false
		for _, x := range ids[from:] {
			if x == a {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, a)
		}
	}
	return ids
}

// wildMatch matches a word containing '*' masks against a dictionary word
// of the same length; at least two real letters must agree.
func wildMatch(w []byte, word string) bool {
	if len(w) != len(word) {
		return false
	}
	letters := 0
	for i := range w {
		if w[i] == '*' {
			continue
		}
		if w[i] != word[i] {
			return false
		}
		letters++
	}
	return letters >= 2
}

// maxFillerSkips bounds how many filler words one phrase may skip.
const maxFillerSkips = 2

// match appends to s.hits every phrase match in the token stream (at most
// one per program and start word).
func (l *lexicon) match(s *scratch) {
	s.hits = s.hits[:0]
	// Filler flags once per token, not once per failed program step.
	s.fill = s.fill[:0]
	for j := range s.toks {
		s.fill = append(s.fill, l.isFiller(s.ids[s.idx[j]:s.idx[j+1]]))
	}
	// Which words occur at all, for the programs' needed words.
	n := (len(l.wordText) + 63) / 64
	if cap(s.present) < n {
		s.present = make([]uint64, n)
	}
	s.present = s.present[:n]
	clear(s.present)
	for _, id := range s.ids {
		if int(id) < len(l.wordText) {
			s.present[id/64] |= 1 << (id % 64)
		}
	}
	// The programs of each distinct word that pass the needed-words
	// filter, worked out on the word's first occurrence.
	if len(s.progStamp) < len(l.wordText) {
		s.progStamp = make([]uint32, len(l.wordText))
		s.progFrom = make([]int32, len(l.wordText))
		s.progTo = make([]int32, len(l.wordText))
		s.stamp = 0
	}
	if s.stamp++; s.stamp == 0 {
		clear(s.progStamp)
		s.stamp = 1
	}
	s.progList = s.progList[:0]
	for j := range s.toks {
		for _, id := range s.ids[s.idx[j]:s.idx[j+1]] {
			cached := int(id) < len(s.progStamp)
			if !cached || s.progStamp[id] != s.stamp {
				from := len(s.progList)
			progs:
				for _, pi := range l.programsFor(id) {
					for _, w := range l.progs[pi].need {
						if s.present[w/64]&(1<<(w%64)) == 0 {
							continue progs
						}
					}
					s.progList = append(s.progList, pi)
				}
				if !cached { // not a lexicon word id: no cache slot
					l.runAll(s, s.progList[from:], j, id)
					s.progList = s.progList[:from]
					continue
				}
				s.progStamp[id], s.progFrom[id], s.progTo[id] = s.stamp, int32(from), int32(len(s.progList))
			}
			l.runAll(s, s.progList[s.progFrom[id]:s.progTo[id]], j, id)
		}
	}
	l.splitJoins(s)
	// Joined and glued words: look for the squashed form of severe phrases.
	for i, t := range s.toks {
		if int(t.ne-t.ns) < minSquash {
			continue
		}
		w := unsafeString(s.norm[t.ns:t.ne])
		var c []byte
		if t.flags&fLongRun != 0 {
			c = collapse1(nil, s.norm[t.ns:t.ne])
		}
		if l.squashIdx == nil {
			for _, e := range l.squash {
				found := strings.Contains(w, e.text)
				if !found && c != nil {
					found = strings.Contains(unsafeString(c), e.collapsed)
				}
				if found {
					s.hits = append(s.hits, hit{rule: e.rule, first: int32(i), last: int32(i)})
				}
			}
			continue
		}
		found := l.squashIdx.find(w, c)
		for k := 0; found != 0; k++ {
			if found&1 != 0 {
				s.hits = append(s.hits, hit{rule: l.squash[k].rule, first: int32(i), last: int32(i)})
			}
			found >>= 1
		}
	}
}

// squashIndex finds which squash entries occur in a word without a
// substring search per entry: an entry can only start where the word has
// its first trigram, and few positions of a word start one.
type squashIndex struct {
	entries    []squashEntry
	text, coll *triSet // first trigrams of the texts and collapsed forms
	textTri    []int32 // per entry: triIndex of text[:3], or -1
	collTri    []int32 // per entry: triIndex of collapsed[:3], or -1
	other      []int   // entries with a form whose start is not a-z (searched plainly)
}

// newSquashIndex indexes up to 64 entries (nil for more: the caller
// searches plainly).
func newSquashIndex(entries []squashEntry) *squashIndex {
	if len(entries) > 64 {
		return nil
	}
	x := &squashIndex{entries: entries, text: new(triSet), coll: new(triSet)}
	tri := func(f string) int32 {
		if len(f) < 3 {
			return -1
		}
		j, ok := triIndex(f[0], f[1], f[2])
		if !ok {
			return -1
		}
		return int32(j)
	}
	for k, e := range entries {
		tt, tc := tri(e.text), tri(e.collapsed)
		x.textTri = append(x.textTri, tt)
		x.collTri = append(x.collTri, tc)
		if tt < 0 || tc < 0 {
			x.other = append(x.other, k)
		}
		if tt >= 0 {
			x.text.add(e.text)
		}
		if tc >= 0 {
			x.coll.add(e.collapsed)
		}
	}
	return x
}

// find returns the set (bit k = entry k) of entries whose text occurs in
// w or, when c is not nil, whose collapsed form occurs in c: the same set
// as strings.Contains over every entry.
func (x *squashIndex) find(w string, c []byte) uint64 {
	var found uint64
	for _, k := range x.other {
		e := &x.entries[k]
		if strings.Contains(w, e.text) || (c != nil && strings.Contains(unsafeString(c), e.collapsed)) {
			found |= 1 << k
		}
	}
	found |= x.scan(w, x.text, x.textTri, false)
	if c != nil {
		found |= x.scan(unsafeString(c), x.coll, x.collTri, true)
	}
	return found
}

// scan sets the bits of the a-z-started entries whose text (or collapsed
// form) starts at some position of w.
func (x *squashIndex) scan(w string, set *triSet, firstTri []int32, collapsed bool) uint64 {
	var found uint64
	for i := 0; i+3 <= len(w); i++ {
		j, ok := triIndex(w[i], w[i+1], w[i+2])
		if !ok || set[j/64]&(1<<(j%64)) == 0 {
			continue
		}
		for k, tk := range firstTri {
			if tk != int32(j) {
				continue
			}
			f := x.entries[k].text
			if collapsed {
				f = x.entries[k].collapsed
			}
			if strings.HasPrefix(w[i:], f) {
				found |= 1 << k
			}
		}
	}
	return found
}

// runAll runs programs from word j and records their matches; id is the
// word id (one of word j's) whose programs they are.
func (l *lexicon) runAll(s *scratch, progs []int32, j int, id uint32) {
	for _, pi := range progs {
		p := &l.progs[pi]
		var last int
		var ok bool
		if c := p.code[0]; c.op == opWord && c.arg == id {
			// The first step is word id, which word j is: what run does
			// there, without the call (a call is dear in a wasm guest).
			// At the first word no filler is skipped, so failing on from
			// here fails the program.
			last, ok = l.run(s, p.code, 1, j+1, j, 0)
		} else {
			last, ok = l.run(s, p.code, 0, j, j, 0)
		}
		if ok {
			s.hits = append(s.hits, hit{rule: p.rule, first: int32(j), last: int32(last), role: p.role})
		}
	}
}

// run executes a program from pc at word j; first is the phrase's first
// word. It returns the index of the last word of a match.
func (l *lexicon) run(s *scratch, code []inst, pc, j, first, skips int) (int, bool) {
	for {
		in := &code[pc]
		switch in.op {
		case opMatch:
			return j - 1, true
		case opJmp:
			pc = int(in.x)
		case opSplit:
			if k := in.arg; k != 0 {
				n := l.splitFirst[k-1]
				if c := l.splitFirst[k+n]; c != 0 {
					// The head of a chain of alternatives: skip them all
					// when none can consume its first word.
					m := l.splitFirst[k+n+1]
					if !l.mayStart(s, l.splitFirst[k+n+2:k+n+2+m], j, first, skips) {
						pc = int(c - 1)
						continue
					}
				}
				// Skip the x branch when it cannot consume its first word.
				// Most branches are one word, and most words no filler.
				if n == 1 && j < len(s.toks) && !s.fill[j] {
					if !containsUint32(s.ids[s.idx[j]:s.idx[j+1]], l.splitFirst[k]) {
						pc = int(in.y)
						continue
					}
				} else if !l.mayStart(s, l.splitFirst[k:k+n], j, first, skips) {
					pc = int(in.y)
					continue
				}
			}
			if last, ok := l.run(s, code, int(in.x), j, first, skips); ok {
				return last, true
			}
			pc = int(in.y)
		case opWord:
			if j >= len(s.toks) {
				return 0, false
			}
			ids := s.ids[s.idx[j]:s.idx[j+1]]
			if containsUint32(ids, in.arg) {
				if last, ok := l.run(s, code, pc+1, j+1, first, skips); ok {
					return last, true
				}
			}
			if j == first || skips >= maxFillerSkips || !s.fill[j] {
				return 0, false
			}
			j, skips = j+1, skips+1
		}
	}
}

// mayStart reports whether a branch whose first word is one of set
// (sorted) can consume it from word j on: at j, or after the filler words
// run may skip there (as opWord does: not at the phrase's first word, at
// most maxFillerSkips in all). When it reports false, running the branch
// cannot match.
func (l *lexicon) mayStart(s *scratch, set []uint32, j, first, skips int) bool {
	for j < len(s.toks) {
		for _, id := range s.ids[s.idx[j]:s.idx[j+1]] {
			if len(set) <= 8 {
				if containsUint32(set, id) {
					return true
				}
			} else if _, found := slices.BinarySearch(set, id); found {
				return true
			}
		}
		if j == first || skips >= maxFillerSkips || !s.fill[j] {
			return false
		}
		j, skips = j+1, skips+1
	}
	return false
}

func (l *lexicon) isFiller(ids []uint32) bool {
	for _, id := range ids {
		if int(id) < len(l.fillerByID) {
			if l.fillerByID[id] {
				return true
			}
		} else if l.filler[id] {
			return true
		}
	}
	return false
}

func containsUint32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
