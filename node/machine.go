package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"daisydog/node/api"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// machine adapts storage to raftcluster.StateMachine: it turns storage
// results into serialisable responses and tells the node when replicated
// configuration (signing keys) changed.
type machine struct {
	db          *storage.DB
	vault       *storage.Vault
	keysChanged chan struct{}
	caChanged   chan struct{} // a CA rotation step was applied (carotation.go)
	// policyChanged installs the replicated policy state (node/policy.go);
	// called on the apply goroutine after a batch that changed it.
	policyChanged func(ctx context.Context, index uint64)
	metrics       *api.Metrics // nil in tests that build a bare machine
	// stop ends a wait for disk space (the node is closing); log reports it.
	stop <-chan struct{}
	log  *slog.Logger
	// archive, when set, receives every applied batch (archive.go);
	// applied is the index applied before the next batch, read from the
	// database when unknown (at start, after a snapshot was installed).
	// ApplyBatch and ReplaceWith run on Raft's one apply goroutine.
	archive      *logArchive
	applied      uint64
	appliedKnown bool
}

// changesPolicy: kinds after which the active or shadow policy may change
// (or a staged bundle must be compiled).
func changesPolicy(kind string) bool {
	switch kind {
	case storage.KindStagePolicy, storage.KindActivatePolicy, storage.KindShadowPolicy, storage.KindRollbackPolicy, storage.KindUnstagePolicy:
		return true
	}
	return false
}

func (m *machine) ApplyBatch(ctx context.Context, entries []raftcluster.Entry) ([]raftcluster.Response, error) {
	in := make([]storage.Entry, len(entries))
	for i, e := range entries {
		in[i] = storage.Entry{Index: e.Index, Data: e.Data}
	}
	if m.metrics != nil {
		m.metrics.ObserveBatch(len(in))
	}
	if m.archive != nil && !m.appliedKnown {
		idx, err := m.db.AppliedIndex(ctx)
		if err != nil {
			return nil, err
		}
		m.applied, m.appliedKnown = idx, true
	}
	res, err := m.applyWaitingForSpace(ctx, in)
	if err != nil {
		return nil, err
	}
	if m.archive != nil && len(entries) > 0 {
		m.archiveApplied(entries)
	}
	out := make([]raftcluster.Response, len(res))
	policyChanged := false
	for i, r := range res {
		policyChanged = policyChanged || (r.Err == nil && changesPolicy(r.Kind))
		switch {
		case r.Err == nil:
			if r.Value != nil {
				b, err := json.Marshal(r.Value)
				if err != nil {
					return nil, err
				}
				out[i].Data = b
			}
		case errors.Is(r.Err, storage.ErrConflict):
			out[i].Code = api.CodeConflict
		case errors.Is(r.Err, storage.ErrNotFound):
			out[i].Code = api.CodeNotFound
		case errors.Is(r.Err, storage.ErrEmailUnverified):
			out[i].Code = api.CodeEmailUnverified
		case errors.Is(r.Err, storage.ErrForbidden):
			out[i].Code = api.CodeForbidden
		case errors.Is(r.Err, storage.ErrInvalidAssignee):
			out[i].Code = api.CodeInvalidAssignee
		default:
			out[i].Code = api.CodeRejected
		}
		if d, ok := r.Value.(storage.FamilyDeleted); ok && m.vault != nil {
			m.vault.Forget(d.FamilyID) // the wrapped key is gone; drop the cached one too
		}
		if r.Kind == storage.KindRotateCA && r.Err == nil {
			select {
			case m.caChanged <- struct{}{}:
			default:
			}
		}
		if r.Kind == storage.KindPutSigningKey || r.Kind == storage.KindRetireKeys {
			select {
			case m.keysChanged <- struct{}{}:
			default:
			}
		}
	}
	if policyChanged && m.policyChanged != nil && len(entries) > 0 {
		m.policyChanged(ctx, entries[len(entries)-1].Index)
	}
	return out, nil
}

// diskFullRetry is how often a batch is retried while the disk is full.
const diskFullRetry = 500 * time.Millisecond

// applyWaitingForSpace applies a batch; while it fails because the disk is
// full it waits and retries instead of failing. The entries are committed, so
// the node may not skip them, and exiting would only replay them into the
// same full disk on restart. The batch is one transaction, so a failed
// attempt left nothing behind. Other errors, and closing, end the wait.
func (m *machine) applyWaitingForSpace(ctx context.Context, in []storage.Entry) ([]storage.Result, error) {
	for attempt := 0; ; attempt++ {
		res, err := m.db.ApplyBatch(ctx, in)
		if err == nil || !isDiskFull(err) {
			if err == nil && attempt > 0 && m.log != nil {
				m.log.Info("disk space returned: applying again", "attempts", attempt+1)
			}
			return res, err
		}
		if attempt == 0 && m.log != nil {
			m.log.Warn("disk full: waiting for space to apply committed entries", "first_index", in[0].Index, "err", err)
		}
		select {
		case <-m.stop:
			return nil, err
		case <-ctx.Done():
			return nil, err
		case <-time.After(diskFullRetry):
		}
	}
}

func (m *machine) AppliedIndex(ctx context.Context) (uint64, error) { return m.db.AppliedIndex(ctx) }
func (m *machine) SnapshotTo(ctx context.Context, path string) error {
	return m.db.SnapshotTo(ctx, path)
}

// archiveApplied hands the log archive what this batch applied: entries
// at or below the index applied before it were skipped (replayed after a
// restart) and are not archived again.
func (m *machine) archiveApplied(entries []raftcluster.Entry) {
	from, to := m.applied, entries[len(entries)-1].Index
	if to <= from {
		return
	}
	first := 0
	for first < len(entries) && entries[first].Index <= from {
		first++
	}
	m.archive.appendBatch(from, to, entries[first:])
	m.applied = to
}

func (m *machine) ReplaceWith(ctx context.Context, path string) error {
	m.appliedKnown = false // a snapshot jumps ahead: the archive has a gap there
	if err := m.db.ReplaceWith(ctx, path); err != nil {
		return err
	}
	if m.policyChanged != nil {
		if idx, err := m.db.AppliedIndex(ctx); err == nil {
			m.policyChanged(ctx, idx)
		}
	}
	for _, ch := range []chan struct{}{m.keysChanged, m.caChanged} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}
