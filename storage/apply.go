package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
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
	start := time.Now()
	defer func() { db.instr().record("apply", "apply_batch", time.Since(start)) }()
	// Cached reads of what this batch writes are dropped before the commit
	// and again after it (cache.go): none can outlive the commit.
	var (
		touched   []string
		flushes   int
		updates   batchUpdates
		committed bool
	)
	defer func() {
		db.cache.end(touched, false)
		updates.finish(db.cache, committed)
		for range flushes {
			db.cache.end(nil, true)
		}
	}()
	p := db.cur.Load()
	tx, err := p.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("storage: begin apply: %w", err)
	}
	defer tx.Rollback()
	a := &txApplier{ctx: ctx, tx: tx, p: p}
	a.touch = func(keys []string) {
		db.cache.begin(keys, false)
		updates.drop(keys, false)
		touched = append(touched, keys...)
	}
	var applied int64
	if err := a.row(qAppliedIndex).Scan(&applied); err != nil {
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
		if keys, all := touches(cmd); len(keys) > 0 || all {
			db.cache.begin(keys, all)
			updates.drop(keys, all)
			touched = append(touched, keys...)
			if all {
				flushes++
			}
		}
		var comp, recent *batchValue
		turn, isTurn := cmd.(*ChatTurn)
		if isTurn {
			if turn.Companion != nil {
				comp = updates.take(db.cache, keyCompanion(turn.ChildID))
			}
			recent = updates.take(db.cache, keyRecentTurns(turn.ChildID))
		}
		if _, err := a.exec(qSavepoint); err != nil {
			return nil, fmt.Errorf("storage: savepoint: %w", err)
		}
		a.index = e.Index
		val, cerr := applyOne(a, cmd)
		if cerr == nil {
			if ev, ok := auditOf(cmd, val); ok {
				cerr = appendAudit(a, ev)
			}
		}
		if cerr != nil {
			if _, err := a.exec(qRollbackSavepoint); err != nil {
				return nil, fmt.Errorf("storage: rollback savepoint: %w", err)
			}
			if !isDeterministic(cerr) {
				return nil, fmt.Errorf("storage: apply %s at %d: %w", cmd.Kind(), e.Index, cerr)
			}
		}
		if _, err := a.exec(qReleaseSavepoint); err != nil {
			return nil, fmt.Errorf("storage: release savepoint: %w", err)
		}
		if isTurn && cerr == nil {
			updates.chatTurn(turn, val.(TurnResult).Seq, comp, recent)
		}
		results[i] = Result{Kind: cmd.Kind(), Value: val, Err: cerr}
	}
	if last > uint64(applied) {
		if _, err := a.exec(
			qSetAppliedIndex, int64(last)); err != nil {
			return nil, fmt.Errorf("storage: record applied index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("storage: commit apply: %w", err)
	}
	committed = true
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

// txApplier runs the statements of one apply transaction, reusing those
// prepared on the writer connection at open (see applyStatements).
type txApplier struct {
	ctx context.Context
	tx  *sql.Tx
	p   *pools
	// index is the log index of the entry being applied (0 when the
	// caller applies without one).
	index uint64
	// touch names cache keys a command finds it changes only while it runs
	// (ApplyRetention: the children whose turns it deletes); they are
	// invalidated like the keys touches lists (cache.go). nil: no cache.
	touch func(keys []string)
}

func (a *txApplier) exec(q string, args ...any) (sql.Result, error) {
	if st := a.p.stmts[q]; st != nil {
		return a.tx.StmtContext(a.ctx, st).ExecContext(a.ctx, args...)
	}
	return a.tx.ExecContext(a.ctx, q, args...)
}

func (a *txApplier) row(q string, args ...any) *sql.Row {
	if st := a.p.stmts[q]; st != nil {
		return a.tx.StmtContext(a.ctx, st).QueryRowContext(a.ctx, args...)
	}
	return a.tx.QueryRowContext(a.ctx, q, args...)
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

func applyOne(a *txApplier, c Command) (any, error) {
	if val, ok, err := applyPolicy(a, c); ok {
		return val, err
	}
	if val, ok, err := applyCatalog(a, c); ok {
		return val, err
	}
	switch c := c.(type) {
	case *PutSigningKey:
		_, err := a.exec(qInsertSigningKey,
			c.Kid, c.PublicKey, c.PrivateSealed, c.CreatedAt)
		return nil, err
	case *SignUp:
		return nil, applySignUp(a, c)
	case *CreateChild:
		return nil, applyCreateChild(a, c)
	case *CreateLinkCode:
		return nil, applyCreateLinkCode(a, c)
	case *RedeemLinkCode:
		return applyRedeem(a, c)
	case *ChatTurn:
		return applyChatTurn(a, c)
	case *StartSession:
		return nil, applyStartSession(a, c)
	case *RotateRefresh:
		return applyRotateRefresh(a, c)
	case *RevokeSessions:
		return nil, applyRevokeSessions(a, c)
	case *LoginFailure:
		return applyLoginFailure(a, c)
	case *RetireSigningKeys:
		_, err := a.exec(qRetireKeys, c.Before)
		return nil, err
	case *PutChildSettings:
		return nil, applyPutSettings(a, c)
	case *RevokeDevice:
		res, err := a.exec(qRevokeDevice, c.Now, c.DeviceID, c.ChildID, c.ParentID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, outcome(ErrNotFound) // not this parent's, unknown, or already revoked
		}
		return nil, nil
	case *IssueEmailToken:
		return applyIssueEmailToken(a, c)
	case *VerifyEmail:
		return applyVerifyEmail(a, c)
	case *ResetPassword:
		return applyResetPassword(a, c)
	case *RateHit:
		return applyRateHit(a, c)
	case *ApplyRetention:
		return applyRetention(a, c)
	}
	if v, ok, err := applyStaff(a, c); ok {
		return v, err
	}
	if v, ok, err := applyPrivacy(a, c); ok {
		return v, err
	}
	if v, ok, err := applyConsent(a, c); ok {
		return v, err
	}
	if v, ok, err := applyAlertOutbox(a, c); ok {
		return v, err
	}
	if v, ok, err := applyMailOutbox(a, c); ok {
		return v, err
	}
	if v, ok, err := applyModeration(a, c); ok {
		return v, err
	}
	if v, ok, err := applyRetentionSetting(a, c); ok {
		return v, err
	}
	if rc, ok := c.(*RotateCA); ok {
		return applyRotateCA(a, rc)
	}
	return nil, outcome(fmt.Errorf("storage: no applier for %s", c.Kind()))
}

func applySignUp(a *txApplier, c *SignUp) error {
	var n int
	if err := a.row(qCountParentEmail, c.EmailIndex).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return outcome(ErrConflict)
	}
	if _, err := a.exec(qInsertFamily,
		c.FamilyID, c.WrappedKey, c.CreatedAt); err != nil {
		return err
	}
	_, err := a.exec(qInsertParent, c.ParentID, c.FamilyID, c.EmailIndex, c.EmailSealed, c.PasswordHash, c.CreatedAt)
	return err
}

func parentFamily(a *txApplier, parentID string) (string, error) {
	var fam string
	err := a.row(qParentFamily, parentID).Scan(&fam)
	if errors.Is(err, sql.ErrNoRows) {
		return "", outcome(ErrNotFound)
	}
	return fam, err
}

func applyCreateChild(a *txApplier, c *CreateChild) error {
	fam, err := parentFamily(a, c.ParentID)
	if err != nil {
		return err
	}
	_, err = a.exec(qInsertChild,
		c.ChildID, fam, c.NicknameSealed, c.AgeTier, c.CreatedAt)
	return err
}

func applyCreateLinkCode(a *txApplier, c *CreateLinkCode) error {
	var n int
	err := a.row(qChildOfParent, c.ChildID, c.ParentID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return outcome(ErrNotFound)
	}
	if _, err := a.exec(qVoidLinkCodes, c.ChildID); err != nil {
		return err
	}
	_, err = a.exec(qInsertLinkCode,
		c.CodeHash, c.ChildID, c.CreatedAt, c.ExpiresAt)
	return err
}

func applyRedeem(a *txApplier, c *RedeemLinkCode) (any, error) {
	row := a.row(qLiveLinkCode, c.CodeHash, c.Now)
	child, err := scanChild(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome(ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if _, err := a.exec(qUseLinkCode, c.Now, c.CodeHash); err != nil {
		return nil, err
	}
	if _, err := a.exec(qInsertDevice, c.DeviceID, child.ID, c.Now); err != nil {
		return nil, err
	}
	return LinkedDevice{DeviceID: c.DeviceID, Child: child}, nil
}

func applyChatTurn(a *txApplier, c *ChatTurn) (any, error) {
	var seq, version int64
	var active bool
	err := a.row(qTurnChecks, c.ChildID, c.ChildID, c.DeviceID, c.ChildID, c.ChildID).Scan(&seq, &version, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome(ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if c.StateBase != nil && version != *c.StateBase {
		return nil, outcome(ErrStale)
	}
	if !active {
		return nil, outcome(ErrNotFound)
	}
	_, err = a.exec(qInsertTurn,
		c.TurnID, c.ChildID, seq, c.CreatedAt, c.MessageSealed, c.ReplySealed, c.Intent,
		c.InAction, strings.Join(c.InCategories, ","), c.OutAction, strings.Join(c.OutCategories, ","),
		c.Escalate, c.FailClosed, c.PolicyVersion)
	if err != nil {
		return nil, err
	}
	if c.Companion != nil {
		if _, err := a.exec(qPutCompanionState, c.ChildID, c.Companion, c.CreatedAt); err != nil {
			return nil, err
		}
	}
	if c.EventID != "" {
		kind := "escalation"
		if c.FailClosed {
			kind = "policy_failure"
		}
		cats := append(append([]string{}, c.InCategories...), c.OutCategories...)
		if _, err := a.exec(qInsertSafetyEvent, c.EventID, c.ChildID, c.TurnID, kind, strings.Join(cats, ","), c.PolicyVersion, c.CreatedAt); err != nil {
			return nil, err
		}
	}
	return TurnResult{Seq: seq}, nil
}

func applyPutSettings(a *txApplier, c *PutChildSettings) error {
	var n int
	if err := a.row(qChildOfParent, c.ChildID, c.ParentID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return outcome(ErrNotFound)
	}
	_, err := a.exec(qPutSettings, c.ChildID, c.Settings, c.UpdatedAt)
	return err
}

func applyStartSession(a *txApplier, c *StartSession) error {
	if _, err := a.exec(qInsertSession, c.SessionID, c.ParentID, c.Now); err != nil {
		return err
	}
	if _, err := a.exec(qInsertRefresh, c.RefreshHash, c.SessionID, c.Now, c.ExpiresAt); err != nil {
		return err
	}
	_, err := a.exec(qClearLoginFailures, c.EmailIndex)
	return err
}

func applyRotateRefresh(a *txApplier, c *RotateRefresh) (any, error) {
	var ref SessionRef
	var exp int64
	var used, revoked bool
	err := a.row(qRefreshToken, c.OldHash).Scan(&ref.SessionID, &exp, &used, &revoked, &ref.ParentID, &ref.FamilyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome(ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case revoked:
		return nil, outcome(ErrNotFound)
	case used:
		// Someone holds a copy of a rotated token: end the session for everyone.
		// The revocation must stick, so it is the command's result, not an error
		// (an error would roll it back).
		if _, err := a.exec(qRevokeSession, c.Now, ref.SessionID, ref.ParentID); err != nil {
			return nil, err
		}
		return RefreshResult{SessionRef: ref, Reused: true}, nil
	case exp <= c.Now:
		return nil, outcome(ErrNotFound)
	}
	if _, err := a.exec(qUseRefresh, c.Now, c.OldHash); err != nil {
		return nil, err
	}
	if _, err := a.exec(qInsertRefresh, c.NewHash, ref.SessionID, c.Now, c.ExpiresAt); err != nil {
		return nil, err
	}
	return RefreshResult{SessionRef: ref}, nil
}

func applyRevokeSessions(a *txApplier, c *RevokeSessions) error {
	if c.SessionID != "" {
		_, err := a.exec(qRevokeSession, c.Now, c.SessionID, c.ParentID)
		return err
	}
	_, err := a.exec(qRevokeAllSessions, c.Now, c.ParentID)
	return err
}

func applyLoginFailure(a *txApplier, c *LoginFailure) (any, error) {
	var failures int64
	if err := a.row(qBumpLoginFailures, c.EmailIndex).Scan(&failures); err != nil {
		return nil, err
	}
	if failures < LockoutFreeFailures {
		return LockedUntil{}, nil
	}
	backoff := int64(LockoutBaseMillis)
	for i := int64(LockoutFreeFailures); i < failures && backoff < LockoutMaxMillis; i++ {
		backoff *= 2
	}
	backoff = min(backoff, LockoutMaxMillis)
	until := c.Now + backoff
	if _, err := a.exec(qLockAccount, until, c.EmailIndex); err != nil {
		return nil, err
	}
	return LockedUntil{Millis: until}, nil
}

// auditOf names the audit event a successful command records, if any.
func auditOf(c Command, result any) (AuditEvent, bool) {
	if m, ok := c.(*MailAfter); ok {
		return auditOf(m.Cmd, result) // the e-mail itself is not an audit event
	}
	if ev, ok := auditOfModeration(c, result); ok {
		return ev, true
	}
	if ev, ok := auditOfCARotation(c, result); ok {
		return ev, true
	}
	if ev, ok := auditPolicy(c, result); ok {
		return ev, true
	}
	if ev, ok := catalogAudit(c, result); ok {
		return ev, true
	}
	switch c := c.(type) {
	case *SignUp:
		return AuditEvent{At: c.CreatedAt, Actor: "parent:" + c.ParentID, Action: "sign_up", Target: "family:" + c.FamilyID}, true
	case *StartSession:
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "login", Target: "session:" + c.SessionID}, true
	case *LoginFailure:
		action := "login_failed"
		if l, ok := result.(LockedUntil); ok && l.Millis > 0 {
			action = "login_failed_locked"
		}
		return AuditEvent{At: c.Now, Actor: "email:" + fmt.Sprintf("%x", c.EmailIndex[:min(6, len(c.EmailIndex))]), Action: action, Target: "account"}, true
	case *RotateRefresh:
		if r, ok := result.(RefreshResult); ok && r.Reused {
			return AuditEvent{At: c.Now, Actor: "parent:" + r.ParentID, Action: "refresh_token_reused_session_revoked", Target: "session:" + r.SessionID}, true
		}
	case *RevokeSessions:
		target := "session:" + c.SessionID
		if c.SessionID == "" {
			target = "all_sessions"
		}
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "logout", Target: target}, true
	case *PutSigningKey:
		return AuditEvent{At: c.CreatedAt, Actor: "system", Action: "signing_key_added", Target: "key:" + c.Kid}, true
	case *RetireSigningKeys:
		return AuditEvent{At: c.Now, Actor: "system", Action: "signing_keys_retired", Target: "created_before:" + fmt.Sprint(c.Before)}, true
	case *CreateChild:
		return AuditEvent{At: c.CreatedAt, Actor: "parent:" + c.ParentID, Action: "create_child", Target: "child:" + c.ChildID}, true
	case *CreateLinkCode:
		return AuditEvent{At: c.CreatedAt, Actor: "parent:" + c.ParentID, Action: "create_link_code", Target: "child:" + c.ChildID}, true
	case *RevokeDevice:
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "revoke_device", Target: "device:" + c.DeviceID}, true
	case *PutChildSettings:
		return AuditEvent{At: c.UpdatedAt, Actor: "parent:" + c.ParentID, Action: "update_child_settings", Target: "child:" + c.ChildID}, true
	case *RedeemLinkCode:
		if d, ok := result.(LinkedDevice); ok {
			return AuditEvent{At: c.Now, Actor: "device:" + c.DeviceID, Action: "link_device", Target: "child:" + d.Child.ID}, true
		}
	case *IssueEmailToken, *VerifyEmail, *ResetPassword:
		return auditEmailToken(c, result)
	case *ApplyRetention:
		return auditRetention(c, result)
	case *ChatTurn:
		if c.EventID != "" {
			action := "safety_escalation"
			if c.FailClosed {
				action = "policy_failure"
			}
			return AuditEvent{At: c.CreatedAt, Actor: "child:" + c.ChildID, Action: action, Target: "turn:" + c.TurnID}, true
		}
	}
	return auditOfStaff(c, result)
}
