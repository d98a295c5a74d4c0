package rules

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// phonKeyRef is phonKey as first written (a closure per letter), kept to
// check the loop without a call against it.
func phonKeyRef(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n > 6 && strings.HasSuffix(s, "ah"):
		n -= 2
	case n > 5 && s[n-1] == 'a' && !strings.ContainsRune("aeiou", rune(s[n-2])):
		n--
	default:
		n = -1
	}
	end := len(s)
	if n >= 0 {
		end = n
	}
	put := func(c byte) {
		if len(dst) > 0 && dst[len(dst)-1] == c {
			return
		}
		dst = append(dst, c)
	}
	for i := 0; i < end; i++ {
		c := s[i]
		var next byte
		if i+1 < end {
			next = s[i+1]
		}
		switch {
		case c == 'c' && next == 'k':
			c = 'k'
			i++
		case c == 'c' || c == 'q':
			c = 'k'
		case c == 'z':
			c = 's'
		case c == 'p' && next == 'h':
			c = 'f'
			i++
		case c == 'w' && next == 'h' && i == 0:
			i++
		}
		put(c)
	}
	if n >= 0 {
		put('e')
		put('r')
	}
	return dst
}

func TestPhonKeyMatchesReference(t *testing.T) {
	words := []string{"", "a", "cock", "kok", "whore", "phuck", "cocksucka", "niggah", "zzzz", "ckck", "phph", "wh", "whwh", "ee", "eeer", "sucker", "suckaa"}
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "ckqzphwaeirs"
	for range 20000 {
		b := make([]byte, rng.IntN(10))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		words = append(words, string(b))
	}
	for _, w := range words {
		for _, prefix := range []string{"", "e", "k"} {
			got := string(phonKey([]byte(prefix), w))
			want := string(phonKeyRef([]byte(prefix), w))
			if got != want {
				t.Fatalf("phonKey(%q, %q) = %q, want %q", prefix, w, got, want)
			}
		}
	}
}
