package sdk

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ABIVersion is the policy ABI implemented by this package.
const ABIVersion = 1

// Directions.
const (
	DirectionIn  = "in"  // a message the child sent
	DirectionOut = "out" // a reply Daisy is about to send
)

// Age tiers.
const (
	AgeTier5to8   = "5-8"
	AgeTier9to12  = "9-12"
	AgeTier13to17 = "13-17"
)

// Strictness levels chosen by the parent.
const (
	StrictnessRelaxed  = "relaxed"
	StrictnessStandard = "standard"
	StrictnessStrict   = "strict"
)

// Actions, from least to most restrictive in the order a policy usually
// ranks them: allow < redact < redirect < block < support (support wins
// because a child in crisis must never be scolded).
const (
	ActionAllow    = "allow"
	ActionRedact   = "redact"
	ActionRedirect = "redirect"
	ActionSupport  = "support"
	ActionBlock    = "block"
)

// Categories: the taxonomy of design.md section 5.
const (
	CategoryProfanity       = "profanity"
	CategorySexual          = "sexual"
	CategorySexualMinors    = "sexual_minors"
	CategoryHate            = "hate"
	CategoryHarassment      = "harassment"
	CategoryViolence        = "violence"
	CategoryWeapons         = "weapons"
	CategorySelfHarm        = "self_harm"
	CategoryAbuseDisclosure = "abuse_disclosure"
	CategorySubstances      = "substances"
	CategoryPIIDisclosure   = "pii_disclosure"
	CategoryPIISolicitation = "pii_solicitation"
	CategoryGrooming        = "grooming"
	CategoryEmergency       = "emergency"
	CategoryDangerousActs   = "dangerous_acts"
	CategoryScam            = "scam"
)

// Categories lists the whole taxonomy in its canonical order.
var Categories = []string{
	CategorySelfHarm, CategoryAbuseDisclosure, CategoryEmergency,
	CategorySexualMinors, CategoryGrooming, CategorySexual,
	CategoryViolence, CategoryWeapons, CategoryDangerousActs,
	CategoryHate, CategoryHarassment, CategorySubstances, CategoryScam,
	CategoryPIIDisclosure, CategoryPIISolicitation, CategoryProfanity,
}

// Actions lists every valid action.
var Actions = []string{ActionAllow, ActionRedact, ActionRedirect, ActionSupport, ActionBlock}

// MaxSeverity is the highest severity a verdict may carry.
const MaxSeverity = 4

// ContextTurn is one earlier message of the conversation, oldest first.
type ContextTurn struct {
	Direction string `json:"direction"`
	Text      string `json:"text"`
}

// Input is the document the host passes to evaluate.
type Input struct {
	ABI        int           `json:"abi"`
	Text       string        `json:"text"`
	Direction  string        `json:"direction"`
	AgeTier    string        `json:"age_tier"`
	Strictness string        `json:"strictness"`
	Locale     string        `json:"locale"`
	Context    []ContextTurn `json:"context"`
}

// Span marks a region of Input.Text: UTF-8 byte offsets [Start, End) into
// the original text, on rune boundaries.
type Span struct {
	Start    int    `json:"start"`
	End      int    `json:"end"`
	Category string `json:"category"`
	Kind     string `json:"kind"`
}

// Verdict is the document evaluate returns.
type Verdict struct {
	Action     string   `json:"action"`
	Escalate   bool     `json:"escalate"`
	Categories []string `json:"categories"`
	Severity   int      `json:"severity"`
	Spans      []Span   `json:"spans"`
	Rules      []string `json:"rules"`
}

// ErrUnsupportedABI is returned by DecodeInput for an abi field other than
// ABIVersion.
var ErrUnsupportedABI = errors.New("sdk: unsupported policy ABI version")

// DecodeInput parses an ABI v1 input document. Unknown fields are ignored
// (the host may add optional fields in a compatible revision); a missing or
// different "abi" field is an error.
func DecodeInput(b []byte) (Input, error) {
	var in Input
	if err := decodeInput(b, &in); err != nil {
		return Input{}, fmt.Errorf("sdk: decode input: %w", err)
	}
	if in.ABI != ABIVersion {
		return Input{}, fmt.Errorf("%w: %d", ErrUnsupportedABI, in.ABI)
	}
	return in, nil
}

// AppendJSON appends the ABI v1 encoding of v to b. Nil slices are encoded
// as empty arrays so that the host always sees every field.
func (v *Verdict) AppendJSON(b []byte) []byte {
	b = append(b, `{"action":`...)
	b = AppendString(b, v.Action)
	b = append(b, `,"escalate":`...)
	b = strconv.AppendBool(b, v.Escalate)
	b = append(b, `,"categories":[`...)
	for i, c := range v.Categories {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, c)
	}
	b = append(b, `],"severity":`...)
	b = strconv.AppendInt(b, int64(v.Severity), 10)
	b = append(b, `,"spans":[`...)
	for i, s := range v.Spans {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"start":`...)
		b = strconv.AppendInt(b, int64(s.Start), 10)
		b = append(b, `,"end":`...)
		b = strconv.AppendInt(b, int64(s.End), 10)
		b = append(b, `,"category":`...)
		b = AppendString(b, s.Category)
		b = append(b, `,"kind":`...)
		b = AppendString(b, s.Kind)
		b = append(b, '}')
	}
	b = append(b, `],"rules":[`...)
	for i, r := range v.Rules {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, r)
	}
	b = append(b, "]}"...)
	return b
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 is
// replaced by U+FFFD, control characters are escaped.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
