package auth

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Password limits.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 128
)

// commonPasswordsFile is John the Ripper's public-domain password.lst (see
// the file's header and docs/dependencies.md).
//
//go:embed common-passwords.txt
var commonPasswordsFile string

// commonCores is the set of normalised cores (see core) of the bundled
// common passwords, built once on first use and read-only afterwards.
var commonCores = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 4096)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if c := core(line); utf8.RuneCountInString(c) >= minCoreLen {
			set[c] = struct{}{}
		}
	}
	// Words anyone guessing a DaisyDog password tries first.
	for _, w := range []string{"daisydog", "daisy", "doggy", "puppy"} {
		set[core(w)] = struct{}{}
	}
	return set
})

// minCoreLen: shorter cores ("abc" of "abc123") are too common to list and
// too short to matter on their own.
const minCoreLen = 4

// Errors CheckPassword returns; their messages are safe to show.
var (
	ErrPasswordCommon   = errors.New("password is too common or too easy to guess (it is on a list of known passwords, or a simple variation of one)")
	ErrPasswordPattern  = errors.New("password is too simple (a repeated character, a short repeated pattern or a keyboard or alphabet sequence)")
	ErrPasswordPersonal = errors.New("password must not contain your e-mail address or its name part")
)

// CheckPassword applies the password rules; the message is safe to show and
// never echoes the password. personal lists the account's e-mail
// address(es): a password containing the name part is refused.
//
// Besides the length limits (12 to 128 characters; a passphrase of several
// words is best), it refuses, after normalising case and common
// substitutions (0→o, 1→i, 3→e, 4→a, @→a, 5→s, $→s, 7→t …) and stripping
// digits and symbols from both ends: the bundled common passwords and
// repetitions of them ("Passw0rd2024!", "monkeymonkey"); a character or a
// short pattern repeated; alphabet, digit and keyboard sequences.
func CheckPassword(pw string, personal ...string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("password must be valid UTF-8")
	case n < MinPasswordLen:
		return fmt.Errorf("password must be at least %d characters (a passphrase of several words is best)", MinPasswordLen)
	case n > MaxPasswordLen:
		return fmt.Errorf("password must be at most %d characters", MaxPasswordLen)
	case strings.TrimSpace(pw) == "":
		return errors.New("password must not be blank")
	}
	if simplePattern(pw) {
		return ErrPasswordPattern
	}
	if commonVariant(pw) {
		return ErrPasswordCommon
	}
	letters := leetLetters(strings.ToLower(pw))
	for _, p := range personal {
		local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(p)), "@")
		if l := leetLetters(local); utf8.RuneCountInString(l) >= 3 && strings.Contains(letters, l) {
			return ErrPasswordPersonal
		}
	}
	return nil
}

// leet maps common substitutions back to the letter they stand for.
var leet = map[rune]rune{
	'0': 'o', '1': 'i', '!': 'i', '|': 'i', 'l': 'i', '3': 'e', '4': 'a', '@': 'a',
	'5': 's', '$': 's', '7': 't', '+': 't', '8': 'b', '9': 'g', '6': 'g', '2': 'z',
}

// leetLetters undoes substitutions and keeps only letters.
func leetLetters(s string) string {
	var b strings.Builder
	for _, r := range s {
		if m, ok := leet[r]; ok {
			r = m
		}
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// core normalises a password for the list check: lower case, digits,
// spaces and symbols stripped from both ends ("Password2024!" → "password"),
// substitutions undone and separators dropped ("p@ss w0rd" → "password").
func core(pw string) string {
	s := strings.ToLower(pw)
	s = strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	return leetLetters(s)
}

// commonVariant reports whether pw is a bundled common password, a
// variation of one, or one repeated.
func commonVariant(pw string) bool {
	set := commonCores()
	for _, c := range []string{core(pw), leetLetters(strings.ToLower(pw))} {
		if utf8.RuneCountInString(c) < minCoreLen {
			continue
		}
		if _, ok := set[c]; ok {
			return true
		}
		if unit := repeatUnit(c); unit != c {
			if _, ok := set[unit]; ok {
				return true
			}
		}
	}
	return false
}

// repeatUnit returns the shortest u with s == u repeated (s itself if none).
func repeatUnit(s string) string {
	r := []rune(s)
	for size := 1; size <= len(r)/2; size++ {
		if len(r)%size != 0 {
			continue
		}
		ok := true
		for i := size; i < len(r) && ok; i++ {
			ok = r[i] == r[i-size]
		}
		if ok {
			return string(r[:size])
		}
	}
	return s
}

// sequences are runs a password must not consist of (forwards or backwards).
var sequences = []string{
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	"01234567890123456789012345678901234567890123456789",
	"qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
	"qwertzuiopasdfghjklyxcvbnmqwertzuiopasdfghjklyxcvbnm",
	"azertyuiopqsdfghjklmwxcvbnazertyuiopqsdfghjklmwxcvbn",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y7u8i9o0p",
	"qazwsxedcrfvtgbyhnujmikolpqazwsxedcrfvtgbyhnujmikolp",
}

// simplePattern reports a password made of few distinct characters, a short
// repeated pattern, or a sequence.
func simplePattern(pw string) bool {
	var b strings.Builder
	distinct := map[rune]bool{}
	for _, r := range strings.ToLower(pw) {
		if unicode.IsSpace(r) {
			continue
		}
		distinct[r] = true
		b.WriteRune(r)
	}
	s := b.String()
	if len(distinct) < 4 {
		return true
	}
	if unit := repeatUnit(s); utf8.RuneCountInString(unit) <= 4 {
		return true
	}
	for _, seq := range sequences {
		if strings.Contains(seq, s) || strings.Contains(reverse(seq), s) {
			return true
		}
	}
	return false
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
