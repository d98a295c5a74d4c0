package rules

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestStrTabMatchesMap checks that a table answers every look-up exactly
// like the map it was built from: present keys with their values, the
// empty key, false booleans, and absent keys that share a prefix, a length
// or (by brute force over many keys) a probe sequence with present ones.
func TestStrTabMatchesMap(t *testing.T) {
	ints := map[string]int32{"": 7, "a": -1, "fuck": 3, "fucks": 4, "fuc": 0}
	for i := range 3000 {
		ints[fmt.Sprintf("w%dx", i)] = int32(i)
	}
	bools := map[string]bool{"yes": true, "no": false, "maybe": true}
	ti, tb := newStrTab(ints), newStrTab(bools)
	probe := []string{"", "a", "b", "fu", "fuc", "fuck", "fucks", "fuckss", "yes", "no", "maybe", "ye", "yess", "w12", "w12x", "w2999x", "w3000x"}
	for i := range 6000 {
		probe = append(probe, fmt.Sprintf("w%dx", i), fmt.Sprintf("v%dx", i))
	}
	for _, k := range probe {
		wv, wok := ints[k]
		if v, ok := ti.get(k); v != wv || ok != wok {
			t.Fatalf("int table %q = %d,%v; map %d,%v", k, v, ok, wv, wok)
		}
		if got, want := tb.has(k), bools[k]; got != want {
			t.Fatalf("bool table has(%q) = %v; map %v", k, got, want)
		}
	}
	if v, ok := newStrTab(map[string]uint32{"x": 1 << 31}).get("x"); !ok || uint32(v) != 1<<31 {
		t.Fatalf("uint32 value lost: %d %v", v, ok)
	}
	if _, ok := newStrTab(map[string]int32{}).get("x"); ok {
		t.Fatal("empty table found a key")
	}
}

// TestDeletionBloomLosesNothing checks that the deletion filter of
// looseForm never hides a match: for words one letter away from every
// fuzzy and strong key (a letter added or changed), looseForm answers the
// same with the filter and without it.
func TestDeletionBloomLosesNothing(t *testing.T) {
	w := Default().words
	if w.delBloom == nil {
		t.Fatal("no deletion filter built")
	}
	plain := *w
	plain.delBloom = nil
	var keys []string
	for k := range w.strong {
		keys = append(keys, k)
	}
	for k := range w.fuzzy {
		keys = append(keys, k)
	}
	checked, matched := 0, 0
	for _, k := range keys {
		for i := 1; i <= len(k); i++ {
			for _, c := range "aeiouxzq" {
				for _, v := range []string{k[:i] + string(c) + k[i:], k[:i-1] + string(c) + k[i:]} {
					if len(v) < 5 || len(v) > 24 {
						continue
					}
					got, want := w.looseForm(v, true), plain.looseForm(v, true)
					if got != want {
						t.Fatalf("looseForm(%q) = %d with the filter, %d without", v, got, want)
					}
					checked++
					if got >= 0 {
						matched++
					}
				}
			}
		}
	}
	if matched < checked/2 {
		t.Fatalf("only %d of %d near-miss words matched: the test words are not near misses", matched, checked)
	}
}

// TestSquashIndexMatchesContains checks the squash index against a plain
// strings.Contains over every entry, on words that hold an entry (plain,
// elongated, glued to other letters) and on words that hold none.
func TestSquashIndexMatchesContains(t *testing.T) {
	lex := Default().lex
	x := lex.squashIdx
	if x == nil {
		t.Fatal("no squash index built")
	}
	var words []string
	for _, e := range lex.squash {
		words = append(words, e.text, "xx"+e.text+"yy", e.text+e.text, strings.Repeat(e.text[:1], 3)+e.text[1:],
			e.text[:3]+strings.Repeat(e.text[3:4], 4)+e.text[4:], e.text[1:], e.text[:len(e.text)-1]+"q")
	}
	words = append(words, "abcdefghijk", "notarudephraseatall", "zzzzzzzzzzz", "1234567", "κιλλμυσελφ")
	hits := 0
	for _, w := range words {
		var c []byte
		if hasLongRun([]byte(w)) {
			c = collapse1(nil, []byte(w))
		}
		var want uint64
		for k, e := range lex.squash {
			if strings.Contains(w, e.text) || (c != nil && strings.Contains(string(c), e.collapsed)) {
				want |= 1 << k
			}
		}
		if got := x.find(w, c); got != want {
			t.Fatalf("find(%q) = %b, want %b", w, got, want)
		}
		if want != 0 {
			hits++
		}
	}
	if hits < len(lex.squash) {
		t.Fatalf("only %d test words hold an entry", hits)
	}
}

// TestTabHashTail checks tabHash against the plain byte loop it unrolls,
// for every length of tail.
func TestTabHashTail(t *testing.T) {
	ref := func(s string) uint32 {
		h := uint64(len(s)) * 0x9e3779b97f4a7c15
		for len(s) >= 8 {
			var v uint64
			for i := range 8 {
				v |= uint64(s[i]) << (8 * i)
			}
			h = (h ^ v) * 0xbf58476d1ce4e5b9
			h ^= h >> 31
			s = s[8:]
		}
		var tail uint64
		for i := 0; i < len(s); i++ {
			tail |= uint64(s[i]) << (8 * i)
		}
		h = (h ^ tail) * 0x94d049bb133111eb
		h ^= h >> 29
		return uint32(h) ^ uint32(h>>32)
	}
	const letters = "abcdefghijklmnopqrstuvwxyzé\x00\xff"
	for n := 0; n <= 24; n++ {
		for k := range 5 {
			b := make([]byte, n)
			for i := range b {
				b[i] = letters[(i*7+k*13+n)%len(letters)]
			}
			if got, want := tabHash(string(b)), ref(string(b)); got != want {
				t.Fatalf("tabHash(%q) = %#x, want %#x", b, got, want)
			}
		}
	}
}

// TestHashSetMatchesSearch checks the bucketed look-up of every embedded
// hash list against a plain binary search of the whole list: each listed
// hash, its neighbours and a spread of other values.
func TestHashSetMatchesSearch(t *testing.T) {
	plain := func(b []byte, h uint32) bool {
		i := sort.Search(len(b)/4, func(i int) bool { return binary.LittleEndian.Uint32(b[4*i:]) >= h })
		return i < len(b)/4 && binary.LittleEndian.Uint32(b[4*i:]) == h
	}
	for name, s := range map[string]hashSet{"common": dict.common, "proper": dict.proper, "given": nameList.given, "surname": nameList.surname} {
		if len(s.b) < 4*1000 {
			t.Fatalf("%s: only %d bytes", name, len(s.b))
		}
		check := func(h uint32) {
			if got, want := s.has(h), plain(s.b, h); got != want {
				t.Fatalf("%s: has(%#x) = %v, want %v", name, h, got, want)
			}
		}
		for i := 0; i < len(s.b)/4; i++ {
			h := binary.LittleEndian.Uint32(s.b[4*i:])
			check(h)
			check(h + 1)
			check(h - 1)
		}
		for h := uint32(0); h < 1<<32-1<<20; h += 1<<20 + 12345 {
			check(h)
		}
		check(0)
		check(1<<32 - 1)
	}
}
