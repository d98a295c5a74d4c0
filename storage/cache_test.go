package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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
