package raftcluster

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// failingSink refuses every write; Persist must cancel it, never close it.
type failingSink struct{ memSink }

func (s *failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestFSMSnapshotErrors: a snapshot that cannot be taken or written is
// reported to raft as an error and the sink is cancelled, so raft keeps the
// previous snapshot instead of a partial one.
func TestFSMSnapshotErrors(t *testing.T) {
	t.Run("state machine closed", func(t *testing.T) {
		f, sm, _ := newTestFSM(t, testKey(t))
		sm.close()
		if snap, err := f.Snapshot(); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("Snapshot of a closed state machine = %v, %v; want the machine's error", snap, err)
		}
	})
	t.Run("tmp dir gone", func(t *testing.T) {
		f, _, _ := newTestFSM(t, testKey(t))
		f.ApplyBatch([]*raft.Log{cmdLog(1, "a")})
		if err := os.RemoveAll(f.tmpDir); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Snapshot(); err == nil {
			t.Fatal("Snapshot into a missing directory succeeded")
		}
	})
	t.Run("copy released before persist", func(t *testing.T) {
		f, _, _ := newTestFSM(t, testKey(t))
		f.ApplyBatch([]*raft.Log{cmdLog(1, "a")})
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		snap.Release()
		var sink memSink
		if err := snap.Persist(&sink); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Persist of a released snapshot = %v, want not-exist", err)
		}
		if !sink.cancelled || sink.closed || sink.Len() != 0 {
			t.Fatalf("sink cancelled %v closed %v with %d bytes; want cancelled, empty", sink.cancelled, sink.closed, sink.Len())
		}
	})
	t.Run("sink refuses writes", func(t *testing.T) {
		f, _, _ := newTestFSM(t, testKey(t))
		f.ApplyBatch([]*raft.Log{cmdLog(1, "a")})
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		var sink failingSink
		if err := snap.Persist(&sink); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Persist to a failing sink = %v", err)
		}
		if !sink.cancelled || sink.closed {
			t.Fatalf("sink cancelled %v closed %v; want cancelled only", sink.cancelled, sink.closed)
		}
	})
	t.Run("bad snapshot key", func(t *testing.T) {
		f, _, _ := newTestFSM(t, []byte("short"))
		f.ApplyBatch([]*raft.Log{cmdLog(1, "a")})
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		var sink memSink
		if err := snap.Persist(&sink); err == nil || !sink.cancelled {
			t.Fatalf("Persist with a 5-byte key = %v (cancelled %v)", err, sink.cancelled)
		}
	})
}

// sealed returns data sealed under key with meta, as a snapshot file holds it.
func sealed(t *testing.T, key []byte, meta uint64, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewSealWriter(&buf, key, meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFSMRestoreErrors: a restore that fails leaves the local state and the
// applied index untouched and no plaintext copy in the tmp dir.
func TestFSMRestoreErrors(t *testing.T) {
	key := testKey(t)
	cases := []struct {
		name    string
		data    []byte
		prepare func(t *testing.T, f *fsm, sm *sqlMachine)
		want    string
	}{
		{"not a database", sealed(t, key, 5, []byte("this is not an SQLite file")), nil, "restore snapshot 5"},
		{"state machine closed", sealed(t, key, 5, nil), func(t *testing.T, f *fsm, sm *sqlMachine) { sm.close() }, "closed"},
		{"tmp dir gone", sealed(t, key, 5, nil), func(t *testing.T, f *fsm, sm *sqlMachine) {
			if err := os.RemoveAll(f.tmpDir); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
		{"not sealed", []byte("plain bytes, no header at all, long enough"), nil, "raftcluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, sm, _ := newTestFSM(t, key)
			if tc.prepare != nil {
				tc.prepare(t, f, sm)
			}
			err := f.Restore(io.NopCloser(bytes.NewReader(tc.data)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore = %v, want an error containing %q", err, tc.want)
			}
			if sm.replaced.Load() != 0 || f.appliedIndex() != 0 {
				t.Fatalf("failed restore replaced %d times, applied %d", sm.replaced.Load(), f.appliedIndex())
			}
			if ents, _ := os.ReadDir(f.tmpDir); len(ents) != 0 {
				t.Fatalf("failed restore left %d files in the tmp dir", len(ents))
			}
		})
	}
}
