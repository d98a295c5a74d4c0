package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// E-mail token purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposePasswordReset = "password_reset"
)

// Token states a consuming command (VerifyEmail, ResetPassword) reports.
// A token that was never issued (or was replaced, or pruned) is ErrNotFound.
const (
	TokenOK      = "ok"
	TokenUsed    = "used"
	TokenExpired = "expired"
)

// emailTokenRetentionMillis is how long a spent or expired token row stays
// (so a second click is told "already used" rather than "unknown").
const emailTokenRetentionMillis = 7 * 24 * 3600 * 1000

// IssueEmailToken stores a new single-use e-mail token (only its keyed
// hash) for a parent, voiding the parent's earlier unused tokens of the same
// purpose. The parent is ParentID, or, when that is empty, whoever owns
// EmailIndex: no such parent is a normal result (Issued false), so a
// password-reset request for an unknown address does the same work as one
// for a known address. A verification token for an already verified parent
// is not issued (AlreadyVerified). Old token rows are pruned here.
type IssueEmailToken struct {
	ParentID   string `json:"parent,omitempty"`
	EmailIndex []byte `json:"email_bidx,omitempty"`
	Purpose    string `json:"purpose"`
	TokenHash  []byte `json:"token"`
	Now        int64  `json:"at"`
	ExpiresAt  int64  `json:"exp"`
}

func (IssueEmailToken) Kind() string { return KindIssueEmailToken }
func (IssueEmailToken) Version() int { return 1 }

// EmailTokenIssued is IssueEmailToken's result.
type EmailTokenIssued struct {
	ParentID        string
	FamilyID        string
	Issued          bool
	AlreadyVerified bool
}

// VerifyEmail spends a verification token and marks its parent's address
// verified.
type VerifyEmail struct {
	TokenHash []byte `json:"token"`
	Now       int64  `json:"at"`
}

func (VerifyEmail) Kind() string { return KindVerifyEmail }
func (VerifyEmail) Version() int { return 1 }

// ResetPassword spends a reset token: it sets the new password hash
// (argon2id, computed by the node), ends every session of the parent (their
// refresh tokens die and access tokens are refused on every node), clears
// the login lockout for the address and voids other reset tokens. Receiving
// the token proves the address, so it also counts as verified.
type ResetPassword struct {
	TokenHash    []byte `json:"token"`
	PasswordHash string `json:"pw"`
	Now          int64  `json:"at"`
}

func (ResetPassword) Kind() string { return KindResetPassword }
func (ResetPassword) Version() int { return 1 }

// EmailTokenResult is the result of VerifyEmail and ResetPassword: Status is
// TokenOK when the token was spent now; TokenUsed or TokenExpired change
// nothing.
type EmailTokenResult struct {
	ParentID string
	Status   string
}

const (
	qParentByEmailIdx  = "SELECT id, family_id, email_verified_at IS NOT NULL FROM parents WHERE email_bidx=?"
	qParentVerified    = "SELECT family_id, email_verified_at IS NOT NULL FROM parents WHERE id=?"
	qVoidEmailTokens   = "DELETE FROM email_tokens WHERE parent_id=? AND purpose=? AND used_at IS NULL"
	qPruneEmailTokens  = "DELETE FROM email_tokens WHERE expires_at <= ?"
	qInsertEmailToken  = "INSERT INTO email_tokens(hash, parent_id, purpose, created_at, expires_at) VALUES (?,?,?,?,?)"
	qEmailToken        = "SELECT parent_id, expires_at, used_at IS NOT NULL FROM email_tokens WHERE hash=? AND purpose=?"
	qUseEmailToken     = "UPDATE email_tokens SET used_at=? WHERE hash=?"
	qMarkVerified      = "UPDATE parents SET email_verified_at=COALESCE(email_verified_at, ?) WHERE id=?"
	qSetPassword       = "UPDATE parents SET password_hash=?, email_verified_at=COALESCE(email_verified_at, ?) WHERE id=?"
	qClearParentLogins = "DELETE FROM login_failures WHERE email_bidx=(SELECT email_bidx FROM parents WHERE id=?)"
)

func applyIssueEmailToken(a *txApplier, c *IssueEmailToken) (any, error) {
	if c.Purpose != PurposeVerifyEmail && c.Purpose != PurposePasswordReset {
		return nil, outcome(fmt.Errorf("storage: unknown e-mail token purpose %q", c.Purpose))
	}
	if _, err := a.exec(qPruneEmailTokens, c.Now-emailTokenRetentionMillis); err != nil {
		return nil, err
	}
	res := EmailTokenIssued{ParentID: c.ParentID}
	var err error
	if c.ParentID != "" {
		err = a.row(qParentVerified, c.ParentID).Scan(&res.FamilyID, &res.AlreadyVerified)
	} else {
		err = a.row(qParentByEmailIdx, c.EmailIndex).Scan(&res.ParentID, &res.FamilyID, &res.AlreadyVerified)
	}
	if errors.Is(err, sql.ErrNoRows) {
		// Not an error: the same work and the same answer for an unknown address.
		return EmailTokenIssued{}, nil
	}
	if err != nil {
		return nil, err
	}
	if c.Purpose == PurposeVerifyEmail && res.AlreadyVerified {
		return res, nil
	}
	if _, err := a.exec(qVoidEmailTokens, res.ParentID, c.Purpose); err != nil {
		return nil, err
	}
	if _, err := a.exec(qInsertEmailToken, c.TokenHash, res.ParentID, c.Purpose, c.Now, c.ExpiresAt); err != nil {
		return nil, err
	}
	res.Issued = true
	return res, nil
}

// spendEmailToken checks a token of purpose and marks it used if live.
func spendEmailToken(a *txApplier, hash []byte, purpose string, now int64) (EmailTokenResult, error) {
	var r EmailTokenResult
	var exp int64
	var used bool
	err := a.row(qEmailToken, hash, purpose).Scan(&r.ParentID, &exp, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return r, outcome(ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	switch {
	case used:
		r.Status = TokenUsed
	case exp <= now:
		r.Status = TokenExpired
	default:
		r.Status = TokenOK
		_, err = a.exec(qUseEmailToken, now, hash)
	}
	return r, err
}

func applyVerifyEmail(a *txApplier, c *VerifyEmail) (any, error) {
	r, err := spendEmailToken(a, c.TokenHash, PurposeVerifyEmail, c.Now)
	if err != nil || r.Status != TokenOK {
		return r, err
	}
	_, err = a.exec(qMarkVerified, c.Now, r.ParentID)
	return r, err
}

func applyResetPassword(a *txApplier, c *ResetPassword) (any, error) {
	if c.PasswordHash == "" {
		return nil, outcome(errors.New("storage: reset without a password hash"))
	}
	r, err := spendEmailToken(a, c.TokenHash, PurposePasswordReset, c.Now)
	if err != nil || r.Status != TokenOK {
		return r, err
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{qSetPassword, []any{c.PasswordHash, c.Now, r.ParentID}},
		{qVoidEmailTokens, []any{r.ParentID, PurposePasswordReset}},
		{qRevokeAllSessions, []any{c.Now, r.ParentID}},
		{qClearParentLogins, []any{r.ParentID}},
	} {
		if _, err := a.exec(st.q, st.args...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func auditEmailToken(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *IssueEmailToken:
		if r, ok := result.(EmailTokenIssued); ok && r.Issued {
			action := "email_verification_sent"
			if c.Purpose == PurposePasswordReset {
				action = "password_reset_requested"
			}
			return AuditEvent{At: c.Now, Actor: "parent:" + r.ParentID, Action: action, Target: "parent:" + r.ParentID}, true
		}
	case *VerifyEmail:
		if r, ok := result.(EmailTokenResult); ok && r.Status == TokenOK {
			return AuditEvent{At: c.Now, Actor: "parent:" + r.ParentID, Action: "email_verified", Target: "parent:" + r.ParentID}, true
		}
	case *ResetPassword:
		if r, ok := result.(EmailTokenResult); ok && r.Status == TokenOK {
			return AuditEvent{At: c.Now, Actor: "parent:" + r.ParentID, Action: "password_reset_sessions_revoked", Target: "parent:" + r.ParentID}, true
		}
	}
	return AuditEvent{}, false
}

// EmailTokenInfo is what a node checks before acting on a presented token.
type EmailTokenInfo struct {
	ParentID    string
	FamilyID    string
	EmailSealed []byte // FieldAAD(FieldEmail, ParentID) under the family key
	Status      string // TokenOK, TokenUsed or TokenExpired
}

// EmailToken looks up a token by its keyed hash (system actor only), so the
// node can refuse a dead token before spending an argon2 hash on it. The
// replicated command re-checks it (single use holds under races).
func (db *DB) EmailToken(ctx context.Context, actor Actor, hash []byte, purpose string, now int64) (EmailTokenInfo, error) {
	if actor.Role != RoleSystem {
		return EmailTokenInfo{}, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	var info EmailTokenInfo
	var exp int64
	var used bool
	err := db.queryRow(ctx, `SELECT t.parent_id, p.family_id, p.email_sealed, t.expires_at, t.used_at IS NOT NULL
		FROM email_tokens t JOIN parents p ON p.id = t.parent_id WHERE t.hash=? AND t.purpose=?`, hash, purpose).
		Scan(&info.ParentID, &info.FamilyID, &info.EmailSealed, &exp, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return info, ErrNotFound
	}
	if err != nil {
		return info, fmt.Errorf("storage: e-mail token: %w", err)
	}
	switch {
	case used:
		info.Status = TokenUsed
	case exp <= now:
		info.Status = TokenExpired
	default:
		info.Status = TokenOK
	}
	return info, nil
}

// ParentRow is a parent account as stored (e-mail sealed).
type ParentRow struct {
	ID              string
	FamilyID        string
	EmailSealed     []byte
	EmailVerifiedAt int64 // 0 = not verified
	CreatedAt       int64
}

// Parent returns the parent actor's own account; nobody else's is visible.
func (db *DB) Parent(ctx context.Context, actor Actor) (ParentRow, error) {
	if actor.Role != RoleParent {
		return ParentRow{}, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	var p ParentRow
	err := db.queryRow(ctx, "SELECT id, family_id, email_sealed, COALESCE(email_verified_at,0), created_at FROM parents WHERE id=?", actor.ID).
		Scan(&p.ID, &p.FamilyID, &p.EmailSealed, &p.EmailVerifiedAt, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("storage: parent: %w", err)
	}
	return p, nil
}

// AlertRecipient is a parent who receives safety alerts about a child.
type AlertRecipient struct {
	ParentID    string
	EmailSealed []byte // FieldAAD(FieldEmail, ParentID) under the family key
}

// AlertRecipients returns the parents of the child actor's own family
// whose e-mail address is verified: the people a safety alert about that
// child goes to. Only a child actor may ask, and only about its own family.
func (db *DB) AlertRecipients(ctx context.Context, actor Actor) ([]AlertRecipient, error) {
	if actor.Role != RoleChild || actor.ID == "" {
		return nil, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, `SELECT p.id, p.email_sealed FROM children c JOIN parents p ON p.family_id = c.family_id
		WHERE c.id=? AND p.email_verified_at IS NOT NULL ORDER BY p.created_at, p.id`, actor.ID)
	if err != nil {
		return nil, fmt.Errorf("storage: alert recipients: %w", err)
	}
	defer rows.Close()
	var out []AlertRecipient
	for rows.Next() {
		var r AlertRecipient
		if err := rows.Scan(&r.ParentID, &r.EmailSealed); err != nil {
			return nil, fmt.Errorf("storage: alert recipients: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: alert recipients: %w", err)
	}
	return out, nil
}
