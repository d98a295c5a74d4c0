package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small real SMTP server on a loopback port: EHLO,
// STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT — enough for a submission.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config
	starttls bool // offer STARTTLS
	user     string
	pass     string
	// greeting replaces the 220 greeting; refuse maps a verb (or
	// "DATA-END", the reply after the message body) to a reply line sent
	// instead of the normal one.
	greeting string
	refuse   map[string]string

	mu   sync.Mutex
	got  []received
	done chan struct{}
}

type received struct {
	tls      bool
	authUser string
	from     string
	rcpt     []string
	data     string
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func startSMTP(t *testing.T, starttls bool) (*smtpServer, *x509.CertPool) {
	t.Helper()
	return startScriptedSMTP(t, starttls, "", nil)
}

// startScriptedSMTP is startSMTP with a replaced greeting and refused steps
// (see smtpServer), fixed before the server accepts its first connection.
func startScriptedSMTP(t *testing.T, starttls bool, greeting string, refuse map[string]string) (*smtpServer, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, starttls: starttls,
		user: "daisy", pass: "s3cret-smtp-pass", greeting: greeting, refuse: refuse, done: make(chan struct{}, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s, pool
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	var r received
	if s.greeting != "" {
		tp.PrintfLine("%s", s.greeting)
		return
	}
	tp.PrintfLine("220 stand-in ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if reply, ok := s.refuse[strings.ToUpper(verb)]; ok {
			tp.PrintfLine("%s", reply)
			continue
		}
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-stand-in", "250-8BITMIME"}
			if s.starttls && !r.tls {
				ext = append(ext, "250-STARTTLS")
			}
			if r.tls {
				ext = append(ext, "250-AUTH PLAIN")
			}
			for _, e := range ext {
				tp.PrintfLine("%s", e)
			}
			tp.PrintfLine("250 SIZE 1000000")
		case "STARTTLS":
			if !s.starttls {
				tp.PrintfLine("502 no")
				continue
			}
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			tp = textproto.NewConn(tc)
			r.tls = true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if !r.tls || mech != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				tp.PrintfLine("535 authentication failed")
				continue
			}
			r.authUser = parts[1]
			tp.PrintfLine("235 ok")
		case "MAIL":
			r.from = strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<> ")
			if i := strings.Index(r.from, ">"); i >= 0 {
				r.from = r.from[:i]
			}
			tp.PrintfLine("250 ok")
		case "RCPT":
			to := strings.Trim(strings.TrimPrefix(arg, "TO:"), "<> ")
			if strings.HasPrefix(to, "reject") {
				tp.PrintfLine("550 no such user %s", to)
				continue
			}
			r.rcpt = append(r.rcpt, to)
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go on")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			r.data = string(data)
			if reply, ok := s.refuse["DATA-END"]; ok {
				tp.PrintfLine("%s", reply)
				continue
			}
			s.mu.Lock()
			s.got = append(s.got, r)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
			s.done <- struct{}{}
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("500 unknown")
		}
	}
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func TestSMTPSendsOverSTARTTLSWithAuth(t *testing.T) {
	srv, pool := startSMTP(t, true)
	s := &SMTP{Addr: srv.ln.Addr().String(), From: "no-reply@daisydog.test", Username: "daisy", Password: "s3cret-smtp-pass", RootCAs: pool}
	msg := Message{To: "parent@example.test", Subject: "Confirm your e-mail — Daisy 🐶", Body: "Hello!\nYour code: ev_abc=def\n.\nA line with a lone dot above.", Kind: "verify_email"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
	r := got[0]
	if !r.tls || r.authUser != "daisy" || r.from != "no-reply@daisydog.test" || len(r.rcpt) != 1 || r.rcpt[0] != "parent@example.test" {
		t.Fatalf("envelope %+v", r)
	}
	// The DotReader hands lines over with \n endings.
	hdr, body, ok := strings.Cut(r.data, "\n\n")
	if !ok {
		t.Fatalf("no header/body split: %q", r.data)
	}
	for _, want := range []string{"From: no-reply@daisydog.test", "To: parent@example.test", "Subject: =?utf-8?q?", "Content-Transfer-Encoding: quoted-printable", "Message-ID: <"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("header misses %q:\n%s", want, hdr)
		}
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(strings.TrimRight(string(dec), "\r\n"), "\r\n", "\n"); got != msg.Body {
		t.Fatalf("body %q, want %q", got, msg.Body)
	}
}

func TestSMTPRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plain, _ := startSMTP(t, false)
	_, otherPool := selfSigned(t)
	srv, pool := startSMTP(t, true)
	ok := Message{To: "parent@example.test", Subject: "hi", Body: "x"}
	tests := []struct {
		name string
		s    *SMTP
		m    Message
		want func(error) bool
	}{
		{"no STARTTLS offered", &SMTP{Addr: plain.ln.Addr().String(), From: "a@b.test"}, ok, func(e error) bool { return errors.Is(e, ErrNoSTARTTLS) }},
		{"untrusted certificate", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: otherPool}, ok, func(e error) bool { return e != nil }},
		{"wrong password", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", Username: "daisy", Password: "nope", RootCAs: pool}, ok, func(e error) bool { return e != nil && !strings.Contains(e.Error(), "nope") }},
		{"recipient rejected, address not echoed", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: pool}, Message{To: "reject-me@example.test", Subject: "x"},
			func(e error) bool { return e != nil && !strings.Contains(e.Error(), "reject-me") }},
		{"header injection in subject", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: pool}, Message{To: "p@example.test", Subject: "x\r\nBcc: evil@example.test"}, func(e error) bool { return errors.Is(e, ErrHeader) }},
		{"header injection in address", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: pool}, Message{To: "p@example.test\r\nBcc: evil@example.test", Subject: "x"}, func(e error) bool { return errors.Is(e, ErrHeader) }},
		{"display-name address", &SMTP{Addr: srv.ln.Addr().String(), From: "a@b.test", RootCAs: pool}, Message{To: "Evil <p@example.test>", Subject: "x"}, func(e error) bool { return errors.Is(e, ErrHeader) }},
		{"bad server address", &SMTP{Addr: "no-port", From: "a@b.test"}, ok, func(e error) bool { return e != nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Send(ctx, tc.m); !tc.want(err) {
				t.Fatalf("Send = %v", err)
			}
		})
	}
	if n := len(srv.received()) + len(plain.received()); n != 0 {
		t.Fatalf("%d messages delivered by refused sends", n)
	}
}

func TestOutboxAppendsPrivateJSONLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox", "mail.jsonl")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := NewOutbox(path, func() time.Time { return at })
	ctx := context.Background()
	msgs := []Message{
		{To: "a@example.test", Subject: "one", Body: "token ev_1\nline 2", Kind: "verify_email"},
		{To: "b@example.test", Subject: "two", Body: "token pr_2", Kind: "password_reset"},
	}
	for _, m := range msgs {
		if err := o.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Send(ctx, Message{To: "x@example.test\nBcc: y@example.test", Subject: "s"}); !errors.Is(err, ErrHeader) {
		t.Fatalf("injection: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("outbox mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("outbox dir mode %v, want 0700", dst.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var got []OutboxEntry
	for sc.Scan() {
		var e OutboxEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d lines, want %d", len(got), len(msgs))
	}
	for i, m := range msgs {
		if e := got[i]; e.To != m.To || e.Subject != m.Subject || e.Body != m.Body || e.Kind != m.Kind || e.At != "2026-01-02T03:04:05Z" {
			t.Fatalf("line %d: %+v", i, e)
		}
	}
}

// The queue delivers in the background through a real sender.
func TestQueueDelivers(t *testing.T) {
	srv, pool := startSMTP(t, true)
	q := NewQueue(&SMTP{Addr: srv.ln.Addr().String(), From: "no-reply@daisydog.test", RootCAs: pool}, 4, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx)
	if !q.Enqueue(Message{To: "p@example.test", Subject: "s", Body: "b"}) {
		t.Fatal("enqueue refused")
	}
	select {
	case <-srv.done:
	case <-time.After(10 * time.Second):
		t.Fatal("queued message not delivered")
	}
}
