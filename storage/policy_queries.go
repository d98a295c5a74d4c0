package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PolicyKey is a trusted policy-signing public key.
type PolicyKey struct {
	KeyID     string
	PublicKey []byte
	AddedAt   int64
	AddedBy   string
}

// PolicyKeys returns the trusted policy-signing keys.
func (db *DB) PolicyKeys(ctx context.Context) ([]PolicyKey, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, "SELECT key_id, public_key, added_at, added_by FROM policy_keys ORDER BY added_at, key_id")
	if err != nil {
		return nil, fmt.Errorf("storage: policy keys: %w", err)
	}
	defer rows.Close()
	var out []PolicyKey
	for rows.Next() {
		var k PolicyKey
		if err := rows.Scan(&k.KeyID, &k.PublicKey, &k.AddedAt, &k.AddedBy); err != nil {
			return nil, fmt.Errorf("storage: policy keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// StagedPolicy is a staged bundle's metadata.
type StagedPolicy struct {
	ID       string
	SHA256   string
	KeyID    string
	StagedAt int64
	StagedBy string
}

// PolicyState is the replicated policy lifecycle state.
type PolicyState struct {
	Active  string   // "" = the embedded default
	History []string // activation history, oldest first (Active is last)
	Shadow  string   // "" = none
	Staged  []StagedPolicy
	Reports []PolicyReport
}

// PolicyReport is one node's compile and self-test result for a bundle.
type PolicyReport struct {
	Node, ID string
	OK       bool
	Error    string
	At       int64
}

// PolicyState reads the policy lifecycle state.
func (db *DB) PolicyState(ctx context.Context) (PolicyState, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var st PolicyState
	rows, err := db.query(ctx, "SELECT bundle_id FROM policy_activations ORDER BY seq")
	if err != nil {
		return st, fmt.Errorf("storage: policy state: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return st, fmt.Errorf("storage: policy state: %w", err)
		}
		st.History = append(st.History, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("storage: policy state: %w", err)
	}
	if n := len(st.History); n > 0 {
		st.Active = st.History[n-1]
	}
	err = db.queryRow(ctx, "SELECT bundle_id FROM policy_shadow WHERE id=1").Scan(&st.Shadow)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("storage: policy shadow: %w", err)
	}
	rows, err = db.query(ctx, "SELECT id, sha256, key_id, staged_at, staged_by FROM policy_bundles ORDER BY staged_at, id")
	if err != nil {
		return st, fmt.Errorf("storage: staged policies: %w", err)
	}
	for rows.Next() {
		var s StagedPolicy
		if err := rows.Scan(&s.ID, &s.SHA256, &s.KeyID, &s.StagedAt, &s.StagedBy); err != nil {
			rows.Close()
			return st, fmt.Errorf("storage: staged policies: %w", err)
		}
		st.Staged = append(st.Staged, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("storage: staged policies: %w", err)
	}
	rows, err = db.query(ctx, "SELECT node_id, bundle_id, ok, error, at FROM policy_reports ORDER BY bundle_id, node_id")
	if err != nil {
		return st, fmt.Errorf("storage: policy reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r PolicyReport
		if err := rows.Scan(&r.Node, &r.ID, &r.OK, &r.Error, &r.At); err != nil {
			return st, fmt.Errorf("storage: policy reports: %w", err)
		}
		st.Reports = append(st.Reports, r)
	}
	return st, rows.Err()
}

// PolicyBundle returns a staged bundle's compressed bytes.
func (db *DB) PolicyBundle(ctx context.Context, id string) ([]byte, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var b []byte
	err := db.queryRow(ctx, "SELECT bundle FROM policy_bundles WHERE id=?", id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: policy bundle %s: %w", id, err)
	}
	return b, nil
}

// ShadowCount is one node's shadow-run counts for a candidate compared
// with an active version.
type ShadowCount struct {
	Node, ID, Against                     string
	Evaluated, Disagreed, Errors, Skipped uint64
	At                                    int64 // last report (unix ms)
}

// ShadowCounts returns every node's reported shadow counts.
func (db *DB) ShadowCounts(ctx context.Context) ([]ShadowCount, error) {
	rows, err := db.query(ctx, "SELECT node_id, bundle_id, against, evaluated, disagreed, errors, skipped, at FROM policy_shadow_counts ORDER BY bundle_id, against, node_id")
	if err != nil {
		return nil, fmt.Errorf("storage: shadow counts: %w", err)
	}
	defer rows.Close()
	var out []ShadowCount
	for rows.Next() {
		var c ShadowCount
		var ev, dis, er, sk int64
		if err := rows.Scan(&c.Node, &c.ID, &c.Against, &ev, &dis, &er, &sk, &c.At); err != nil {
			return nil, fmt.Errorf("storage: shadow counts: %w", err)
		}
		c.Evaluated, c.Disagreed, c.Errors, c.Skipped = uint64(ev), uint64(dis), uint64(er), uint64(sk)
		out = append(out, c)
	}
	return out, rows.Err()
}
