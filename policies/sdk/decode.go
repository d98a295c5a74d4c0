package sdk

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// decodeInput is a reflection-free JSON decoder for the input document.
// encoding/json costs tens of microseconds per call inside a wasm guest;
// this costs about one. It accepts exactly the JSON grammar (RFC 8259) and
// produces the same values encoding/json would (a differential test checks
// this); unknown fields are skipped.
func decodeInput(b []byte, in *Input) error {
	d := decoder{b: b}
	d.ws()
	if err := d.object(func(key string) error {
		switch key {
		case "abi":
			n, err := d.int()
			in.ABI = n
			return err
		case "text":
			return d.str(&in.Text)
		case "direction":
			return d.str(&in.Direction)
		case "age_tier":
			return d.str(&in.AgeTier)
		case "strictness":
			return d.str(&in.Strictness)
		case "locale":
			return d.str(&in.Locale)
		case "context":
			return d.context(&in.Context)
		}
		return d.skip(0)
	}); err != nil {
		return err
	}
	d.ws()
	if d.pos != len(d.b) {
		return d.errf("trailing data")
	}
	return nil
}

type decoder struct {
	b   []byte
	pos int
}

var errSyntax = errors.New("invalid JSON")

func (d *decoder) errf(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, d.pos)
}

func (d *decoder) ws() {
	for d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.pos < len(d.b) {
		return d.b[d.pos]
	}
	return 0
}

func (d *decoder) lit(s string) bool {
	if len(d.b)-d.pos >= len(s) && string(d.b[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

// object parses {"k": v, ...}, calling field with the key (escapes
// decoded; the known keys interned, so without an allocation) positioned
// at the value.
func (d *decoder) object(field func(key string) error) error {
	d.ws()
	if d.lit("null") {
		return nil
	}
	if d.peek() != '{' {
		return d.errf("expected object")
	}
	d.pos++
	d.ws()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		d.ws()
		if d.peek() != '"' {
			return d.errf("expected key")
		}
		var key string
		if err := d.str(&key); err != nil {
			return err
		}
		d.ws()
		if d.peek() != ':' {
			return d.errf("expected ':'")
		}
		d.pos++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.errf("expected ',' or '}'")
		}
	}
}

func (d *decoder) context(out *[]ContextTurn) error {
	d.ws()
	if d.lit("null") {
		*out = nil
		return nil
	}
	if d.peek() != '[' {
		return d.errf("expected array")
	}
	d.pos++
	d.ws()
	turns := (*out)[:0]
	if d.peek() == ']' {
		d.pos++
		*out = turns
		return nil
	}
	for {
		var t ContextTurn
		if err := d.object(func(key string) error {
			switch key {
			case "direction":
				return d.str(&t.Direction)
			case "text":
				return d.str(&t.Text)
			}
			return d.skip(0)
		}); err != nil {
			return err
		}
		turns = append(turns, t)
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
		case ']':
			d.pos++
			*out = turns
			return nil
		default:
			return d.errf("expected ',' or ']'")
		}
	}
}

// int parses a JSON number that must be an integer (or null → 0).
func (d *decoder) int() (int, error) {
	if d.lit("null") {
		return 0, nil
	}
	start := d.pos
	if err := d.number(); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(d.b[start:d.pos]))
	if err != nil {
		return 0, d.errf("expected integer")
	}
	return n, nil
}

// number scans a JSON number.
func (d *decoder) number() error {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
			d.pos++
		}
	default:
		return d.errf("invalid number")
	}
	if d.peek() == '.' {
		d.pos++
		if c := d.peek(); c < '0' || c > '9' {
			return d.errf("invalid number")
		}
		for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
			d.pos++
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if c := d.peek(); c < '0' || c > '9' {
			return d.errf("invalid number")
		}
		for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
			d.pos++
		}
	}
	if d.pos == start {
		return d.errf("invalid number")
	}
	return nil
}

// internString returns b as a string, without allocating for the keys and
// enumerated values every input document repeats (a Go guest's allocations
// and collections are a large part of its per-call cost).
func internString(b []byte) string {
	switch string(b) { // no allocation: the compiler compares in place
	case "abi":
		return "abi"
	case "text":
		return "text"
	case "direction":
		return "direction"
	case "age_tier":
		return "age_tier"
	case "strictness":
		return "strictness"
	case "locale":
		return "locale"
	case "context":
		return "context"
	case DirectionIn:
		return DirectionIn
	case DirectionOut:
		return DirectionOut
	case AgeTier5to8:
		return AgeTier5to8
	case AgeTier9to12:
		return AgeTier9to12
	case AgeTier13to17:
		return AgeTier13to17
	case StrictnessRelaxed:
		return StrictnessRelaxed
	case StrictnessStandard:
		return StrictnessStandard
	case StrictnessStrict:
		return StrictnessStrict
	case "en":
		return "en"
	}
	return string(b)
}

// str parses a JSON string (or null → unchanged). Invalid UTF-8 and lone
// surrogates become U+FFFD, as in encoding/json.
func (d *decoder) str(out *string) error {
	if d.lit("null") {
		return nil
	}
	if d.peek() != '"' {
		return d.errf("expected string")
	}
	d.pos++
	start := d.pos
	// Fast path: no escapes, valid UTF-8. Plain ASCII eight bytes at a
	// time, then byte by byte up to the byte that needs a look (a branch
	// per byte is dear in a wasm guest).
	b, i := d.b, d.pos
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			break
		}
		c := b[i]
		if c == '"' {
			*out = internString(b[start:i])
			d.pos = i + 1
			return nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		r, size := utf8.DecodeRune(b[i:]) // c >= utf8.RuneSelf
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	d.pos = i
	// One buffer, sized for the string up to the next quote (its end,
	// unless an escaped quote comes first), becomes the string itself:
	// one allocation where growing it and copying it out made several.
	n := len(d.b) - start
	if q := bytes.IndexByte(d.b[d.pos:], '"'); q >= 0 {
		n = d.pos + q - start
	}
	buf := append(make([]byte, 0, n), d.b[start:d.pos]...)
	for d.pos < len(d.b) {
		c := d.b[d.pos]
		switch {
		case c == '"':
			d.pos++
			*out = unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is not used again
			return nil
		case c < 0x20:
			return d.errf("control character in string")
		case c == '\\':
			d.pos++
			if d.pos >= len(d.b) {
				return d.errf("unterminated escape")
			}
			e := d.b[d.pos]
			d.pos++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return d.errf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A valid pair makes one rune; anything else is U+FFFD.
					save := d.pos
					if d.lit(`\u`) {
						if r2, ok := d.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								continue
							}
						}
					}
					d.pos = save
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return d.errf("invalid escape")
			}
		case c < utf8.RuneSelf:
			// c and the plain ASCII bytes after it
			j := skipPlain(d.b, d.pos+1)
			buf = append(buf, d.b[d.pos:j]...)
			d.pos = j
		default:
			r, size := utf8.DecodeRune(d.b[d.pos:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, d.b[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return d.errf("unterminated string")
}

// skipPlain returns the index of the first byte of b at or after i that
// is not plain ASCII inside a string (a quote, a backslash, a control
// character or a non-ASCII byte), or len(b).
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) && !special8(b[i:i+8]) {
		i += 8
	}
	for i < len(b) {
		if c := b[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			break
		}
		i++
	}
	return i
}

// special8 reports whether any of the eight bytes of b needs a look of
// its own in a string: a quote, a backslash, a control character or a
// non-ASCII byte (the usual SWAR tests for a zero byte and a byte below
// n; exact as tests for presence, whatever the byte order).
//
// The eight bytes are read with one unaligned load (binary.LittleEndian
// would be eight loads in wasm, and too dear to inline); the byte order
// does not matter to the result.
func special8(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	_ = b[7]
	x := *(*uint64)(unsafe.Pointer(unsafe.SliceData(b)))
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return (x|(q-ones)&^q|(bs-ones)&^bs|(x-ones*0x20)&^x)&highs != 0
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.b)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

const maxDepth = 64

// skip consumes any JSON value.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return d.errf("nested too deeply")
	}
	d.ws()
	switch c := d.peek(); {
	case c == '"':
		var s string
		return d.str(&s)
	case c == '{':
		return d.object(func(string) error { return d.skip(depth + 1) })
	case c == '[':
		d.pos++
		d.ws()
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return d.errf("expected ',' or ']'")
			}
		}
	case c == 't':
		if d.lit("true") {
			return nil
		}
	case c == 'f':
		if d.lit("false") {
			return nil
		}
	case c == 'n':
		if d.lit("null") {
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return d.errf("invalid value")
}
