package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"daisydog/storage"
)

// TestLockoutCountsExactly complements TestLoginLockout: exactly
// LockoutFreeFailures failures are free and the next one locks, for a
// staff account (the staff login shares the parents' lockout) and for
// e-mails without an account (so a lock does not reveal which exist).
func TestLockoutCountsExactly(t *testing.T) {
	n := testNode(t)
	staff := n.newStaff(t, "moderator")
	cases := []struct {
		name, path, email, rightPassword string
	}{
		{"staff account", "/v1/admin/login", staff.email, goodPassword},
		{"staff login, unknown e-mail", "/v1/admin/login", uniqueEmail("nostaff"), ""},
		{"parent login, unknown e-mail", "/v1/auth/login", uniqueEmail("nobody"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wrong := map[string]string{"email": c.email, "password": "not the password at all"}
			for i := range storage.LockoutFreeFailures {
				if res := n.do(t, "POST", c.path, "", "", wrong); res.status != http.StatusUnauthorized || res.code() != "invalid_credentials" {
					t.Fatalf("failure %d: %d %s, want 401 invalid_credentials", i+1, res.status, res.body)
				}
			}
			// One more failure locks the account.
			n.do(t, "POST", c.path, "", "", wrong)
			try := wrong
			if c.rightPassword != "" {
				try = map[string]string{"email": c.email, "password": c.rightPassword}
			}
			res := n.do(t, "POST", c.path, "", "", try)
			if res.status != http.StatusTooManyRequests || res.code() != "locked" {
				t.Fatalf("login after %d failures: %d %s, want 429 locked", storage.LockoutFreeFailures+1, res.status, res.body)
			}
			if secs, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || secs <= 0 || secs > storage.LockoutMaxMillis/1000 {
				t.Fatalf("Retry-After %q", res.header.Get("Retry-After"))
			}
		})
	}
}

// TestBootstrapValidation: with the right bootstrap token the request is
// still validated before anything is written, and once an administrator
// exists a valid one is refused as already bootstrapped.
func TestBootstrapValidation(t *testing.T) {
	n := testNode(t)
	n.admin(t) // the first administrator exists
	auth := "Bootstrap " + n.BootstrapToken()
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"not JSON", "{", http.StatusBadRequest, "bad_request"},
		{"bad e-mail", map[string]string{"email": "not-an-address", "password": goodPassword}, http.StatusUnprocessableEntity, "invalid"},
		{"weak password", map[string]string{"email": uniqueEmail("boot"), "password": "short"}, http.StatusUnprocessableEntity, "invalid"},
		{"valid, but too late", map[string]string{"email": uniqueEmail("boot"), "password": goodPassword}, http.StatusConflict, "already_bootstrapped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := n.do(t, "POST", "/v1/admin/bootstrap", "", "application/json", c.body, "Authorization", auth)
			if res.status != c.status || res.code() != c.code {
				t.Fatalf("bootstrap: %d %s, want %d %s", res.status, res.body, c.status, c.code)
			}
		})
	}
}
