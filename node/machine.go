package node

import (
	"context"
	"encoding/json"
	"errors"

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
}

func (m *machine) ApplyBatch(ctx context.Context, entries []raftcluster.Entry) ([]raftcluster.Response, error) {
	in := make([]storage.Entry, len(entries))
	for i, e := range entries {
		in[i] = storage.Entry{Index: e.Index, Data: e.Data}
	}
	res, err := m.db.ApplyBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	out := make([]raftcluster.Response, len(res))
	for i, r := range res {
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
		default:
			out[i].Code = api.CodeRejected
		}
		if d, ok := r.Value.(storage.FamilyDeleted); ok && m.vault != nil {
			m.vault.Forget(d.FamilyID) // the wrapped key is gone; drop the cached one too
		}
		if r.Kind == storage.KindPutSigningKey || r.Kind == storage.KindRetireKeys {
			select {
			case m.keysChanged <- struct{}{}:
			default:
			}
		}
	}
	return out, nil
}

func (m *machine) AppliedIndex(ctx context.Context) (uint64, error) { return m.db.AppliedIndex(ctx) }
func (m *machine) SnapshotTo(ctx context.Context, path string) error {
	return m.db.SnapshotTo(ctx, path)
}
func (m *machine) ReplaceWith(ctx context.Context, path string) error {
	if err := m.db.ReplaceWith(ctx, path); err != nil {
		return err
	}
	select {
	case m.keysChanged <- struct{}{}:
	default:
	}
	return nil
}
