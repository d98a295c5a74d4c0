package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every read that starts after ApplyBatch returned sees that batch's value,
// however readers and the writer interleave (the cache is never older than
// the applied index).
func TestCacheNeverServesAValueOlderThanTheAppliedIndex(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	parent := scopeActors["parent A"]
	child := scopeActors["child A (own device)"]
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stale atomic.Int64
	var staleMsg atomic.Value
	for r := range 4 {
		wg.Go(func() {
			a := parent
			if r%2 == 1 {
				a = child
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := committed.Load()
				row, err := f.db.Companion(ctx, a, "ch-a")
				if err != nil {
					staleMsg.Store(err.Error())
					stale.Add(1)
					return
				}
				got := int64(0)
				if row.Settings != nil {
					got, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(string(row.Settings), `{"n":`), "}"), 10, 64)
				}
				if got < want {
					staleMsg.Store(fmt.Sprintf("read n=%d after n=%d was applied", got, want))
					stale.Add(1)
				}
			}
		})
	}
	for n := int64(1); n <= 300; n++ {
		f.apply(&PutChildSettings{ParentID: "par-a", ChildID: "ch-a", Settings: fmt.Appendf(nil, `{"n":%d}`, n), UpdatedAt: baseTime + n})
		committed.Store(n)
	}
	close(stop)
	wg.Wait()
	if stale.Load() > 0 {
		t.Fatalf("%d stale reads, e.g. %v", stale.Load(), staleMsg.Load())
	}
	st := f.db.CacheStats()
	if st.Hits == 0 || st.Invalidations < 300 {
		t.Fatalf("cache stats %+v: want hits and ≥300 invalidations", st)
	}
}

// The command kinds that change cached rows drop exactly those entries.
func TestCacheInvalidatedByEachCommand(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	child := scopeActors["child A (own device)"]

	// A child device's profile: cached, then gone with the device.
	if _, err := f.db.Child(ctx, child, "ch-a"); err != nil {
		t.Fatal(err)
	}
	before := f.db.CacheStats().Hits
	if _, err := f.db.Child(ctx, child, "ch-a"); err != nil {
		t.Fatal(err)
	}
	if f.db.CacheStats().Hits != before+1 {
		t.Fatal("second read of a child device was not served from the cache")
	}
	f.revokeDevice("dev-a")
	if _, err := f.db.Child(ctx, child, "ch-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("child after revoke: %v, want ErrNotFound", err)
	}

	// Daisy's state: a chat turn carrying a new state replaces it.
	sib := scopeActors["child A (sibling's device)"]
	sib.ID = "ch-a2"
	if _, err := f.db.Companion(ctx, sib, "ch-a2"); err != nil {
		t.Fatal(err)
	}
	turn := f.turnCmd("fam-a", "ch-a2", "dev-a2", "ta2-2", "hi")
	turn.Companion = []byte("state-2")
	f.must(turn)
	row, err := f.db.Companion(ctx, sib, "ch-a2")
	if err != nil || !bytes.Equal(row.StateSealed, []byte("state-2")) {
		t.Fatalf("companion after turn: %q, %v", row.StateSealed, err)
	}

	// Signing keys.
	if _, err := f.db.SigningKeys(ctx); err != nil {
		t.Fatal(err)
	}
	f.must(&PutSigningKey{Kid: "k2", PublicKey: []byte("p"), PrivateSealed: []byte("s"), CreatedAt: baseTime + 100})
	keys, err := f.db.SigningKeys(ctx)
	if err != nil || len(keys) == 0 || keys[0].Kid != "k2" {
		t.Fatalf("keys after PutSigningKey: %+v, %v", keys, err)
	}
}

// A command kind the cache does not know flushes every entry.
func TestCacheUnknownCommandFlushes(t *testing.T) {
	keys, all := touches(unknownCommand{})
	if keys != nil || !all {
		t.Fatalf("touches(unknown) = %v, %v; want a full flush", keys, all)
	}
	c := newCache()
	_, _, tok := c.get("co\x00x")
	c.put("co\x00x", tok, 1)
	c.begin(nil, true)
	if _, hit, _ := c.get("co\x00x"); hit {
		t.Fatal("entry served during a flush")
	}
	c.end(nil, true)
	if _, hit, _ := c.get("co\x00x"); hit {
		t.Fatal("entry survived a flush")
	}
	// A value read before the flush may not be stored after it.
	c.put("co\x00x", tok, 1)
	if _, hit, _ := c.get("co\x00x"); hit {
		t.Fatal("stale put accepted")
	}
}

type unknownCommand struct{}

func (unknownCommand) Kind() string { return "unknown" }
func (unknownCommand) Version() int { return 1 }

// The slow-query log names the statement and never its parameters; every
// read gets the query timeout.
func TestSlowQueryLogAndTimeout(t *testing.T) {
	f := scopeWorld(t)
	var buf syncBuffer
	var observed atomic.Int64
	f.db.Instrument(Instrumentation{
		SlowQuery: time.Nanosecond, Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Observe: func(kind, name string, d time.Duration) { observed.Add(1) },
	})
	secret := []byte("secret-bidx-value")
	if _, err := f.db.ParentByEmailIndex(context.Background(), Actor{Role: RoleSystem}, secret); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `"statement":"select parents"`) {
		t.Fatalf("slow log lacks the statement name: %s", out)
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "?") {
		t.Fatalf("slow log shows parameters or SQL: %s", out)
	}
	if observed.Load() == 0 {
		t.Fatal("observer not called")
	}

	f.db.Instrument(Instrumentation{QueryTimeout: time.Nanosecond})
	if _, err := f.db.Child(context.Background(), Actor{Role: RoleSystem}, "ch-a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read with a 1ns timeout: %v, want DeadlineExceeded", err)
	}
}

func TestStatementName(t *testing.T) {
	for _, tc := range []struct{ q, want string }{
		{"SELECT id FROM parents WHERE email_bidx=?", "select parents"},
		{"SELECT c.id FROM children c JOIN devices d ON d.child_id = c.id WHERE c.id=?", "select children+devices"},
		{"INSERT INTO turns(id) VALUES (?)", "insert turns"},
		{"UPDATE sessions SET revoked_at=? WHERE id=?", "update sessions"},
		{"DELETE FROM link_codes WHERE child_id=?", "delete link_codes"},
		{"SELECT COALESCE((SELECT v FROM meta WHERE k='applied_index'),0)", "select meta"},
	} {
		if got := statementName(tc.q); got != tc.want {
			t.Errorf("statementName(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Chat turns update Daisy's row and the child's recent turns in the cache
// in place: after every batch (turns for two children, a stale turn, a turn
// from a revoked device, an unknown kind that flushes, settings that drop
// the row, a batch that fails as a whole) every read through the cache
// equals the database, and reads after a batch of turns are cache hits.
func TestChatTurnsUpdateTheCacheInPlace(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	kids := []struct {
		id, device string
		actor      Actor
	}{
		{"ch-a", "dev-a", scopeActors["child A (own device)"]},
		{"ch-a2", "dev-a2", scopeActors["sibling A2"]},
	}
	parent := scopeActors["parent A"]
	version := map[string]int64{}
	check := func(step string) {
		t.Helper()
		for _, k := range kids {
			for _, a := range []Actor{k.actor, parent} {
				for limit := 1; limit <= recentTurnsCap+2; limit++ {
					got, err := f.db.Turns(ctx, a, k.id, 0, limit)
					if err != nil {
						t.Fatalf("%s: Turns(%s, %d): %v", step, k.id, limit, err)
					}
					want, err := f.db.turns(ctx, scopeActors["system"], k.id, 0, limit)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: Turns(%s, limit %d) from the cache:\n%+v\nthe database:\n%+v", step, k.id, limit, got, want)
					}
				}
			}
			got, err := f.db.Companion(ctx, k.actor, k.id)
			if err != nil {
				t.Fatal(err)
			}
			want := CompanionRow{ChildID: k.id}
			err = f.db.wr().QueryRowContext(ctx, "SELECT state_sealed, state_at, state_version, settings, settings_at FROM companions WHERE child_id=?", k.id).
				Scan(&want.StateSealed, &want.StateAt, &want.StateVersion, &want.Settings, &want.SettingsAt)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: Companion(%s) from the cache %+v, the database %+v", step, k.id, got, want)
			}
			version[k.id] = want.StateVersion
		}
	}
	turn := func(k int, n int) *ChatTurn {
		c := f.turnCmd("fam-a", kids[k].id, kids[k].device, fmt.Sprintf("c%d-%d", k, n), fmt.Sprintf("message %d", n))
		c.Companion = fmt.Appendf(nil, "state %d of %s", n, kids[k].id)
		c.InCategories = []string{"pii"}
		base := version[kids[k].id]
		c.StateBase = &base
		version[kids[k].id]++
		return c
	}
	check("start")
	n := 0
	for round := range 6 {
		var cmds []Command
		for j := 0; j <= round; j++ {
			n++
			cmds = append(cmds, turn(j%2, n))
		}
		if round == 2 {
			stale := turn(0, 1000)
			stale.TurnID = "stale"
			*stale.StateBase = 0 // long gone: refused with ErrStale, nothing stored
			cmds = append(cmds, stale)
		}
		if round == 3 {
			revoked := f.turnCmd("fam-a", "ch-a", "dev-a-old", "revoked", "from a revoked device")
			cmds = append(cmds, revoked)
		}
		res := f.apply(cmds...)
		for i, r := range res {
			id := cmds[i].(*ChatTurn).TurnID
			if (id == "stale" || id == "revoked") != (r.Err != nil) {
				t.Fatalf("round %d: turn %s: %v", round, id, r.Err)
			}
		}
		// Stale versions of the failed turns' bases do not count.
		check(fmt.Sprintf("round %d", round))
		before := f.db.CacheStats()
		if _, err := f.db.Turns(ctx, kids[0].actor, "ch-a", 0, 4); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Companion(ctx, kids[0].actor, "ch-a"); err != nil {
			t.Fatal(err)
		}
		turnsHit := f.db.CacheStats()
		n++
		f.must(turn(0, n))
		mid := f.db.CacheStats()
		if _, err := f.db.Turns(ctx, kids[0].actor, "ch-a", 0, 4); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Companion(ctx, kids[0].actor, "ch-a"); err != nil {
			t.Fatal(err)
		}
		after := f.db.CacheStats()
		if turnsHit.Misses != before.Misses || after.Misses != mid.Misses {
			t.Fatalf("round %d: reads after a chat turn missed the cache (%+v → %+v, %+v → %+v)", round, before, turnsHit, mid, after)
		}
		check(fmt.Sprintf("round %d, one more turn", round))
	}

	// Settings drop Daisy's row (not updated in place) even in the batch of a turn.
	n++
	f.apply(turn(0, n), &PutChildSettings{ParentID: "par-a", ChildID: "ch-a", Settings: []byte(`{"x":1}`), UpdatedAt: baseTime + 9999})
	check("turn and settings")

	// A kind the cache does not list flushes everything, in the batch of a
	// turn too: nothing is stored from that batch, reads go to the database.
	n++
	f.apply(turn(0, n), &AddPolicyKey{KeyID: "nope", PublicKey: []byte("p"), By: "admin:x", At: 1})
	before := f.db.CacheStats()
	if _, err := f.db.Turns(ctx, kids[0].actor, "ch-a", 0, 4); err != nil {
		t.Fatal(err)
	}
	if f.db.CacheStats().Misses == before.Misses {
		t.Fatal("recent turns were served from the cache after a batch that flushed it")
	}
	check("turn and a flush")
	// A batch that fails as a whole (an entry this binary cannot decode)
	// changes nothing, in the database or in the cache.
	n++
	bad := []Entry{f.entry(turn(0, n)), {Index: f.idx + 1, Data: []byte(`{"t":"no_such_kind","v":1,"b":{}}`)}}
	f.idx++
	if _, err := f.db.ApplyBatch(ctx, bad); err == nil {
		t.Fatal("a batch with an undecodable entry applied")
	}
	version["ch-a"]--
	check("after a failing batch")
}

// Readers racing the FSM never see recent turns or Daisy's row older than
// what was applied before their read began (the in-place updates keep the
// begin/end guarantee of the cache).
func TestCacheInPlaceUpdatesNeverServeOldTurns(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	child := scopeActors["child A (own device)"]
	var committed atomic.Int64 // turns of ch-a applied beyond the 3 of scopeWorld
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := committed.Load()
				rows, err := f.db.Turns(ctx, child, "ch-a", 0, 2)
				if err != nil {
					bad.Store(err.Error())
					return
				}
				row, err := f.db.Companion(ctx, child, "ch-a")
				if err != nil {
					bad.Store(err.Error())
					return
				}
				if len(rows) == 0 || rows[0].Seq < 3+want || row.StateVersion < want {
					bad.Store(fmt.Sprintf("after %d turns applied: newest seq %v, state version %d", want, rows, row.StateVersion))
				}
			}
		})
	}
	for n := int64(1); n <= 200; n++ {
		c := f.turnCmd("fam-a", "ch-a", "dev-a", fmt.Sprintf("race-%d", n), "hi")
		c.Companion = []byte("state")
		f.must(c)
		committed.Store(n)
	}
	close(stop)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	if st := f.db.CacheStats(); st.Hits == 0 {
		t.Fatalf("cache stats %+v: no hits", st)
	}
}

// Long messages are not kept in the cache (an entry stays small): reads of
// such a child's recent turns go to the database, and are still right.
func TestRecentTurnsOfLongMessagesAreNotCached(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	child := scopeActors["child A (own device)"]
	read := func() (TurnRow, bool) {
		t.Helper()
		before := f.db.CacheStats().Misses
		rows, err := f.db.Turns(ctx, child, "ch-a", 0, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("Turns: %v, %v", rows, err)
		}
		_, _ = f.db.Child(ctx, child, "ch-a") // keep the device entry warm: only the turns can miss
		return rows[0], f.db.CacheStats().Misses == before
	}
	read() // warm
	f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "short", "hello"))
	if row, hit := read(); !hit || row.ID != "short" {
		t.Fatalf("short turn: newest %s, hit %v", row.ID, hit)
	}
	f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "long", strings.Repeat("a very long message ", 500)))
	if row, hit := read(); hit || row.ID != "long" {
		t.Fatalf("long turn: newest %s, hit %v; want a database read", row.ID, hit)
	}
	if row, hit := read(); hit || row.ID != "long" {
		t.Fatalf("long turn, read again: newest %s, hit %v; want a database read", row.ID, hit)
	}
}
