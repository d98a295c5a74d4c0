package raftcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Entry is a committed log entry handed to the StateMachine. Data is nil for
// entries that carry no command (configuration changes, no-ops): they only
// advance the applied index.
type Entry struct {
	Index uint64
	Data  []byte
	// At is when the leader appended the entry to its log (zero for
	// entries written before Raft recorded it).
	At time.Time
}

// Response is a StateMachine's deterministic answer to one command. It is
// what the leader returns to the node that proposed the command, so it must be
// serialisable: Code is "" on success, else a short machine-readable code.
type Response struct {
	Code string `json:"code,omitempty"`
	Data []byte `json:"data,omitempty"`
	// Index is the log index the command was committed at.
	Index uint64 `json:"index,omitempty"`
}

// StateMachine is what the cluster replicates into (the node's storage).
type StateMachine interface {
	// ApplyBatch applies entries atomically, skipping indexes already applied.
	// An error means the batch could not be made durable: the node must stop.
	ApplyBatch(ctx context.Context, entries []Entry) ([]Response, error)
	AppliedIndex(ctx context.Context) (uint64, error)
	// SnapshotTo writes a consistent copy of the state to a new file.
	SnapshotTo(ctx context.Context, path string) error
	// ReplaceWith replaces the state with a file written by SnapshotTo.
	ReplaceWith(ctx context.Context, path string) error
}

// codeApplyFailed marks entries the local state machine could not apply.
const codeApplyFailed = "apply_failed"

type fsm struct {
	sm      StateMachine
	key     []byte
	tmpDir  string
	log     *slog.Logger
	onFatal func(error)

	mu      sync.Mutex
	applied uint64
	notify  chan struct{} // closed and replaced whenever applied advances
}

func (f *fsm) advance(idx uint64) {
	f.mu.Lock()
	if idx > f.applied {
		f.applied = idx
		close(f.notify)
		f.notify = make(chan struct{})
	}
	f.mu.Unlock()
}

// waitApplied blocks until the state machine applied idx or ctx ends. idx
// must be the index of an entry the state machine sees (a command or a
// configuration change, as returned by Apply or leaderReadIndex), not a
// no-op or barrier, which never reach it.
func (f *fsm) waitApplied(ctx context.Context, idx uint64) error {
	for {
		f.mu.Lock()
		applied, ch := f.applied, f.notify
		f.mu.Unlock()
		if applied >= idx {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// appliedIndex is the last index the state machine applied.
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *fsm) ApplyBatch(logs []*raft.Log) []interface{} {
	entries := make([]Entry, len(logs))
	for i, l := range logs {
		entries[i] = Entry{Index: l.Index, At: l.AppendedAt}
		if l.Type == raft.LogCommand {
			entries[i].Data = l.Data
		}
	}
	out := make([]interface{}, len(logs))
	res, err := f.sm.ApplyBatch(context.Background(), entries)
	if err != nil {
		f.onFatal(fmt.Errorf("raftcluster: apply batch ending at %d: %w", logs[len(logs)-1].Index, err))
		for i := range out {
			out[i] = Response{Code: codeApplyFailed}
		}
		return out
	}
	for i := range out {
		// #nosec G602 -- res has one result per log entry (checked by the state machine adapter)
		res[i].Index = logs[i].Index
		out[i] = res[i]
	}
	f.advance(logs[len(logs)-1].Index)
	return out
}

func (f *fsm) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	ctx := context.Background()
	idx, err := f.sm.AppliedIndex(ctx)
	if err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(f.tmpDir, "snapshot-"+hex.EncodeToString(rnd[:])+".db")
	if err := f.sm.SnapshotTo(ctx, path); err != nil {
		return nil, err
	}
	return &fileSnapshot{path: path, index: idx, key: f.key}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	ctx := context.Background()
	idx, r, err := ReadSealHeader(rc, f.key)
	if err != nil {
		return err
	}
	defer r.Close()
	applied, err := f.sm.AppliedIndex(ctx)
	if err != nil {
		return err
	}
	if idx <= applied && applied > 0 {
		// The local database is already at or past this snapshot (a restart
		// with a durable database): keep it; Raft replays only later entries.
		f.log.Info("snapshot restore skipped: database already newer", "snapshot_index", idx, "applied_index", applied)
		return nil
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(f.tmpDir, "restore-"+hex.EncodeToString(rnd[:])+".db")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("raftcluster: restore snapshot %d: %w", idx, err)
	}
	if err := f.sm.ReplaceWith(ctx, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("raftcluster: restore snapshot %d: %w", idx, err)
	}
	f.advance(idx)
	f.log.Info("snapshot restored", "snapshot_index", idx)
	return nil
}

type fileSnapshot struct {
	path  string
	index uint64
	key   []byte
}

func (s *fileSnapshot) Persist(sink raft.SnapshotSink) error {
	err := func() error {
		in, err := os.Open(s.path)
		if err != nil {
			return err
		}
		defer in.Close()
		w, err := NewSealWriter(sink, s.key, s.index)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, in); err != nil {
			return err
		}
		return w.Close()
	}()
	if err != nil {
		return errors.Join(err, sink.Cancel())
	}
	return sink.Close()
}

func (s *fileSnapshot) Release() { os.Remove(s.path) }
