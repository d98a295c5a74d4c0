package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"daisydog/policies"
	"daisydog/policies/sdk"
)

// Labels of a case (shared/eval/README.md).
const (
	LabelUnsafe  = "unsafe"  // must not pass unchanged: any action but allow
	LabelSafe    = "safe"    // must pass: a flag is a false positive
	LabelUnknown = "unknown" // not scored
	LabelPolicy  = "policy"  // not scored (depends on age tier)
)

// Case is one labelled row of an evaluation file.
type Case struct {
	ID            string      `json:"id"`
	Source        string      `json:"source"`
	Text          string      `json:"text"`
	Label         string      `json:"label"`
	Category      string      `json:"category"`
	Direction     string      `json:"direction"`
	Functionality string      `json:"functionality,omitempty"`
	Spans         []LabelSpan `json:"spans,omitempty"`
}

// LabelSpan is a labelled piece of personal data: CHARACTER (code point)
// offsets into Case.Text, unlike verdict spans, which are UTF-8 bytes.
type LabelSpan struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Categories returns the case's comma-separated categories ("none" for
// safe rows).
func (c *Case) Categories() []string {
	var out []string
	for _, s := range strings.Split(c.Category, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// ReadCases reads a JSONL evaluation file. Blank lines are skipped; any
// malformed line is an error naming its line number (never its text).
func ReadCases(r io.Reader) ([]Case, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []Case
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("eval: line %d: %v", line, errors.Unwrap(err))
		}
		switch c.Label {
		case LabelUnsafe, LabelSafe, LabelUnknown, LabelPolicy:
		default:
			return nil, fmt.Errorf("eval: line %d (%s): unknown label %q", line, c.ID, c.Label)
		}
		if c.ID == "" {
			c.ID = fmt.Sprintf("line:%d", line)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return out, nil
}

// Evaluator is what Score runs: *policies.Engine satisfies it.
type Evaluator interface {
	Evaluate(ctx context.Context, in policies.Input) (policies.Verdict, error)
}

// WorkMeter is an Evaluator that also counts the work its calls did (an
// Engine: the WASM host's work units, the measure of its per-call work
// budget). Score then reports the work per evaluation beside its latency.
type WorkMeter interface {
	WorkStats() policies.WorkStats
}

// DefaultSpanTypes are the labelled span types that count towards span
// recall: contact and identity data a child must not give out. Place
// names, organisations, dates, titles, ages and nationalities are labelled
// in the data too but are not personal on their own; they are reported per
// type for information only.
var DefaultSpanTypes = []string{
	"PERSON", "STREET_ADDRESS", "ZIP_CODE", "PHONE_NUMBER", "EMAIL_ADDRESS",
	"DOMAIN_NAME", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
}

// SpanCoverage is the fraction of a labelled span's characters that the
// verdict's redaction spans must cover for the span to count as recalled.
const SpanCoverage = 0.9

// Options tune Score.
type Options struct {
	AgeTier    string   // default "9-12"
	Strictness string   // default "standard"
	Locale     string   // default "en"
	SpanTypes  []string // default DefaultSpanTypes
	// Misses collects the ids of missed unsafe cases and flagged safe cases.
	Misses bool
	// OnVerdict, when set, is called for every case after evaluation (for
	// example to write a verdicts file). err is the evaluation error.
	OnVerdict func(c *Case, v policies.Verdict, err error)
}

// Group is the score of one source, or one (source, category).
type Group struct {
	Source   string `json:"source"`
	Category string `json:"category,omitempty"`
	Cases    int    `json:"cases"`
	// Unsafe cases and how many were flagged (action != allow).
	Unsafe  int      `json:"unsafe"`
	Caught  int      `json:"caught"`
	Recall  *float64 `json:"recall,omitempty"`
	Safe    int      `json:"safe"`
	Flagged int      `json:"flagged"`
	FPRate  *float64 `json:"fp_rate,omitempty"`
	// Labelled PII spans (of the counted types, in unsafe cases) and how
	// many the verdicts' redaction spans cover.
	Spans         int      `json:"spans,omitempty"`
	SpansRecalled int      `json:"spans_recalled,omitempty"`
	SpanRecall    *float64 `json:"span_recall,omitempty"`
	// Ids of missed unsafe and flagged safe cases (Options.Misses only).
	MissedIDs  []string `json:"missed_ids,omitempty"`
	FlaggedIDs []string `json:"flagged_ids,omitempty"`
}

// SpanType is span recall for one labelled type.
type SpanType struct {
	Type     string  `json:"type"`
	Counted  bool    `json:"counted"` // part of the headline span recall
	Spans    int     `json:"spans"`
	Recalled int     `json:"recalled"`
	Recall   float64 `json:"recall"`
}

// Latency is the distribution of per-case evaluation time through the
// evaluator (for an Engine: encode, WASM call, strict decode).
type Latency struct {
	N     int     `json:"n"`
	P50us float64 `json:"p50_us"`
	P95us float64 `json:"p95_us"`
	P99us float64 `json:"p99_us"`
	MaxUs float64 `json:"max_us"`
	Mean  float64 `json:"mean_us"`
}

// Work is the distribution of per-case work units (WorkMeter): how close
// the policy comes to the host's per-call budget, which is the same on
// every machine (unlike latency).
type Work struct {
	N      int     `json:"n"`
	P50    uint64  `json:"p50"`
	P99    uint64  `json:"p99"`
	Max    uint64  `json:"max"`
	Mean   float64 `json:"mean"`
	Budget uint64  `json:"budget"`
}

// Report is the result of Score.
type Report struct {
	Policy     string     `json:"policy,omitempty"`
	AgeTier    string     `json:"age_tier"`
	Strictness string     `json:"strictness"`
	Cases      int        `json:"cases"`
	Errors     int        `json:"errors"` // evaluation errors (counted as flagged: fail closed)
	Actions    Counts     `json:"actions"`
	Overall    Group      `json:"overall"`
	Sources    []Group    `json:"sources"`
	Categories []Group    `json:"categories"`
	SpanTypes  []SpanType `json:"span_types,omitempty"`
	Latency    Latency    `json:"latency"`
	Work       *Work      `json:"work,omitempty"`
	Targets    []Target   `json:"targets,omitempty"`
	// DaisyLines is how the policy treats Daisy's own lines (set by the
	// caller with CheckLines; Score leaves it nil).
	DaisyLines *LinesReport `json:"daisy_lines,omitempty"`
}

// Counts maps an action to how many cases got it.
type Counts map[string]int

// Score evaluates every case with ev and aggregates the results. It never
// puts case text into the report.
func Score(ctx context.Context, ev Evaluator, cases []Case, opt Options) (*Report, error) {
	if opt.AgeTier == "" {
		opt.AgeTier = sdk.AgeTier9to12
	}
	if opt.Strictness == "" {
		opt.Strictness = sdk.StrictnessStandard
	}
	if opt.Locale == "" {
		opt.Locale = "en"
	}
	if opt.SpanTypes == nil {
		opt.SpanTypes = DefaultSpanTypes
	}
	counted := map[string]bool{}
	for _, t := range opt.SpanTypes {
		counted[t] = true
	}
	rep := &Report{AgeTier: opt.AgeTier, Strictness: opt.Strictness, Cases: len(cases), Actions: Counts{}}
	rep.Overall.Source = "all"
	sources := map[string]*Group{}
	cats := map[[2]string]*Group{}
	types := map[string]*SpanType{}
	durs := make([]time.Duration, 0, len(cases))
	meter, _ := ev.(WorkMeter)
	var works []uint64

	for i := range cases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := &cases[i]
		dir, err := direction(c.Direction)
		if err != nil {
			return nil, fmt.Errorf("eval: case %s: %w", c.ID, err)
		}
		in := policies.Input{Text: c.Text, Direction: dir, AgeTier: opt.AgeTier, Strictness: opt.Strictness, Locale: opt.Locale}
		var w0 uint64
		if meter != nil {
			w0 = meter.WorkStats().Units
		}
		t0 := time.Now()
		v, evErr := ev.Evaluate(ctx, in)
		d := time.Since(t0)
		if meter != nil {
			works = append(works, meter.WorkStats().Units-w0)
		}
		if evErr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(evErr, policies.ErrInvalidInput) {
				return nil, fmt.Errorf("eval: case %s: %w", c.ID, evErr)
			}
			rep.Errors++
			rep.Actions["error"]++
		} else {
			durs = append(durs, d)
			rep.Actions[v.Action]++
		}
		if opt.OnVerdict != nil {
			opt.OnVerdict(c, v, evErr)
		}
		// Fail closed: an error is what the pipeline would treat as unsafe.
		flagged := evErr != nil || v.Action != sdk.ActionAllow

		var spans, recalled int
		if c.Label == LabelUnsafe && len(c.Spans) > 0 {
			conv := newOffsets(c.Text)
			for _, ls := range c.Spans {
				ok := evErr == nil && covered(c.Text, conv, ls, v.Spans)
				st := types[ls.Type]
				if st == nil {
					st = &SpanType{Type: ls.Type, Counted: counted[ls.Type]}
					types[ls.Type] = st
				}
				st.Spans++
				if ok {
					st.Recalled++
				}
				if counted[ls.Type] {
					spans++
					if ok {
						recalled++
					}
				}
			}
		}

		groups := []*Group{&rep.Overall, group(sources, c.Source)}
		for _, cat := range c.Categories() {
			groups = append(groups, groupCat(cats, c.Source, cat))
		}
		for _, g := range groups {
			g.Cases++
			g.Spans += spans
			g.SpansRecalled += recalled
			switch c.Label {
			case LabelUnsafe:
				g.Unsafe++
				if flagged {
					g.Caught++
				} else if opt.Misses && g != &rep.Overall && g.Category == "" {
					g.MissedIDs = append(g.MissedIDs, c.ID)
				}
			case LabelSafe:
				g.Safe++
				if flagged {
					g.Flagged++
					if opt.Misses && g != &rep.Overall && g.Category == "" {
						g.FlaggedIDs = append(g.FlaggedIDs, c.ID)
					}
				}
			}
		}
	}

	finish(&rep.Overall)
	for _, g := range sources {
		finish(g)
		rep.Sources = append(rep.Sources, *g)
	}
	sort.Slice(rep.Sources, func(i, j int) bool { return rep.Sources[i].Source < rep.Sources[j].Source })
	for _, g := range cats {
		finish(g)
		rep.Categories = append(rep.Categories, *g)
	}
	sort.Slice(rep.Categories, func(i, j int) bool {
		a, b := rep.Categories[i], rep.Categories[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Category < b.Category
	})
	for _, st := range types {
		st.Recall = ratio(st.Recalled, st.Spans)
		rep.SpanTypes = append(rep.SpanTypes, *st)
	}
	sort.Slice(rep.SpanTypes, func(i, j int) bool { return rep.SpanTypes[i].Type < rep.SpanTypes[j].Type })
	rep.Latency = latency(durs)
	if meter != nil && len(works) > 0 {
		rep.Work = workOf(works, meter.WorkStats().Budget)
	}
	rep.Targets = CheckTargets(rep, DevTargets)
	return rep, nil
}

func direction(d string) (string, error) {
	switch d {
	case "input", "in", "":
		return sdk.DirectionIn, nil
	case "output", "out":
		return sdk.DirectionOut, nil
	}
	return "", fmt.Errorf("unknown direction %q", d)
}

func group(m map[string]*Group, source string) *Group {
	g := m[source]
	if g == nil {
		g = &Group{Source: source}
		m[source] = g
	}
	return g
}

func groupCat(m map[[2]string]*Group, source, cat string) *Group {
	k := [2]string{source, cat}
	g := m[k]
	if g == nil {
		g = &Group{Source: source, Category: cat}
		m[k] = g
	}
	return g
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ptr(f float64) *float64 { return &f }

func finish(g *Group) {
	if g.Unsafe > 0 {
		g.Recall = ptr(ratio(g.Caught, g.Unsafe))
	}
	if g.Safe > 0 {
		g.FPRate = ptr(ratio(g.Flagged, g.Safe))
	}
	if g.Spans > 0 {
		g.SpanRecall = ptr(ratio(g.SpansRecalled, g.Spans))
	}
}

// offsets converts code point offsets of a text to UTF-8 byte offsets.
type offsets []int

func newOffsets(text string) offsets {
	o := make(offsets, 0, len(text)+1)
	for i := range text { // i: byte offset of each rune
		o = append(o, i)
	}
	return append(o, len(text))
}

// byteAt returns the byte offset of code point index ci (clamped).
func (o offsets) byteAt(ci int) int {
	if ci < 0 {
		return 0
	}
	if ci >= len(o) {
		return o[len(o)-1]
	}
	return o[ci]
}

// covered reports whether the verdict spans cover at least SpanCoverage of
// the labelled span's non-space characters (whitespace and line breaks
// inside a multi-line address are not personal data).
func covered(text string, o offsets, ls LabelSpan, spans []policies.Span) bool {
	bs, be := o.byteAt(ls.Start), o.byteAt(ls.End)
	total, hit := 0, 0
	for i := bs; i < be; {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			total++
			for _, s := range spans {
				if s.Start <= i && i < s.End {
					hit++
					break
				}
			}
		}
		i += size
	}
	if total == 0 {
		return true
	}
	return float64(hit) >= SpanCoverage*float64(total)
}

// percentile returns the q-quantile (nearest rank) of sorted durations.
func percentile[T any](sorted []T, q float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	k = max(0, min(k, len(sorted)-1))
	return sorted[k]
}

func latency(durs []time.Duration) Latency {
	if len(durs) == 0 {
		return Latency{}
	}
	s := slices.Clone(durs)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	us := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)*10) / 10 }
	return Latency{
		N: len(s), P50us: us(percentile(s, 0.50)), P95us: us(percentile(s, 0.95)),
		P99us: us(percentile(s, 0.99)), MaxUs: us(s[len(s)-1]),
		Mean: math.Round(float64(sum)/float64(len(s))/float64(time.Microsecond)*10) / 10,
	}
}

func workOf(ws []uint64, budget uint64) *Work {
	s := slices.Clone(ws)
	slices.Sort(s)
	var sum uint64
	for _, w := range s {
		sum += w
	}
	return &Work{N: len(s), P50: percentile(s, 0.50), P99: percentile(s, 0.99), Max: s[len(s)-1],
		Mean: math.Round(float64(sum)/float64(len(s))*10) / 10, Budget: budget}
}

// VerdictLine is one line of a verdicts file: what the policy said about
// a case, without its text.
type VerdictLine struct {
	ID         string          `json:"id"`
	Action     string          `json:"action"`
	Escalate   bool            `json:"escalate,omitempty"`
	Categories []string        `json:"categories"`
	Spans      []policies.Span `json:"spans"`
	Rules      []string        `json:"rules,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// NewVerdictLine builds the verdicts-file line for a case.
func NewVerdictLine(c *Case, v policies.Verdict, err error) VerdictLine {
	l := VerdictLine{ID: c.ID, Action: v.Action, Escalate: v.Escalate, Categories: v.Categories, Spans: v.Spans, Rules: v.Rules}
	if err != nil {
		l.Action, l.Error = "error", "evaluation failed" // error texts may quote input; keep them out
	}
	if l.Categories == nil {
		l.Categories = []string{}
	}
	if l.Spans == nil {
		l.Spans = []policies.Span{}
	}
	return l
}
