package policies

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // default.wasm and the default vectors
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"

	"daisydog/policies/sdk"
	"daisydog/wasm"
)

// Build the embedded default policy with:
//
//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o default.wasm ./default

//go:embed default.wasm
var defaultWasm string

//go:embed default/vectors.json
var defaultVectors []byte

// ABIVersion is the policy ABI spoken by Engine.
const ABIVersion = 1

// The ABI documents are the SDK's types, so host and guest cannot drift apart.
type (
	// ContextTurn is one earlier message of the conversation, oldest first.
	ContextTurn = sdk.ContextTurn
	// Input is what a policy evaluates. Zero ABI, Strictness and Locale mean
	// 1, "standard" and "en".
	Input = sdk.Input
	// Span is a region of Input.Text in UTF-8 byte offsets [Start, End).
	Span = sdk.Span
	// Verdict is a validated policy decision.
	Verdict = sdk.Verdict
)

// Errors. Every error from Evaluate means "no verdict": the caller must
// fail closed.
var (
	// ErrInvalidInput: the Input itself is unacceptable (unknown direction,
	// age tier or strictness, invalid UTF-8, …). Not the policy's fault.
	ErrInvalidInput = errors.New("policies: invalid input")
	// ErrInvalidVerdict: the policy answered, but not with a valid ABI v1
	// verdict (bad JSON, unknown action or category, bad spans, …).
	ErrInvalidVerdict = errors.New("policies: invalid verdict")
	// ErrStarved: the evaluation's time ran out while the policy still had
	// work budget left, or before it ran: the machine was overloaded. There
	// is still no verdict (nothing may pass on it), but the policy did not
	// fail: refuse the request as busy rather than record a policy failure.
	// A policy that spends its budget fails with wasm.ErrBudget instead.
	ErrStarved = wasm.ErrStarved
)

var (
	validActions    = setOf(sdk.Actions...)
	validCategories = setOf(sdk.Categories...)
	validTiers      = setOf(sdk.AgeTier5to8, sdk.AgeTier9to12, sdk.AgeTier13to17)
	validStrictness = setOf(sdk.StrictnessRelaxed, sdk.StrictnessStandard, sdk.StrictnessStrict)
)

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// Limits on a verdict's lists (a policy must not make the host allocate
// without bound).
const (
	maxVerdictRules  = 64
	maxRuleIDLen     = 128
	maxKindLen       = 32
	maxVerdictSpans  = 1024
	maxContextTurns  = 64
	maxLocaleLen     = 35
	defaultLocale    = "en"
	defaultStrictLvl = sdk.StrictnessStandard
)

// Engine evaluates inputs with one policy module. It is safe for
// concurrent use.
type Engine struct {
	name, version string
	mod           *wasm.Module
	bufs          sync.Pool // *[]byte for marshalled inputs
}

// NewEngine loads a policy module into rt and self-tests it with a
// harmless input; a module that cannot answer is refused (version: name@version).
func NewEngine(ctx context.Context, rt *wasm.Runtime, name, version string, module []byte) (*Engine, error) {
	mod, err := rt.Load(ctx, name, module)
	if err != nil {
		return nil, fmt.Errorf("policies: load %s: %w", version, err)
	}
	e := &Engine{name: name, version: version, mod: mod}
	e.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	if _, err := e.Evaluate(ctx, Input{Text: "hello", Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12}); err != nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("policies: self-test of %s: %w", version, err)
	}
	return e, nil
}

// KeepWarm keeps the engine's instance pool full in the background (see
// wasm.Module.KeepWarm): no evaluation pays for instantiating the module,
// which takes about 0.2 s for the default policy. For engines that serve
// traffic; tests that create many engines leave it off.
func (e *Engine) KeepWarm() { e.mod.KeepWarm() }

// DefaultModule returns a copy of the embedded default policy module.
func DefaultModule() []byte { return []byte(defaultWasm) }

// DefaultVersion is the version string of the embedded default policy:
// "default@" + the first 12 hex digits of its SHA-256.
func DefaultVersion() string {
	sum := sha256.Sum256([]byte(defaultWasm))
	return "default@" + hex.EncodeToString(sum[:])[:12]
}

// DefaultVectors returns the default policy's test vectors (JSON, see
// ParseVectors).
func DefaultVectors() []byte { return bytes.Clone(defaultVectors) }

// NewDefaultEngine loads the embedded default policy.
func NewDefaultEngine(ctx context.Context, rt *wasm.Runtime) (*Engine, error) {
	if len(defaultWasm) == 0 {
		return nil, errors.New("policies: default.wasm is empty; build it with `go generate ./policies`")
	}
	return NewEngine(ctx, rt, "default", DefaultVersion(), DefaultModule())
}

// Version returns the policy version given at construction.
func (e *Engine) Version() string { return e.version }

// Name returns the policy name given at construction.
func (e *Engine) Name() string { return e.name }

// Stats returns the underlying module's counters.
func (e *Engine) Stats() wasm.Stats { return e.mod.Stats() }

// WorkStats are an Engine's work counters: calls, work units used in
// total, the most one call used, and the per-call budget (units and budget
// are zero when the module is not instrumented: it has a time limit only).
type WorkStats struct{ Calls, Units, MaxUnits, Budget uint64 }

// WorkStats returns the engine's work counters since it was loaded.
func (e *Engine) WorkStats() WorkStats {
	st := e.mod.Stats()
	return WorkStats{Calls: st.Calls, Units: st.Work, MaxUnits: st.MaxWork, Budget: e.mod.Budget()}
}

// Close releases the module and its instances.
func (e *Engine) Close(ctx context.Context) error { return e.mod.Close(ctx) }

// Evaluate asks the policy for a verdict on in. The verdict is decoded
// strictly and validated (known action and categories, severity 0..4,
// spans inside the text, on rune boundaries, sorted and disjoint); any
// problem, like any module error, is returned as an error and the caller
// must fail closed.
func (e *Engine) Evaluate(ctx context.Context, in Input) (Verdict, error) {
	if err := normalizeInput(&in); err != nil {
		return Verdict{}, err
	}
	bp := e.bufs.Get().(*[]byte)
	buf := appendInput((*bp)[:0], &in)
	out, err := e.mod.Call(ctx, buf)
	if cap(buf) <= 64<<10 {
		*bp = buf
		e.bufs.Put(bp)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("policies: %s: %w", e.version, err)
	}
	v, err := decodeVerdict(out, in.Text)
	if err != nil {
		return Verdict{}, fmt.Errorf("policies: %s: %w", e.version, err)
	}
	return v, nil
}

func normalizeInput(in *Input) error {
	if in.ABI == 0 {
		in.ABI = ABIVersion
	}
	if in.Strictness == "" {
		in.Strictness = defaultStrictLvl
	}
	if in.Locale == "" {
		in.Locale = defaultLocale
	}
	switch {
	case in.ABI != ABIVersion:
		return fmt.Errorf("%w: abi %d (want %d)", ErrInvalidInput, in.ABI, ABIVersion)
	case in.Direction != sdk.DirectionIn && in.Direction != sdk.DirectionOut:
		return fmt.Errorf("%w: direction %q", ErrInvalidInput, in.Direction)
	case !validTiers[in.AgeTier]:
		return fmt.Errorf("%w: age tier %q", ErrInvalidInput, in.AgeTier)
	case !validStrictness[in.Strictness]:
		return fmt.Errorf("%w: strictness %q", ErrInvalidInput, in.Strictness)
	case !validLocale(in.Locale):
		return fmt.Errorf("%w: locale %q", ErrInvalidInput, in.Locale)
	case !utf8.ValidString(in.Text):
		// Offsets in the verdict refer to the bytes we send; JSON would
		// silently replace invalid bytes and shift them.
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalidInput)
	case len(in.Context) > maxContextTurns:
		in.Context = in.Context[len(in.Context)-maxContextTurns:]
	}
	for i, c := range in.Context {
		if c.Direction != sdk.DirectionIn && c.Direction != sdk.DirectionOut {
			return fmt.Errorf("%w: context[%d].direction %q", ErrInvalidInput, i, c.Direction)
		}
		if !utf8.ValidString(c.Text) {
			return fmt.Errorf("%w: context[%d].text is not valid UTF-8", ErrInvalidInput, i)
		}
	}
	return nil
}

func validLocale(l string) bool {
	if len(l) == 0 || len(l) > maxLocaleLen {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// appendInput encodes in as an ABI v1 input document without reflection.
func appendInput(b []byte, in *Input) []byte {
	b = append(b, `{"abi":`...)
	b = strconv.AppendInt(b, int64(in.ABI), 10)
	b = append(b, `,"text":`...)
	b = sdk.AppendString(b, in.Text)
	b = append(b, `,"direction":`...)
	b = sdk.AppendString(b, in.Direction)
	b = append(b, `,"age_tier":`...)
	b = sdk.AppendString(b, in.AgeTier)
	b = append(b, `,"strictness":`...)
	b = sdk.AppendString(b, in.Strictness)
	b = append(b, `,"locale":`...)
	b = sdk.AppendString(b, in.Locale)
	b = append(b, `,"context":[`...)
	for i, c := range in.Context {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"direction":`...)
		b = sdk.AppendString(b, c.Direction)
		b = append(b, `,"text":`...)
		b = sdk.AppendString(b, c.Text)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// wireVerdict mirrors Verdict with pointers to detect missing fields.
type wireVerdict struct {
	Action     *string  `json:"action"`
	Escalate   bool     `json:"escalate"`
	Categories []string `json:"categories"`
	Severity   int      `json:"severity"`
	Spans      []Span   `json:"spans"`
	Rules      []string `json:"rules"`
}

// decodeVerdict strictly decodes and validates a verdict for text.
func decodeVerdict(b []byte, text string) (Verdict, error) {
	w, ok := decodeVerdictFast(b)
	if !ok {
		var err error
		if w, err = decodeVerdictJSON(b); err != nil {
			return Verdict{}, err
		}
	}
	return validVerdict(w, text)
}

// decodeVerdictJSON decodes any JSON form of a verdict, strictly (no
// unknown fields, nothing after it).
func decodeVerdictJSON(b []byte) (wireVerdict, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireVerdict
	if err := dec.Decode(&w); err != nil {
		return wireVerdict{}, fmt.Errorf("%w: %v", ErrInvalidVerdict, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return wireVerdict{}, fmt.Errorf("%w: trailing data after the verdict", ErrInvalidVerdict)
	}
	return w, nil
}

// validVerdict checks a decoded verdict against the ABI and text.
func validVerdict(w wireVerdict, text string) (Verdict, error) {
	bad := func(format string, args ...any) (Verdict, error) {
		return Verdict{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidVerdict}, args...)...)
	}
	if w.Action == nil {
		return bad("missing action")
	}
	v := Verdict{Action: *w.Action, Escalate: w.Escalate, Categories: w.Categories, Severity: w.Severity, Spans: w.Spans, Rules: w.Rules}
	if v.Categories == nil {
		v.Categories = []string{}
	}
	if v.Spans == nil {
		v.Spans = []Span{}
	}
	if v.Rules == nil {
		v.Rules = []string{}
	}
	if !validActions[v.Action] {
		return bad("unknown action %q", v.Action)
	}
	if v.Severity < 0 || v.Severity > sdk.MaxSeverity {
		return bad("severity %d out of range 0..%d", v.Severity, sdk.MaxSeverity)
	}
	for i, c := range v.Categories {
		if !validCategories[c] {
			return bad("unknown category %q", c)
		}
		for _, d := range v.Categories[:i] {
			if d == c {
				return bad("duplicate category %q", c)
			}
		}
	}
	if len(v.Rules) > maxVerdictRules {
		return bad("%d rules (max %d)", len(v.Rules), maxVerdictRules)
	}
	for _, r := range v.Rules {
		if r == "" || len(r) > maxRuleIDLen || !utf8.ValidString(r) {
			return bad("rule id %q", r)
		}
	}
	if len(v.Spans) > maxVerdictSpans {
		return bad("%d spans (max %d)", len(v.Spans), maxVerdictSpans)
	}
	prevEnd := 0
	for i, s := range v.Spans {
		switch {
		case s.Start < prevEnd:
			return bad("span %d [%d,%d) overlaps or is out of order", i, s.Start, s.End)
		case s.End <= s.Start || s.End > len(text):
			return bad("span %d [%d,%d) outside text of %d bytes", i, s.Start, s.End, len(text))
		case !utf8.RuneStart(text[s.Start]) || (s.End < len(text) && !utf8.RuneStart(text[s.End])):
			return bad("span %d [%d,%d) splits a character", i, s.Start, s.End)
		case !validCategories[s.Category]:
			return bad("span %d: unknown category %q", i, s.Category)
		case !validKind(s.Kind):
			return bad("span %d: kind %q", i, s.Kind)
		}
		prevEnd = s.End
	}
	if v.Action == sdk.ActionRedact && len(v.Spans) == 0 {
		return bad("action redact without spans")
	}
	return v, nil
}

func validKind(k string) bool {
	if k == "" || len(k) > maxKindLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Hidden replaces every redacted span.
const Hidden = "[hidden]"

// Redact returns text with each span replaced by "[hidden]". It is total:
// spans are sorted, clamped to the text, widened to rune boundaries and
// merged when they overlap, so it never panics and never leaves part of a
// span visible.
func Redact(text string, spans []Span) string {
	if len(spans) == 0 {
		return text
	}
	s := make([]Span, 0, len(spans))
	for _, sp := range spans {
		start, end := max(sp.Start, 0), min(sp.End, len(text))
		for start > 0 && start < len(text) && !utf8.RuneStart(text[start]) {
			start--
		}
		for end < len(text) && end > 0 && !utf8.RuneStart(text[end]) {
			end++
		}
		if start < end {
			s = append(s, Span{Start: start, End: end})
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	var b []byte
	pos := 0
	for i := 0; i < len(s); {
		start, end := s[i].Start, s[i].End
		for i++; i < len(s) && s[i].Start <= end; i++ {
			end = max(end, s[i].End)
		}
		if start < pos {
			start = pos
		}
		b = append(b, text[pos:start]...)
		b = append(b, Hidden...)
		pos = end
	}
	b = append(b, text[pos:]...)
	return string(b)
}
