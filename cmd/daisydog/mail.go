package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"daisydog/node/mail"
)

// mailFlags configure how e-mails (address verification, password reset)
// are sent: SMTP with STARTTLS when --smtp-addr is set, or a development
// outbox file (--mail-outbox; 'daisydog run' defaults it to
// DATA/outbox/mail.jsonl). Without either, no e-mail is sent: the outbox
// holds addresses and tokens in clear, so a server never writes one unless
// asked to.
type mailFlags struct {
	addr, from, user, passwordFile, linkBase, outbox string
}

// smtpPasswordEnv holds the SMTP password when no file is given.
// #nosec G101 -- the name of the environment variable that holds the password
const smtpPasswordEnv = "DAISYDOG_SMTP_PASSWORD"

func (m *mailFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.addr, "smtp-addr", "", "SMTP submission server host:port (STARTTLS required)")
	fs.StringVar(&m.from, "smtp-from", "", "sender address of the e-mails (required with --smtp-addr)")
	fs.StringVar(&m.user, "smtp-user", "", "SMTP username (AUTH PLAIN over TLS); empty = no authentication")
	fs.StringVar(&m.passwordFile, "smtp-password-file", "", "file holding the SMTP password (default: $"+smtpPasswordEnv+")")
	fs.StringVar(&m.outbox, "mail-outbox", "", "development only: append e-mails as JSON lines to this file instead of sending them (holds tokens in clear; 'run' defaults to DATA/outbox/mail.jsonl)")
	fs.StringVar(&m.linkBase, "mail-link-base", "", "web address e-mailed links start with, e.g. https://app.example (default: e-mails carry the bare token)")
}

// sender returns the configured SMTP sender, or nil (outbox or no e-mail).
func (m mailFlags) sender() (mail.Sender, error) {
	if m.addr == "" {
		if m.from != "" || m.user != "" || m.passwordFile != "" {
			return nil, errors.New("--smtp-from, --smtp-user and --smtp-password-file need --smtp-addr")
		}
		return nil, nil
	}
	if m.outbox != "" {
		return nil, errors.New("--mail-outbox and --smtp-addr exclude each other")
	}
	if m.from == "" {
		return nil, errors.New("--smtp-from is required with --smtp-addr")
	}
	s := &mail.SMTP{Addr: m.addr, From: m.from, Username: m.user}
	if m.user != "" {
		pw, err := m.password()
		if err != nil {
			return nil, err
		}
		s.Password = pw
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

func (m mailFlags) password() (string, error) {
	if m.passwordFile != "" {
		b, err := os.ReadFile(m.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--smtp-password-file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if pw := os.Getenv(smtpPasswordEnv); pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("--smtp-user needs a password: --smtp-password-file or $%s", smtpPasswordEnv)
}

func printOutbox(w io.Writer, path string) {
	if path == "" {
		return
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintf(w, `  E-mails (address verification, password reset) are not sent: this is a
  development setup, so they are appended to %s
  (one JSON line each; it holds live tokens — use --smtp-addr in production).

`, abs)
}
