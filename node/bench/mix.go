package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Op is one kind of request a simulated child sends.
type Op string

// The operations of the mix. All but OpDaisy are turns (through the safety
// policy, Daisy and Raft); OpDaisy is the read a child's app makes to show
// Daisy's mood.
const (
	OpChat      Op = "chat"       // POST /v1/chat, everyday messages
	OpFeed      Op = "feed"       // POST /v1/chat, feeding Daisy
	OpTrick     Op = "trick"      // POST /v1/chat, asking for a trick
	OpGameStart Op = "game_start" // POST /v1/games
	OpGameMove  Op = "game_move"  // POST /v1/games/current/moves
	OpDaisy     Op = "daisy"      // GET /v1/chat/daisy
)

// Mix is the relative weight of each operation. An empty Mix is chat only.
type Mix map[Op]int

// DefaultMix is a child's session as the product sees it: mostly chat,
// some feeding and tricks, a game now and then, the app checking on Daisy.
const DefaultMix = "chat:55,feed:10,trick:10,game_start:5,game_move:15,daisy:5"

// ParseMix reads "op:weight,op:weight" (weights are non-negative integers).
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(w)
		op := Op(strings.TrimSpace(name))
		if !ok || err != nil || n < 0 || !slices.Contains(allOps, op) {
			return nil, fmt.Errorf("bench: mix entry %q is not op:weight with op one of %v", part, allOps)
		}
		m[op] += n
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("bench: mix %q has no positive weight", s)
	}
	return m, nil
}

var allOps = []Op{OpChat, OpFeed, OpTrick, OpGameStart, OpGameMove, OpDaisy} //nolint:gochecknoglobals // constant table

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// schedule expands the mix into a fixed cycle of 100 slots (interleaved,
// so every client sees the whole mix early), which clients walk through
// from different offsets.
func (m Mix) schedule() []Op {
	if m.total() == 0 {
		return []Op{OpChat}
	}
	const slots = 100
	var out []Op
	credit := map[Op]float64{}
	for range slots {
		best, bestC := Op(""), -1.0
		for _, op := range allOps {
			credit[op] += float64(m[op]) / float64(m.total())
			if m[op] > 0 && credit[op] > bestC {
				best, bestC = op, credit[op]
			}
		}
		credit[best]--
		out = append(out, best)
	}
	return out
}

// bodies holds the pre-encoded request bodies of each operation.
type bodies map[Op][][]byte

func newBodies() bodies {
	enc := func(key string, vals []string) [][]byte {
		out := make([][]byte, len(vals))
		for i, v := range vals {
			out[i], _ = json.Marshal(map[string]string{key: v}) // strings always encode
		}
		return out
	}
	return bodies{
		OpChat:      chatBodies(),
		OpFeed:      enc("message", feedMessages()),
		OpTrick:     enc("message", trickMessages()),
		OpGameStart: enc("kind", []string{"guess_number", "fetch", "word_scramble", "tug_of_war", "hide_and_seek"}),
		OpGameMove:  enc("move", []string{"5", "7", "3", "fetch!", "pull!", "behind the sofa", "9", "dog"}),
	}
}

// send performs op for a child; outcome is "" on success, else the error key.
func send(ctx context.Context, c *client, op Op, token string, b bodies, k int) (outcome string, d, wait time.Duration) {
	method, path := http.MethodPost, "/v1/chat"
	switch op {
	case OpGameStart:
		path = "/v1/games"
	case OpGameMove:
		path = "/v1/games/current/moves"
	case OpDaisy:
		method, path = http.MethodGet, "/v1/chat/daisy"
	}
	var body []byte
	if list := b[op]; len(list) > 0 {
		body = list[k%len(list)]
	}
	t0 := time.Now()
	r, err := c.doMethod(ctx, method, path, token, body)
	d = time.Since(t0)
	if err != nil {
		return classify(err), d, 0
	}
	if r.status < 200 || r.status > 299 {
		outcome = strconv.Itoa(r.status)
		return outcome, d, backoffAfter(outcome, r.retryAfter)
	}
	outcome, d = checkBody(op, r, d)
	return outcome, d, 0
}

// backoffAfter is how long a device waits before its next request after
// this answer: the Retry-After of a 503 or 429 (capped), else nothing.
func backoffAfter(outcome, retryAfter string) time.Duration {
	if outcome != "503" && outcome != "429" {
		return 0
	}
	return retryWait(retryAfter, 0)
}

// checkBody classifies a 2xx answer.
func checkBody(op Op, r response, d time.Duration) (outcome string, _ time.Duration) {
	if op == OpDaisy {
		var out struct {
			Mood *string `json:"mood"`
		}
		if json.Unmarshal(r.body, &out) != nil || out.Mood == nil {
			return errBadResponse, d
		}
		return "", d
	}
	var out struct {
		Turn *struct {
			Reply  json.RawMessage `json:"reply"`
			Safety *struct {
				FailClosed bool `json:"fail_closed"`
			} `json:"safety"`
		} `json:"turn"`
	}
	if json.Unmarshal(r.body, &out) != nil || out.Turn == nil || !present(out.Turn.Reply) {
		return errBadResponse, d
	}
	if out.Turn.Safety != nil && out.Turn.Safety.FailClosed {
		// The policy could not check the turn (e.g. it timed out under
		// overload): the child got the "safety check unavailable" reply,
		// not an answer. Safe, but not a served turn.
		return errFailClosed, d
	}
	return "", d
}
