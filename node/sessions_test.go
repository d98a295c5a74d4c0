package node

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func TestSessionsRefreshLogoutAndLockoutAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, nil)
	creds := map[string]string{"email": "sessions@example.test", "password": "correct horse battery staple"}
	if st, _ := nodes[0].call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	login := func(n *testNode) tokens {
		t.Helper()
		var tk tokens
		if st, _ := n.call(t, "POST", "/v1/auth/login", "", creds, &tk); st != 200 || tk.AccessToken == "" || tk.RefreshToken == "" {
			t.Fatalf("login on %s: %d %+v", n.nf.NodeID, st, tk)
		}
		return tk
	}
	canList := func(n *testNode, access string) int {
		st, _ := n.call(t, "GET", "/v1/children", access, nil, nil)
		return st
	}

	t.Run("refresh rotates and reuse revokes the session", func(t *testing.T) {
		first := login(nodes[1])
		var second tokens
		if st, _ := nodes[2].call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, &second); st != 200 || second.RefreshToken == first.RefreshToken {
			t.Fatalf("refresh: %d", st)
		}
		if st := canList(nodes[0], second.AccessToken); st != 200 {
			t.Fatalf("new access token: %d", st)
		}
		// The old refresh token comes back (stolen copy): the session ends for everyone.
		var errBody struct{ Error struct{ Code string } }
		if st, _ := nodes[0].call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, &errBody); st != 401 || errBody.Error.Code != "token_reused" {
			t.Fatalf("reuse: %d %+v", st, errBody)
		}
		for _, n := range nodes {
			waitFor(t, time.Second, "revocation on "+n.nf.NodeID, func() error { return wantStatus(canList(n, second.AccessToken), 401) })
		}
		if st, _ := nodes[1].call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}, nil); st != 401 {
			t.Fatalf("refresh in a revoked session: %d", st)
		}
	})

	t.Run("logout ends one session on every node; logout-all ends all", func(t *testing.T) {
		a, b := login(nodes[0]), login(nodes[1])
		if st, _ := nodes[2].call(t, "POST", "/v1/auth/logout", a.AccessToken, nil, nil); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		// "Within a second on every node."
		for _, n := range nodes {
			waitFor(t, time.Second, "logout on "+n.nf.NodeID, func() error { return wantStatus(canList(n, a.AccessToken), 401) })
			if st := canList(n, b.AccessToken); st != 200 {
				t.Fatalf("other session on %s: %d", n.nf.NodeID, st)
			}
		}
		if st, _ := nodes[0].call(t, "POST", "/v1/auth/logout-all", b.AccessToken, nil, nil); st != 204 {
			t.Fatalf("logout-all: %d", st)
		}
		for _, n := range nodes {
			waitFor(t, time.Second, "logout-all on "+n.nf.NodeID, func() error { return wantStatus(canList(n, b.AccessToken), 401) })
		}
	})

	t.Run("lockout holds across nodes and does not reveal accounts", func(t *testing.T) {
		for _, email := range []string{creds["email"], "nobody@example.test"} {
			bad := map[string]string{"email": email, "password": "wrong horse battery staple"}
			for i := 0; i < 5; i++ { // spread over all three nodes
				if st, _ := nodes[i%3].call(t, "POST", "/v1/auth/login", "", bad, nil); st != 401 {
					t.Fatalf("%s attempt %d: %d", email, i, st)
				}
			}
			// Now locked everywhere, even with the right password.
			good := map[string]string{"email": email, "password": creds["password"]}
			for _, n := range nodes {
				st, hdr := n.call(t, "POST", "/v1/auth/login", "", good, nil)
				if st != 429 || hdr.Get("Retry-After") == "" {
					t.Fatalf("%s on %s after 5 failures: %d (Retry-After %q)", email, n.nf.NodeID, st, hdr.Get("Retry-After"))
				}
			}
		}
	})
}

func TestLockoutExpires(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // read by the node's background goroutines too
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	n := startCluster(t, 1, func(c *Config) { c.Now = clock })[0]
	creds := map[string]string{"email": "lock@example.test", "password": "correct horse battery staple"}
	if st, _ := n.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatal(st)
	}
	bad := map[string]string{"email": creds["email"], "password": "nope nope nope nope"}
	for i := 0; i < 5; i++ {
		n.call(t, "POST", "/v1/auth/login", "", bad, nil)
	}
	if st, _ := n.call(t, "POST", "/v1/auth/login", "", creds, nil); st != 429 {
		t.Fatalf("locked: %d", st)
	}
	offset.Store(int64(31 * time.Second)) // first lock lasts 30 s
	if st, _ := n.call(t, "POST", "/v1/auth/login", "", creds, nil); st != 200 {
		t.Fatalf("after the lock expired: %d", st)
	}
	// A success clears the count: one more failure does not lock again.
	n.call(t, "POST", "/v1/auth/login", "", bad, nil)
	if st, _ := n.call(t, "POST", "/v1/auth/login", "", creds, nil); st != 200 {
		t.Fatalf("after one new failure: %d", st)
	}
}

func wantStatus(got, want int) error {
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}
