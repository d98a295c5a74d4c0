package rules

import (
	_ "embed" // the trained model
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"daisydog/policies/sdk"
)

// Rule is one row of a phrase table.
type Rule struct {
	ID       string // stable rule id reported in Verdict.Rules
	Category string // one of sdk.Categories
	Action   string // action when the rule fires (for direction "in")
	Severity int    // 0..sdk.MaxSeverity
	Escalate bool   // raise a safety event for a child's message
	// Direction limits the rule to "in" or "out"; "" means both.
	Direction string
	// StrictOnly rules fire only for the 5-8 age tier or the strict
	// setting (mild words that older children may use).
	StrictOnly bool
	// NotRelaxed rules fire except for the 13-17 tier or the relaxed
	// setting (mild swearing).
	NotRelaxed bool
	// Disguised rules fire only on words written in disguise (fDisguise:
	// look-alike letters of another script or with accents mixed into an
	// ASCII word, a capital I for an l). A mild word that is allowed
	// plainly ("hell", "gay") is a different message when someone took
	// care to hide it from a filter ("һell", "gaу").
	Disguised bool
	// Squash lists phrases (plain words, no pattern syntax) that are also
	// searched with their spaces removed inside single long words:
	// "k i l l m y s e l f" (joined by the normaliser) or "#killmyself".
	// Each must be at least 7 letters, where an innocent hit is implausible.
	Squash []string
	// Phrases in the pattern syntax described in lexicon.go.
	Phrases []string
	// Stems are rude word stems (plain lower-case letters) matched as
	// whole words with inflections ("shitz", "fuckers"), and loosely —
	// glued into compounds, or with one letter wrong — inside words that
	// are not ordinary English words (words.go). A leading '*' lets the
	// stem match anywhere inside such a word.
	Stems []string
	// Targets makes a co-occurrence rule: it fires only when one of
	// Phrases and one of Targets occur in the same sentence, no phrase of
	// Unless occurs in that sentence, the Phrases hit is not negated
	// ("are not disgusting") and not inside double quotes.
	Targets []string
	Unless  []string
	// Exempt rules never fire; their phrases shield the words they cover
	// from every other phrase and stem rule ("Moby Dick", "Dick Whittington").
	Exempt bool
	// Typos makes the words of Phrases and Targets also match with one
	// typo ("haet", "immigrnt"): for rules whose words are long and whose
	// hits need a second condition anyway (co-occurrence).
	Typos bool
}

// Policy is a compiled rule set. It is immutable after Compile and safe
// for concurrent use.
type Policy struct {
	rules     []Rule
	lex       *lexicon
	words     *wordIndex
	helplines map[string]bool
	model     *Model
	risk      *lexicon   // multi-turn risk stages (context.go)
	heads     []headRule // per model head: the rule it reports as
	pool      sync.Pool
}

// headRule is how a model head reports when it fires.
type headRule struct {
	id, category, action string
	severity             int
	escalate             bool
}

// modelHeadRules maps model head names to the verdict they produce.
var modelHeadRules = map[string]headRule{
	"abusive":   {"model.abusive", sdk.CategoryProfanity, sdk.ActionBlock, 2, false},
	"hate":      {"model.hate", sdk.CategoryHate, sdk.ActionBlock, 3, false},
	"sexual":    {"model.sexual", sdk.CategorySexual, sdk.ActionBlock, 3, false},
	"self_harm": {"model.self_harm", sdk.CategorySelfHarm, sdk.ActionSupport, 4, true},
	"violence":  {"model.violence", sdk.CategoryViolence, sdk.ActionBlock, 3, false},
}

var actionRank = map[string]int{
	sdk.ActionAllow:    0,
	sdk.ActionRedact:   1,
	sdk.ActionRedirect: 2,
	sdk.ActionBlock:    3,
	sdk.ActionSupport:  4, // a child in crisis is never scolded
}

var categoryIndex = func() map[string]int {
	m := make(map[string]int, len(sdk.Categories))
	for i, c := range sdk.Categories {
		m[c] = i
	}
	return m
}()

// Compile validates and compiles rules into a Policy without a model.
func Compile(rules []Rule) (*Policy, error) { return CompileWithModel(rules, nil) }

// CompileWithModel compiles rules and attaches a trained model (nil: none).
func CompileWithModel(rules []Rule, m *Model) (*Policy, error) {
	return compile(rules, m, nil)
}

// compile is CompileWithModel with extra innocent words (bundle data).
func compile(rules []Rule, m *Model, innocent []string) (*Policy, error) {
	p := &Policy{rules: rules, lex: newLexicon(), words: newWordIndex(), helplines: map[string]bool{}, model: m}
	for _, w := range innocent {
		p.words.innocent[w] = true
	}
	if m != nil {
		for _, h := range m.Heads {
			hr, ok := modelHeadRules[h.Name]
			if !ok {
				return nil, fmt.Errorf("model: unknown head %q", h.Name)
			}
			p.heads = append(p.heads, hr)
		}
	}
	seen := map[string]bool{}
	for i, r := range rules {
		switch {
		case r.ID == "" || seen[r.ID]:
			return nil, fmt.Errorf("rule %d: empty or duplicate id %q", i, r.ID)
		case !knownCategory(r.Category):
			return nil, fmt.Errorf("rule %s: unknown category %q", r.ID, r.Category)
		case !knownAction(r.Action):
			return nil, fmt.Errorf("rule %s: unknown action %q", r.ID, r.Action)
		case r.Severity < 0 || r.Severity > sdk.MaxSeverity:
			return nil, fmt.Errorf("rule %s: severity %d out of range", r.ID, r.Severity)
		case r.Direction != "" && r.Direction != sdk.DirectionIn && r.Direction != sdk.DirectionOut:
			return nil, fmt.Errorf("rule %s: bad direction %q", r.ID, r.Direction)
		case len(r.Phrases) == 0 && len(r.Stems) == 0:
			return nil, fmt.Errorf("rule %s: no phrases", r.ID)
		case len(r.Unless) > 0 && len(r.Targets) == 0:
			return nil, fmt.Errorf("rule %s: Unless without Targets", r.ID)
		}
		seen[r.ID] = true
		for _, ph := range r.Phrases {
			if err := p.lex.add(ph, int32(i)); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.ID, err)
			}
		}
		for _, ph := range r.Targets {
			if err := p.lex.addRole(ph, int32(i), roleTarget); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.ID, err)
			}
		}
		for _, ph := range r.Unless {
			if err := p.lex.addRole(ph, int32(i), roleUnless); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.ID, err)
			}
		}
		for _, st := range r.Stems {
			if len(strings.TrimPrefix(st, "*")) < 3 || strings.Trim(st, "*abcdefghijklmnopqrstuvwxyz") != "" {
				return nil, fmt.Errorf("rule %s: bad stem %q", r.ID, st)
			}
			for _, f := range p.words.addStem(st, int32(i)) {
				if err := p.lex.add(f, int32(i)); err != nil {
					return nil, fmt.Errorf("rule %s: %w", r.ID, err)
				}
			}
		}
		for _, sq := range r.Squash {
			if err := p.lex.addSquash(sq, int32(i)); err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.ID, err)
			}
		}
	}
	p.words.indexStems()
	var err error
	if p.risk, err = compileRisk(); err != nil {
		return nil, err
	}
	p.lex.normCache = nil // only needed while compiling
	p.lex.typos = map[string]uint32{}
	for i, r := range rules {
		if !r.Typos {
			continue
		}
		for _, pr := range p.lex.progs {
			if pr.rule != int32(i) {
				continue
			}
			for _, in := range pr.code {
				if in.op == opWord {
					p.lex.addTypos(p.lex.wordText[in.arg])
				}
			}
		}
	}
	p.lex.single = map[uint32][]int32{}
	for pi, pr := range p.lex.progs {
		if len(pr.code) == 2 && pr.code[0].op == opWord && pr.role == roleMain {
			p.lex.single[pr.code[0].arg] = append(p.lex.single[pr.code[0].arg], int32(pi))
			if w := p.lex.wordText[pr.code[0].arg]; len(w) >= 2 {
				p.lex.singleStart[int(w[0]&31)*32+int(w[1]&31)] = true
			}
		}
	}
	for k, list := range [][]string{rudePrefixes, rudeSuffixes} {
		var affixes []affix
		for _, a := range list {
			if r, ok := p.wordRule(a); ok {
				affixes = append(affixes, affix{text: a, rule: r})
			}
		}
		p.words.addAffixes(affixes, k == 1)
	}
	// Phonetic keys: stem forms first, then one-word phrases of the
	// categories whose words children disguise by sound.
	// Sorted, so that a key two rules share always goes to the same one.
	for _, f := range slices.Sorted(maps.Keys(p.words.exact)) {
		p.words.addPhon(f, p.words.exact[f])
	}
	for _, id := range slices.Sorted(maps.Keys(p.lex.single)) {
		for _, pi := range p.lex.single[id] {
			r := p.lex.progs[pi].rule
			if phonCategories[p.rules[r].Category] && !p.rules[r].Exempt && len(p.rules[r].Targets) == 0 {
				p.words.addPhon(p.lex.wordText[id], r)
				break
			}
		}
	}
	for _, w := range fillerWords {
		for _, n := range normWords(w) {
			p.lex.filler[p.lex.intern(n)] = true
		}
	}
	for _, h := range helplineDigits {
		p.helplines[h] = true
	}
	p.lex.freeze()
	p.words.freeze()
	p.pool.New = func() any { return new(scratch) }
	return p, nil
}

// phonCategories are the categories whose one-word phrases also match by
// sound in words no dictionary knows (words.go, phonKey).
var phonCategories = map[string]bool{
	sdk.CategoryProfanity: true, sdk.CategorySexual: true, sdk.CategoryHate: true, sdk.CategoryHarassment: true,
}

func knownCategory(c string) bool { _, ok := categoryIndex[c]; return ok }
func knownAction(a string) bool   { _, ok := actionRank[a]; return ok }

// wordRule returns the rule of the one-word phrase w (the first that
// applies to everyone and is not an exemption).
func (p *Policy) wordRule(w string) (int32, bool) {
	id, ok := p.lex.wordID([]byte(w))
	if !ok {
		return 0, false
	}
	for _, pi := range p.lex.single[id] {
		r := p.lex.progs[pi].rule
		if !p.rules[r].Exempt && len(p.rules[r].Targets) == 0 {
			return r, true
		}
	}
	return 0, false
}

// MustCompile is Compile that panics; for package-level tables.
func MustCompile(rules []Rule) *Policy {
	p, err := Compile(rules)
	if err != nil {
		panic("rules: " + err.Error())
	}
	return p
}

//go:embed data/model.bin
var modelData []byte

var defaultPolicy = func() *Policy {
	var m *Model
	if len(modelData) > 0 { // empty only while bootstrapping the first training
		var err error
		if m, err = UnmarshalModel(modelData); err != nil {
			panic("rules: embedded model: " + err.Error())
		}
	}
	p, err := CompileWithModel(DefaultRules, m)
	if err != nil {
		panic("rules: " + err.Error())
	}
	return p
}()

// DefaultModel returns the embedded trained model.
func DefaultModel() *Model { return defaultPolicy.model }

// Default returns the compiled default policy.
func Default() *Policy { return defaultPolicy }

// Evaluate runs the default policy.
func Evaluate(in sdk.Input) sdk.Verdict { return defaultPolicy.Evaluate(in) }

// Rule ids of the built-in contact-detail checks.
const (
	RulePIIPhone = "pii.phone"
	RulePIIEmail = "pii.email"
	RulePIIURL   = "pii.url"
	// RulePIIPersonal covers addresses, schools, passwords, handles, names,
	// card numbers and IBANs (the span kind says which).
	RulePIIPersonal = "pii.personal"
	RuleOutPhone    = "out.phone"
	RuleOutEmail    = "out.email"
	RuleOutURL      = "out.url"
)

// verdictBuilder combines the rules that fired into one verdict.
type verdictBuilder struct {
	rank     int
	action   string
	escalate bool
	severity int
	cats     uint32 // bit i = sdk.Categories[i]
	rules    []string
}

func (b *verdictBuilder) add(id, category, action string, severity int, escalate bool) {
	if r := actionRank[action]; b.action == "" || r > b.rank {
		b.rank, b.action = r, action
	}
	b.escalate = b.escalate || escalate
	if severity > b.severity {
		b.severity = severity
	}
	b.cats |= 1 << uint(categoryIndex[category])
	for _, r := range b.rules {
		if r == id {
			return
		}
	}
	b.rules = append(b.rules, id)
}

// Evaluate applies the policy to one message.
//
// Direction "in" is a child's message; anything else is treated as Daisy's
// reply ("out"), which is held to the stricter standard: contact details
// and links are blocked, and a crisis phrase is blocked rather than
// answered with support (Daisy must never say it). An unknown age tier or
// strictness is treated as the strictest.
func (p *Policy) Evaluate(in sdk.Input) sdk.Verdict {
	s := p.pool.Get().(*scratch)
	defer p.pool.Put(s)

	out := in.Direction != sdk.DirectionIn
	strict := in.Strictness == sdk.StrictnessStrict || in.AgeTier == sdk.AgeTier5to8 ||
		(in.Strictness != sdk.StrictnessRelaxed && in.Strictness != sdk.StrictnessStandard) ||
		(in.AgeTier != sdk.AgeTier9to12 && in.AgeTier != sdk.AgeTier13to17)
	relaxed := !strict && (in.Strictness == sdk.StrictnessRelaxed || in.AgeTier == sdk.AgeTier13to17)
	dir := sdk.DirectionIn
	if out {
		dir = sdk.DirectionOut
	}

	var b verdictBuilder
	s.normalize(in.Text)
	p.lex.candidates(s)
	p.lex.match(s)
	p.looseWords(s)
	p.resolve(s, in.Text)
	veto := false
	if p.model != nil {
		veto = p.applyModel(s, out, &b)
	}
	for _, h := range s.hits {
		r := &p.rules[h.rule]
		if h.role != roleMain || (r.Direction != "" && r.Direction != dir) || (r.StrictOnly && !strict) || (r.NotRelaxed && relaxed) {
			continue
		}
		if r.Disguised && !s.disguisedHit(h) {
			continue
		}
		if veto && softRule(r) {
			continue
		}
		if !out && reportable[r.Category] && softRule(r) && p.reported(s, h) {
			continue
		}
		if !out && counterCategories[r.Category] && softRule(r) && p.counterQuoted(s, h) {
			continue
		}
		action, escalate := r.Action, r.Escalate
		if out {
			action, escalate = sdk.ActionBlock, false
		}
		b.add(r.ID, r.Category, action, r.Severity, escalate)
	}

	artVerdicts(in.Text, &b)
	if !out && p.contextRisk(in) {
		b.add(RuleGroomingPattern, sdk.CategoryGrooming, sdk.ActionRedirect, 4, true)
	}

	var spans []sdk.Span
	spans = findPhones(in.Text, spans)
	if out && len(spans) > 0 {
		kept := spans[:0]
		for _, sp := range spans {
			if !p.helplines[string(digitsOf(s.key[:0], in.Text[sp.Start:sp.End]))] {
				kept = append(kept, sp)
			}
		}
		spans = kept
	}
	nPhones := len(spans)
	spans = findEmails(in.Text, spans)
	nEmails := len(spans) - nPhones
	// Links, except the domain part of an e-mail address found above.
	before := len(spans)
	spans = findURLs(in.Text, spans)
	kept := spans[:before]
	for _, u := range spans[before:] {
		if !overlapsAny(u, spans[nPhones:before]) {
			kept = append(kept, u)
		}
	}
	spans = kept
	nURLs := len(spans) - before
	nOther := 0
	if !out {
		// Names, addresses, schools, passwords, handles the child gives out.
		before = len(spans)
		spans = s.findPersonal(in.Text, spans, !relaxed)
		nOther = len(spans) - before
	}
	if out {
		if nPhones > 0 {
			b.add(RuleOutPhone, sdk.CategoryPIIDisclosure, sdk.ActionBlock, 2, false)
		}
		if nEmails > 0 {
			b.add(RuleOutEmail, sdk.CategoryPIIDisclosure, sdk.ActionBlock, 2, false)
		}
		if nURLs > 0 {
			b.add(RuleOutURL, sdk.CategoryPIIDisclosure, sdk.ActionBlock, 2, false)
		}
	} else {
		if nPhones > 0 {
			b.add(RulePIIPhone, sdk.CategoryPIIDisclosure, sdk.ActionRedact, 2, false)
		}
		if nEmails > 0 {
			b.add(RulePIIEmail, sdk.CategoryPIIDisclosure, sdk.ActionRedact, 2, false)
		}
		if nURLs > 0 {
			b.add(RulePIIURL, sdk.CategoryPIIDisclosure, sdk.ActionRedact, 2, false)
		}
		if nOther > 0 {
			b.add(RulePIIPersonal, sdk.CategoryPIIDisclosure, sdk.ActionRedact, 2, false)
		}
	}

	v := sdk.Verdict{
		Action:     sdk.ActionAllow,
		Escalate:   b.escalate,
		Severity:   b.severity,
		Categories: []string{},
		Spans:      mergeSpans(spans),
		Rules:      b.rules,
	}
	if b.action != "" {
		v.Action = b.action
	}
	if v.Rules == nil {
		v.Rules = []string{}
	}
	for i, c := range sdk.Categories {
		if b.cats&(1<<uint(i)) != 0 {
			v.Categories = append(v.Categories, c)
		}
	}
	return v
}

// mergeSpans sorts spans by start and merges overlapping ones (the first
// span's category and kind win), so the result is sorted and disjoint.
func mergeSpans(spans []sdk.Span) []sdk.Span {
	if len(spans) == 0 {
		return []sdk.Span{}
	}
	// insertion sort: there are only ever a handful
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && (spans[j].Start < spans[j-1].Start ||
			(spans[j].Start == spans[j-1].Start && spans[j].End > spans[j-1].End)); j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.Start < last.End {
			if sp.End > last.End {
				last.End = sp.End
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

func overlapsAny(sp sdk.Span, others []sdk.Span) bool {
	for _, o := range others {
		if sp.Start < o.End && o.Start < sp.End {
			return true
		}
	}
	return false
}

// disguisedHit reports whether a word of hit h was written in disguise.
func (s *scratch) disguisedHit(h hit) bool {
	for i := h.first; i <= h.last && int(i) < len(s.toks); i++ {
		if s.toks[i].flags&fDisguise != 0 {
			return true
		}
	}
	return false
}
