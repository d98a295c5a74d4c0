package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"daisydog/node/auth"
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

// TestGuessBurstsStopAtTheLockout: guesses sent in parallel bursts (as from
// many addresses at once) are checked one at a time per account, so the
// lockout stops them after its few free failures — for a parent's
// password, a staff member's second factor, and the password that confirms
// deleting a family (where a wrong one counts toward the same lockout).
// Before the per-account guard every request of a burst read "not locked"
// before the first failures committed and was checked.
func TestGuessBurstsStopAtTheLockout(t *testing.T) {
	n := testNode(t)
	staff := n.newStaff(t, "moderator")
	n.clock.add(30 * time.Second)
	var m struct {
		MFAToken string `json:"mfa_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/login", "", map[string]string{"email": staff.email, "password": goodPassword}, &m)
	right, err := auth.TOTPCode(staff.secret, n.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.Atoi(right)
	fam := n.newFamily(t, "9-12")
	cases := []struct {
		name, method, path, token, checked string
		body                               map[string]string
		after                              func() response // the right credential, once locked
	}{
		{"parent password", "POST", "/v1/auth/login", "", "invalid_credentials",
			map[string]string{"email": fam.email, "password": "not the password at all"},
			func() response {
				return n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": fam.email, "password": goodPassword})
			}},
		{"staff second factor", "POST", "/v1/admin/mfa", "", "invalid_mfa_code",
			map[string]string{"mfa_token": m.MFAToken, "code": fmt.Sprintf("%06d", (v+500000)%1000000)},
			func() response {
				return n.do(t, "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": m.MFAToken, "code": right})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checked, locked := 0, false
			for round := 0; round < 20 && !locked; round++ {
				const burst = 8
				codes := make(chan string, burst)
				var wg sync.WaitGroup
				for range burst {
					wg.Add(1)
					go func() {
						defer wg.Done()
						codes <- n.do(t, c.method, c.path, c.token, "", c.body).code()
					}()
				}
				wg.Wait()
				close(codes)
				for code := range codes {
					switch code {
					case c.checked:
						checked++
					case "locked":
						locked = true
					case "login_in_progress":
					default:
						t.Fatalf("a guess answered %q", code)
					}
				}
			}
			if !locked {
				t.Fatal("the bursts never locked the account")
			}
			if checked > storage.LockoutFreeFailures+1 {
				t.Fatalf("%d guesses were checked before the lock, want at most %d", checked, storage.LockoutFreeFailures+1)
			}
			if res := c.after(); res.status != http.StatusTooManyRequests || res.code() != "locked" {
				t.Fatalf("the right credential while locked: %d %s, want 429 locked", res.status, res.body)
			}
		})
	}

	t.Run("family deletion password", func(t *testing.T) {
		other := n.newFamily(t, "9-12")
		wrong := map[string]string{"password": "not the password at all"}
		for i := range storage.LockoutFreeFailures {
			if res := n.do(t, "DELETE", "/v1/family", other.token, "", wrong); res.status != http.StatusUnauthorized || res.code() != "invalid_credentials" {
				t.Fatalf("wrong password %d: %d %s", i+1, res.status, res.body)
			}
		}
		if res := n.do(t, "DELETE", "/v1/family", other.token, "", map[string]string{"password": goodPassword}); res.status != http.StatusTooManyRequests || res.code() != "locked" {
			t.Fatalf("the right password after %d wrong ones: %d %s, want 429 locked", storage.LockoutFreeFailures, res.status, res.body)
		}
		// The same lock holds for logging in: the wrong passwords counted
		// toward the account's lockout.
		if res := n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": other.email, "password": goodPassword}); res.status != http.StatusTooManyRequests || res.code() != "locked" {
			t.Fatalf("login after the wrong deletion passwords: %d %s, want 429 locked", res.status, res.body)
		}
	})
}
