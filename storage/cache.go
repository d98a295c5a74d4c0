package storage

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Cache holds hot reads (a child device's profile, Daisy's per-child row,
// the token-signing keys) in memory. Its invalidation is exact: ApplyBatch
// names the keys every command touches and the cache forgets them around
// the commit, so no reader ever gets a value older than what its node has
// applied (see DESIGN.md "Hot-read cache"). A command kind the cache does not
// know flushes everything: a new command can make the cache slower, never
// wrong.
//
// Values are shared between readers and must be treated as read-only.
type Cache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	// global is bumped and flushing raised for a whole-cache invalidation.
	global   atomic.Uint64
	flushing atomic.Int64

	hits, misses, invalidations atomic.Uint64
}

const (
	cacheShards        = 64
	cacheShardCapacity = 4096 // entries per shard; beyond it an arbitrary entry is evicted
)

type cacheShard struct {
	mu      sync.Mutex
	gen     uint64
	m       map[string]any
	pending map[string]int // keys a batch is writing right now: never served, never stored
}

// cacheToken is taken before reading the database for a key; a value read
// under it is stored only if nothing invalidated the key's shard meanwhile.
type cacheToken struct {
	shard  *cacheShard
	gen    uint64
	global uint64
}

func newCache() *Cache { return &Cache{seed: maphash.MakeSeed()} }

func (c *Cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// get returns the cached value and a token to store a fresh one on a miss.
func (c *Cache) get(key string) (any, bool, cacheToken) {
	s := c.shard(key)
	g := c.global.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := cacheToken{shard: s, gen: s.gen, global: g}
	if c.flushing.Load() == 0 && s.pending[key] == 0 {
		if v, ok := s.m[key]; ok {
			c.hits.Add(1)
			return v, true, tok
		}
	}
	c.misses.Add(1)
	return nil, false, tok
}

// put stores v unless the key was invalidated since tok was taken or is
// being written now.
func (c *Cache) put(key string, tok cacheToken, v any) {
	s := tok.shard
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != tok.gen || c.global.Load() != tok.global || c.flushing.Load() != 0 || s.pending[key] != 0 {
		return
	}
	if s.m == nil {
		s.m = make(map[string]any)
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= cacheShardCapacity {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = v
}

// begin marks keys as being written: they are dropped and neither served
// nor stored until end. all = true does that for every key.
func (c *Cache) begin(keys []string, all bool) {
	if all {
		c.flushing.Add(1)
		c.flushAll()
	}
	for _, k := range keys {
		s := c.shard(k)
		s.mu.Lock()
		if s.pending == nil {
			s.pending = make(map[string]int)
		}
		s.pending[k]++
		s.gen++
		delete(s.m, k)
		s.mu.Unlock()
	}
}

// end is called after the batch committed (or failed): the keys are dropped
// once more and usable again. A value read before the commit cannot be
// stored any more (its token is stale).
func (c *Cache) end(keys []string, all bool) {
	for _, k := range keys {
		s := c.shard(k)
		s.mu.Lock()
		if s.pending[k]--; s.pending[k] <= 0 {
			delete(s.pending, k)
		}
		s.gen++
		delete(s.m, k)
		s.mu.Unlock()
		c.invalidations.Add(1)
	}
	if all {
		c.flushAll()
		c.flushing.Add(-1)
		c.invalidations.Add(1)
	}
}

func (c *Cache) flushAll() {
	c.global.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.gen++
		clear(s.m)
		s.mu.Unlock()
	}
}

// CacheStats are the hot-read cache's counters since the node started.
type CacheStats struct {
	Hits          uint64 `json:"hits"`
	Misses        uint64 `json:"misses"`
	Invalidations uint64 `json:"invalidations"`
	Entries       int    `json:"entries"`
}

// CacheStats returns the hot-read cache's counters.
func (db *DB) CacheStats() CacheStats {
	c := db.cache
	st := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += len(s.m)
		s.mu.Unlock()
	}
	return st
}

// Cache keys. Each names the rows a cached read depends on.
func keyChildDevice(childID, deviceID string) string { return "cd\x00" + childID + "\x00" + deviceID }
func keyCompanion(childID string) string             { return "co\x00" + childID }

const keySigningKeys = "keys"

// touches lists the cache keys a command may change; all = true when the
// command is unknown to the cache (every entry must go). Kinds that change
// nothing cached return neither.
func touches(c Command) (keys []string, all bool) {
	switch c := c.(type) {
	case *ChatTurn:
		if c.Companion != nil {
			return []string{keyCompanion(c.ChildID)}, false
		}
		return nil, false
	case *PutChildSettings:
		return []string{keyCompanion(c.ChildID)}, false
	case *RevokeDevice:
		return []string{keyChildDevice(c.ChildID, c.DeviceID)}, false
	case *PutSigningKey, *RetireSigningKeys:
		return []string{keySigningKeys}, false
	case *SignUp, *CreateChild, *CreateLinkCode, *RedeemLinkCode, *StartSession,
		*RotateRefresh, *RevokeSessions, *LoginFailure, *ReportShadow:
		// New rows only (the cache holds no "absent" answers), or rows no
		// cached read depends on.
		return nil, false
	}
	return nil, true
}
