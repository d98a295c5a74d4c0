package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Entry is one replicated log entry to apply.
type Entry struct {
	Index uint64
	Data  []byte
}

// Result is the deterministic outcome of one command.
type Result struct {
	Kind  string // command kind ("" for entries without a command)
	Value any
	Err   error
}

// ApplyBatch applies entries in one transaction, skipping any whose index is
// not above the recorded applied index, and records the new applied index.
// A command that fails deterministically (conflict, not found, malformed)
// is rolled back alone and reported in its Result; an error from the
// transaction itself (I/O, disk full) is returned and nothing is recorded, so
// the caller must stop rather than diverge from the log.
func (db *DB) ApplyBatch(ctx context.Context, entries []Entry) ([]Result, error) {
	results := make([]Result, len(entries))
	db.swap.RLock()
	defer db.swap.RUnlock()
	tx, err := db.wr().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("storage: begin apply: %w", err)
	}
	defer tx.Rollback()
	var applied int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE((SELECT v FROM meta WHERE k='applied_index'),0)").Scan(&applied); err != nil {
		return nil, fmt.Errorf("storage: read applied index: %w", err)
	}
	last := uint64(applied)
	for i, e := range entries {
		if e.Index != 0 && e.Index <= uint64(applied) {
			results[i] = Result{Err: fmt.Errorf("storage: index %d already applied", e.Index)}
			continue
		}
		if e.Index > last {
			last = e.Index
		}
		if e.Data == nil {
			continue // a non-command entry that only advances the index
		}
		cmd, err := Decode(e.Data)
		if err != nil {
			// A kind or version this binary does not know: skipping it would
			// diverge from nodes that applied it, so refuse the whole batch.
			return nil, fmt.Errorf("storage: entry %d: %w", e.Index, err)
		}
		if c, ok := cmd.(*ChatTurn); ok && c.DeviceID == "" {
			return nil, fmt.Errorf("storage: entry %d: chat turn without a device", e.Index)
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT cmd"); err != nil {
			return nil, fmt.Errorf("storage: savepoint: %w", err)
		}
		val, cerr := applyOne(ctx, tx, cmd)
		if cerr != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO cmd"); err != nil {
				return nil, fmt.Errorf("storage: rollback savepoint: %w", err)
			}
			if !isDeterministic(cerr) {
				return nil, fmt.Errorf("storage: apply %s at %d: %w", cmd.Kind(), e.Index, cerr)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE cmd"); err != nil {
			return nil, fmt.Errorf("storage: release savepoint: %w", err)
		}
		results[i] = Result{Kind: cmd.Kind(), Value: val, Err: cerr}
	}
	if last > uint64(applied) {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO meta(k,v) VALUES('applied_index',?) ON CONFLICT(k) DO UPDATE SET v=excluded.v", int64(last)); err != nil {
			return nil, fmt.Errorf("storage: record applied index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("storage: commit apply: %w", err)
	}
	return results, nil
}

// Apply applies a single command outside Raft (tests and tools).
func (db *DB) Apply(ctx context.Context, index uint64, c Command) (any, error) {
	data, err := Encode(c)
	if err != nil {
		return nil, err
	}
	res, err := db.ApplyBatch(ctx, []Entry{{Index: index, Data: data}})
	if err != nil {
		return nil, err
	}
	return res[0].Value, res[0].Err
}

// deterministicError marks command outcomes every replica reaches identically.
type deterministicError struct{ err error }

func (d deterministicError) Error() string { return d.err.Error() }
func (d deterministicError) Unwrap() error { return d.err }

func outcome(err error) error { return deterministicError{err} }

func isDeterministic(err error) bool {
	var d deterministicError
	if errors.As(err, &d) {
		return true
	}
	// Constraint violations depend only on replicated state.
	msg := err.Error()
	return strings.Contains(msg, "constraint failed")
}

func applyOne(ctx context.Context, tx *sql.Tx, c Command) (any, error) {
	switch c := c.(type) {
	case *PutSigningKey:
		_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO signing_keys(kid, public_key, private_sealed, created_at) VALUES (?,?,?,?)",
			c.Kid, c.PublicKey, c.PrivateSealed, c.CreatedAt)
		return nil, err
	case *SignUp:
		return nil, applySignUp(ctx, tx, c)
	case *CreateChild:
		return nil, applyCreateChild(ctx, tx, c)
	case *CreateLinkCode:
		return nil, applyCreateLinkCode(ctx, tx, c)
	case *RedeemLinkCode:
		return applyRedeem(ctx, tx, c)
	case *ChatTurn:
		return applyChatTurn(ctx, tx, c)
	}
	return nil, outcome(fmt.Errorf("storage: no applier for %s", c.Kind()))
}

func applySignUp(ctx context.Context, tx *sql.Tx, c *SignUp) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM parents WHERE email_bidx=?", c.EmailIndex).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return outcome(ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO families(id, wrapped_key, created_at) VALUES (?,?,?)",
		c.FamilyID, c.WrappedKey, c.CreatedAt); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO parents(id, family_id, email_bidx, email_sealed, password_hash, created_at)
		VALUES (?,?,?,?,?,?)`, c.ParentID, c.FamilyID, c.EmailIndex, c.EmailSealed, c.PasswordHash, c.CreatedAt)
	return err
}

func parentFamily(ctx context.Context, tx *sql.Tx, parentID string) (string, error) {
	var fam string
	err := tx.QueryRowContext(ctx, "SELECT family_id FROM parents WHERE id=?", parentID).Scan(&fam)
	if errors.Is(err, sql.ErrNoRows) {
		return "", outcome(ErrNotFound)
	}
	return fam, err
}

func applyCreateChild(ctx context.Context, tx *sql.Tx, c *CreateChild) error {
	fam, err := parentFamily(ctx, tx, c.ParentID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO children(id, family_id, nickname_sealed, age_tier, created_at) VALUES (?,?,?,?,?)",
		c.ChildID, fam, c.NicknameSealed, c.AgeTier, c.CreatedAt)
	return err
}

func applyCreateLinkCode(ctx context.Context, tx *sql.Tx, c *CreateLinkCode) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM children c JOIN parents p ON p.family_id = c.family_id
		WHERE c.id=? AND p.id=?`, c.ChildID, c.ParentID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return outcome(ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM link_codes WHERE child_id=? AND used_at IS NULL", c.ChildID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO link_codes(code_hash, child_id, created_at, expires_at) VALUES (?,?,?,?)",
		c.CodeHash, c.ChildID, c.CreatedAt, c.ExpiresAt)
	return err
}

func applyRedeem(ctx context.Context, tx *sql.Tx, c *RedeemLinkCode) (any, error) {
	row := tx.QueryRowContext(ctx, "SELECT "+childCols+` FROM link_codes l JOIN children c ON c.id = l.child_id
		WHERE l.code_hash=? AND l.used_at IS NULL AND l.expires_at > ?`, c.CodeHash, c.Now)
	child, err := scanChild(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome(ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE link_codes SET used_at=? WHERE code_hash=?", c.Now, c.CodeHash); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO devices(id, child_id, created_at) VALUES (?,?,?)", c.DeviceID, child.ID, c.Now); err != nil {
		return nil, err
	}
	return LinkedDevice{DeviceID: c.DeviceID, Child: child}, nil
}

func applyChatTurn(ctx context.Context, tx *sql.Tx, c *ChatTurn) (any, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(seq) FROM turns WHERE child_id=?),0)+1
		FROM children WHERE id=?`, c.ChildID, c.ChildID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome(ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	{
		var ok int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM devices WHERE id=? AND child_id=? AND revoked_at IS NULL", c.DeviceID, c.ChildID).Scan(&ok)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, outcome(ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO turns(id, child_id, seq, created_at, message_sealed, reply_sealed, intent,
		in_action, in_categories, out_action, out_categories, escalate, fail_closed, policy_version)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.TurnID, c.ChildID, seq, c.CreatedAt, c.MessageSealed, c.ReplySealed, c.Intent,
		c.InAction, strings.Join(c.InCategories, ","), c.OutAction, strings.Join(c.OutCategories, ","),
		c.Escalate, c.FailClosed, c.PolicyVersion)
	if err != nil {
		return nil, err
	}
	if c.EventID != "" {
		kind := "escalation"
		if c.FailClosed {
			kind = "policy_failure"
		}
		cats := append(append([]string{}, c.InCategories...), c.OutCategories...)
		if _, err := tx.ExecContext(ctx, `INSERT INTO safety_events(id, child_id, turn_id, kind, categories, policy_version, created_at)
			VALUES (?,?,?,?,?,?,?)`, c.EventID, c.ChildID, c.TurnID, kind, strings.Join(cats, ","), c.PolicyVersion, c.CreatedAt); err != nil {
			return nil, err
		}
	}
	return TurnResult{Seq: seq}, nil
}
