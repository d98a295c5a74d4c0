package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// The privacy notice (GET /v1/privacy, public): what is collected, why, and
// for how long, per data class, with the retention the cluster actually
// enforces (the node's configuration, node/retention.go), the audit log's
// exception and the parent's rights. The wording of the legal notice is the
// operator's; this is the part the software guarantees.

// PrivacyNoticeVersion changes whenever the notice's content model changes
// (a class added or its handling changed), not when the configured days do.
// A parent's consent names the version it was given under (consent.go).
const PrivacyNoticeVersion = "3" // 3: pending_emails (the e-mail outbox)

// MaxRetentionDays is the longest configurable retention (10 years): a
// larger number is a typo, not a policy. 0 means "until the parent deletes
// it" (no time limit).
const MaxRetentionDays = storage.MaxRetentionDays

// Retention is how many days each data class with a configurable retention
// is kept (0 = until the parent deletes it).
type Retention struct {
	// TurnsDays: chat turns, with the message, Daisy's reply and the safety
	// verdicts stored with them, after the turn.
	TurnsDays int
	// SafetyDays: safety events (escalations, policy failures) after the event.
	SafetyDays int
	// SessionsDays: parent sign-in sessions and refresh tokens, after the
	// refresh token expired.
	SessionsDays int
}

// DefaultRetention is the retention of a node whose operator set none.
var DefaultRetention = Retention{TurnsDays: 180, SafetyDays: 365, SessionsDays: 30}

// Validate refuses negative and absurd values, naming the setting.
func (r Retention) Validate() error {
	for _, f := range []struct {
		name string
		days int
	}{{"turns", r.TurnsDays}, {"safety", r.SafetyDays}, {"sessions", r.SessionsDays}} {
		if f.days < 0 || f.days > MaxRetentionDays {
			return fmt.Errorf("retention of %s: %d days is not between 0 (keep until the parent deletes) and %d", f.name, f.days, MaxRetentionDays)
		}
	}
	return nil
}

// Forever reports whether nothing is ever deleted for age.
func (r Retention) Forever() bool { return r == Retention{} }

type noticeClass struct {
	Class     string `json:"class"`
	Collected string `json:"collected"`
	Purpose   string `json:"purpose"`
	// RetentionDays is the configured limit; 0 = no time limit (kept until
	// the parent deletes it, or the fixed rule in Retention).
	RetentionDays int    `json:"retention_days"`
	Retention     string `json:"retention"`
}

type noticeRight struct {
	Right    string `json:"right"`
	How      string `json:"how"`
	Endpoint string `json:"endpoint"`
}

type privacyNotice struct {
	Version     string        `json:"version"`
	Controller  string        `json:"controller"`
	DataClasses []noticeClass `json:"data_classes"`
	AuditLog    noticeClass   `json:"audit_log"`
	Backups     string        `json:"backups"`
	Protection  string        `json:"protection"`
	Sharing     string        `json:"sharing"`
	Consent     string        `json:"consent"`
	Rights      []noticeRight `json:"parent_rights"`
}

func daysText(days int, after, none string) string {
	if days == 0 {
		return none
	}
	return fmt.Sprintf("deleted %d days after %s", days, after)
}

// notice builds the notice for a retention configuration.
func notice(r Retention) privacyNotice {
	untilDeleted := "kept until the parent deletes it (the child profile or the whole family)"
	return privacyNotice{
		Version:    PrivacyNoticeVersion,
		Controller: "the operator of this DaisyDog service; parents hold the account and decide for their children",
		DataClasses: []noticeClass{
			{Class: "parent_account",
				Collected: "the parent's e-mail address (encrypted), a password hash (argon2id), when the address was verified",
				Purpose:   "signing in, verification and password-reset e-mails, e-mails about a child's escalated safety events",
				Retention: "kept until the parent deletes the family"},
			{Class: "child_profile",
				Collected: "a nickname (encrypted) and an age tier (5-8, 9-12, 13-17) — never a birth date, real name, school or photo; the parent's settings; Daisy's state for the child (encrypted)",
				Purpose:   "age-appropriate replies, the parent's limits (bedtime, daily time, features)",
				Retention: untilDeleted},
			{Class: "consents",
				Collected: "each parental consent for a child: which parent, the method, the time, the notice version, when and by whom it was withdrawn",
				Purpose:   "proof that a parent consented before a child under 13 chatted; the parent's review",
				Retention: untilDeleted},
			{Class: "devices",
				Collected:     "the IDs of the devices linked to a child, when they were linked or unlinked, and the single-use codes that linked them (keyed hashes only)",
				Purpose:       "letting a linked device chat as the child; unlinking it",
				RetentionDays: r.SessionsDays,
				Retention:     daysText(r.SessionsDays, "the device was unlinked (an expired link code likewise); a linked device is kept until the parent unlinks or deletes it", untilDeleted)},
			{Class: "chat_turns",
				Collected:     "the child's messages (personal details the safety policy finds are removed first) and Daisy's replies (both encrypted), the safety policy's verdicts on them (action, categories, policy version), the time",
				Purpose:       "the conversation's context, the parent's review, child safety",
				RetentionDays: r.TurnsDays, Retention: daysText(r.TurnsDays, "the turn", "kept until the parent deletes them")},
			{Class: "safety_events",
				Collected:     "that a turn was escalated or the safety policy failed: kind, categories, policy version, time — no message text (moderators see the message only while its turn is kept)",
				Purpose:       "review by trained moderators, alerts to parents, measuring the safety policy",
				RetentionDays: r.SafetyDays, Retention: daysText(r.SafetyDays, "the event", "kept until the parent deletes the child")},
			{Class: "parent_sessions",
				Collected:     "sign-in sessions and refresh tokens (keyed hashes only, never the tokens)",
				Purpose:       "keeping a parent signed in; detecting a stolen refresh token",
				RetentionDays: r.SessionsDays, Retention: daysText(r.SessionsDays, "the session's last refresh token expired", "kept until the parent deletes the family")},
			{Class: "email_tokens",
				Collected:     "verification and password-reset tokens (keyed hashes only), when they expire or were used",
				Purpose:       "single-use e-mail links",
				RetentionDays: 7, Retention: "deleted 7 days after the token expired"},
			{Class: "pending_emails",
				Collected: "an e-mail the service owes a parent (address confirmation, password reset, consent confirmation) — the address and the message, sealed — until it is sent",
				Purpose:   "sending it even if a server fails",
				Retention: "deleted once sent, or after at most a day if it cannot be; deleted with the family"},
			{Class: "rate_limit_counters",
				Collected: "counts of requests per client network, keyed hashes only (never IP addresses)",
				Purpose:   "protecting accounts against guessing and abuse",
				Retention: "deleted once the two most recent counting windows (at most a few hours) have passed"},
			{Class: "login_failures",
				Collected: "the number of failed logins for an e-mail address (a keyed hash only) and a lockout time",
				Purpose:   "locking out password guessing",
				Retention: "cleared by the next successful login or password reset; deleted with the family"},
		},
		AuditLog: noticeClass{Class: "audit_log",
			Collected: "security events (sign-ups, logins, device links, safety escalations, every read of a child's content by staff, exports, deletions, retention runs): pseudonymous IDs, the action and the time — never an e-mail address, nickname or message text",
			Purpose:   "accountability: who did what, and when",
			Retention: "not deleted for age: the log is an append-only hash chain, and removing an entry would break the proof that none was altered; after a deletion its entries hold only IDs that no longer identify anyone in the database"},
		Backups:    "encrypted backups keep copies until the operator rotates them; deleting a family destroys its data key, so its copies in backups and in the replication log can no longer be opened",
		Protection: "children's messages, nicknames and parents' e-mail addresses are encrypted at rest with a key per family; all traffic uses TLS",
		Sharing:    "nothing is shared with third parties unless the parent switches on both AI mode and the separate third-party consent for a child (off by default); analytics are aggregates without identifiers",
		Consent:    "a profile of a child under 13 cannot chat until a parent of the family, signed in with a verified e-mail address, consents to this notice's version; a confirmation e-mail then goes to that address (\"e-mail plus\"). Each consent is recorded with its method, time and notice version, kept with the child's data and deleted with it; withdrawing it stops the child's devices at once. Third-party AI sharing needs its own consent (off by default)",
		Rights: []noticeRight{
			{Right: "review", How: "read a child's profile, history with the safety verdicts, devices, settings and usage", Endpoint: "GET /v1/children/:id/turns"},
			{Right: "export", How: "download everything stored about the family as JSON", Endpoint: "GET /v1/family/export"},
			{Right: "delete_child", How: "delete a child and everything about it, on every server", Endpoint: "DELETE /v1/children/:id"},
			{Right: "delete_family", How: "delete every parent and child of the family and the family's data key", Endpoint: "DELETE /v1/family"},
			{Right: "unlink_device", How: "stop a device from chatting as the child", Endpoint: "DELETE /v1/children/:id/devices/:device"},
			{Right: "review_consent", How: "see the consent in force for a child and every consent given or withdrawn", Endpoint: "GET /v1/children/:id/consent"},
			{Right: "withdraw_consent", How: "withdraw the consent for a child: its devices stop at once, nothing more is collected", Endpoint: "DELETE /v1/children/:id/consent"},
			{Right: "withdraw_sharing_consent", How: "switch third-party AI sharing off for a child", Endpoint: "PUT /v1/children/:id/settings"},
		},
	}
}

// privacy serves the notice to anyone; the days are the cluster's
// retention setting, or this node's flags before an administrator set it.
func (s *Server) privacy(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	ret, _, err := s.effectiveRetention(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, notice(ret))
	return nil
}

// Where the retention in force comes from.
const (
	RetentionFromCluster = "cluster"    // set by an administrator, replicated
	RetentionFromNode    = "node_flags" // this node's --retain-* flags
)

// effectiveRetention is the retention in force: the cluster's setting if
// an administrator made one, else this node's configuration.
func (s *Server) effectiveRetention(ctx context.Context) (Retention, string, error) {
	if s.DB == nil {
		return s.Retention, RetentionFromNode, nil
	}
	set, err := s.DB.RetentionSetting(ctx)
	if err != nil {
		return Retention{}, "", err
	}
	if !set.Set {
		return s.Retention, RetentionFromNode, nil
	}
	return RetentionOf(set, s.Retention), RetentionFromCluster, nil
}

// RetentionOf is the retention in force given the cluster's setting and a
// node's configuration (used when the cluster has none).
func RetentionOf(set storage.RetentionSetting, node Retention) Retention {
	if !set.Set {
		return node
	}
	return Retention{TurnsDays: set.TurnsDays, SafetyDays: set.SafetyDays, SessionsDays: set.SessionDays}
}

type retentionView struct {
	TurnsDays    int    `json:"turns_days"`
	SafetyDays   int    `json:"safety_days"`
	SessionsDays int    `json:"sessions_days"`
	Source       string `json:"source"`
	UpdatedAt    string `json:"updated_at,omitempty"`
	UpdatedBy    string `json:"updated_by,omitempty"`
	// NodeFlags are this node's --retain-* flags (what applies when the
	// cluster has no setting).
	NodeFlags struct {
		TurnsDays    int `json:"turns_days"`
		SafetyDays   int `json:"safety_days"`
		SessionsDays int `json:"sessions_days"`
	} `json:"node_flags"`
}

func (s *Server) retentionView(ctx context.Context) (retentionView, error) {
	ret, src, err := s.effectiveRetention(ctx)
	if err != nil {
		return retentionView{}, err
	}
	v := retentionView{TurnsDays: ret.TurnsDays, SafetyDays: ret.SafetyDays, SessionsDays: ret.SessionsDays, Source: src}
	v.NodeFlags.TurnsDays, v.NodeFlags.SafetyDays, v.NodeFlags.SessionsDays = s.Retention.TurnsDays, s.Retention.SafetyDays, s.Retention.SessionsDays
	if src == RetentionFromCluster {
		set, err := s.DB.RetentionSetting(ctx)
		if err != nil {
			return v, err
		}
		v.UpdatedAt, v.UpdatedBy = millis(set.UpdatedAt), set.UpdatedBy
	}
	return v, nil
}

// getRetention shows the retention in force and where it comes from.
func (s *Server) getRetention(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ storage.Actor) error {
	v, err := s.retentionView(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// putRetention sets the cluster's retention: every node publishes it in the
// privacy notice, and the leader's retention job deletes by it.
func (s *Server) putRetention(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		TurnsDays    *int `json:"turns_days"`
		SafetyDays   *int `json:"safety_days"`
		SessionsDays *int `json:"sessions_days"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.TurnsDays == nil || req.SafetyDays == nil || req.SessionsDays == nil {
		return errInvalid("turns_days, safety_days and sessions_days are all required (0 keeps until the parent deletes)")
	}
	ret := Retention{TurnsDays: *req.TurnsDays, SafetyDays: *req.SafetyDays, SessionsDays: *req.SessionsDays}
	if err := ret.Validate(); err != nil {
		return errInvalid(err.Error())
	}
	cmd := &storage.PutRetention{StaffID: a.ID, TurnsDays: ret.TurnsDays, SafetyDays: ret.SafetyDays, SessionsDays: ret.SessionsDays, Now: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	v, err := s.retentionView(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
