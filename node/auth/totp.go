package auth

import (
	"crypto/hmac"
	"crypto/rand"
	// #nosec G505 -- RFC 6238 TOTP is HMAC-SHA1, which authenticator apps expect; HMAC-SHA1 is not broken
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238) with the parameters every authenticator app supports:
// HMAC-SHA1, 6 digits, 30-second steps. A code is accepted for the current
// step and one step either side (clock drift); the caller must refuse a
// step at or before the last one accepted for the account (replay).
const (
	TOTPDigits     = 6
	TOTPPeriod     = 30 * time.Second
	totpSkewSteps  = 1
	totpSecretSize = 20 // 160 bits, RFC 4226's recommendation
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random secret, base32 without padding (what
// authenticator apps expect).
func NewTOTPSecret() string {
	var b [totpSecretSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return b32.EncodeToString(b[:])
}

// TOTPURI is the otpauth:// URI an authenticator app scans (as a QR code).
func TOTPURI(secret, account string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", "DaisyDog")
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(TOTPDigits))
	v.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	return "otpauth://totp/" + url.PathEscape("DaisyDog:"+account) + "?" + v.Encode()
}

// TOTPStep is the RFC 6238 time step T for a time.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// HOTP is RFC 4226's HMAC-based one-time password for a raw key, a counter
// and a number of digits (6 to 8).
func HOTP(key []byte, counter int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// TOTPCode returns the code for secret (base32) at time t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return HOTP(key, TOTPStep(t), TOTPDigits), nil
}

// VerifyTOTP checks code against secret at time now, allowing one step of
// drift either way, and returns the matched step. It compares in constant
// time and checks every candidate step.
func VerifyTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	key, err := decodeSecret(secret)
	if err != nil {
		return 0, false
	}
	step := TOTPStep(now)
	var matched int64
	ok := false
	for d := int64(-totpSkewSteps); d <= totpSkewSteps; d++ {
		if subtle.ConstantTimeCompare([]byte(HOTP(key, step+d, TOTPDigits)), []byte(code)) == 1 {
			matched, ok = step+d, true
		}
	}
	return matched, ok
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(key) < 10 {
		return nil, fmt.Errorf("auth: invalid TOTP secret")
	}
	return key, nil
}

// NewRecoveryCodes returns n single-use recovery codes (10 base32 symbols,
// 50 bits each, shown as XXXXX-XXXXX).
func NewRecoveryCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		var b [7]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		s := b32.EncodeToString(b[:])[:10]
		out[i] = s[:5] + "-" + s[5:]
	}
	return out
}

// NormalizeRecoveryCode makes a typed recovery code comparable.
func NormalizeRecoveryCode(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	c = strings.ReplaceAll(c, "-", "")
	return strings.ReplaceAll(c, " ", "")
}
