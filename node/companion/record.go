package companion

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Record is Daisy's per-child state as stored (sealed, by node/api): her
// state, the game in play, the counters and the day's usage. V is the
// format's version (RecordVersion).
type Record struct {
	V     int        `json:"v"`
	Daisy State      `json:"daisy"`
	Game  *GameState `json:"game,omitempty"`
	Stats Stats      `json:"stats"`
	Usage Usage      `json:"usage"`
}

// RecordVersion is the version of Record's format.
const RecordVersion = 1

// DecodeRecord decodes a stored Daisy record. Every chat turn reads
// one, and encoding/json (reflection, a validity pass, time parsing)
// cost ~3% of a node's CPU at C = 256. Records as json.Marshal writes them
// — no white space, no escapes in strings, known keys each once, plain
// integers — are read by a hand-written decoder; anything else goes to
// encoding/json, which decides. Whenever the fast decoder accepts bytes it
// gives what encoding/json gives (FuzzRecordFastAgreesWithJSON).
func DecodeRecord(b []byte, rec *Record) error {
	var r Record
	if p := (recParser{b: b}); p.record(&r) && p.pos == len(b) {
		*rec = r
		return nil
	}
	return json.Unmarshal(b, rec)
}

// recParser reads JSON from b at pos; every method reports false on
// anything outside the forms it knows, and the caller falls back.
type recParser struct {
	b   []byte
	pos int
}

func (p *recParser) byte(c byte) bool {
	if p.pos < len(p.b) && p.b[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *recParser) peek(c byte) bool { return p.pos < len(p.b) && p.b[p.pos] == c }

// object reads {"key":value,...}, calling field for each key (which reads
// the value); a key seen twice is refused (encoding/json would merge).
func (p *recParser) object(field func(key []byte) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	var seenBuf [24][]byte
	seen := seenBuf[:0]
	for {
		k, ok := p.rawString()
		if !ok || !p.byte(':') {
			return false
		}
		for _, s := range seen {
			if string(s) == string(k) {
				return false
			}
		}
		seen = append(seen, k)
		if !field(k) {
			return false
		}
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// rawString reads a string without escapes or control characters, in valid
// UTF-8, and returns its bytes.
func (p *recParser) rawString() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.pos
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			if !utf8.Valid(s) {
				return nil, false
			}
			p.pos = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (p *recParser) str(dst *string) bool {
	s, ok := p.rawString()
	*dst = string(s)
	return ok
}

// int reads an integer of at most 18 digits, without leading zeros.
func (p *recParser) int(dst *int) bool {
	neg := p.byte('-')
	start, n := p.pos, 0
	for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		n = n*10 + int(p.b[p.pos]-'0')
		p.pos++
	}
	digits := p.pos - start
	if digits == 0 || digits > 18 || (digits > 1 && p.b[start] == '0') {
		return false
	}
	if p.pos < len(p.b) && (p.b[p.pos] == '.' || p.b[p.pos] == 'e' || p.b[p.pos] == 'E') {
		return false
	}
	if neg {
		n = -n
	}
	*dst = n
	return true
}

func (p *recParser) bool(dst *bool) bool {
	switch {
	case p.lit("true"):
		*dst = true
	case p.lit("false"):
		*dst = false
	default:
		return false
	}
	return true
}

func (p *recParser) lit(s string) bool {
	if len(p.b)-p.pos >= len(s) && string(p.b[p.pos:p.pos+len(s)]) == s {
		p.pos += len(s)
		return true
	}
	return false
}

// time reads a string the way encoding/json does for a time.Time: through
// its UnmarshalJSON.
func (p *recParser) time(dst *time.Time) bool {
	start := p.pos
	if _, ok := p.rawString(); !ok {
		return false
	}
	return dst.UnmarshalJSON(p.b[start:p.pos]) == nil
}

// strings reads an array of strings; [] gives an empty, non-nil slice, as
// encoding/json does.
func (p *recParser) strings(dst *[]string) bool {
	if !p.byte('[') {
		return false
	}
	out := []string{}
	for first := true; !p.byte(']'); first = false {
		if !first && !p.byte(',') {
			return false
		}
		var s string
		if !p.str(&s) {
			return false
		}
		out = append(out, s)
	}
	*dst = out
	return true
}

func (p *recParser) record(r *Record) bool {
	return p.object(func(k []byte) bool {
		switch string(k) {
		case "v":
			return p.int(&r.V)
		case "daisy":
			return p.state(&r.Daisy)
		case "game":
			if p.peek('n') {
				return false
			}
			r.Game = &GameState{}
			return p.game(r.Game)
		case "stats":
			return p.stats(&r.Stats)
		case "usage":
			return p.usage(&r.Usage)
		}
		return false
	})
}

func (p *recParser) state(s *State) bool {
	return p.object(func(k []byte) bool {
		switch string(k) {
		case "v":
			return p.int(&s.V)
		case "hunger":
			return p.int(&s.Hunger)
		case "energy":
			return p.int(&s.Energy)
		case "hunger_at":
			return p.time(&s.HungerAt)
		case "energy_at":
			return p.time(&s.EnergyAt)
		case "fed_at":
			return p.time(&s.LastFed)
		case "play_at":
			return p.time(&s.LastPlay)
		case "concern_at":
			return p.time(&s.LastConcern)
		case "recent":
			return p.strings(&s.Recent)
		}
		return false
	})
}

func (p *recParser) game(g *GameState) bool {
	return p.object(func(k []byte) bool {
		switch string(k) {
		case "v":
			return p.int(&g.V)
		case "kind":
			return p.str(&g.Kind)
		case "tier":
			return p.str(&g.Tier)
		case "phase":
			return p.str(&g.Phase)
		case "started":
			return p.time(&g.Started)
		case "updated":
			return p.time(&g.Updated)
		case "turns":
			return p.int(&g.Turns)
		case "tries":
			return p.int(&g.Tries)
		case "score":
			return p.int(&g.Score)
		case "won":
			return p.bool(&g.Won)
		case "hints":
			return p.int(&g.Hints)
		case "rope":
			return p.int(&g.Rope)
		case "secret":
			return p.int(&g.Secret)
		case "word":
			return p.str(&g.Word)
		case "shown":
			return p.str(&g.Shown)
		case "spot":
			return p.str(&g.Spot)
		case "checked":
			return p.strings(&g.Checked)
		case "last":
			return p.str(&g.Last)
		}
		return false
	})
}

func (p *recParser) stats(s *Stats) bool {
	return p.object(func(k []byte) bool {
		switch string(k) {
		case "v":
			return p.int(&s.V)
		case "chats":
			return p.int(&s.Chats)
		case "treats":
			return p.int(&s.Treats)
		case "tricks":
			return p.int(&s.Tricks)
		case "jokes":
			return p.int(&s.Jokes)
		case "stories":
			return p.int(&s.Stories)
		case "facts":
			return p.int(&s.Facts)
		case "games":
			return p.int(&s.Games)
		case "wins":
			return p.int(&s.Wins)
		case "days":
			return p.int(&s.Days)
		case "last_day":
			return p.str(&s.LastDay)
		case "treat_ids":
			return p.strings(&s.TreatIDs)
		case "trick_ids":
			return p.strings(&s.TrickIDs)
		case "game_ids":
			return p.strings(&s.GameIDs)
		case "earned":
			return p.earned(&s.Earned)
		}
		return false
	})
}

func (p *recParser) earned(dst *[]Earned) bool {
	if !p.byte('[') {
		return false
	}
	out := []Earned{}
	for first := true; !p.byte(']'); first = false {
		if !first && !p.byte(',') {
			return false
		}
		var e Earned
		ok := p.object(func(k []byte) bool {
			switch string(k) {
			case "id":
				return p.str(&e.ID)
			case "at":
				return p.time(&e.At)
			}
			return false
		})
		if !ok {
			return false
		}
		out = append(out, e)
	}
	*dst = out
	return true
}

func (p *recParser) usage(u *Usage) bool {
	return p.object(func(k []byte) bool {
		switch string(k) {
		case "v":
			return p.int(&u.V)
		case "day":
			return p.str(&u.Day)
		case "seconds":
			return p.int(&u.Seconds)
		case "last":
			return p.time(&u.Last)
		case "turns":
			return p.int(&u.Turns)
		case "games":
			return p.int(&u.Games)
		case "ai_calls":
			return p.int(&u.AICalls)
		}
		return false
	})
}

// EncodeRecord is json.Marshal(r), byte for byte, without
// reflection: the fields in declaration order with their omitempty and
// omitzero rules, times through MarshalJSON. A string JSON would escape
// (quotes, backslashes, control characters, <, >, &, U+2028, U+2029,
// invalid UTF-8) sends the whole record to json.Marshal instead
// (TestRecordEncoderMatchesJSON).
func EncodeRecord(r *Record) ([]byte, error) {
	if b, ok := appendRecord(make([]byte, 0, 512), r); ok {
		return b, nil
	}
	return json.Marshal(r)
}

// recWriter appends JSON to b; ok turns false at the first value it cannot
// write exactly as encoding/json would.
type recWriter struct {
	b  []byte
	ok bool
}

func appendRecord(b []byte, r *Record) ([]byte, bool) {
	w := recWriter{b: b, ok: true}
	w.raw(`{"v":`)
	w.int(r.V)
	w.raw(`,"daisy":`)
	w.state(&r.Daisy)
	if r.Game != nil {
		w.raw(`,"game":`)
		w.game(r.Game)
	}
	w.raw(`,"stats":`)
	w.stats(&r.Stats)
	w.raw(`,"usage":`)
	w.usage(&r.Usage)
	w.raw("}")
	return w.b, w.ok
}

func (w *recWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *recWriter) int(n int) { w.b = strconv.AppendInt(w.b, int64(n), 10) }

func (w *recWriter) bool(v bool) { w.b = strconv.AppendBool(w.b, v) }

func (w *recWriter) str(s string) {
	if !plainJSONString(s) {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

// plainJSONString: encoding/json writes s between quotes unchanged.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

func (w *recWriter) time(t time.Time) {
	b, err := t.MarshalJSON()
	if err != nil {
		w.ok = false
		return
	}
	w.b = append(w.b, b...)
}

func (w *recWriter) strings(xs []string) {
	w.b = append(w.b, '[')
	for i, x := range xs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(x)
	}
	w.b = append(w.b, ']')
}

func (w *recWriter) state(s *State) {
	w.raw(`{"v":`)
	w.int(s.V)
	w.raw(`,"hunger":`)
	w.int(s.Hunger)
	w.raw(`,"energy":`)
	w.int(s.Energy)
	w.raw(`,"hunger_at":`)
	w.time(s.HungerAt)
	w.raw(`,"energy_at":`)
	w.time(s.EnergyAt)
	if !s.LastFed.IsZero() {
		w.raw(`,"fed_at":`)
		w.time(s.LastFed)
	}
	if !s.LastPlay.IsZero() {
		w.raw(`,"play_at":`)
		w.time(s.LastPlay)
	}
	if !s.LastConcern.IsZero() {
		w.raw(`,"concern_at":`)
		w.time(s.LastConcern)
	}
	if len(s.Recent) > 0 {
		w.raw(`,"recent":`)
		w.strings(s.Recent)
	}
	w.raw("}")
}

func (w *recWriter) game(g *GameState) {
	w.raw(`{"v":`)
	w.int(g.V)
	w.raw(`,"kind":`)
	w.str(g.Kind)
	w.raw(`,"tier":`)
	w.str(g.Tier)
	w.raw(`,"phase":`)
	w.str(g.Phase)
	w.raw(`,"started":`)
	w.time(g.Started)
	w.raw(`,"updated":`)
	w.time(g.Updated)
	w.raw(`,"turns":`)
	w.int(g.Turns)
	if g.Tries != 0 {
		w.raw(`,"tries":`)
		w.int(g.Tries)
	}
	w.raw(`,"score":`)
	w.int(g.Score)
	if g.Won {
		w.raw(`,"won":true`)
	}
	for _, f := range []struct {
		key string
		n   int
	}{{`,"hints":`, g.Hints}, {`,"rope":`, g.Rope}, {`,"secret":`, g.Secret}} {
		if f.n != 0 {
			w.raw(f.key)
			w.int(f.n)
		}
	}
	for _, f := range []struct{ key, s string }{{`,"word":`, g.Word}, {`,"shown":`, g.Shown}, {`,"spot":`, g.Spot}} {
		if f.s != "" {
			w.raw(f.key)
			w.str(f.s)
		}
	}
	if len(g.Checked) > 0 {
		w.raw(`,"checked":`)
		w.strings(g.Checked)
	}
	if g.Last != "" {
		w.raw(`,"last":`)
		w.str(g.Last)
	}
	w.raw("}")
}

func (w *recWriter) stats(s *Stats) {
	w.raw(`{"v":`)
	w.int(s.V)
	for _, f := range []struct {
		key string
		n   int
	}{{`,"chats":`, s.Chats}, {`,"treats":`, s.Treats}, {`,"tricks":`, s.Tricks}, {`,"jokes":`, s.Jokes},
		{`,"stories":`, s.Stories}, {`,"facts":`, s.Facts}, {`,"games":`, s.Games}, {`,"wins":`, s.Wins}, {`,"days":`, s.Days}} {
		w.raw(f.key)
		w.int(f.n)
	}
	if s.LastDay != "" {
		w.raw(`,"last_day":`)
		w.str(s.LastDay)
	}
	for _, f := range []struct {
		key string
		xs  []string
	}{{`,"treat_ids":`, s.TreatIDs}, {`,"trick_ids":`, s.TrickIDs}, {`,"game_ids":`, s.GameIDs}} {
		if len(f.xs) > 0 {
			w.raw(f.key)
			w.strings(f.xs)
		}
	}
	if len(s.Earned) > 0 {
		w.raw(`,"earned":[`)
		for i, e := range s.Earned {
			if i > 0 {
				w.raw(",")
			}
			w.raw(`{"id":`)
			w.str(e.ID)
			w.raw(`,"at":`)
			w.time(e.At)
			w.raw("}")
		}
		w.raw("]")
	}
	w.raw("}")
}

func (w *recWriter) usage(u *Usage) {
	w.raw(`{"v":`)
	w.int(u.V)
	w.raw(`,"day":`)
	w.str(u.Day)
	w.raw(`,"seconds":`)
	w.int(u.Seconds)
	if !u.Last.IsZero() {
		w.raw(`,"last":`)
		w.time(u.Last)
	}
	for _, f := range []struct {
		key string
		n   int
	}{{`,"turns":`, u.Turns}, {`,"games":`, u.Games}, {`,"ai_calls":`, u.AICalls}} {
		if f.n != 0 {
			w.raw(f.key)
			w.int(f.n)
		}
	}
	w.raw("}")
}
