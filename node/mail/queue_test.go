package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for the queue's worker goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// failingSender reports every message it was asked to send, then fails.
type failingSender struct{ got chan Message }

func (f failingSender) Send(ctx context.Context, m Message) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	f.got <- m
	return errors.New("smtp.example.test:587: connection refused")
}

func TestQueueFullDropsAndLogsKindOnly(t *testing.T) {
	var logs lockedBuffer
	q := NewQueue(failingSender{}, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	first := Message{To: "one@example.test", Subject: "s", Body: "token-1", Kind: "verify_email"}
	second := Message{To: "two@example.test", Subject: "s", Body: "token-2", Kind: "password_reset"}
	if !q.Enqueue(first) {
		t.Fatal("first message refused by an empty queue")
	}
	if q.Enqueue(second) {
		t.Fatal("a full queue accepted a message")
	}
	out := logs.String()
	if !strings.Contains(out, "mail queue full") || !strings.Contains(out, "kind=password_reset") {
		t.Fatalf("drop not logged by kind: %q", out)
	}
	if strings.Contains(out, "two@example.test") || strings.Contains(out, "token-2") {
		t.Fatalf("log holds the recipient or body: %q", out)
	}
}

func TestQueueRunLogsFailuresAndStops(t *testing.T) {
	var logs lockedBuffer
	got := make(chan Message)
	q := NewQueue(failingSender{got: got}, 2, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	m := Message{To: "p@example.test", Subject: "s", Body: "secret-token", Kind: "verify_email"}
	if !q.Enqueue(m) {
		t.Fatal("enqueue refused")
	}
	if sent := <-got; sent != m {
		t.Fatalf("sender got %+v", sent)
	}
	// A second message proves the worker survived the failure (and has
	// logged the first one before taking the next).
	if !q.Enqueue(m) {
		t.Fatal("enqueue refused")
	}
	<-got
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "sending mail failed") || !strings.Contains(out, "kind=verify_email") || !strings.Contains(out, "connection refused") {
		t.Fatalf("failure not logged: %q", out)
	}
	if strings.Contains(out, "p@example.test") || strings.Contains(out, "secret-token") {
		t.Fatalf("log holds the recipient or body: %q", out)
	}
}

func TestOutboxEdges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.jsonl")
	o := NewOutbox(path, nil)
	if o.Path() != path {
		t.Fatalf("Path = %q", o.Path())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := Message{To: "a@example.test", Subject: "s", Body: "b", Kind: "verify_email"}
	if err := o.Send(ctx, m); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a cancelled send wrote the outbox: %v", err)
	}
	before := time.Now().UTC().Add(-time.Second)
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), `"at":"`)
	at, _, _ := strings.Cut(rest, `"`)
	ts, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Fatalf("default clock: at %q (%v)", at, err)
	}

	// The outbox directory cannot be created under a regular file.
	blocked := NewOutbox(filepath.Join(path, "sub", "mail.jsonl"), nil)
	if err := blocked.Send(context.Background(), m); err == nil || !strings.Contains(err.Error(), "outbox dir") {
		t.Fatalf("outbox under a file: %v", err)
	}
	// A directory where the file should be.
	if err := NewOutbox(dir, nil).Send(context.Background(), m); err == nil || !strings.Contains(err.Error(), "mail: outbox") {
		t.Fatalf("outbox is a directory: %v", err)
	}
}

func TestSMTPCheckAndConnectErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there any more
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok := Message{To: "p@example.test", Subject: "s", Body: "b"}
	tests := []struct {
		name string
		s    *SMTP
		want string
	}{
		{"empty host", &SMTP{Addr: ":587", From: "a@b.test"}, "host:port"},
		{"sender with display name", &SMTP{Addr: "smtp.example.test:587", From: "Daisy <a@b.test>"}, "plain address"},
		{"sender with newline", &SMTP{Addr: "smtp.example.test:587", From: "a@b.test\r\nBcc: c@d.test"}, "plain address"},
		{"nothing listening", &SMTP{Addr: closed, From: "a@b.test"}, "mail: connect " + closed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Send(ctx, ok)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send = %v, want %q", err, tc.want)
			}
		})
	}
	if err := (&SMTP{Addr: "smtp.example.test:587", From: "no-reply@example.test"}).Check(); err != nil {
		t.Fatalf("valid configuration: %v", err)
	}
}

func TestSMTPHonoursCancellation(t *testing.T) {
	// A server that accepts but never greets: Send must return when ctx ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- (&SMTP{Addr: ln.Addr().String(), From: "a@b.test"}).Send(ctx, Message{To: "p@example.test", Subject: "s"})
	}()
	conn := <-accepted
	defer conn.Close()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Send succeeded against a silent server")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return after cancellation")
	}
}

// TestSMTPServerRefusesAStep: each step of the submission the server
// refuses ends Send with an error naming that step, and nothing is
// reported as delivered.
func TestSMTPServerRefusesAStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name     string
		greeting string
		refuse   map[string]string
		want     string
	}{
		{"greeting refused", "554 not accepting mail", nil, "not accepting mail"},
		{"EHLO refused", "", map[string]string{"EHLO": "550 who are you"}, "mail: EHLO"},
		{"MAIL FROM refused", "", map[string]string{"MAIL": "553 sender not allowed"}, "mail: MAIL FROM"},
		{"DATA refused", "", map[string]string{"DATA": "554 no data today"}, "mail: DATA"},
		{"message refused after the body", "", map[string]string{"DATA-END": "554 message rejected"}, "mail: DATA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, pool := startScriptedSMTP(t, true, tc.greeting, tc.refuse)
			s := &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: pool, HelloName: "node1.example.test"}
			err := s.Send(ctx, Message{To: "p@example.test", Subject: "s", Body: "b"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send = %v, want an error containing %q", err, tc.want)
			}
			if n := len(srv.received()); n != 0 {
				t.Fatalf("%d messages recorded as delivered", n)
			}
		})
	}
}

// TestOutboxRefusals: the outbox applies the same header checks as SMTP and
// reports a failed write.
func TestOutboxRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.jsonl")
	err := NewOutbox(path, nil).Send(context.Background(), Message{To: "p@example.test", Subject: "x\r\nBcc: e@example.test"})
	if !errors.Is(err, ErrHeader) {
		t.Fatalf("subject with a line break = %v, want ErrHeader", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused message created the outbox: %v", err)
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full to fail writes")
	}
	err = NewOutbox("/dev/full", nil).Send(context.Background(), Message{To: "p@example.test", Subject: "s", Body: "b"})
	if err == nil || !strings.Contains(err.Error(), "mail: outbox write") {
		t.Fatalf("write to a full device = %v", err)
	}
}
