package raftcluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func newTestFSM(t *testing.T, key []byte) (*fsm, *sqlMachine, *[]error) {
	t.Helper()
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	sm := newSQLMachine(t, filepath.Join(dir, "sm.db"))
	var fatal []error
	f := &fsm{sm: sm, key: key, tmpDir: tmp, log: slog.New(slog.DiscardHandler),
		onFatal: func(err error) { fatal = append(fatal, err) }, notify: make(chan struct{})}
	return f, sm, &fatal
}

func cmdLog(idx uint64, data string) *raft.Log {
	return &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: []byte(data)}
}

func TestFSMApplyBatch(t *testing.T) {
	f, sm, fatal := newTestFSM(t, testKey(t))
	logs := []*raft.Log{
		cmdLog(1, "a"),
		{Index: 2, Term: 1, Type: raft.LogNoop, Data: []byte("not a command")},
		{Index: 3, Term: 1, Type: raft.LogConfiguration, Data: []byte("not a command either")},
		cmdLog(4, "b"),
	}
	out := f.ApplyBatch(logs)
	if len(out) != len(logs) || len(*fatal) != 0 {
		t.Fatalf("got %d responses, fatal %v", len(out), *fatal)
	}
	for i, want := range []Response{{Data: []byte("ok:a"), Index: 1}, {Index: 2}, {Index: 3}, {Data: []byte("ok:b"), Index: 4}} {
		got := out[i].(Response)
		if got.Code != want.Code || !bytes.Equal(got.Data, want.Data) || got.Index != want.Index {
			t.Errorf("response %d = %+v, want %+v", i, got, want)
		}
	}
	if sm.get(2) != "" || sm.get(3) != "" {
		t.Error("non-command entries reached the state machine as commands")
	}
	if sm.applied() != 4 || f.applied != 4 {
		t.Fatalf("applied sm=%d fsm=%d, want 4", sm.applied(), f.applied)
	}
	// Replaying applied entries is a no-op.
	f.ApplyBatch([]*raft.Log{cmdLog(4, "b"), cmdLog(5, "c")})
	if sm.count("b") != 1 || sm.get(5) != "c" {
		t.Fatalf("replay: b stored %d times, entry 5 = %q", sm.count("b"), sm.get(5))
	}
	// Single-entry Apply goes through the same path.
	if r := f.Apply(cmdLog(6, "d")).(Response); string(r.Data) != "ok:d" || r.Index != 6 {
		t.Fatalf("Apply = %+v", r)
	}
}

func TestFSMApplyFailureIsFatal(t *testing.T) {
	f, sm, fatal := newTestFSM(t, testKey(t))
	boom := errors.New("disk full")
	fail := func([]Entry) error { return boom }
	sm.fail.Store(&fail)
	out := f.ApplyBatch([]*raft.Log{cmdLog(1, "a"), cmdLog(2, "b")})
	if len(*fatal) != 1 || !errors.Is((*fatal)[0], boom) {
		t.Fatalf("onFatal calls = %v, want one wrapping %v", *fatal, boom)
	}
	for i, r := range out {
		if r.(Response).Code == "" {
			t.Errorf("response %d = %+v, want a failure code", i, r)
		}
	}
	if f.applied != 0 {
		t.Fatalf("applied index advanced to %d after a failed batch", f.applied)
	}
}

func TestFSMWaitApplied(t *testing.T) {
	f, _, _ := newTestFSM(t, testKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.waitApplied(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waitApplied before apply = %v, want deadline exceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- f.waitApplied(ctx, 2)
	}()
	f.ApplyBatch([]*raft.Log{cmdLog(1, "a")})
	f.ApplyBatch([]*raft.Log{cmdLog(2, "b")})
	if err := <-done; err != nil {
		t.Fatalf("waitApplied(2) = %v", err)
	}
	if err := f.waitApplied(context.Background(), 1); err != nil {
		t.Fatalf("waitApplied of an old index = %v", err)
	}
}

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "test" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

// snapshotOf takes a sealed snapshot of f through the raft.FSM interface.
func snapshotOf(t *testing.T, f *fsm) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed || sink.cancelled {
		t.Fatalf("Persist: %v (closed %v, cancelled %v)", err, sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

func TestFSMSnapshotRestore(t *testing.T) {
	key := testKey(t)
	const marker = "MARKER-fsm-snapshot-51c0"
	src, _, _ := newTestFSM(t, key)
	for i := uint64(1); i <= 20; i++ {
		src.ApplyBatch([]*raft.Log{cmdLog(i, marker)})
	}
	snap := snapshotOf(t, src)
	if bytes.Contains(snap, []byte(marker)) {
		t.Fatal("sealed snapshot contains the plaintext marker")
	}
	meta, r, err := ReadSealHeader(bytes.NewReader(snap), key)
	if err != nil || meta != 20 {
		t.Fatalf("snapshot header: meta %d, err %v", meta, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil || !bytes.Contains(plain, []byte(marker)) {
		t.Fatalf("snapshot content: err %v, contains marker %v", err, bytes.Contains(plain, []byte(marker)))
	}
	if ents, _ := os.ReadDir(src.tmpDir); len(ents) != 0 {
		t.Errorf("Release left %d files in the tmp dir", len(ents))
	}

	tampered := bytes.Clone(snap)
	tampered[len(tampered)/2] ^= 1
	cases := []struct {
		name        string
		data        []byte
		key         []byte
		preApplied  uint64 // entries already applied on the target
		wantErr     bool
		wantReplace bool
		wantApplied uint64
	}{
		{"empty target restores", snap, key, 0, false, true, 20},
		{"older target restores", snap, key, 5, false, true, 20},
		{"target at the snapshot index skips", snap, key, 20, false, false, 20},
		{"newer target skips", snap, key, 30, false, false, 30},
		{"wrong key refused", snap, testKey(t), 0, true, false, 0},
		{"tampered refused", tampered, key, 0, true, false, 0},
		{"truncated refused", snap[:len(snap)-10], key, 0, true, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst, sm, _ := newTestFSM(t, tc.key)
			for i := uint64(1); i <= tc.preApplied; i++ {
				dst.ApplyBatch([]*raft.Log{cmdLog(i, "local")})
			}
			err := dst.Restore(io.NopCloser(bytes.NewReader(tc.data)))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Restore = %v, want error %v", err, tc.wantErr)
			}
			if got := sm.replaced.Load() > 0; got != tc.wantReplace {
				t.Fatalf("ReplaceWith called = %v, want %v", got, tc.wantReplace)
			}
			if sm.applied() != tc.wantApplied || dst.applied != tc.wantApplied {
				t.Fatalf("applied sm=%d fsm=%d, want %d", sm.applied(), dst.applied, tc.wantApplied)
			}
			if tc.wantReplace && sm.count(marker) != 20 {
				t.Fatalf("restored state holds the marker %d times, want 20", sm.count(marker))
			}
			if tc.wantErr && sm.count(marker) != 0 {
				t.Fatal("a refused snapshot changed the state")
			}
			if ents, _ := os.ReadDir(dst.tmpDir); len(ents) != 0 {
				t.Errorf("restore left %d files in the tmp dir", len(ents))
			}
		})
	}
}
