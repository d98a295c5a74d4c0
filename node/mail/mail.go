package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"
)

// Message is one plain-text e-mail.
type Message struct {
	To      string
	Subject string
	Body    string
	// Kind names the message for logs and metrics ("verify_email",
	// "password_reset"); it never holds personal data.
	Kind string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrHeader is returned for a message whose address or subject could
// inject headers or is not a single plain address.
var ErrHeader = errors.New("mail: invalid address or subject")

func checkAddr(a string) error {
	if strings.ContainsAny(a, "\r\n") {
		return ErrHeader
	}
	p, err := netmail.ParseAddress(a)
	if err != nil || p.Address != a {
		return ErrHeader
	}
	return nil
}

func (m Message) check() error {
	if err := checkAddr(m.To); err != nil {
		return err
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return ErrHeader
	}
	return nil
}

// render builds the RFC 5322 message (CRLF line endings, quoted-printable
// UTF-8 body, encoded subject).
func render(from string, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	_, domain, _ := strings.Cut(from, "@")
	hdr := [][2]string{
		{"From", from},
		{"To", m.To},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", now.UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id[:]) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
	}
	for _, h := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// Queue sends messages in the background with one worker, so callers never
// wait for delivery. A full queue drops the message (logged by kind only).
type Queue struct {
	sender  Sender
	log     *slog.Logger
	ch      chan Message
	timeout time.Duration
}

// NewQueue returns a queue of up to size pending messages; run Run to send.
func NewQueue(s Sender, size int, log *slog.Logger) *Queue {
	return &Queue{sender: s, log: log.With("component", "mail"), ch: make(chan Message, size), timeout: 30 * time.Second}
}

// Enqueue schedules m and reports whether it was accepted.
func (q *Queue) Enqueue(m Message) bool {
	select {
	case q.ch <- m:
		return true
	default:
		q.log.Warn("mail queue full; message dropped", "kind", m.Kind)
		return false
	}
}

// Run sends queued messages until ctx ends.
func (q *Queue) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q.ch:
			sctx, cancel := context.WithTimeout(ctx, q.timeout)
			if err := q.sender.Send(sctx, m); err != nil {
				// The error may name the server, never the recipient or body.
				q.log.Error("sending mail failed", "kind", m.Kind, "err", err)
			}
			cancel()
		}
	}
}
