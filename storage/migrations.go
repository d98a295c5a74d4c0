package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; each runs once, in its own transaction.
// Never edit a released migration: add a new one.
var migrations = []string{
	// 1: foundation schema.
	`
CREATE TABLE meta (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
);
CREATE TABLE families (
	id          TEXT PRIMARY KEY,
	wrapped_key BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE TABLE parents (
	id            TEXT PRIMARY KEY,
	family_id     TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
	email_bidx    BLOB NOT NULL UNIQUE,
	email_sealed  BLOB NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX parents_family ON parents(family_id);
CREATE TABLE children (
	id              TEXT PRIMARY KEY,
	family_id       TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
	nickname_sealed BLOB NOT NULL,
	age_tier        TEXT NOT NULL CHECK (age_tier IN ('5-8','9-12','13-17')),
	created_at      INTEGER NOT NULL
);
CREATE INDEX children_family ON children(family_id);
CREATE TABLE link_codes (
	code_hash  BLOB PRIMARY KEY,
	child_id   TEXT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
CREATE INDEX link_codes_child ON link_codes(child_id);
CREATE TABLE devices (
	id         TEXT PRIMARY KEY,
	child_id   TEXT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX devices_child ON devices(child_id);
CREATE TABLE turns (
	id             TEXT PRIMARY KEY,
	child_id       TEXT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
	seq            INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	message_sealed BLOB NOT NULL,
	reply_sealed   BLOB NOT NULL,
	intent         TEXT NOT NULL,
	in_action      TEXT NOT NULL,
	in_categories  TEXT NOT NULL,
	out_action     TEXT NOT NULL,
	out_categories TEXT NOT NULL,
	escalate       INTEGER NOT NULL,
	fail_closed    INTEGER NOT NULL,
	policy_version TEXT NOT NULL,
	UNIQUE (child_id, seq)
);
CREATE TABLE safety_events (
	id             TEXT PRIMARY KEY,
	child_id       TEXT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
	turn_id        TEXT NOT NULL,
	kind           TEXT NOT NULL,
	categories     TEXT NOT NULL,
	policy_version TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX safety_events_child ON safety_events(child_id, created_at);
CREATE TABLE signing_keys (
	kid            TEXT PRIMARY KEY,
	public_key     BLOB NOT NULL,
	private_sealed BLOB NOT NULL,
	created_at     INTEGER NOT NULL
);
`,
	// 2: parent sessions, rotating refresh tokens, replicated login failures.
	`
CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	parent_id  TEXT NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX sessions_parent ON sessions(parent_id);
CREATE TABLE refresh_tokens (
	hash       BLOB PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE TABLE login_failures (
	email_bidx   BLOB PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL
);
`,
	// 3: append-only, hash-chained audit log.
	`
CREATE TABLE audit_log (
	seq    INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	prev   BLOB NOT NULL,
	hash   BLOB NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
`,
	// 4: Daisy per child: her sealed state (state, game, stats, usage) and
	// the parent's settings (controls, time zone; plain JSON). A missing
	// row or an empty column means "never written" (defaults).
	`
CREATE TABLE companions (
	child_id     TEXT PRIMARY KEY REFERENCES children(id) ON DELETE CASCADE,
	state_sealed BLOB,
	state_at     INTEGER NOT NULL DEFAULT 0,
	settings     BLOB,
	settings_at  INTEGER NOT NULL DEFAULT 0
);
`,
	// 5: administrators and moderators (TOTP, recovery codes, sessions,
	// invitations); moderation reads safety events newest first.
	staffMigration + `CREATE INDEX safety_events_created ON safety_events(created_at);`,
	// 6: the policy lifecycle: trusted bundle-signing keys, staged bundles
	// (compressed, as uploaded), the activation history (a stack: the last
	// row is active, rollback pops it; empty = the embedded default) and
	// the shadow candidate.
	`
CREATE TABLE policy_keys (
	key_id     TEXT PRIMARY KEY,
	public_key BLOB NOT NULL,
	added_at   INTEGER NOT NULL,
	added_by   TEXT NOT NULL
);
CREATE TABLE policy_bundles (
	id        TEXT PRIMARY KEY,
	bundle    BLOB NOT NULL,
	sha256    TEXT NOT NULL,
	key_id    TEXT NOT NULL,
	staged_at INTEGER NOT NULL,
	staged_by TEXT NOT NULL
);
CREATE TABLE policy_activations (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	bundle_id TEXT NOT NULL REFERENCES policy_bundles(id),
	at        INTEGER NOT NULL,
	by        TEXT NOT NULL
);
CREATE TABLE policy_reports (
	node_id   TEXT NOT NULL,
	bundle_id TEXT NOT NULL REFERENCES policy_bundles(id),
	ok        INTEGER NOT NULL,
	error     TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (node_id, bundle_id)
);
CREATE TABLE policy_shadow (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	bundle_id TEXT NOT NULL REFERENCES policy_bundles(id),
	at        INTEGER NOT NULL,
	by        TEXT NOT NULL
);
`,
	// 7: indexes for the remaining hot-path queries (storage/explain_test.go
	// refuses full scans of large tables).
	`
CREATE INDEX safety_events_kind ON safety_events(kind);
`,
	// 8: parent accounts: e-mail verification, single-use e-mail tokens
	// (verification, password reset; keyed hashes only) and cluster-wide
	// per-client rate counters (keyed hashes of client IPs, never raw IPs;
	// rows expire and are pruned by the rate_hit command itself).
	`
ALTER TABLE parents ADD COLUMN email_verified_at INTEGER;
CREATE TABLE email_tokens (
	hash       BLOB PRIMARY KEY,
	parent_id  TEXT NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email','password_reset')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
CREATE INDEX email_tokens_parent ON email_tokens(parent_id, purpose);
CREATE INDEX email_tokens_expiry ON email_tokens(expires_at);
CREATE TABLE rate_hits (
	class        TEXT NOT NULL,
	key          BLOB NOT NULL,
	window_start INTEGER NOT NULL,
	hits         INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	PRIMARY KEY (class, key, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_hits_expiry ON rate_hits(expires_at);
`,
	// 9: Daisy's state version (compare-and-set for concurrent turns of one
	// child); the shared catalogue admins manage (one row per item, JSON);
	// versioned content packs.
	`
ALTER TABLE companions ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE catalog_items (
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	doc        BLOB NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE TABLE content_packs (
	id         TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	doc        BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);
`,
	// 10: each node's shadow-run counts (deltas added as nodes report), so
	// any node can show the cluster-wide comparison of a shadow candidate.
	`
CREATE TABLE policy_shadow_counts (
	node_id   TEXT NOT NULL,
	bundle_id TEXT NOT NULL,
	against   TEXT NOT NULL,
	evaluated INTEGER NOT NULL,
	disagreed INTEGER NOT NULL,
	errors    INTEGER NOT NULL,
	skipped   INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (node_id, bundle_id, against)
);
`,
	// 11: retention (retention.go). The job deletes the oldest rows of a
	// class in chunks ordered by a unique key, so each chunk is the same
	// rows on every node: indexes on (time, key). turn_seq_floor keeps a
	// child's turn numbers from restarting when its old turns are deleted.
	// safety_events_created gains the event ID (moderation reads it in that
	// order too).
	`
ALTER TABLE children ADD COLUMN turn_seq_floor INTEGER NOT NULL DEFAULT 0;
CREATE INDEX turns_created ON turns(created_at, id);
DROP INDEX safety_events_created;
CREATE INDEX safety_events_created ON safety_events(created_at, id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at, hash);
CREATE INDEX sessions_created ON sessions(created_at, id);
`,
	// 12: parental consent (consent.go): every grant and its revocation;
	// children.consent_id names the one in force, read with the child's row
	// on every child request. Deleted with the child.
	`
CREATE TABLE consents (
	id             TEXT PRIMARY KEY,
	child_id       TEXT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
	parent_id      TEXT NOT NULL,
	method         TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	granted_at     INTEGER NOT NULL,
	revoked_at     INTEGER,
	revoked_by     TEXT
);
CREATE INDEX consents_child ON consents(child_id, granted_at);
ALTER TABLE children ADD COLUMN consent_id TEXT NOT NULL DEFAULT '';
`,
	// 13: the parent-alert outbox (alert_outbox.go): a cursor into the audit
	// log's escalations and each child's last alert (cluster-wide throttle).
	`
CREATE TABLE alert_outbox (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	start_index INTEGER NOT NULL,
	done_seq    INTEGER NOT NULL
);
CREATE TABLE alert_throttle (
	child_id TEXT PRIMARY KEY REFERENCES children(id) ON DELETE CASCADE,
	last_at  INTEGER NOT NULL
);
`,
	// 14: the cluster's retention setting (retention_setting.go), set by an
	// administrator; until then each node uses its flags.
	`
CREATE TABLE retention_setting (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	turns_days    INTEGER NOT NULL,
	safety_days   INTEGER NOT NULL,
	sessions_days INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	updated_by    TEXT NOT NULL
);
`,
	// 15: the e-mail outbox (mail_outbox.go): e-mails a parent waits for,
	// sealed, until the leader has sent them.
	`
CREATE TABLE mail_outbox (
	id         TEXT PRIMARY KEY,
	parent_id  TEXT NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	sealed     BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	next_at    INTEGER NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_at, id);
CREATE INDEX mail_outbox_parent ON mail_outbox(parent_id, kind);
`,
	// 16: moderation reviews (moderation.go): the outcome of each safety
	// event a moderator looked at; open events are the queue.
	`
ALTER TABLE safety_events ADD COLUMN reviewed_at INTEGER;
ALTER TABLE safety_events ADD COLUMN reviewed_by TEXT;
ALTER TABLE safety_events ADD COLUMN outcome TEXT;
CREATE INDEX safety_events_open ON safety_events(created_at, id) WHERE reviewed_at IS NULL;
CREATE INDEX safety_events_reviewed ON safety_events(reviewed_at) WHERE reviewed_at IS NOT NULL;
`,
	// 17: retention of the leftovers of signing in and linking
	// (ApplyRetention version 2, retention.go).
	`
CREATE INDEX staff_sessions_expiry ON staff_sessions(expires_at, id);
CREATE INDEX staff_sessions_revoked ON staff_sessions(revoked_at, id) WHERE revoked_at IS NOT NULL;
CREATE INDEX staff_invites_expiry ON staff_invites(expires_at, hash);
CREATE INDEX link_codes_expiry ON link_codes(expires_at, code_hash);
CREATE INDEX devices_revoked ON devices(revoked_at, id) WHERE revoked_at IS NOT NULL;
`,
	// 18: assignment of safety events to moderators (moderation.go,
	// AssignSafetyEvent): who holds an open event, since when.
	`
ALTER TABLE safety_events ADD COLUMN assigned_to TEXT;
ALTER TABLE safety_events ADD COLUMN assigned_at INTEGER;
CREATE INDEX safety_events_assigned ON safety_events(assigned_to, created_at) WHERE assigned_to IS NOT NULL;
`,
	// 19: safety holds on children (hold.go, SetSafetyHold): a moderator
	// stops a child's chat until the family has been reached.
	`
ALTER TABLE children ADD COLUMN hold_reason TEXT;
ALTER TABLE children ADD COLUMN hold_at INTEGER;
ALTER TABLE children ADD COLUMN hold_by TEXT;
`,
	// 20: CA rotations (carotation.go, RotateCA): the replicated record of
	// each rotation of the cluster CA, newest last.
	`
CREATE TABLE ca_rotations (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint TEXT NOT NULL UNIQUE,
	prev_fingerprint TEXT NOT NULL,
	cert_pem TEXT NOT NULL,
	prev_cert_pem TEXT NOT NULL,
	key_sealed BLOB NOT NULL,
	join_secret_sealed BLOB NOT NULL,
	join_hash TEXT NOT NULL,
	step TEXT NOT NULL CHECK (step IN ('stage', 'switch', 'finish', 'abort')),
	staged_at INTEGER NOT NULL,
	staged_by TEXT NOT NULL,
	switched_at INTEGER,
	finished_at INTEGER
);
`,
}

func migrate(ctx context.Context, w *sql.DB) error {
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (unixepoch()))`); err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	var current int
	if err := w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version),0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("storage: read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("storage: database schema version %d is newer than this binary (%d)", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("storage: migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("storage: migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version) VALUES (?)", v); err != nil {
			tx.Rollback()
			return fmt.Errorf("storage: migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("storage: migration %d: %w", v, err)
		}
	}
	return nil
}
