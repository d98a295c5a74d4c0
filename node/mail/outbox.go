package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Outbox is the development sender: each message becomes one JSON line
// appended to a file (created 0600 in a 0700 directory). It holds
// addresses and live tokens in clear; production configures SMTP.
type Outbox struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// OutboxEntry is one line of the outbox file.
type OutboxEntry struct {
	At      string `json:"at"`
	Kind    string `json:"kind"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// NewOutbox writes to path (its directory is created if missing).
func NewOutbox(path string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{path: path, now: now}
}

// Path is the outbox file.
func (o *Outbox) Path() string { return o.path }

// Send appends m to the outbox file.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := json.Marshal(OutboxEntry{At: o.now().UTC().Format(time.RFC3339Nano), Kind: m.Kind, To: m.To, Subject: m.Subject, Body: m.Body})
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(o.path), 0o700); err != nil {
		return fmt.Errorf("mail: outbox dir: %w", err)
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("mail: outbox write: %w", err)
	}
	return f.Close()
}
