package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Command kinds. The kind and version travel in every log entry; an FSM that
// meets a kind or version it does not know refuses it (and the node stops
// rather than diverge), so rolling upgrades add kinds before using them.
const (
	KindPutSigningKey  = "put_signing_key"
	KindSignUp         = "sign_up"
	KindCreateChild    = "create_child"
	KindCreateLinkCode = "create_link_code"
	KindRedeemLinkCode = "redeem_link_code"
	KindChatTurn       = "chat_turn"
	KindStartSession   = "start_session"
	KindRotateRefresh  = "rotate_refresh"
	KindRevokeSessions = "revoke_sessions"
	KindLoginFailure   = "login_failure"
	KindRetireKeys     = "retire_signing_keys"
	KindPutSettings    = "put_child_settings"
	KindRevokeDevice   = "revoke_device"
	// Parent account flows (email_tokens.go) and rate counters (ratelimit.go).
	// #nosec G101 -- a command kind's name, not a credential
	KindIssueEmailToken = "issue_email_token"
	KindVerifyEmail     = "verify_email"
	KindResetPassword   = "reset_password"
	KindRateHit         = "rate_hit"
)

// Deterministic outcomes a command can have. They are results, not failures
// of the state machine: every node reaches the same one.
var (
	ErrConflict = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	// ErrReused means a refresh token was presented a second time: its whole
	// session was revoked (theft detection).
	ErrReused = errors.New("refresh token reused")
	// ErrStale means a compare-and-set command found the state changed
	// since the caller read it (it is a kind of conflict: re-read, retry).
	ErrStale = fmt.Errorf("state changed since it was read: %w", ErrConflict)
)

// ErrUnsupported marks a log entry this binary cannot decode (an unknown kind
// or version, e.g. from a newer node during an upgrade). The FSM must stop
// rather than skip it.
var ErrUnsupported = errors.New("storage: unsupported command")

// Command is a typed, versioned state change.
type Command interface {
	Kind() string
	Version() int
}

type envelope struct {
	T string          `json:"t"`
	V int             `json:"v"`
	B json.RawMessage `json:"b"`
}

// Encode serialises a command for the Raft log: {"t":KIND,"v":N,"b":BODY}.
// The envelope is written directly rather than by a second json.Marshal,
// which would scan and copy the body again; the bytes are the same
// (TestEncodeMatchesGenericEnvelope).
func Encode(c Command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("storage: encode %s: %w", c.Kind(), err)
	}
	kind := c.Kind()
	if !plainKind(kind) {
		return json.Marshal(envelope{T: kind, V: c.Version(), B: b})
	}
	out := make([]byte, 0, len(b)+len(kind)+24)
	out = append(out, `{"t":"`...)
	out = append(out, kind...)
	out = append(out, `","v":`...)
	out = strconv.AppendInt(out, int64(c.Version()), 10)
	out = append(out, `,"b":`...)
	out = append(out, b...)
	return append(out, '}'), nil
}

// plainKind reports whether a kind needs no JSON escaping ([a-z0-9_]+).
func plainKind(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// splitEnvelope recognises exactly the layout Encode writes and returns its
// parts without scanning the body; ok is false for anything else (the
// generic decoder then handles it, with the same result or error).
func splitEnvelope(data []byte) (kind string, v int, body []byte, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte(`{"t":"`))
	if !found {
		return "", 0, nil, false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || !plainKind(string(rest[:i])) {
		return "", 0, nil, false
	}
	kind, rest = string(rest[:i]), rest[i+1:]
	if rest, found = bytes.CutPrefix(rest, []byte(`,"v":`)); !found {
		return "", 0, nil, false
	}
	n := 0
	for n < len(rest) && n < 9 && rest[n] >= '0' && rest[n] <= '9' {
		v = v*10 + int(rest[n]-'0')
		n++
	}
	// JSON numbers have no leading zeros; anything unusual goes the generic way.
	if n == 0 || (rest[0] == '0' && n > 1) {
		return "", 0, nil, false
	}
	if rest, found = bytes.CutPrefix(rest[n:], []byte(`,"b":`)); !found || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return "", 0, nil, false
	}
	return kind, v, rest[:len(rest)-1], true
}

// Decode parses a log entry into its typed command. Entries in Encode's
// layout are parsed in one pass over the body; if that fails for any
// reason, the generic decoder runs and its result (or error) stands, so
// both paths always agree.
func Decode(data []byte) (Command, error) {
	if kind, v, body, ok := splitEnvelope(data); ok {
		if c, err := decodeBody(kind, v, body, true); err == nil {
			return c, nil
		}
	}
	return decodeGeneric(data)
}

// decodeGeneric parses the envelope with encoding/json, then the body.
func decodeGeneric(data []byte) (Command, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("storage: decode envelope: %w", err)
	}
	return decodeBody(env.T, env.V, env.B, false)
}

// decodeBody decodes the body of a kind-v command. fast allows a kind's own
// decoder (chat turns, chatturn_decode.go) before encoding/json; without it
// only encoding/json runs, which is the reference the fast paths are tested
// against.
func decodeBody(kind string, v int, body []byte, fast bool) (Command, error) {
	env := envelope{T: kind, V: v, B: body}
	var c Command
	switch env.T {
	case KindPutSigningKey:
		c = &PutSigningKey{}
	case KindSignUp:
		c = &SignUp{}
	case KindCreateChild:
		c = &CreateChild{}
	case KindCreateLinkCode:
		c = &CreateLinkCode{}
	case KindRedeemLinkCode:
		c = &RedeemLinkCode{}
	case KindChatTurn:
		c = &ChatTurn{}
	case KindStartSession:
		c = &StartSession{}
	case KindRotateRefresh:
		c = &RotateRefresh{}
	case KindRevokeSessions:
		c = &RevokeSessions{}
	case KindLoginFailure:
		c = &LoginFailure{}
	case KindRetireKeys:
		c = &RetireSigningKeys{}
	case KindPutSettings:
		c = &PutChildSettings{}
	case KindRevokeDevice:
		c = &RevokeDevice{}
	case KindAddPolicyKey:
		c = &AddPolicyKey{}
	case KindRevokePolicyKey:
		c = &RevokePolicyKey{}
	case KindReportShadow:
		c = &ReportShadow{}
	case KindStagePolicy:
		c = &StagePolicy{}
	case KindActivatePolicy:
		c = &ActivatePolicy{}
	case KindShadowPolicy:
		c = &ShadowPolicy{}
	case KindRollbackPolicy:
		c = &RollbackPolicy{}
	case KindRefusePolicy:
		c = &RefusePolicy{}
	case KindReportPolicy:
		c = &ReportPolicy{}
	case KindUnstagePolicy:
		c = &UnstagePolicy{}
	case KindIssueEmailToken:
		c = &IssueEmailToken{}
	case KindVerifyEmail:
		c = &VerifyEmail{}
	case KindResetPassword:
		c = &ResetPassword{}
	case KindRateHit:
		c = &RateHit{}
	case KindApplyRetention:
		c = &ApplyRetention{}
	default:
		if c = newStaffCommand(env.T); c == nil {
			c = newPrivacyCommand(env.T)
		}
		if c == nil {
			c = newConsentCommand(env.T)
		}
		if c == nil {
			c = newAlertCommand(env.T)
		}
		if c == nil {
			c = newMailCommand(env.T)
		}
		if c == nil && env.T == KindReviewSafetyEvent {
			c = &ReviewSafetyEvent{}
		}
		if c == nil && env.T == KindAssignSafetyEvent {
			c = &AssignSafetyEvent{}
		}
		if c == nil && env.T == KindSetSafetyHold {
			c = &SetSafetyHold{}
		}
		if c == nil && env.T == KindRotateCA {
			c = &RotateCA{}
		}
		if c == nil && env.T == KindPutRetention {
			c = &PutRetention{}
		}
		if c == nil {
			c = decodeCatalogKind(env.T)
		}
		if c == nil {
			return nil, fmt.Errorf("%w: unknown command kind %q", ErrUnsupported, env.T)
		}
	}
	if !acceptsVersion(c, env.V) {
		return nil, fmt.Errorf("%w: %s version %d not supported (this binary supports %d)", ErrUnsupported, env.T, env.V, c.Version())
	}
	if ct, ok := c.(*ChatTurn); ok && fast {
		var t ChatTurn
		if decodeChatTurnFast(env.B, &t) {
			*ct = t
			return c, nil
		}
	}
	if err := json.Unmarshal(env.B, c); err != nil {
		return nil, fmt.Errorf("storage: decode %s: %w", env.T, err)
	}
	return c, nil
}

// olderVersions is implemented by a command whose decoder still accepts
// log entries written by an earlier version of it (they must keep applying
// after an upgrade).
type olderVersions interface {
	AcceptsVersion(v int) bool
}

func acceptsVersion(c Command, v int) bool {
	if v == c.Version() {
		return true
	}
	if o, ok := c.(olderVersions); ok {
		return o.AcceptsVersion(v)
	}
	return false
}

// PutSigningKey stores a token-signing key pair (private half sealed).
type PutSigningKey struct {
	Kid           string `json:"kid"`
	PublicKey     []byte `json:"pub"`
	PrivateSealed []byte `json:"priv"`
	CreatedAt     int64  `json:"at"`
}

func (PutSigningKey) Kind() string { return KindPutSigningKey }
func (PutSigningKey) Version() int { return 1 }

// SignUp creates a family and its first parent.
type SignUp struct {
	FamilyID     string `json:"family"`
	WrappedKey   []byte `json:"wkey"`
	ParentID     string `json:"parent"`
	EmailIndex   []byte `json:"email_bidx"`
	EmailSealed  []byte `json:"email"`
	PasswordHash string `json:"pw"`
	CreatedAt    int64  `json:"at"`
}

func (SignUp) Kind() string { return KindSignUp }
func (SignUp) Version() int { return 1 }

// CreateChild adds a child profile to the parent's family.
type CreateChild struct {
	ChildID        string `json:"child"`
	ParentID       string `json:"parent"`
	NicknameSealed []byte `json:"nick"`
	AgeTier        string `json:"tier"`
	CreatedAt      int64  `json:"at"`
}

func (CreateChild) Kind() string { return KindCreateChild }
func (CreateChild) Version() int { return 1 }

// CreateLinkCode issues a single-use device link code for a child; any
// earlier unused code for that child stops working.
type CreateLinkCode struct {
	ParentID  string `json:"parent"`
	ChildID   string `json:"child"`
	CodeHash  []byte `json:"code"`
	CreatedAt int64  `json:"at"`
	ExpiresAt int64  `json:"exp"`
}

func (CreateLinkCode) Kind() string { return KindCreateLinkCode }
func (CreateLinkCode) Version() int { return 1 }

// RedeemLinkCode consumes a link code and registers a child device.
type RedeemLinkCode struct {
	CodeHash []byte `json:"code"`
	DeviceID string `json:"device"`
	Now      int64  `json:"at"`
}

func (RedeemLinkCode) Kind() string { return KindRedeemLinkCode }
func (RedeemLinkCode) Version() int { return 1 }

// LinkedDevice is the result of a successful RedeemLinkCode.
type LinkedDevice struct {
	DeviceID string
	Child    ChildRow
}

// ChatTurn records one exchange: the child's (possibly redacted) message,
// Daisy's reply, and the policy verdicts that shaped them.
type ChatTurn struct {
	TurnID        string   `json:"id"`
	ChildID       string   `json:"child"`
	DeviceID      string   `json:"device"`
	CreatedAt     int64    `json:"at"`
	MessageSealed []byte   `json:"msg"`
	ReplySealed   []byte   `json:"reply"`
	Intent        string   `json:"intent"`
	InAction      string   `json:"in_action"`
	InCategories  []string `json:"in_cats"`
	OutAction     string   `json:"out_action"`
	OutCategories []string `json:"out_cats"`
	Escalate      bool     `json:"escalate"`
	FailClosed    bool     `json:"fail_closed"`
	PolicyVersion string   `json:"policy"`
	// EventID is set when the turn raises a safety event (escalation or a
	// policy failure); the event is recorded in the same transaction.
	EventID string `json:"event,omitempty"`
	// Companion (version 2) is Daisy's new per-child state after this turn,
	// computed and sealed by the receiving node (FieldCompanion, child ID);
	// nil leaves the stored state unchanged (and is all a version 1 entry
	// can carry). The FSM stores it verbatim and never interprets it.
	Companion []byte `json:"companion,omitempty"`
	// StateBase (version 3) makes the turn a compare-and-set on Daisy's
	// state: when set, the turn applies only if the child's stored state
	// version (CompanionRow.StateVersion, 0 before the first write) still
	// equals *StateBase; otherwise it is refused with ErrStale and nothing
	// is stored, so the node can re-read and retry. nil: no check.
	StateBase *int64 `json:"base,omitempty"`
}

func (ChatTurn) Kind() string { return KindChatTurn }

// Version 2 added Companion, version 3 StateBase; earlier entries still
// decode and apply. (A binary that knows only version 2 would ignore
// StateBase and diverge, so it must refuse version 3: hence the bump.)
func (ChatTurn) Version() int { return 3 }

// AcceptsVersion: version 1 (no Companion) and 2 (no StateBase) entries still apply.
func (ChatTurn) AcceptsVersion(v int) bool { return v == 1 || v == 2 }

// TurnResult is the result of a successful ChatTurn.
type TurnResult struct {
	Seq int64
}

// StartSession records a successful parent login: a new session with its
// first refresh token; the account's failed-login count is cleared.
type StartSession struct {
	SessionID   string `json:"session"`
	ParentID    string `json:"parent"`
	RefreshHash []byte `json:"refresh"`
	EmailIndex  []byte `json:"email_bidx"`
	Now         int64  `json:"at"`
	ExpiresAt   int64  `json:"exp"`
}

func (StartSession) Kind() string { return KindStartSession }
func (StartSession) Version() int { return 1 }

// RotateRefresh exchanges a refresh token for a new one in the same session.
// Presenting a token that was already used revokes the whole session.
type RotateRefresh struct {
	OldHash   []byte `json:"old"`
	NewHash   []byte `json:"new"`
	Now       int64  `json:"at"`
	ExpiresAt int64  `json:"exp"`
}

func (RotateRefresh) Kind() string { return KindRotateRefresh }
func (RotateRefresh) Version() int { return 1 }

// SessionRef identifies the session a refresh token belongs to.
type SessionRef struct {
	SessionID string
	ParentID  string
	FamilyID  string
}

// RefreshResult is RotateRefresh's result. Reused means a used token came
// back and the session was revoked (theft detection): issue nothing.
type RefreshResult struct {
	SessionRef
	Reused bool
}

// RevokeSessions ends one session of a parent, or all of them when SessionID is empty.
type RevokeSessions struct {
	ParentID  string `json:"parent"`
	SessionID string `json:"session,omitempty"`
	Now       int64  `json:"at"`
}

func (RevokeSessions) Kind() string { return KindRevokeSessions }
func (RevokeSessions) Version() int { return 1 }

// LoginFailure counts a failed login for an e-mail blind index (known
// account or not, so responses reveal nothing). From the fifth failure the
// account is locked with doubling back-off.
type LoginFailure struct {
	EmailIndex []byte `json:"email_bidx"`
	Now        int64  `json:"at"`
}

func (LoginFailure) Kind() string { return KindLoginFailure }
func (LoginFailure) Version() int { return 1 }

// Lockout policy for failed logins.
const (
	LockoutFreeFailures = 5
	LockoutBaseMillis   = 30_000
	LockoutMaxMillis    = 3_600_000
)

// LockedUntil is when an account unlocks (milliseconds since the epoch; 0 = not locked).
type LockedUntil struct {
	Millis int64
}

// PutChildSettings replaces the parent's settings for one child (parental
// controls and time zone, a JSON document the node validated; not
// sensitive, stored plain). Only a parent of the child's family may do it:
// anything else is ErrNotFound.
type PutChildSettings struct {
	ParentID  string `json:"parent"`
	ChildID   string `json:"child"`
	Settings  []byte `json:"settings"`
	UpdatedAt int64  `json:"at"`
}

func (PutChildSettings) Kind() string { return KindPutSettings }
func (PutChildSettings) Version() int { return 1 }

// RetireSigningKeys deletes token-signing keys created before Before, except
// the newest key, which always stays.
type RetireSigningKeys struct {
	Before int64 `json:"before"`
	Now    int64 `json:"at"`
}

func (RetireSigningKeys) Kind() string { return KindRetireKeys }
func (RetireSigningKeys) Version() int { return 1 }

// RevokeDevice unlinks a child's device: its token stops working everywhere.
// Only a parent of the child's family may do it.
type RevokeDevice struct {
	ParentID string `json:"parent"`
	ChildID  string `json:"child"`
	DeviceID string `json:"device"`
	Now      int64  `json:"at"`
}

func (RevokeDevice) Kind() string { return KindRevokeDevice }
func (RevokeDevice) Version() int { return 1 }
