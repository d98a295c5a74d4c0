package storage

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Cache holds hot reads (a child device's profile, Daisy's per-child row, a
// child's recent turns, the token-signing keys) in memory. Its invalidation is exact: ApplyBatch
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

// store puts v under key, making room by dropping an arbitrary entry when
// the shard is full. The caller holds s.mu and has checked the key may be
// stored.
func (s *cacheShard) store(key string, v any) {
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
	s.store(key, v)
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

// take begins a write of key, like begin, and returns the value it held
// (ok = false when none, or when a flush is in progress).
func (c *Cache) take(key string) (any, bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if s.pending == nil {
		s.pending = make(map[string]int)
	}
	s.pending[key]++
	s.gen++
	delete(s.m, key)
	return v, ok && c.flushing.Load() == 0
}

// settle stores v, the value key has once a batch that took it committed,
// after end released the key. It stores nothing while the key is written
// again or a flush is in progress.
func (c *Cache) settle(key string, v any) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.flushing.Load() != 0 || s.pending[key] != 0 {
		return
	}
	s.store(key, v)
}

// batchUpdates are the cached values one ApplyBatch updates in place
// instead of dropping: Daisy's row and the recent turns of each child a
// chat turn is for. Every node applies the same turns, so each keeps its
// cached copies current without reading them back, and a child's next
// turn, on whichever node, finds them cached. Each key is taken once per
// batch (its value before the batch), updated by every chat turn that
// succeeds, and stored when the batch has committed — or dropped, when the
// batch fails, when another command kind touches the key, or when the
// value was not cached to begin with.
type batchUpdates struct {
	vals map[string]*batchValue
}

type batchValue struct {
	v  any
	ok bool
}

func (b *batchUpdates) take(c *Cache, key string) *batchValue {
	if bv, ok := b.vals[key]; ok {
		return bv
	}
	v, ok := c.take(key)
	bv := &batchValue{v: v, ok: ok}
	if b.vals == nil {
		b.vals = make(map[string]*batchValue)
	}
	b.vals[key] = bv
	return bv
}

// drop forgets the updates of keys (all: every key) that another command
// kind changes.
func (b *batchUpdates) drop(keys []string, all bool) {
	for k, bv := range b.vals {
		if all || slices.Contains(keys, k) {
			bv.ok = false
		}
	}
}

// chatTurn updates the values a committed chat turn changes: Daisy's row
// (a new sealed state, one version up) and the child's recent turns.
func (b *batchUpdates) chatTurn(t *ChatTurn, seq int64, comp, recent *batchValue) {
	if comp != nil && comp.ok {
		row := comp.v.(CompanionRow)
		row.StateSealed, row.StateAt, row.StateVersion = t.Companion, t.CreatedAt, row.StateVersion+1
		comp.v = row
	}
	if recent.ok {
		old := recent.v.(recentTurns)
		rows := make([]TurnRow, 0, min(len(old.rows)+1, recentTurnsCap))
		rows = append(rows, turnRowOf(t, seq))
		rows = append(rows, old.rows[:min(len(old.rows), recentTurnsCap-1)]...)
		recent.v = recentTurns{rows: rows, complete: old.complete && len(old.rows) < recentTurnsCap}
		recent.ok = sealedBytes(rows) <= recentTurnsMaxBytes
	}
}

// finish ends every taken key and, if the batch committed, stores the
// values still valid.
func (b *batchUpdates) finish(c *Cache, committed bool) {
	for k, bv := range b.vals {
		c.end([]string{k}, false)
		if committed && bv.ok {
			c.settle(k, bv.v)
		}
	}
}

// recentTurns is a child's newest turns, newest first (at most
// recentTurnsCap); complete when they are all the turns the child has.
type recentTurns struct {
	rows     []TurnRow
	complete bool
}

// recentTurnsCap bounds the cached turns per child: the policy's context
// (node/api contextTurns). recentTurnsMaxBytes bounds their sealed texts:
// a child who sends long messages reads them from the database instead, so
// an entry stays small (typically about 1 KiB).
const (
	recentTurnsCap      = 4
	recentTurnsMaxBytes = 8 << 10
)

// sealedBytes is the size of the sealed texts of rows.
func sealedBytes(rows []TurnRow) int {
	n := 0
	for _, r := range rows {
		n += len(r.MessageSealed) + len(r.ReplySealed)
	}
	return n
}

// turnRowOf is the row Turns reads back for a chat turn stored with seq.
func turnRowOf(t *ChatTurn, seq int64) TurnRow {
	return TurnRow{ID: t.TurnID, ChildID: t.ChildID, Seq: seq, CreatedAt: t.CreatedAt,
		MessageSealed: t.MessageSealed, ReplySealed: t.ReplySealed, Intent: t.Intent,
		InAction: t.InAction, InCategories: splitList(strings.Join(t.InCategories, ",")),
		OutAction: t.OutAction, OutCategories: splitList(strings.Join(t.OutCategories, ",")),
		Escalate: t.Escalate, FailClosed: t.FailClosed, PolicyVersion: t.PolicyVersion}
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
func keyRecentTurns(childID string) string           { return "rt\x00" + childID }

const (
	keySigningKeys = "keys"
	// keyCatalogRev is the catalogue's revision: catalogue commands flush
	// the whole cache (touches does not list them).
	keyCatalogRev = "catalog_rev"
)

// touches lists the cache keys a command may change; all = true when the
// command is unknown to the cache (every entry must go). Kinds that change
// nothing cached return neither.
func touches(c Command) (keys []string, all bool) {
	switch c := c.(type) {
	case *MailAfter:
		// The e-mail row is not cached; the wrapped command may be.
		return touches(c.Cmd)
	case *MarkMail, *ReviewSafetyEvent, *AssignSafetyEvent:
		return nil, false // outbox rows and safety events are not cached
	case *RotateCA:
		return nil, false // the rotation record is not cached
	case *SetSafetyHold:
		return nil, false // applySafetyHold invalidates the child's device rows itself
	case *ChatTurn:
		// Daisy's row and the recent turns: updated in place (batchUpdates).
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
	case *StartAlertOutbox, *MarkAlertsDelivered, *PutRetention:
		// The outbox, throttle and retention-setting rows are not cached.
		return nil, false
	case *GrantConsent, *RevokeConsent:
		// The cached child rows of the child's devices hold its consent:
		// the command names them while it runs (setConsent, txApplier.touch).
		return nil, false
	case *ApplyRetention:
		// Safety events, sessions and refresh tokens are not cached; the
		// recent turns of each child whose turns it deletes are named by
		// the command itself while it runs (txApplier.touch).
		return nil, false
	}
	return nil, true
}
