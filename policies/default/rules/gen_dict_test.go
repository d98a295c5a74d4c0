package rules

import (
	"bufio"
	"encoding/binary"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var genDict = flag.String("gen-dict", "", "regenerate data/dict.bin from this word list (e.g. /usr/share/dict/words from Debian's wamerican)")

// TestGenerateDict rebuilds data/dict.bin from a plain word list. Run:
//
//	apt-get install wamerican
//	go test ./policies/default/rules -run TestGenerateDict -gen-dict /usr/share/dict/words
//
// Lower-case entries are common words; capitalised entries whose
// lower-case form is not also a common word are proper nouns. Possessives
// ("Adams's") are skipped.
func TestGenerateDict(t *testing.T) {
	if *genDict == "" {
		t.Skip("set -gen-dict WORDLIST to regenerate data/dict.bin")
	}
	f, err := os.Open(*genDict)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	common, proper := map[uint32]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.TrimSpace(sc.Text())
		if w == "" || strings.ContainsRune(w, '\'') {
			continue
		}
		if lw := strings.ToLower(w); lw == w {
			common[wordHash(w)] = true
		} else {
			proper[lw] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var c, p []uint32
	for h := range common {
		c = append(c, h)
	}
	for w := range proper {
		if h := wordHash(w); !common[h] {
			p = append(p, h)
		}
	}
	slices.Sort(c)
	p = slices.Compact(slices.Sorted(slices.Values(p)))
	out := []byte("DDW1")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(c)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(p)))
	for _, h := range append(c, p...) {
		out = binary.LittleEndian.AppendUint32(out, h)
	}
	if err := os.WriteFile("data/dict.bin", out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d common words, %d proper nouns", len(c), len(p))
}

func TestDictionary(t *testing.T) {
	for _, tc := range []struct {
		w              string
		common, proper bool
	}{
		{"park", true, false}, {"data", true, false}, {"elephant", true, false},
		{"adams", false, true}, {"olsen", false, true},
		{"weronika", false, false}, {"xqzzyv", false, false},
	} {
		if got := isCommonWord(tc.w); got != tc.common {
			t.Errorf("isCommonWord(%q) = %v", tc.w, got)
		}
		if got := isProperNoun(tc.w); got != tc.proper {
			t.Errorf("isProperNoun(%q) = %v", tc.w, got)
		}
	}
}

func TestFindNames(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string // redacted name texts
	}{
		{"Weronika Martinsen will be talking in the conference", []string{"Weronika Martinsen"}},
		{"the talk by Stefanía K. Oddgeirsdóttir was long", []string{"Stefanía K. Oddgeirsdóttir"}},
		{"Willemine ten Pas will be there", []string{"Willemine ten Pas"}},
		{"this is moving in that direction, says Hartvigsson.", []string{"Hartvigsson"}},
		{"I play Minecraft with my friends", nil},
		{"Google Public Data Explorer", nil},
		{"View Profile", nil},
		{"@SomeUser Hey_There lol", nil},
		{"Don't Stop Believing", nil},
		{"I love Moby Dick", nil},
		{"I'm from Scunthorpe", nil},
	} {
		toks := piiTokens(tc.text, nil)
		var low []byte
		var idx []int32
		for _, tk := range toks {
			idx = append(idx, int32(len(low)))
			low = lowerWord(tc.text, tk, low)
		}
		idx = append(idx, int32(len(low)))
		lw := lowerWords{low, idx}
		var cls []uint32
		for i := range toks {
			cls = append(cls, piiClass[lw.at(i)])
		}
		var got []string
		findNames(tc.text, toks, lw, cls, func() bool { return false }, func(a, b int, _ string) { got = append(got, tc.text[a:b]) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: names %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestIBANValid(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"GB82WEST12345698765432", true},
		{"GB82 WEST 1234 5698 7654 32", true},
		{"DE89370400440532013000", true},
		{"GB82WEST12345698765433", false},
		{"AB12CDEF34567890", false},
	} {
		if got := ibanValid(tc.s); got != tc.ok {
			t.Errorf("ibanValid(%q) = %v", tc.s, got)
		}
	}
}
