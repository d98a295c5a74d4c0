package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/node/mail"
)

var tokenRe = regexp.MustCompile(`\b(ev|pr)_[A-Za-z0-9_-]{43}\b`)

// outbox reads the development outbox of a node.
func (tn *testNode) outbox(t *testing.T) []mail.OutboxEntry {
	t.Helper()
	if tn.MailOutbox() == "" {
		t.Fatal("no outbox configured")
	}
	f, err := os.Open(tn.MailOutbox())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mail.OutboxEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e mail.OutboxEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("outbox line: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// mailedToken waits for the n-th (1-based) e-mail of kind to address in a
// node's outbox and returns the token it carries.
func (tn *testNode) mailedToken(t *testing.T, to, kind string, n int) string {
	t.Helper()
	var tok string
	waitFor(t, 10*time.Second, kind+" e-mail", func() error {
		seen := 0
		for _, e := range tn.outbox(t) {
			if e.To == to && e.Kind == kind {
				if seen++; seen == n {
					tok = tokenRe.FindString(e.Body)
					return nil
				}
			}
		}
		return fmt.Errorf("%d %s e-mails to the address so far", seen, kind)
	})
	if tok == "" {
		t.Fatalf("%s e-mail carries no token", kind)
	}
	return tok
}

type errResp struct {
	Error struct{ Code, Message string }
}

func TestParentAccountVerificationAndPasswordReset(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, func(c *Config) {
		clock.config()(c)
		c.MailOutbox = filepath.Join(filepath.Dir(c.DataDir), "outbox", "mail.jsonl")
	})
	const email = "reset-me@example.test"
	const oldPW, newPW = "correct horse battery staple", "violet kettle under moonlight"
	creds := map[string]string{"email": email, "password": oldPW}

	var signup struct {
		ParentID      string `json:"parent_id"`
		EmailVerified bool   `json:"email_verified"`
	}
	if st, _ := nodes[0].call(t, "POST", "/v1/parents/signup", "", creds, &signup); st != 201 || signup.ParentID == "" || signup.EmailVerified {
		t.Fatalf("signup: %d %+v", st, signup)
	}
	if st, _ := nodes[0].call(t, "POST", "/v1/parents/signup", "", map[string]string{"email": "xavier@example.test", "password": "Xavier walks the dog"}, nil); st != 422 {
		t.Fatalf("password with the e-mail's name: %d", st)
	}
	login := func(n *testNode, pw string) (int, tokens) {
		var tk tokens
		st, _ := n.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": pw}, &tk)
		return st, tk
	}
	me := func(n *testNode, access string) (int, map[string]any) {
		var v map[string]any
		st, _ := n.call(t, "GET", "/v1/parents/me", access, nil, &v)
		return st, v
	}

	t.Run("e-mail verification", func(t *testing.T) {
		tok := nodes[0].mailedToken(t, email, "verify_email", 1)
		_, tk := login(nodes[1], oldPW)
		if st, v := me(nodes[1], tk.AccessToken); st != 200 || v["email"] != email || v["email_verified"] != false || v["id"] != signup.ParentID {
			t.Fatalf("me before: %d %v", st, v)
		}
		// Ask again: a new e-mail, and the first link stops working.
		if st, _ := nodes[2].call(t, "POST", "/v1/parents/me/verification-email", tk.AccessToken, nil, nil); st != 202 {
			t.Fatalf("resend: %d", st)
		}
		tok2 := nodes[2].mailedToken(t, email, "verify_email", 2) // one outbox file for the cluster
		var eb errResp
		if st, _ := nodes[1].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, &eb); st != 400 || eb.Error.Code != "invalid_token" {
			t.Fatalf("replaced token: %d %+v", st, eb)
		}
		if st, _ := nodes[1].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok2}, nil); st != 200 {
			t.Fatalf("verify: %d", st)
		}
		for _, n := range nodes {
			waitFor(t, time.Second, "verified on "+n.nf.NodeID, func() error {
				if _, v := me(n, tk.AccessToken); v["email_verified"] != true || v["email_verified_at"] == nil {
					return fmt.Errorf("me: %v", v)
				}
				return nil
			})
		}
		if st, _ := nodes[0].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok2}, &eb); st != 410 || eb.Error.Code != "token_used" {
			t.Fatalf("second use: %d %+v", st, eb)
		}
		if st, _ := nodes[0].call(t, "POST", "/v1/parents/me/verification-email", tk.AccessToken, nil, &eb); st != 409 || eb.Error.Code != "already_verified" {
			t.Fatalf("resend when verified: %d %+v", st, eb)
		}
		for _, bad := range []string{"", "ev_short", "pr_" + tok2[3:], strings.Repeat("x", 46)} {
			if st, _ := nodes[0].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": bad}, &eb); st != 400 || eb.Error.Code != "invalid_token" {
				t.Fatalf("token %q: %d %+v", bad, st, eb)
			}
		}
	})

	t.Run("reset: no enumeration, sessions revoked everywhere, lockout cleared, single use", func(t *testing.T) {
		st0, a := login(nodes[0], oldPW)
		st1, b := login(nodes[1], oldPW)
		if st0 != 200 || st1 != 200 {
			t.Fatalf("logins: %d %d", st0, st1)
		}
		for i := 0; i < 6; i++ { // lock the account
			login(nodes[i%3], "wrong horse battery staple")
		}
		if st, _ := login(nodes[0], oldPW); st != 429 {
			t.Fatalf("account not locked: %d", st)
		}

		// Known and unknown addresses get byte-identical answers.
		type answer struct {
			st   int
			body string
		}
		ask := func(n *testNode, addr string) answer {
			st, hdr, body := n.raw(t, "POST", "/v1/auth/password-reset", "", "application/json", []byte(`{"email":"`+addr+`"}`))
			if hdr.Get("Retry-After") != "" {
				t.Fatalf("Retry-After on a reset answer")
			}
			return answer{st, string(body)}
		}
		known, unknown := ask(nodes[1], strings.ToUpper(email)), ask(nodes[2], "nobody-here@example.test")
		if known != unknown || known.st != 202 {
			t.Fatalf("answers differ or not 202:\n known   %+v\n unknown %+v", known, unknown)
		}
		tok := nodes[1].mailedToken(t, email, "password_reset", 1)
		for _, n := range nodes {
			for _, e := range n.outbox(t) {
				if e.To == "nobody-here@example.test" {
					t.Fatal("an e-mail went to an address without an account")
				}
			}
		}

		var eb errResp
		if st, _ := nodes[2].call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "Password2024!"}, &eb); st != 422 || eb.Error.Code != "invalid" {
			t.Fatalf("common password: %d %+v", st, eb)
		}
		if st, _ := nodes[2].call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "reset-me is my name"}, &eb); st != 422 {
			t.Fatalf("password with the e-mail's name: %d %+v", st, eb)
		}
		// The refused attempts did not spend the token.
		if st, _ := nodes[2].call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": newPW}, nil); st != 204 {
			t.Fatalf("confirm: %d", st)
		}
		canList := func(n *testNode, access string) int {
			st, _ := n.call(t, "GET", "/v1/children", access, nil, nil)
			return st
		}
		for _, n := range nodes {
			for _, access := range []string{a.AccessToken, b.AccessToken} {
				waitFor(t, time.Second, "old session ended on "+n.nf.NodeID, func() error { return wantStatus(canList(n, access), 401) })
			}
		}
		for _, rt := range []string{a.RefreshToken, b.RefreshToken} {
			if st, _ := nodes[0].call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt}, nil); st != 401 {
				t.Fatalf("old refresh token: %d", st)
			}
		}
		if st, _ := login(nodes[1], oldPW); st != 401 {
			t.Fatalf("old password: %d", st)
		}
		st, c := login(nodes[2], newPW) // the lockout was cleared
		if st != 200 || canList(nodes[0], c.AccessToken) != 200 {
			t.Fatalf("new password: %d", st)
		}
		if st, _ := nodes[0].call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "another fine passphrase"}, &eb); st != 410 || eb.Error.Code != "token_used" {
			t.Fatalf("reused token: %d %+v", st, eb)
		}

		// A token older than 30 minutes is refused, and changes nothing.
		ask(nodes[0], email)
		late := nodes[0].mailedToken(t, email, "password_reset", 2)
		clock.add(api.ResetTokenTTL + time.Second)
		if st, _ := nodes[1].call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": late, "password": "another fine passphrase"}, &eb); st != 410 || eb.Error.Code != "token_expired" {
			t.Fatalf("expired token: %d %+v", st, eb)
		}
		if st, _ := login(nodes[1], newPW); st != 200 {
			t.Fatalf("password after the refused reset: %d", st)
		}
	})
}

func TestClusterWideClientLimits(t *testing.T) {
	t.Parallel()
	limits := api.RateLimits{SignUp: 4, PasswordReset: 3, FailedLogins: 6, FailedLinks: 5}
	nodes := startCluster(t, 3, func(c *Config) { c.ClusterLimits = limits; c.MailOutbox = "" })
	tests := []struct {
		name  string
		limit int
		ok    int
		call  func(n *testNode, i int) (int, string)
	}{
		{"sign-up", limits.SignUp, 201, func(n *testNode, i int) (int, string) {
			var eb errResp
			st, _ := n.call(t, "POST", "/v1/parents/signup", "", map[string]string{"email": fmt.Sprintf("limit%d@example.test", i), "password": "correct horse battery staple"}, &eb)
			return st, eb.Error.Code
		}},
		{"password reset", limits.PasswordReset, 202, func(n *testNode, i int) (int, string) {
			var eb errResp
			st, _ := n.call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": fmt.Sprintf("anyone%d@example.test", i)}, &eb)
			return st, eb.Error.Code
		}},
		{"failed logins", limits.FailedLogins, 401, func(n *testNode, i int) (int, string) {
			var eb errResp
			// A different address each time: the per-account lockout never triggers.
			st, _ := n.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": fmt.Sprintf("guess%d@example.test", i), "password": "wrong horse battery staple"}, &eb)
			return st, eb.Error.Code
		}},
		{"failed link redemptions", limits.FailedLinks, 401, func(n *testNode, i int) (int, string) {
			var eb errResp
			st, _ := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": fmt.Sprintf("AAAA%d-BBBBB", i%10)}, &eb)
			return st, eb.Error.Code
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Spread over the three nodes: together they allow exactly the limit.
			for i := 0; i < tc.limit; i++ {
				if st, code := tc.call(nodes[i%3], i); st != tc.ok {
					t.Fatalf("attempt %d via %s: %d %s", i, nodes[i%3].nf.NodeID, st, code)
				}
			}
			// One more through any node is refused.
			for i, n := range nodes {
				if st, code := tc.call(n, 100+i); st != 429 || code != "rate_limited" {
					t.Fatalf("over the limit via %s: %d %s", n.nf.NodeID, st, code)
				}
			}
		})
	}
	// Without a sender or an outbox configured, no e-mail (plaintext
	// addresses, live tokens) is written anywhere in the data directories.
	for _, n := range nodes {
		if _, err := os.Stat(filepath.Join(n.dir, "outbox")); !os.IsNotExist(err) {
			t.Fatalf("%s has an outbox: %v", n.nf.NodeID, err)
		}
	}
	// The refusal says when to come back.
	st, hdr := nodes[1].call(t, "POST", "/v1/parents/signup", "", map[string]string{"email": "late@example.test", "password": "correct horse battery staple"}, nil)
	if ra := hdr.Get("Retry-After"); st != 429 || ra == "" || ra == "0" {
		t.Fatalf("Retry-After: %d %q", st, ra)
	}
	// Other limits did not move: a correct login from the same network is
	// refused only because the failed-login limit is reached.
	if st, _ := nodes[0].call(t, "POST", "/v1/auth/login", "", map[string]string{"email": "limit0@example.test", "password": "correct horse battery staple"}, nil); st != 429 {
		t.Fatalf("login after the failed-login limit: %d", st)
	}
}
