package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	mailer "daisydog/node/mail"
	"daisydog/storage"
)

// E-mails a parent waits for (address confirmation, password reset,
// consent confirmation) go through the replicated outbox
// (storage/mail_outbox.go): the node seals the message under the cluster
// key and replicates it in the same log entry as the state change it is
// about; the leader sends it (node/mailjob.go). A crash of this node after
// the answer, or of the leader before sending, loses no e-mail.

// OutboxMessage is a queued e-mail as sealed in the outbox.
type OutboxMessage struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Kind    string `json:"kind"`
}

// OpenOutboxMessage opens a queued e-mail (the leader, before sending).
func OpenOutboxMessage(keys *storage.Keyring, id string, sealed []byte) (mailer.Message, error) {
	b, err := keys.OpenSecret(storage.MailLabel(id), sealed)
	if err != nil {
		return mailer.Message{}, fmt.Errorf("open queued e-mail: %w", err)
	}
	var m OutboxMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return mailer.Message{}, fmt.Errorf("decode queued e-mail: %w", err)
	}
	return mailer.Message{To: m.To, Subject: m.Subject, Body: m.Body, Kind: m.Kind}, nil
}

// replicateWithMail replicates cmd and, in the same log entry, queues m;
// the state machine keeps the e-mail only if cmd did what it reports (a
// token issued, a consent recorded). While some member runs an older
// binary (which cannot apply the outbox), cmd goes alone and, if wanted()
// says so once it has applied, m goes out from this node the older way.
// Without a mail sender on this node, cmd goes alone and nothing is sent.
func (s *Server) replicateWithMail(ctx context.Context, cmd storage.Command, m mailer.Message, out any, wanted func() bool) error {
	if s.Mail == nil {
		s.log.Debug("no mail sender configured; e-mail not sent", "kind", m.Kind)
		_, err := s.replicate(ctx, cmd, out)
		return err
	}
	id := newID("ml_")
	b, err := json.Marshal(OutboxMessage{To: m.To, Subject: m.Subject, Body: m.Body, Kind: m.Kind})
	if err != nil {
		return err
	}
	sealed, err := s.Vault.Keyring().SealSecret(storage.MailLabel(id), b)
	if err != nil {
		return fmt.Errorf("seal e-mail: %w", err)
	}
	wrapped := &storage.MailAfter{Cmd: cmd, Mail: storage.QueuedMail{ID: id, Kind: m.Kind, Sealed: sealed, At: s.Now().UnixMilli()}}
	_, err = s.replicate(ctx, wrapped, out)
	if !errors.Is(err, errUpgrading) {
		return err
	}
	if _, err := s.replicate(ctx, cmd, out); err != nil {
		return err
	}
	if wanted() {
		s.Mail.Enqueue(m)
	}
	return nil
}
