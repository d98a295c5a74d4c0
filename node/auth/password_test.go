package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; the format and checks are the same.
var cheap = Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	h := NewHasher(cheap)
	ctx := context.Background()
	for _, pw := range []string{"correct horse battery staple", "ünïcödé pässwörd ✓", strings.Repeat("x", MaxPasswordLen)} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("encoded hash %q", enc)
		}
		if strings.Contains(enc, pw) {
			t.Fatal("hash contains the password")
		}
		if err := h.Verify(ctx, pw, enc); err != nil {
			t.Fatalf("Verify(right password) = %v", err)
		}
		for _, wrong := range []string{pw + " ", strings.ToUpper(pw), pw[:len(pw)-1], ""} {
			if err := h.Verify(ctx, wrong, enc); !errors.Is(err, ErrMismatch) {
				t.Fatalf("Verify(%q) = %v, want ErrMismatch", wrong, err)
			}
		}
		again, _ := h.Hash(ctx, pw)
		if again == enc {
			t.Fatal("two hashes of one password are equal: salt not fresh")
		}
	}
}

// A hash made with other parameters still verifies: the parameters travel in
// the encoded hash, so costs can be raised without invalidating old hashes.
func TestVerifyUsesEncodedParams(t *testing.T) {
	old, err := NewHasher(Argon2Params{Time: 2, Memory: 128, Threads: 2, KeyLen: 16, SaltLen: 8}).Hash(context.Background(), "an old password")
	if err != nil {
		t.Fatal(err)
	}
	if err := NewHasher(cheap).Verify(context.Background(), "an old password", old); err != nil {
		t.Fatalf("Verify with other params = %v", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(cheap)
	good, err := h.Hash(context.Background(), "a good password")
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	cases := []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", join("", "argon2i", p[2], p[3], p[4], p[5])},
		{"argon2d", join("", "argon2d", p[2], p[3], p[4], p[5])},
		{"missing key", join("", "argon2id", p[2], p[3], p[4])},
		{"extra part", good + "$x"},
		{"old version", join("", "argon2id", "v=16", p[3], p[4], p[5])},
		{"no version", join("", "argon2id", "19", p[3], p[4], p[5])},
		{"bad params", join("", "argon2id", p[2], "m=64;t=1;p=1", p[4], p[5])},
		{"missing params", join("", "argon2id", p[2], "", p[4], p[5])},
		{"bad salt", join("", "argon2id", p[2], p[3], "!!!", p[5])},
		{"bad key", join("", "argon2id", p[2], p[3], p[4], "@@@")},
		{"padded base64", join("", "argon2id", p[2], p[3], p[4], p[5]+"=")},
		// Malformed cost parameters must be refused, not crash the node.
		{"zero time", join("", "argon2id", p[2], "m=64,t=0,p=1", p[4], p[5])},
		{"zero threads", join("", "argon2id", p[2], "m=64,t=1,p=0", p[4], p[5])},
		{"empty key", join("", "argon2id", p[2], p[3], p[4], "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err, panicked := verifyNoPanic(h, "a good password", tc.enc)
			if panicked != nil {
				t.Fatalf("Verify(%q) panicked: %v; a malformed stored hash must be an error, not a crash", tc.enc, panicked)
			}
			if err == nil {
				t.Fatalf("Verify accepted %q", tc.enc)
			}
			if errors.Is(err, ErrMismatch) {
				t.Fatalf("Verify(%q) = ErrMismatch, want a format error", tc.enc)
			}
		})
	}
}

// verifyNoPanic runs Verify and turns a panic into a reported value.
func verifyNoPanic(h *Hasher, pw, enc string) (err error, panicked any) {
	defer func() { panicked = recover() }()
	return h.Verify(context.Background(), pw, enc), nil
}

func TestHasherBoundedConcurrency(t *testing.T) {
	h := NewHasher(cheap)
	for range cap(h.sem) {
		h.sem <- struct{}{} // every slot busy
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "a good password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with every slot busy = %v, want deadline exceeded", err)
	}
	enc := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43)
	if err := h.Verify(ctx, "a good password", enc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with every slot busy = %v, want deadline exceeded", err)
	}
	<-h.sem
	if _, err := h.Hash(context.Background(), "a good password"); err != nil {
		t.Fatalf("Hash after a slot freed = %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		name     string
		pw       string
		personal []string
		want     error // nil = accepted; errAny = any refusal
	}{
		{"empty", "", nil, errAny},
		{"11 chars", "kettle-mars", nil, errAny},
		{"12 chars", "kettle-mars1", nil, nil},
		{"passphrase", "correct horse battery staple", nil, nil},
		{"the example in the welcome text", "a long passphrase here", []string{"parent@example.com"}, nil},
		{"128 varied chars", strings.Repeat("plum tiger ", 11) + "moonlit", nil, nil},
		{"129 chars", strings.Repeat("plum tiger ", 11) + "moonlitx", nil, errAny},
		{"12 spaces", strings.Repeat(" ", 12), nil, errAny},
		{"12 mixed blanks", " \t\n\r \u00a0\u2003 \t\n\r ", nil, errAny},
		{"11 two-byte runes (22 bytes)", "éàüößçñøåæœ", nil, errAny},
		{"12 two-byte runes", "éàüößçñøåæœí", nil, nil},
		{"11 emoji (44 bytes)", "🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁", nil, errAny},
		{"12 emoji", "🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮", nil, nil},
		{"129 two-byte runes", strings.Repeat("ßä", 64) + "ö", nil, errAny},
		{"leading and trailing spaces count", "  kettle-mar", nil, nil},
		{"invalid UTF-8", "kettle-mars\xff", nil, errAny},
		{"invalid UTF-8, long", strings.Repeat("\xff", 20), nil, errAny},

		{"one repeated char", strings.Repeat("a", 12), nil, ErrPasswordPattern},
		{"one repeated emoji", strings.Repeat("🐶", 12), nil, ErrPasswordPattern},
		{"128 one char", strings.Repeat("a", 128), nil, ErrPasswordPattern},
		{"two chars alternating", "abababababab", nil, ErrPasswordPattern},
		{"short unit repeated", "abc1abc1abc1abc1", nil, ErrPasswordPattern},
		{"digit sequence", "123456789012", nil, ErrPasswordPattern},
		{"descending digits", "987654321098", nil, ErrPasswordPattern},
		{"alphabet", "abcdefghijkl", nil, ErrPasswordPattern},
		{"alphabet upper", "ABCDEFGHIJKLMN", nil, ErrPasswordPattern},
		{"keyboard row", "qwertyuiopas", nil, ErrPasswordPattern},
		{"keyboard columns", "1qaz2wsx3edc", nil, ErrPasswordPattern},
		{"interleaved rows", "1q2w3e4r5t6y", nil, ErrPasswordPattern},

		{"listed, long", "winniethepooh", nil, ErrPasswordCommon},
		{"listed word + digits", "password1234", nil, ErrPasswordCommon},
		{"listed word, case and digits and symbol", "Password2024!", nil, ErrPasswordCommon},
		{"listed word in leet", "P@ssw0rd2024", nil, ErrPasswordCommon},
		{"listed word with spaces", "pass word 2024", nil, ErrPasswordCommon},
		{"listed word with leading digits", "2024sunshine!!", nil, ErrPasswordCommon},
		{"listed word repeated", "monkeymonkey", nil, ErrPasswordCommon},
		{"listed word repeated leet", "Dr4gonDragon", nil, ErrPasswordCommon},
		{"product name", "DaisyDog2024!", nil, ErrPasswordCommon},
		{"listed words inside a passphrase are fine", "monkey dragon sunshine kettle", nil, nil},

		{"contains e-mail local part", "jane.smithIsGreat", []string{"jane.smith@example.com"}, ErrPasswordPersonal},
		{"contains local part in leet", "j4nesmith-r0cks", []string{"Jane.Smith@example.com"}, ErrPasswordPersonal},
		{"other e-mail's local part is fine", "jane.smithIsGreat", []string{"bob@example.com"}, nil},
		{"very short local part ignored", "ab-kettle-moon", []string{"ab@example.com"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.pw, tc.personal...)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("CheckPassword(%q) = %v, want accepted", tc.pw, err)
			case tc.want == errAny && err == nil:
				t.Fatalf("CheckPassword(%q) accepted, want refused", tc.pw)
			case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("CheckPassword(%q) = %v, want %v", tc.pw, err, tc.want)
			}
			if err != nil && tc.pw != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.pw)) && strings.TrimSpace(tc.pw) != "" {
				t.Fatal("the error message echoes the password")
			}
		})
	}
}

var errAny = errors.New("any refusal")

// Every bundled entry long enough to pass the length check is refused, and
// the list really is embedded (a broken embed would accept everything).
func TestCommonListLoaded(t *testing.T) {
	if n := len(commonCores()); n < 2000 {
		t.Fatalf("only %d common-password cores loaded", n)
	}
	for _, pw := range []string{"password", "iloveyou", "princess", "football", "trustno1"} {
		if err := CheckPassword(pw + "12345"); !errors.Is(err, ErrPasswordCommon) {
			t.Errorf("%s12345: %v", pw, err)
		}
	}
}
