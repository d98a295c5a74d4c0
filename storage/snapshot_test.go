package storage

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// state is a comparable summary of everything the tests write.
type state struct {
	Applied  uint64
	Families int
	Children map[string][]string // parent -> child IDs
	Turns    map[string][]string // child -> turn IDs
	Devices  int
	Events   int
}

func (f *fixture) state() state {
	f.t.Helper()
	s := state{Applied: f.appliedIndex(), Children: map[string][]string{}, Turns: map[string][]string{}}
	s.Families = f.count("SELECT COUNT(*) FROM families")
	s.Devices = f.count("SELECT COUNT(*) FROM devices")
	s.Events = f.count("SELECT COUNT(*) FROM safety_events")
	for _, p := range []string{"par-a", "par-b"} {
		rows, err := f.db.Children(f.ctx, Actor{Role: RoleParent, ID: p})
		if err != nil {
			f.t.Fatalf("Children(%s): %v", p, err)
		}
		for _, c := range rows {
			s.Children[p] = append(s.Children[p], c.ID)
			turns, err := f.db.Turns(f.ctx, Actor{Role: RoleSystem}, c.ID, 0, 1000)
			if err != nil {
				f.t.Fatalf("Turns(%s): %v", c.ID, err)
			}
			for _, t := range turns {
				s.Turns[c.ID] = append(s.Turns[c.ID], t.ID)
			}
		}
	}
	return s
}

func snapshotWorld(t *testing.T) *fixture {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "t1", "one"))
	f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "t2", "two"))
	return f
}

// moreWrites applies commands after a snapshot.
func moreWrites(f *fixture) {
	f.signUp("fam-b", "par-b", "b@example.org")
	f.createChild("fam-b", "par-b", "ch-b", "Bo")
	f.createChild("fam-a", "par-a", "ch-a2", "Sis")
	esc := f.turnCmd("fam-a", "ch-a", "dev-a", "t3", "three")
	esc.Escalate, esc.EventID = true, "ev-1"
	f.must(esc)
}

func TestSnapshotReplaceWith(t *testing.T) {
	f := snapshotWorld(t)
	snapState := f.state()
	snapIdx := f.idx
	snap := filepath.Join(t.TempDir(), "snap.db")
	if err := f.db.SnapshotTo(f.ctx, snap); err != nil {
		t.Fatalf("SnapshotTo: %v", err)
	}
	// SnapshotTo refuses to overwrite an existing file.
	if err := f.db.SnapshotTo(f.ctx, snap); err == nil {
		t.Fatal("SnapshotTo overwrote an existing file")
	}

	moreWrites(f)
	after := f.state()
	if reflect.DeepEqual(after, snapState) {
		t.Fatal("test setup: state did not change after the snapshot")
	}

	if err := f.db.ReplaceWith(f.ctx, snap); err != nil {
		t.Fatalf("ReplaceWith: %v", err)
	}
	if got := f.state(); !reflect.DeepEqual(got, snapState) {
		t.Fatalf("state after ReplaceWith:\n got %+v\nwant %+v", got, snapState)
	}
	if got := f.appliedIndex(); got != snapIdx {
		t.Fatalf("AppliedIndex = %d, want the snapshot's %d", got, snapIdx)
	}
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Errorf("snapshot file not consumed: %v", err)
	}
	if v, err := f.db.SchemaVersion(f.ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	// The restored database works: the log continues from the snapshot index,
	// and replaying the entries after it reproduces the later state.
	f.idx = snapIdx
	moreWrites(f)
	if got := f.state(); !reflect.DeepEqual(got, after) {
		t.Fatalf("state after replaying on the restored DB:\n got %+v\nwant %+v", got, after)
	}
	// Nothing is left beside the database but its own files.
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "daisydog.db") {
			t.Errorf("unexpected file in the data dir: %s", e.Name())
		}
	}
}

// A snapshot is a plain SQLite file: it must hold the same sealed bytes, not plaintext.
func TestSnapshotStaysSealed(t *testing.T) {
	f := snapshotWorld(t)
	snap := filepath.Join(t.TempDir(), "snap.db")
	if err := f.db.SnapshotTo(f.ctx, snap); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, marker := range []string{"Rex", "a@example.org", "Woof! one"} {
		if strings.Contains(string(data), marker) {
			t.Errorf("snapshot contains plaintext %q", marker)
		}
	}
}

func writeSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// ReplaceWith must validate the candidate completely before it touches the
// live database: a refused snapshot leaves the database open, unchanged and
// writable. (Raft calls Restore with whatever arrived over the network.)
func TestReplaceWithRefusesBadSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, f *fixture, path string)
	}{
		{"missing file", func(t *testing.T, f *fixture, path string) {}},
		{"random bytes", func(t *testing.T, f *fixture, path string) {
			os.WriteFile(path, []byte(strings.Repeat("\x00garbage\xff", 1000)), 0o600)
		}},
		{"sqlite header then garbage", func(t *testing.T, f *fixture, path string) {
			os.WriteFile(path, append([]byte("SQLite format 3\x00"), []byte(strings.Repeat("x", 8192))...), 0o600)
		}},
		{"truncated snapshot", func(t *testing.T, f *fixture, path string) {
			full := path + ".full"
			if err := f.db.SnapshotTo(f.ctx, full); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(full)
			os.WriteFile(path, data[:len(data)/2+100], 0o600)
		}},
		{"corrupted pages", func(t *testing.T, f *fixture, path string) {
			full := path + ".full"
			if err := f.db.SnapshotTo(f.ctx, full); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(full)
			for i := 4096; i < len(data); i += 97 {
				data[i] ^= 0x5a
			}
			os.WriteFile(path, data, 0o600)
		}},
		// An empty file is a valid, empty SQLite database: accepting it would
		// wipe all state and reset the applied index to 0 (e.g. a transfer
		// cut short, or disk full while writing the snapshot).
		{"zero-length file", func(t *testing.T, f *fixture, path string) {
			os.WriteFile(path, nil, 0o600)
		}},
		// A healthy SQLite file that is not a DaisyDog database.
		{"foreign sqlite database", func(t *testing.T, f *fixture, path string) {
			writeSQLite(t, path, "CREATE TABLE notes(x TEXT)", "INSERT INTO notes VALUES ('hi')")
		}},
		// A snapshot from a newer binary (rolling upgrade, leader ahead):
		// Open would refuse it, but only after the live DB was closed and replaced.
		{"newer schema version", func(t *testing.T, f *fixture, path string) {
			if err := f.db.SnapshotTo(f.ctx, path); err != nil {
				t.Fatal(err)
			}
			writeSQLite(t, path, "INSERT INTO schema_migrations(version) VALUES (9999)")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := snapshotWorld(t)
			before := f.state()
			bad := filepath.Join(t.TempDir(), "bad.db")
			tc.make(t, f, bad)

			if err := f.db.ReplaceWith(f.ctx, bad); err == nil {
				t.Errorf("ReplaceWith accepted a bad snapshot")
			}
			if err := f.db.Ping(f.ctx); err != nil {
				t.Fatalf("database unusable after a refused ReplaceWith: Ping: %v", err)
			}
			if got := f.state(); !reflect.DeepEqual(got, before) {
				t.Fatalf("state changed by a refused ReplaceWith:\n got %+v\nwant %+v", got, before)
			}
			// Still writable.
			f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "t-after", "after"))
		})
	}
}

// ReplaceWith can be called repeatedly, and the result is what a later Open sees.
func TestReplaceWithTwiceAndReopen(t *testing.T) {
	f := snapshotWorld(t)
	s1 := filepath.Join(t.TempDir(), "s1.db")
	if err := f.db.SnapshotTo(f.ctx, s1); err != nil {
		t.Fatal(err)
	}
	want := f.state()
	moreWrites(f)
	s2 := filepath.Join(t.TempDir(), "s2.db")
	if err := f.db.SnapshotTo(f.ctx, s2); err != nil {
		t.Fatal(err)
	}
	want2 := f.state()
	if err := f.db.ReplaceWith(f.ctx, s1); err != nil {
		t.Fatal(err)
	}
	if got := f.state(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after s1: %+v, want %+v", got, want)
	}
	if err := f.db.ReplaceWith(f.ctx, s2); err != nil {
		t.Fatal(err)
	}
	if got := f.state(); !reflect.DeepEqual(got, want2) {
		t.Fatalf("after s2: %+v, want %+v", got, want2)
	}
	// Close and reopen from the path: the replaced content is what is on disk.
	path := f.db.Path()
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	if got := f.state(); !reflect.DeepEqual(got, want2) {
		t.Fatalf("after reopen: %+v, want %+v", got, want2)
	}
}

// A follower restores a snapshot while it keeps serving local reads (charter
// §3: reads are local by default). Reads running during ReplaceWith must see
// the old or the new state — never fail because the pools were closed under them.
func TestReplaceWithDuringReads(t *testing.T) {
	f := snapshotWorld(t)
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[string]int{}
		reads  atomic.Int64
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				rows, err := f.db.Turns(f.ctx, Actor{Role: RoleSystem}, "ch-a", 0, 10)
				reads.Add(1)
				if err == nil && len(rows) != 2 {
					err = fmt.Errorf("saw %d turns, want 2", len(rows))
				}
				if err != nil {
					mu.Lock()
					failed[err.Error()]++
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		p := filepath.Join(t.TempDir(), "snap.db")
		if err := f.db.SnapshotTo(f.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := f.db.ReplaceWith(f.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	for msg, n := range failed {
		t.Errorf("%d of %d concurrent reads failed: %s", n, reads.Load(), msg)
	}
}

// BackupTo copies a database that is open and being written; PrepareRestore
// keeps everything but the applied index, and refuses what is not a
// DaisyDog database.
func TestBackupToAndPrepareRestore(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-1", "Pip")
	f.must(&StartAlertOutbox{Now: baseTime}) // at an index of this log, which the restored one restarts
	f.must(&RotateCA{Step: CAStage, Fingerprint: "bbbb", CertPEM: "c", KeySealed: []byte("k"), PrevFingerprint: "aaaa", PrevCertPEM: "p",
		JoinSecretSealed: []byte("j"), JoinHash: "h", Operator: "n1", Now: baseTime}) // the old cluster's rotation
	applied, err := f.db.AppliedIndex(f.ctx)
	if err != nil || applied == 0 {
		t.Fatalf("applied index %d, %v", applied, err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	idx, err := BackupTo(f.ctx, f.db.Path(), dst)
	if err != nil || idx != applied {
		t.Fatalf("BackupTo = %d, %v; want %d", idx, err, applied)
	}
	f.createChild("fam-a", "par-a", "ch-2", "Pop") // after the copy: not in it
	if _, err := BackupTo(f.ctx, f.db.Path(), dst); err == nil {
		t.Fatal("BackupTo over an existing file")
	}
	if _, err := BackupTo(f.ctx, filepath.Join(t.TempDir(), "none.db"), filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("BackupTo of a missing database: %v", err)
	}

	// CheckFile reads the copy without changing it.
	for range 2 {
		if got, err := CheckFile(f.ctx, dst); err != nil || got != applied {
			t.Fatalf("CheckFile = %d, %v; want %d", got, err, applied)
		}
	}
	old, err := PrepareRestore(f.ctx, dst)
	if err != nil || old != applied {
		t.Fatalf("PrepareRestore = %d, %v; want %d", old, err, applied)
	}
	db, err := Open(f.ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if idx, err := db.AppliedIndex(f.ctx); err != nil || idx != 0 {
		t.Fatalf("restored applied index %d, %v; want 0", idx, err)
	}
	if o, err := db.AlertOutboxState(f.ctx); err != nil || !o.Started || o.StartIndex != 0 {
		t.Fatalf("restored alert outbox %+v, %v; want started at index 0 (every escalation of the new log)", o, err)
	}
	if _, found, err := db.LatestCARotation(f.ctx); err != nil || found {
		t.Fatalf("the restored database keeps the old cluster's CA rotation (%v): the new cluster has a CA of its own", err)
	}
	var children int
	if err := db.rd().QueryRowContext(f.ctx, "SELECT COUNT(*) FROM children").Scan(&children); err != nil || children != 1 {
		t.Fatalf("restored children: %d, %v; want the one before the copy", children, err)
	}

	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("not a database at all, just words"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareRestore(f.ctx, junk); err == nil {
		t.Fatal("PrepareRestore accepted a file that is no database")
	}
	if _, err := CheckFile(f.ctx, junk); err == nil {
		t.Fatal("CheckFile accepted a file that is no database")
	}
	if _, err := CheckFile(f.ctx, filepath.Join(t.TempDir(), "none.db")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("CheckFile of a missing file: %v", err)
	}
}
