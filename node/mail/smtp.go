package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"time"
)

// SMTP submits messages to a mail server with STARTTLS (required) and,
// when a username is set, AUTH PLAIN over the encrypted connection.
type SMTP struct {
	Addr     string // host:port, e.g. smtp.example.com:587
	From     string // envelope and header sender
	Username string
	Password string // never logged
	// RootCAs verifies the server certificate (nil = the system roots).
	RootCAs *x509.CertPool
	// HelloName is sent in EHLO (default "localhost").
	HelloName string
	Now       func() time.Time
}

// ErrNoSTARTTLS is returned when the server does not offer STARTTLS: we
// never send a message or credentials in clear.
var ErrNoSTARTTLS = errors.New("mail: SMTP server does not offer STARTTLS")

// Check validates the configuration.
func (s *SMTP) Check() error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("mail: SMTP address must be host:port: %q", s.Addr)
	}
	if err := checkAddr(s.From); err != nil {
		return fmt.Errorf("mail: SMTP sender must be a plain address")
	}
	return nil
}

// Send delivers m; ctx bounds the whole exchange.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := s.Check(); err != nil {
		return err
	}
	if err := m.check(); err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	data, err := render(s.From, m, now())
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: %s: %w", s.Addr, err)
	}
	defer c.Close()
	hello := s.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoSTARTTLS
	}
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
		return fmt.Errorf("mail: STARTTLS: %w", err)
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: RCPT TO refused: %w", errRcpt)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	return c.Quit()
}

// errRcpt replaces the server's RCPT error, which usually echoes the address.
var errRcpt = errors.New("recipient rejected by the server")
