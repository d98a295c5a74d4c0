package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// The e-mail outbox (charter §3: side effects go through an outbox table
// written by the state machine and delivered by the leader). An e-mail a
// parent waits for — the address confirmation code, the password-reset
// link, the consent confirmation — is written in the same transaction as
// the state change it is about: MailAfter wraps that command, and the
// state machine inserts the e-mail only if the command did what the
// e-mail reports (a token was issued, the consent recorded). The leader
// sends due e-mails and then proposes MarkMail: an e-mail is never lost to
// a node's crash and may, if a leader dies between sending and marking,
// go out twice.
//
// The message (address, subject, body, which may hold a live token) is
// sealed under the cluster key by the node that took the request, before
// replication; a row is deleted once sent, once it is older than
// MailMaxAgeMillis (its token has expired), or with its parent. A newer
// e-mail of the same kind to the same parent replaces a pending older one
// (its token was voided by the newer command anyway).
//
// Both commands are newer than the upgrade baseline: while any member runs
// an older binary, the API sends the old way (after the command, from the
// node that took it; node/api/mailout.go).

// Outbox command kinds (newer than the baseline: upgrade.go).
const (
	KindMailAfter = "mail_after"
	KindMarkMail  = "mark_mail"
)

// MailMaxAgeMillis: a pending e-mail older than this is dropped, not sent
// (the longest-lived token it can carry, address verification, lasts 24 h).
const MailMaxAgeMillis = 24 * 3600 * 1000

// QueuedMail is one e-mail for the outbox.
type QueuedMail struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`   // verify_email, password_reset, consent_confirmation
	Sealed []byte `json:"sealed"` // Keyring.SealSecret(MailLabel(ID), message)
	At     int64  `json:"at"`
}

// MailLabel is the label a queued e-mail is sealed under (it binds the
// sealed message to its row).
func MailLabel(id string) string { return "mail:" + id }

// MailAfter applies Cmd and, if Cmd did what the e-mail is about, queues
// Mail. Only commands that send a parent an e-mail may be wrapped
// (mailOwner); the result is Cmd's.
type MailAfter struct {
	Cmd  Command
	Mail QueuedMail
}

func (MailAfter) Kind() string { return KindMailAfter }
func (MailAfter) Version() int { return 1 }

type mailAfterJSON struct {
	Cmd  json.RawMessage `json:"cmd"`
	Mail QueuedMail      `json:"mail"`
}

// MarshalJSON writes the wrapped command in its own envelope.
func (m MailAfter) MarshalJSON() ([]byte, error) {
	if m.Cmd == nil || !mailable(m.Cmd) {
		return nil, fmt.Errorf("storage: %T cannot carry an e-mail", m.Cmd)
	}
	inner, err := Encode(m.Cmd)
	if err != nil {
		return nil, err
	}
	return json.Marshal(mailAfterJSON{Cmd: inner, Mail: m.Mail})
}

// UnmarshalJSON reads the wrapped command; a kind that cannot carry an
// e-mail is refused (no nesting, no chat turns).
func (m *MailAfter) UnmarshalJSON(b []byte) error {
	var j mailAfterJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	c, err := Decode(j.Cmd)
	if err != nil {
		return err
	}
	if !mailable(c) {
		return fmt.Errorf("storage: %s cannot carry an e-mail", c.Kind())
	}
	m.Cmd, m.Mail = c, j.Mail
	return nil
}

// mailable lists the commands an e-mail may follow.
func mailable(c Command) bool {
	switch c.(type) {
	case *IssueEmailToken, *GrantConsent:
		return true
	}
	return false
}

// mailOwner reports whether the wrapped command's result calls for its
// e-mail, and the parent it goes to.
func mailOwner(c Command, result any) (string, bool) {
	switch c := c.(type) {
	case *IssueEmailToken:
		r, ok := result.(EmailTokenIssued)
		return r.ParentID, ok && r.Issued
	case *GrantConsent:
		return c.ParentID, true
	}
	return "", false
}

// MarkMail records what a leader did with due e-mails: Sent and Dropped
// rows are deleted, Retry rows wait until their next attempt. Rows that
// are gone already (sent by an earlier leader, deleted with their parent)
// are ignored.
type MarkMail struct {
	Sent    []string    `json:"sent,omitempty"`
	Dropped []string    `json:"dropped,omitempty"`
	Retry   []MailRetry `json:"retry,omitempty"`
	Now     int64       `json:"at"`
}

// MailRetry schedules another attempt.
type MailRetry struct {
	ID     string `json:"id"`
	NextAt int64  `json:"next"`
}

func (MarkMail) Kind() string { return KindMarkMail }
func (MarkMail) Version() int { return 1 }

func newMailCommand(kind string) Command {
	switch kind {
	case KindMailAfter:
		return &MailAfter{}
	case KindMarkMail:
		return &MarkMail{}
	}
	return nil
}

const (
	qMailReplace = "DELETE FROM mail_outbox WHERE parent_id=? AND kind=?"
	qMailInsert  = `INSERT INTO mail_outbox(id, parent_id, kind, sealed, created_at, attempts, next_at)
		VALUES (?, ?, ?, ?, ?, 0, ?)`
	qMailDelete = "DELETE FROM mail_outbox WHERE id=?"
	qMailRetry  = "UPDATE mail_outbox SET attempts=attempts+1, next_at=? WHERE id=?"
	qMailDue    = `SELECT id, kind, sealed, created_at, attempts FROM mail_outbox
		WHERE next_at <= ? ORDER BY next_at, id LIMIT ?`
	qMailPending = "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM mail_outbox"
)

// mailStatements are the outbox's statements (checked against full scans:
// explain_test.go).
var mailStatements = [...]string{qMailReplace, qMailInsert, qMailDelete, qMailRetry, qMailDue}

// replacesPending: a newer e-mail of these kinds makes a pending one
// pointless (the newer command voided the older token).
func replacesPending(kind string) bool {
	return kind == PurposeVerifyEmail || kind == PurposePasswordReset
}

func applyMailOutbox(a *txApplier, c Command) (any, bool, error) {
	switch c := c.(type) {
	case *MailAfter:
		val, err := applyOne(a, c.Cmd)
		if err != nil {
			return val, true, err
		}
		parent, ok := mailOwner(c.Cmd, val)
		if !ok {
			return val, true, nil
		}
		if c.Mail.ID == "" || len(c.Mail.Sealed) == 0 {
			return val, true, outcome(errors.New("storage: e-mail without id or message"))
		}
		if replacesPending(c.Mail.Kind) {
			if _, err := a.exec(qMailReplace, parent, c.Mail.Kind); err != nil {
				return nil, true, err
			}
		}
		_, err = a.exec(qMailInsert, c.Mail.ID, parent, c.Mail.Kind, c.Mail.Sealed, c.Mail.At, c.Mail.At)
		return val, true, err
	case *MarkMail:
		for _, ids := range [][]string{c.Sent, c.Dropped} {
			for _, id := range ids {
				if _, err := a.exec(qMailDelete, id); err != nil {
					return nil, true, err
				}
			}
		}
		for _, r := range c.Retry {
			if _, err := a.exec(qMailRetry, r.NextAt, r.ID); err != nil {
				return nil, true, err
			}
		}
		return nil, true, nil
	}
	return nil, false, nil
}

// DueMail is a queued e-mail whose time has come.
type DueMail struct {
	ID        string
	Kind      string
	Sealed    []byte
	CreatedAt int64
	Attempts  int
}

// DueMail returns up to limit e-mails due at now, the longest-waiting
// first.
func (db *DB) DueMail(ctx context.Context, now int64, limit int) ([]DueMail, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, qMailDue, now, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: due mail: %w", err)
	}
	defer rows.Close()
	var out []DueMail
	for rows.Next() {
		var m DueMail
		if err := rows.Scan(&m.ID, &m.Kind, &m.Sealed, &m.CreatedAt, &m.Attempts); err != nil {
			return nil, fmt.Errorf("storage: due mail: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: due mail: %w", err)
	}
	return out, nil
}

// MailPending reports how many e-mails wait in the outbox and when the
// oldest was queued (0: none).
func (db *DB) MailPending(ctx context.Context) (n int, oldest int64, err error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if err := db.queryRow(ctx, qMailPending).Scan(&n, &oldest); err != nil {
		return 0, 0, fmt.Errorf("storage: pending mail: %w", err)
	}
	return n, oldest, nil
}
