package rules

import (
	_ "embed" // the innocent-word list
	"slices"
	"strings"
)

// Word-level matching beyond the exact phrase tables (lexicon.go): rude
// stems glued into compounds ("cumstain", "fuckwit", "dumbass"), inflected
// ("shitz", "fuckheads") or misspelt by one letter ("nzigger", "fcuker").
//
// Loose matching only ever applies to a word that is not an ordinary
// English word: innocentWords (data/innocent.txt) lists the dictionary
// words that the loose matchers would otherwise flag ("cockatoo",
// "assassin", "Scunthorpe", "analysis"). It is generated, reproducibly,
// from a system word list — see TestGenerateInnocent.

//go:embed data/innocent.txt
var innocentData string

// inflections may follow a stem in an exact form.
var inflections = []string{"", "s", "es", "ed", "er", "ers", "ing", "in", "y", "ie", "ies", "ier", "iest", "z", "ez"}

// stemForms returns a stem with its inflections, doubling a final
// consonant ("shit" → "shitty", "shitter") and dropping a final e
// ("rape" → "raped", "raping").
func stemForms(stem string) []string {
	out := make([]string, 0, 2*len(inflections))
	last := stem[len(stem)-1]
	for _, inf := range inflections {
		switch {
		case last == 'e' && inf != "" && (inf[0] == 'e' || inf[0] == 'i'):
			out = append(out, stem[:len(stem)-1]+inf)
		default:
			out = append(out, stem+inf)
		}
		if inf != "" && (inf[0] == 'e' || inf[0] == 'i' || inf[0] == 'y') && !strings.ContainsRune("aeiouyswxz", rune(last)) &&
			len(stem) >= 2 && strings.ContainsRune("aeiou", rune(stem[len(stem)-2])) {
			out = append(out, stem+string(last)+inf)
		}
	}
	return out
}

// compoundHeads may precede a stem in a compound ("dumb"+"ass").
var compoundHeads = []string{
	"dumb", "fat", "jack", "lard", "bad", "kick", "dip", "horse", "bull", "cow",
	"mother", "mutha", "motha", "muther", "mofo", "big", "tiny", "pin", "limp", "lame", "dope",
	"hard", "wet", "gay", "butt", "crack", "deep", "god", "stupid", "ugly", "lazy", "smelly",
	"dirty", "sweaty", "hairy", "stinky", "loose", "pussy", "son", "sons", "bum",
	"head", "mind", "brain", "skull", "face", "eat", "ate", "suck", "lick", "blow", "jerk",
	"jack", "beat", "choke", "whack", "smart", "old", "cheap", "mega", "super", "uber",
	"battle", "bat", "cluster", "ape", "chicken", "moon", "jungle", "porch", "sand", "rag",
	"towel", "tar", "carpet", "rug", "pillow", "fudge", "bean", "spunk", "cream", "hot",
	"hardcore", "softcore", "kinky", "rough", "anal", "group", "phone", "cyber", "easy", "nasty",
	"drip",
}

// shortStemHeads may precede a stem of three letters or less ("dumb"+"ass");
// other heads only combine with longer stems ("porch"+"monkey").
var shortStemHeads = map[string]bool{
	"dumb": true, "fat": true, "jack": true, "lard": true, "bad": true, "smart": true,
	"kick": true, "dip": true, "big": true, "lazy": true, "dirty": true, "ugly": true,
	"stupid": true, "mega": true, "super": true, "mother": true, "horse": true,
	"bull": true, "sweaty": true, "hairy": true, "stinky": true, "smelly": true, "candy": true,
	"hardcore": true, "softcore": true,
}

// compoundTails may follow a stem in a compound ("cum"+"stain").
var compoundTails = []string{
	"hole", "holes", "head", "heads", "face", "faces", "bag", "bags", "wad", "wads", "wit",
	"wits", "wipe", "wipes", "hat", "hats", "stain", "stains", "sucker", "suckers", "sucking",
	"suck", "licker", "lickers", "licking", "lick", "lover", "lovers", "job", "jobs", "fest",
	"master", "masters", "monkey", "munch", "muncher", "munchers", "bandit", "bandits",
	"jockey", "jockeys", "burger", "burgers", "nugget", "nuggets", "breath",
	"brain", "brains", "bucket", "biscuit", "boy", "boys", "girl", "girls", "clown", "clowns",
	"goblin", "pirate", "pirates", "tard", "tards", "load", "loads", "sandwich", "bubble", "bubbles", "freak", "freaks", "waffle", "lord", "lords", "pile",
	"storm", "show", "mouth", "mouths", "lips", "cake", "pipe", "stick",
	"sticks", "hound", "dog", "dogs", "fuck", "fucker", "fuckers", "fucking", "bang",
	"banger", "bangers", "bag", "shack", "blimp", "box", "dump", "muffin", "nut", "nuts",
	"pig", "pigs", "rag", "rags", "ranger", "rammer", "ramming", "rocket", "puppet",
	"tickler", "whistle", "grabber", "gasm", "hammer", "hopper", "kisser", "meat", "pants",
	"sack", "stick", "trumpet", "bite", "bites", "eater", "eaters", "ass", "cunt", "cock",
	"dick", "shit", "whore", "slut", "bitch", "twat", "tit", "tits", "juice", "jizz",
	"ness", "hammered", "fest", "tastic", "tacular", "bomb", "boner", "sauce", "spot",
	"stabber", "stabbers", "pounder", "pounders", "pounding", "blaster", "blasters", "kiss",
	"cowboy", "cowboys", "can", "cans", "fit", "fits", "smoker", "smokers", "sniffer", "sniffers",
	"gobbler", "gobblers", "pusher", "pushers", "packer", "packers", "plug", "plugs", "knocker",
	"knockers", "magnet", "fiend", "fiends", "weasel", "weasels", "guzzler", "guzzlers", "slurper",
	"monger", "mongers", "flap", "flaps", "wagon", "shoveler", "muffin", "rider", "riders",
	"smith", "nob", "forbrains", "full", "happens", "flick", "flicks", "king", "queen", "stuffer",
}

// wordStem is a rude stem for loose matching.
type wordStem struct {
	text     string
	rule     int32
	anywhere bool // may occur anywhere inside a longer non-dictionary word
}

// wordIndex is the compiled loose matcher.
type wordIndex struct {
	stems    []wordStem
	short    map[string]int32 // stem → rule, for compounds
	heads    map[string]bool
	tails    map[string]bool
	fuzzy    map[string]int32 // one-letter deletions of long exact forms → rule
	exact    map[string]int32 // exact forms of stems (with inflections) → rule
	strong   map[string]int32 // exact forms of '*' stems, for one-letter-extra matching
	innocent map[string]bool
	// First three letters of every stem, and of the '*' stems: a word
	// holding none of them cannot contain a stem, which spares the linear
	// scans below for almost every ordinary word.
	// They are bit sets indexed by triIndex (stems are plain a-z).
	tri, triAny *triSet
	// triStems lists, for every trigram (triIndex), the indices into
	// stems of the stems that start with it, in order: triStems[i] is
	// triStemIdx[triStart[i]:triStart[i+1]] (built by indexStems). A stem
	// occurs in a word exactly where the word has the stem's first
	// trigram, so a search for stems walks the word once instead of
	// searching it for every stem.
	triStart   []int32
	triStemIdx []int32
	// delPre marks the first two letters (a-z) of every key of fuzzy and
	// strong: a one-letter deletion of a word keeps its first letter, so
	// most words need no deletion look-ups at all.
	delPre [26 * 26]bool
	// phon maps the phonetic key (phonKey) of every exact stem form and
	// of every one-word phrase to its rule: "skumbag", "lezbian", "fukka"
	// read as "scumbag", "lesbian", "fucker". Used only for words that
	// are not in the dictionary at all (common or proper).
	phon map[string]int32
	// Rude prefixes and suffixes (affixRule), sorted by affixKey, and by
	// key 1 + the index of the first of that key (0: none).
	prefix, suffix     []affix
	prefixAt, suffixAt [26 * 26]uint8
	// Tables of the maps above for Evaluate (strtab.go), built by freeze.
	tabs *wordTabs
	// delBloom is a Bloom filter (one hash, polyHash) of the keys of fuzzy
	// and strong, built by freeze: a word's one-letter deletions are
	// looked up only when their hash is in it. The polynomial hash of
	// every deletion of a word comes from one prefix and one suffix pass,
	// so most words need no look-up for their deletions at all.
	delBloom *[delBloomBits / 64]uint64
}

const (
	delBloomBits = 1 << 16
	polyBase     = 0x01000193
)

// polyHash is the polynomial hash sum s[i]·polyBase^i (mod 2^32).
func polyHash(s string) uint32 {
	var h, p uint32 = 0, 1
	for i := 0; i < len(s); i++ {
		h += uint32(s[i]) * p
		p *= polyBase
	}
	return h
}

func (w *wordIndex) bloomAdd(h uint32) {
	i := mix(h) >> 16
	w.delBloom[i/64] |= 1 << (i % 64)
}

// bloomMaybe reports whether a key with polyHash h may be in fuzzy or
// strong (always true before freeze).
func (w *wordIndex) bloomMaybe(h uint32) bool {
	if w.delBloom == nil {
		return true
	}
	i := mix(h) >> 16
	return w.delBloom[i/64]&(1<<(i%64)) != 0
}

type wordTabs struct {
	innocent, exact, fuzzy, strong, phon, short, heads, tails *strTab
}

// freeze builds the look-up tables once every stem is added.
func (w *wordIndex) freeze() {
	w.tabs = &wordTabs{
		innocent: newStrTab(w.innocent), exact: newStrTab(w.exact),
		fuzzy: newStrTab(w.fuzzy), strong: newStrTab(w.strong), phon: newStrTab(w.phon),
		short: newStrTab(w.short), heads: newStrTab(w.heads), tails: newStrTab(w.tails),
	}
	w.delBloom = new([delBloomBits / 64]uint64)
	for k := range w.fuzzy {
		w.bloomAdd(polyHash(k))
	}
	for k := range w.strong {
		w.bloomAdd(polyHash(k))
	}
}

func (w *wordIndex) shortRule(s string) (int32, bool) {
	if w.tabs == nil {
		r, ok := w.short[s]
		return r, ok
	}
	return w.tabs.short.get(s)
}

func (w *wordIndex) isHead(s string) bool {
	if w.tabs == nil {
		return w.heads[s]
	}
	return w.tabs.heads.has(s)
}

func (w *wordIndex) isTail(s string) bool {
	if w.tabs == nil {
		return w.tails[s]
	}
	return w.tabs.tails.has(s)
}

func (w *wordIndex) isInnocent(s string) bool {
	return w.isInnocentH(s, tabHash(s))
}

// isInnocentH is isInnocent for a word whose tabHash is h.
func (w *wordIndex) isInnocentH(s string, h uint32) bool {
	if w.tabs == nil {
		return w.innocent[s]
	}
	v, ok := w.tabs.innocent.getH(s, h)
	return ok && v != 0
}

func (w *wordIndex) exactRule(s string) (int32, bool) {
	return w.exactRuleH(s, tabHash(s))
}

// exactRuleH is exactRule for a word whose tabHash is h.
func (w *wordIndex) exactRuleH(s string, h uint32) (int32, bool) {
	if w.tabs == nil {
		r, ok := w.exact[s]
		return r, ok
	}
	return w.tabs.exact.getH(s, h)
}

func (w *wordIndex) fuzzyRule(s string) (int32, bool) {
	if w.tabs == nil {
		r, ok := w.fuzzy[s]
		return r, ok
	}
	return w.tabs.fuzzy.get(s)
}

func (w *wordIndex) strongRule(s string) (int32, bool) {
	if w.tabs == nil {
		r, ok := w.strong[s]
		return r, ok
	}
	return w.tabs.strong.get(s)
}

func (w *wordIndex) phonRule(s string) (int32, bool) {
	if w.tabs == nil {
		r, ok := w.phon[s]
		return r, ok
	}
	return w.tabs.phon.get(s)
}

// triSet is a set of a-z trigrams.
type triSet [(26*26*26 + 63) / 64]uint64

func triIndex(a, b, c byte) (int, bool) {
	a, b, c = a-'a', b-'a', c-'a'
	if a >= 26 || b >= 26 || c >= 26 {
		return 0, false
	}
	return (int(a)*26+int(b))*26 + int(c), true
}

func (t *triSet) add(s string) {
	if i, ok := triIndex(s[0], s[1], s[2]); ok {
		t[i/64] |= 1 << (i % 64)
	}
}

// hasTri reports whether s contains one of the trigrams in set.
func hasTri(s string, set *triSet) bool {
	for i := 0; i+3 <= len(s); i++ {
		if j, ok := triIndex(s[i], s[i+1], s[i+2]); ok && set[j/64]&(1<<(j%64)) != 0 {
			return true
		}
	}
	return false
}

// markDelPre records key's first two letters in delPre.
func (w *wordIndex) markDelPre(key string) {
	if len(key) >= 2 {
		if a, b := key[0]-'a', key[1]-'a'; a < 26 && b < 26 {
			w.delPre[int(a)*26+int(b)] = true
		}
	}
}

// hasDelPre reports whether some fuzzy or strong key starts with a, b;
// anything that is not a-z is answered true (no filtering).
func (w *wordIndex) hasDelPre(a, b byte) bool {
	a, b = a-'a', b-'a'
	return a >= 26 || b >= 26 || w.delPre[int(a)*26+int(b)]
}

func newWordIndex() *wordIndex {
	w := &wordIndex{
		short: map[string]int32{}, heads: map[string]bool{}, tails: map[string]bool{},
		fuzzy: map[string]int32{}, exact: map[string]int32{}, strong: map[string]int32{}, innocent: map[string]bool{},
		phon: map[string]int32{},
		tri:  new(triSet), triAny: new(triSet),
	}
	for _, h := range compoundHeads {
		w.heads[h] = true
	}
	for _, t := range compoundTails {
		w.tails[t] = true
	}
	for _, line := range strings.Split(innocentData, "\n") {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			w.innocent[line] = true
		}
	}
	return w
}

// addStem registers a stem of rule r. A stem written with a leading '*'
// may also match anywhere inside a longer word.
func (w *wordIndex) addStem(stem string, r int32) []string {
	anywhere := strings.HasPrefix(stem, "*")
	stem = strings.TrimPrefix(stem, "*")
	w.stems = append(w.stems, wordStem{text: stem, rule: r, anywhere: anywhere})
	if len(stem) >= 3 {
		w.tri.add(stem)
		if anywhere {
			w.triAny.add(stem)
		}
	}
	w.short[stem] = r
	var forms []string
	for _, f := range stemForms(stem) {
		if f != stem && w.innocent[f] {
			continue // "cumin", "spicy"
		}
		if _, dup := w.exact[f]; !dup {
			w.exact[f] = r
		}
		forms = append(forms, f)
		if anywhere {
			w.strong[f] = r
			w.markDelPre(f)
		}
		if anywhere && len(f) >= 6 {
			for i := range len(f) {
				d := f[:i] + f[i+1:]
				if _, dup := w.fuzzy[d]; !dup {
					w.fuzzy[d] = r
					w.markDelPre(d)
				}
			}
		}
	}
	return forms
}

// indexStems builds triStart and triStemIdx once every stem is added.
func (w *wordIndex) indexStems() {
	const n = 26 * 26 * 26
	counts := make([]int, n+1)
	for _, st := range w.stems {
		if i, ok := triIndex(st.text[0], st.text[1], st.text[2]); ok {
			counts[i+1]++
		}
	}
	w.triStart = make([]int32, n+1)
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
		w.triStart[i] = int32(counts[i])
	}
	w.triStemIdx = make([]int32, counts[n])
	next := counts[:n]
	for k, st := range w.stems {
		if i, ok := triIndex(st.text[0], st.text[1], st.text[2]); ok {
			w.triStemIdx[next[i]] = int32(k)
			next[i]++
		}
	}
}

// stemsAt returns the indices of the stems whose first trigram is s[i:i+3]
// (s has at least i+3 bytes).
func (w *wordIndex) stemsAt(s string, i int) []int32 {
	j, ok := triIndex(s[i], s[i+1], s[i+2])
	if !ok || w.triStart == nil {
		return nil
	}
	return w.triStemIdx[w.triStart[j]:w.triStart[j+1]]
}

// firstAnywhere returns the rule of the first stem (in stems order) marked
// '*' that is shorter than s and occurs in it, or -1.
func (w *wordIndex) firstAnywhere(s string) int32 {
	best := -1
	for i := 0; i+3 <= len(s); i++ {
		for _, k := range w.stemsAt(s, i) {
			st := &w.stems[k]
			if (best < 0 || int(k) < best) && st.anywhere && len(s) > len(st.text) && strings.HasPrefix(s[i:], st.text) {
				best = int(k)
			}
		}
	}
	if best < 0 {
		return -1
	}
	return w.stems[best].rule
}

// loose returns the rule a single normalised word loosely matches, or -1.
func (w *wordIndex) loose(word []byte, buf []byte) int32 {
	return w.looseH(word, buf, tabHash(unsafeString(word)))
}

// looseH is loose for a word whose tabHash is h.
func (w *wordIndex) looseH(word []byte, buf []byte, h uint32) int32 {
	if len(word) < 4 {
		return -1
	}
	for _, c := range word {
		if c < 'a' || c > 'z' {
			return -1 // digits, wildcards or other scripts: exact matching only
		}
	}
	s := unsafeString(word) // word is not modified while s is in use
	if w.isInnocentH(s, h) {
		return -1
	}
	if r := w.looseFormH(s, true, h); r >= 0 {
		return r
	}
	// Doubled letters ("fucck", "shiit") and ph for f ("phuck"); no
	// compounds on these readings ("appetit" is not "ape"+"tit").
	buf = collapseDoubles(buf[:0], word)
	if len(buf) != len(word) && len(buf) >= 4 {
		b := unsafeString(buf)
		hb := tabHash(b)
		if !w.isInnocentH(b, hb) {
			if r := w.looseFormH(b, false, hb); r >= 0 {
				return r
			}
		}
	}
	if strings.Contains(s, "ph") {
		f := strings.ReplaceAll(s, "ph", "f")
		hf := tabHash(f)
		if !w.isInnocentH(f, hf) {
			if r, ok := w.exactRuleH(f, hf); ok {
				return r
			}
			if r := w.looseFormH(f, false, hf); r >= 0 {
				return r
			}
		}
	}
	// Spelling by sound, only for a word no dictionary knows: "kok" for
	// "cock" is a disguise, "Cox" (a proper noun) is a name.
	// The dictionary is consulted last: almost every word has no key.
	// A key is at most as long as the word but for a final "a" read as
	// "er", which needs six letters: a word of four has no key of five.
	// (The dictionary test first: most words that get here are ordinary
	// ones, and for them no key needs to be built.)
	if len(w.phon) > 0 && len(s) >= 5 && !isCommonWord(s) {
		buf = phonKey(buf[:0], s)
		if len(buf) >= 5 { // four-letter keys are too often someone's name or a loan word
			if r, ok := w.phonRule(unsafeString(buf)); ok && !isProperNoun(s) {
				return r
			}
		}
	}
	return -1
}

// rudePrefixes and rudeSuffixes are rude words that make a word no
// dictionary knows rude when it starts or ends with them ("shitola",
// "spermbag", "sextweek"; "yourass", "danisex"). Their rules are those of
// the words' one-word phrases (Policy.compile fills wordIndex.affix).
var (
	rudePrefixes = []string{"shit", "slut", "pussy", "sex", "porn", "boob", "penis", "vagina", "whore", "cunt", "jizz", "dildo"}
	rudeSuffixes = []string{"sex", "ass", "shit", "cunt", "whore", "slut", "boobs", "pussy", "penis"}
)

// affixRule returns the rule of a rude word that s (a word that is not
// an ordinary one) starts or ends with, or -1. Most words get here, so
// the affixes are indexed by their first two and last two letters, in
// tables without pointers (the guest's GC scans every pointer it holds).
func (w *wordIndex) affixRule(s string) int32 {
	n := len(s)
	r := int32(-1)
	if k := affixKey(s[0], s[1]); k >= 0 {
		for i := int(w.prefixAt[k]) - 1; i >= 0 && i < len(w.prefix) && w.prefix[i].key == k; i++ {
			if a := w.prefix[i].text; n >= len(a)+2 && s[:len(a)] == a {
				r = w.prefix[i].rule
				break
			}
		}
	}
	if k := affixKey(s[n-2], s[n-1]); r < 0 && k >= 0 {
		for i := int(w.suffixAt[k]) - 1; i >= 0 && i < len(w.suffix) && w.suffix[i].key == k; i++ {
			if a := w.suffix[i].text; n >= len(a)+3 && s[n-len(a):] == a {
				r = w.suffix[i].rule
				break
			}
		}
	}
	if r < 0 {
		return -1
	}
	for i := 0; i < n; i++ {
		if s[i]-'a' >= 26 {
			return -1 // digits or other scripts: exact matching only
		}
	}
	if isCommonWord(s) || isProperNoun(s) {
		return -1
	}
	return r
}

// hasAffixAt reports whether some rude prefix starts with the two letters
// of key k or some rude suffix ends with those of key j (-1: none).
func (w *wordIndex) hasAffixAt(k, j int) bool {
	return (k >= 0 && w.prefixAt[k] != 0) || (j >= 0 && w.suffixAt[j] != 0)
}

// affixKey indexes two letters a-z (-1 for anything else).
func affixKey(a, b byte) int {
	a, b = a-'a', b-'a'
	if a >= 26 || b >= 26 {
		return -1
	}
	return int(a)*26 + int(b)
}

// affix is a rude prefix or suffix and its key (affixKey of its first or
// last two letters).
type affix struct {
	text string
	key  int
	rule int32
}

// addAffixes registers the rude prefixes or suffixes with their rules,
// sorted by key so that those of one key are together.
func (w *wordIndex) addAffixes(list []affix, suffix bool) {
	for i := range list {
		t := list[i].text
		if suffix {
			list[i].key = affixKey(t[len(t)-2], t[len(t)-1])
		} else {
			list[i].key = affixKey(t[0], t[1])
		}
	}
	slices.SortStableFunc(list, func(a, b affix) int { return a.key - b.key })
	at := &w.prefixAt
	if suffix {
		w.suffix, at = list, &w.suffixAt
	} else {
		w.prefix = list
	}
	for i := len(list) - 1; i >= 0; i-- {
		at[list[i].key] = uint8(i + 1)
	}
}

// addPhon registers the phonetic key of a rude word form for rule r. The
// first rule to claim a key keeps it.
func (w *wordIndex) addPhon(form string, r int32) {
	for i := 0; i < len(form); i++ {
		if form[i] < 'a' || form[i] > 'z' {
			return
		}
	}
	k := string(phonKey(nil, form))
	if len(k) < 5 {
		return
	}
	if _, dup := w.phon[k]; !dup {
		w.phon[k] = r
	}
}

// phonKey appends a spelling-by-sound key of the lower-case word s: ck, c
// and q read k; z reads s; ph reads f; a leading wh reads w; a final -a or -ah after
// five letters reads -er ("cocksucka"); then runs of one letter collapse.
// Two spellings that sound alike get the same key. (x as ks and oo as u
// were tried: they turned "prix" and "coontie" rude.)
func phonKey(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n > 6 && strings.HasSuffix(s, "ah"):
		n -= 2
	case n > 5 && s[n-1] == 'a' && !strings.ContainsRune("aeiou", rune(s[n-2])):
		n--
	default:
		n = -1
	}
	end := len(s)
	if n >= 0 {
		end = n
	}
	// One step per letter with no call: the last byte written is kept in
	// a local (a closure appending to dst cost a call per letter in the
	// guest).
	last := -1
	if len(dst) > 0 {
		last = int(dst[len(dst)-1])
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch c {
		case 'c':
			c = 'k'
			if i+1 < end && s[i+1] == 'k' {
				i++
			}
		case 'q':
			c = 'k'
		case 'z':
			c = 's'
		case 'p':
			if i+1 < end && s[i+1] == 'h' {
				c = 'f'
				i++
			}
		case 'w':
			if i == 0 && i+1 < end && s[i+1] == 'h' {
				i++
			}
		}
		if int(c) != last {
			dst = append(dst, c)
			last = int(c)
		}
	}
	if n >= 0 {
		if last != 'e' {
			dst = append(dst, 'e')
		}
		dst = append(dst, 'r')
	}
	return dst
}

// looseForm is looseFormH for a word not yet hashed.
func (w *wordIndex) looseForm(s string, compounds bool) int32 {
	return w.looseFormH(s, compounds, tabHash(s))
}

// looseFormH matches a word whose tabHash is h loosely: exactly, a stem
// anywhere, a compound, one letter missing or extra.
func (w *wordIndex) looseFormH(s string, compounds bool, h uint32) int32 {
	if r, ok := w.exactRuleH(s, h); ok {
		return r
	}
	if hasTri(s, w.triAny) {
		if r := w.firstAnywhere(s); r >= 0 {
			return r
		}
	}
	if compounds && w.edgeStem(s) {
		if r := w.compound(s, 0); r >= 0 {
			return r
		}
	}
	if len(s) >= 5 && len(s) <= 24 {
		// Deleting letter 1 leaves s[0], s[2] in front; deleting a later
		// one leaves s[0], s[1] (and so does s itself).
		at1, later := w.hasDelPre(s[0], s[2]), w.hasDelPre(s[0], s[1])
		if !at1 && !later {
			return -1
		}
		// Polynomial hashes of s's prefixes and suffixes: the hash of s
		// without letter i is pre[i] + pw[i]·suf[i+1].
		n := len(s)
		var pre, pw [25]uint32
		var suf [26]uint32
		pw[0] = 1
		for i := 0; i < n; i++ {
			pre[i+1] = pre[i] + uint32(s[i])*pw[i] // #nosec G602 -- len(s) <= 24 is checked above
			pw[i+1] = pw[i] * polyBase             // #nosec G602 -- len(s) <= 24 is checked above
		}
		for i := n - 1; i >= 0; i-- {
			suf[i] = uint32(s[i]) + polyBase*suf[i+1]
		}
		if later && w.bloomMaybe(pre[n]) {
			if r, ok := w.fuzzyRule(s); ok { // one letter missing: "fcker"
				return r
			}
		}
		var buf [24]byte
		for i := 1; i < len(s); i++ { // the first letter is kept
			if (i == 1 && !at1) || (i > 1 && !later) || !w.bloomMaybe(pre[i]+pw[i]*suf[i+1]) { // #nosec G602 -- len(s) <= 24 is checked above; the arrays hold 25 and 26
				continue
			}
			d := append(append(buf[:0], s[:i]...), s[i+1:]...)
			if r, ok := w.strongRule(unsafeString(d)); ok && len(d) >= 5 { // one letter extra: "nzigger"
				return r
			}
			if len(s) >= 8 {
				if r, ok := w.fuzzyRule(unsafeString(d)); ok { // one letter changed: "fvcker"
					return r
				}
			}
		}
	}
	return -1
}

// compound reports whether s splits into a stem and known compound parts
// ("cum"+"stain", "dumb"+"ass", "shit"+"cunt"), optionally followed by an
// inflection.
func (w *wordIndex) compound(s string, depth int) int32 {
	for i := 2; i <= len(s)-2; i++ {
		a, b := s[:i], s[i:]
		ra, aStem := w.shortRule(a)
		rb, bStem := w.shortRule(b)
		if !bStem {
			if e, ok := w.exactRule(b); ok {
				rb, bStem = e, true
			}
		}
		if !aStem {
			if e, ok := w.exactRule(a); ok {
				ra, aStem = e, true
			}
		}
		switch {
		case aStem && (bStem || w.isTail(b) || w.isTail(trimInflection(b))):
			return ra
		case bStem && w.isHead(a) && (len(b) > 3 || shortStemHeads[a]):
			return rb
		case aStem && depth == 0:
			if r := w.compound(b, 1); r >= 0 {
				return ra
			}
		}
	}
	return -1
}

func trimInflection(s string) string {
	for _, inf := range []string{"ers", "ing", "er", "es", "ed", "s", "y"} {
		if len(s) > len(inf)+2 && strings.HasSuffix(s, inf) {
			return s[:len(s)-len(inf)]
		}
	}
	return s
}

// collapseDoubles appends word with every run of a repeated letter reduced
// to one ("fucck" → "fuck").
func collapseDoubles(dst, word []byte) []byte {
	for i, c := range word {
		if i > 0 && c == word[i-1] {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// edgeStem reports whether s contains a stem at all: a compound needs one,
// and this is much cheaper than trying every split.
func (w *wordIndex) edgeStem(s string) bool {
	if w.triStart == nil {
		return false // (stemsAt finds nothing)
	}
	for i := 0; i+3 <= len(s); i++ { // "dumbasses": a stem, then an inflection
		// stemsAt written out: a call per letter is dear in a wasm guest,
		// and at most letters no stem starts.
		j, ok := triIndex(s[i], s[i+1], s[i+2])
		if !ok {
			continue
		}
		lo, hi := w.triStart[j], w.triStart[j+1]
		if lo == hi {
			continue
		}
		for _, k := range w.triStemIdx[lo:hi] {
			if strings.HasPrefix(s[i:], w.stems[k].text) {
				return true
			}
		}
	}
	return false
}
