package auth

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
func TestHOTPRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got := HOTP(key, TOTPStep(time.Unix(tc.unix, 0)), 8)
		if got != tc.want {
			t.Errorf("T=%d: got %s, want %s", tc.unix, got, tc.want)
		}
	}
}

// RFC 4226 appendix D: HOTP values for counters 0..9, 6 digits.
func TestHOTPRFC4226Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(key, int64(i), 6); got != w {
			t.Errorf("counter %d: got %s, want %s", i, got, w)
		}
	}
}

func TestVerifyTOTP(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	code, err := TOTPCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if code != "050471" {
		t.Fatalf("code at 1111111111 = %s, want 050471 (last 6 digits of the RFC vector)", code)
	}
	for _, tc := range []struct {
		name string
		code string
		at   time.Time
		ok   bool
		step int64
	}{
		{"current step", code, now, true, TOTPStep(now)},
		{"one step late", code, now.Add(TOTPPeriod), true, TOTPStep(now)},
		{"one step early", code, now.Add(-TOTPPeriod), true, TOTPStep(now)},
		{"two steps late", code, now.Add(2 * TOTPPeriod), false, 0},
		{"spaces ignored", code[:3] + " " + code[3:], now, true, TOTPStep(now)},
		{"wrong code", "000000", now, false, 0},
		{"too short", code[:5], now, false, 0},
		{"not digits", "abcdef", now, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := VerifyTOTP(secret, tc.code, tc.at)
			if ok != tc.ok || (ok && step != tc.step) {
				t.Fatalf("VerifyTOTP = (%d, %v), want (%d, %v)", step, ok, tc.step, tc.ok)
			}
		})
	}
	if _, ok := VerifyTOTP("not base32!", code, now); ok {
		t.Fatal("an invalid secret verified a code")
	}
}

func TestNewTOTPSecretAndURI(t *testing.T) {
	a, b := NewTOTPSecret(), NewTOTPSecret()
	if a == b || len(a) != 32 {
		t.Fatalf("secrets %q %q: want 32 base32 chars, distinct", a, b)
	}
	u := TOTPURI(a, "admin@example.org")
	if !strings.HasPrefix(u, "otpauth://totp/DaisyDog:admin@example.org?") || !strings.Contains(u, "secret="+a) {
		t.Fatalf("uri %q", u)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes(10)
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("code %q: want XXXXX-XXXXX", c)
		}
		n := NormalizeRecoveryCode(" " + strings.ToLower(c) + " ")
		if len(n) != 10 || seen[n] {
			t.Fatalf("normalised %q (dup %v)", n, seen[n])
		}
		seen[n] = true
	}
}
