package api

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"daisydog/storage"
)

func testServer(t *testing.T, d Deps) *Server {
	t.Helper()
	kr, err := storage.NewKeyring(bytes.Repeat([]byte{7}, storage.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	d.Vault = storage.NewVault(kr, nil)
	return &Server{Deps: d}
}

// Clients are counted per IPv4 address or IPv6 /64, under a keyed hash.
func TestClientKey(t *testing.T) {
	s := testServer(t, Deps{})
	key := func(remote string) []byte {
		r := httptest.NewRequest("POST", "/v1/auth/login", nil)
		r.RemoteAddr = remote
		return s.clientKey(r)
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"same IPv4, other port", "192.0.2.1:1234", "192.0.2.1:5555", true},
		{"other IPv4", "192.0.2.1:1234", "192.0.2.2:1234", false},
		{"IPv4-mapped IPv6 is the IPv4 address", "[::ffff:192.0.2.1]:1", "192.0.2.1:2", true},
		{"same IPv6 /64", "[2001:db8:0:1::1]:1", "[2001:db8:0:1:ffff:ffff:ffff:ffff]:2", true},
		{"other IPv6 /64", "[2001:db8:0:1::1]:1", "[2001:db8:0:2::1]:1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := key(tc.a), key(tc.b)
			if len(ka) != 16 {
				t.Fatalf("key length %d", len(ka))
			}
			if bytes.Equal(ka, kb) != tc.same {
				t.Fatalf("same=%v, want %v", bytes.Equal(ka, kb), tc.same)
			}
			for _, raw := range [][]byte{[]byte("192.0.2"), {192, 0, 2, 1}, []byte("2001")} {
				if bytes.Contains(ka, raw) {
					t.Fatal("the key holds the address")
				}
			}
		})
	}
	// Keyed: another cluster key gives other keys.
	other := testServer(t, Deps{})
	kr, _ := storage.NewKeyring(bytes.Repeat([]byte{8}, storage.KeySize))
	other.Vault = storage.NewVault(kr, nil)
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "192.0.2.1:1"
	if bytes.Equal(s.clientKey(r), other.clientKey(r)) {
		t.Fatal("the key does not depend on the cluster key")
	}
}

func TestLimitOf(t *testing.T) {
	tests := []struct {
		name    string
		authPM  int
		limits  RateLimits
		class   string
		want    int64
		wantPer time.Duration
	}{
		{"defaults", 0, RateLimits{}, rateSignUp, 20, time.Hour},
		{"default reset", 0, RateLimits{}, rateReset, 10, time.Hour},
		{"default failed logins", 0, RateLimits{}, rateLoginFailed, 100, time.Hour},
		{"default failed links", 0, RateLimits{}, rateLinkFailed, 30, time.Hour},
		{"per-node limiter off turns default limits off", -1, RateLimits{}, rateSignUp, 0, time.Hour},
		{"explicit limits stay on with the per-node limiter off", -1, RateLimits{SignUp: 4}, rateSignUp, 4, time.Hour},
		{"unset class takes its default", -1, RateLimits{SignUp: 4}, rateReset, 10, time.Hour},
		{"negative switches a class off", 0, RateLimits{FailedLinks: -1}, rateLinkFailed, 0, time.Hour},
		{"custom period", 0, RateLimits{Period: time.Minute}, rateSignUp, 20, time.Minute},
		{"unknown class", 0, RateLimits{}, "nope", 0, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, Deps{AuthPerMinute: tc.authPM, AccountDeps: AccountDeps{ClusterLimits: tc.limits}})
			if got, per := s.limitOf(tc.class); got != tc.want || per != tc.wantPer {
				t.Fatalf("limitOf = %d, %v; want %d, %v", got, per, tc.want, tc.wantPer)
			}
		})
	}
}

func TestEmailTokenShape(t *testing.T) {
	s := testServer(t, Deps{})
	tok, hash := s.newEmailToken(resetPrefix)
	if !validEmailToken(tok, resetPrefix) || validEmailToken(tok, verifyPrefix) {
		t.Fatalf("token %q", tok)
	}
	if !bytes.Equal(hash, s.emailTokenHash(tok)) || bytes.Contains(hash, []byte(tok[3:])) {
		t.Fatal("hash")
	}
	for _, bad := range []string{"", "pr_", "pr_" + tok[4:], tok + "A", "pr_" + string(bytes.Repeat([]byte{'*'}, 43))} {
		if validEmailToken(bad, resetPrefix) {
			t.Fatalf("accepted %q", bad)
		}
	}
}
