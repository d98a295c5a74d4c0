package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"daisydog/node/mail"
)

func TestMailFlags(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "smtp.pw")
	if err := os.WriteFile(pwFile, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		f       mailFlags
		env     string
		wantErr string
		outbox  bool
		pw      string
	}{
		{"nothing: development outbox", mailFlags{}, "", "", true, ""},
		{"smtp without sender", mailFlags{addr: "smtp.example.test:587"}, "", "--smtp-from", false, ""},
		{"sender without smtp", mailFlags{from: "a@example.test"}, "", "need --smtp-addr", false, ""},
		{"outbox", mailFlags{outbox: "/tmp/x.jsonl"}, "", "", true, ""},
		{"outbox and smtp", mailFlags{outbox: "/tmp/x.jsonl", addr: "smtp.example.test:587", from: "a@example.test"}, "", "exclude each other", false, ""},
		{"no auth", mailFlags{addr: "smtp.example.test:587", from: "no-reply@example.test"}, "", "", false, ""},
		{"password file, newline trimmed", mailFlags{addr: "smtp.example.test:587", from: "no-reply@example.test", user: "u", passwordFile: pwFile}, "from-env", "", false, "from-the-file"},
		{"password from the environment", mailFlags{addr: "smtp.example.test:587", from: "no-reply@example.test", user: "u"}, "from-env", "", false, "from-env"},
		{"user without password", mailFlags{addr: "smtp.example.test:587", from: "no-reply@example.test", user: "u"}, "", "needs a password", false, ""},
		{"bad address", mailFlags{addr: "smtp.example.test", from: "no-reply@example.test"}, "", "host:port", false, ""},
		{"bad sender", mailFlags{addr: "smtp.example.test:587", from: "Daisy <no-reply@example.test>"}, "", "plain address", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(smtpPasswordEnv, tc.env)
			s, err := tc.f.sender()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if tc.pw != "" && strings.Contains(err.Error(), tc.pw) {
					t.Fatal("error shows the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.outbox != (s == nil) {
				t.Fatalf("sender %T, outbox %v", s, tc.outbox)
			}
			if smtp, ok := s.(*mail.SMTP); ok && smtp.Password != tc.pw {
				t.Fatalf("password %q, want %q", smtp.Password, tc.pw)
			}
		})
	}
}
