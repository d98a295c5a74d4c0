package storage

import (
	"encoding/base64"
	"strconv"
)

// Chat turns are most of the Raft log, and every node decodes every entry,
// so their body has a decoder of its own: one pass over the bytes Encode
// writes (encoding/json's output for ChatTurn: known keys, no whitespace,
// ASCII strings without escapes, standard base64). Anything else — an escape,
// a non-ASCII byte, an unknown, repeated or differently-cased key, a number
// that is not a plain integer — makes it give up, and encoding/json decodes
// the body instead; both always agree (FuzzDecodeAgreesWithGeneric).

// Bits of the keys seen in one body (a repeated key gives up).
const (
	ctID = 1 << iota
	ctChild
	ctDevice
	ctAt
	ctMsg
	ctReply
	ctIntent
	ctInAction
	ctInCats
	ctOutAction
	ctOutCats
	ctEscalate
	ctFailClosed
	ctPolicy
	ctEvent
	ctCompanion
	ctBase
)

// chatTurnScanner reads one JSON body; ok turns false at the first thing
// it does not handle.
type chatTurnScanner struct {
	b   []byte
	pos int
	ok  bool
}

// decodeChatTurnFast decodes body into c; false means "use encoding/json".
func decodeChatTurnFast(body []byte, c *ChatTurn) bool {
	s := chatTurnScanner{b: body, ok: true}
	if !s.byte('{') {
		return false
	}
	if s.peek() == '}' {
		s.pos++
		return s.pos == len(s.b)
	}
	seen := 0
	for s.ok {
		key := s.rawPlain()
		if !s.ok || !s.byte(':') {
			return false
		}
		bit := 0
		switch string(key) { // no allocation: the compiler compares the bytes
		case "id":
			bit, c.TurnID = ctID, s.plainString()
		case "child":
			bit, c.ChildID = ctChild, s.plainString()
		case "device":
			bit, c.DeviceID = ctDevice, s.plainString()
		case "at":
			bit, c.CreatedAt = ctAt, s.int64()
		case "msg":
			bit, c.MessageSealed = ctMsg, s.bytes()
		case "reply":
			bit, c.ReplySealed = ctReply, s.bytes()
		case "intent":
			bit, c.Intent = ctIntent, s.plainString()
		case "in_action":
			bit, c.InAction = ctInAction, s.plainString()
		case "in_cats":
			bit, c.InCategories = ctInCats, s.strings()
		case "out_action":
			bit, c.OutAction = ctOutAction, s.plainString()
		case "out_cats":
			bit, c.OutCategories = ctOutCats, s.strings()
		case "escalate":
			bit, c.Escalate = ctEscalate, s.bool()
		case "fail_closed":
			bit, c.FailClosed = ctFailClosed, s.bool()
		case "policy":
			bit, c.PolicyVersion = ctPolicy, s.plainString()
		case "event":
			bit, c.EventID = ctEvent, s.plainString()
		case "companion":
			bit, c.Companion = ctCompanion, s.bytes()
		case "base":
			bit = ctBase
			if s.peek() == 'n' {
				s.ok = s.literal("null")
				c.StateBase = nil
			} else {
				v := s.int64()
				c.StateBase = &v
			}
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if !s.ok {
			return false
		}
		if s.peek() == '}' {
			s.pos++
			return s.pos == len(s.b)
		}
		s.ok = s.byte(',')
	}
	return false
}

func (s *chatTurnScanner) peek() byte {
	if s.pos < len(s.b) {
		return s.b[s.pos]
	}
	return 0
}

func (s *chatTurnScanner) byte(c byte) bool {
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	s.ok = false
	return false
}

func (s *chatTurnScanner) literal(lit string) bool {
	if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

// rawPlain returns the contents of a string of printable ASCII other than
// '"' and '\\' (what needs no unescaping and no UTF-8 repair).
func (s *chatTurnScanner) rawPlain() []byte {
	if !s.byte('"') {
		return nil
	}
	start := s.pos
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		if c == '"' {
			s.pos++
			return s.b[start : s.pos-1]
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			break
		}
		s.pos++
	}
	s.ok = false
	return nil
}

func (s *chatTurnScanner) plainString() string {
	if s.peek() == 'n' { // null leaves a string unchanged in encoding/json; give up instead
		s.ok = false
		return ""
	}
	return string(s.rawPlain())
}

func (s *chatTurnScanner) bytes() []byte {
	if s.peek() == 'n' {
		s.ok = s.literal("null")
		return nil
	}
	raw := s.rawPlain()
	if !s.ok {
		return nil
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(out, raw)
	if err != nil {
		s.ok = false
		return nil
	}
	return out[:n]
}

func (s *chatTurnScanner) strings() []string {
	if s.peek() == 'n' {
		s.ok = s.literal("null")
		return nil
	}
	if !s.byte('[') {
		return nil
	}
	out := []string{}
	if s.peek() == ']' {
		s.pos++
		return out
	}
	for s.ok {
		out = append(out, s.plainString())
		if s.peek() == ']' {
			s.pos++
			return out
		}
		s.byte(',')
	}
	return nil
}

func (s *chatTurnScanner) bool() bool {
	switch {
	case s.literal("true"):
		return true
	case s.literal("false"):
		return false
	}
	s.ok = false
	return false
}

// int64 reads an integer written as JSON writes one: an optional minus
// sign and digits without a leading zero.
func (s *chatTurnScanner) int64() int64 {
	start := s.pos
	if s.peek() == '-' {
		s.pos++
	}
	digits := s.pos
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		s.pos++
	}
	n := s.pos - digits
	if n == 0 || (n > 1 && s.b[digits] == '0') {
		s.ok = false
		return 0
	}
	switch s.peek() {
	case '.', 'e', 'E':
		s.ok = false
		return 0
	}
	v, err := strconv.ParseInt(string(s.b[start:s.pos]), 10, 64)
	if err != nil {
		s.ok = false
		return 0
	}
	return v
}
