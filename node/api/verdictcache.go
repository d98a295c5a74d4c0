package api

import (
	"sync"

	"daisydog/policies"
)

// verdictCache remembers the output policy's verdicts on Daisy's own
// lines. Her replies come from catalogues, so the same few thousand texts
// are checked over and over, and a policy is a pure function of its input:
// the same version, tier, strictness, locale and text always give the same
// verdict. Keys carry the policy version, so a hot swap starts afresh;
// child messages (direction "in", with context) are never cached. A cached
// reply is not re-run through a shadow candidate.
type verdictCache struct {
	mu   sync.Mutex
	max  int
	m    map[verdictKey]policies.Verdict
	hits uint64
	miss uint64
}

type verdictKey struct {
	version, tier, strictness, locale, text string
}

const verdictCacheSize = 8192

func newVerdictCache(max int) *verdictCache {
	return &verdictCache{max: max, m: make(map[verdictKey]policies.Verdict, max)}
}

// cacheable reports whether a verdict for in may be cached: Daisy's reply,
// no conversation context, a text short enough to be a catalogue line.
func cacheable(in policies.Input) bool {
	return in.Direction == "out" && len(in.Context) == 0 && len(in.Text) <= 512
}

func (c *verdictCache) get(k verdictKey) (policies.Verdict, bool) {
	if c == nil {
		return policies.Verdict{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if ok {
		c.hits++
	} else {
		c.miss++
	}
	return cloneVerdict(v), ok
}

func (c *verdictCache) put(k verdictKey, v policies.Verdict) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Drop an arbitrary half: cheap, and the hot lines come back at once.
		n := 0
		for key := range c.m {
			delete(c.m, key)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[k] = cloneVerdict(v)
}

// cloneVerdict copies the slices so no caller can change a cached verdict.
func cloneVerdict(v policies.Verdict) policies.Verdict {
	v.Categories = append([]string(nil), v.Categories...)
	v.Rules = append([]string(nil), v.Rules...)
	v.Spans = append([]policies.Span(nil), v.Spans...)
	return v
}

func (c *verdictCache) stats() map[string]uint64 {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return map[string]uint64{"hits": c.hits, "misses": c.miss, "entries": uint64(len(c.m))}
}
