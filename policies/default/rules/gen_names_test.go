package rules

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var genNames = flag.String("gen-names", "", "regenerate data/names.bin from this directory (the unpacked php-faker and ruby-ffaker Debian packages)")

var (
	phpNameArray = regexp.MustCompile(`(?s)static \$(firstName|firstNameMale|firstNameFemale|lastName|lastNameMale|lastNameFemale)\s*=\s*(?:array\(|\[)(.*?)(?:\)|\]);`)
	phpString    = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)
)

// TestGenerateNames rebuilds data/names.bin from the given-name and
// surname lists of two MIT-licensed fake-data libraries packaged by Debian.
// Run:
//
//	mkdir /tmp/n && cd /tmp/n && apt-get download php-faker ruby-ffaker
//	for f in *.deb; do dpkg-deb -x $f .; done; cd -
//	go test ./policies/default/rules -run TestGenerateNames -gen-names /tmp/n
//
// php-faker: the firstName*/lastName* arrays of Faker/Provider/*/Person.php;
// ruby-ffaker: the files named *first* and *last* under ffaker/data/name*.
// Names of one letter and names in scripts other than Latin, Greek and
// Cyrillic are left out. Each name is stored lower-cased twice: fully
// (unicode) and the way lowerWord lowers a capitalised word (ASCII only).
func TestGenerateNames(t *testing.T) {
	if *genNames == "" {
		t.Skip("set -gen-names DIR to regenerate data/names.bin")
	}
	given, surname := map[uint32]bool{}, map[uint32]bool{}
	add := func(set map[uint32]bool, name string) {
		name = strings.TrimSpace(name)
		if len([]rune(name)) < 2 || strings.ContainsAny(name, " .{}") {
			return
		}
		for _, r := range name {
			if r >= 0x530 && r != '’' {
				return
			}
		}
		set[wordHash(strings.ToLower(name))] = true
		b := []byte(name)
		for i, c := range b {
			b[i] = lower(c)
		}
		set[wordHash(string(b))] = true
	}
	php, _ := filepath.Glob(filepath.Join(*genNames, "usr/share/php/Faker/Provider/*/Person.php"))
	for _, f := range php {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range phpNameArray.FindAllStringSubmatch(string(src), -1) {
			set := given
			if strings.HasPrefix(m[1], "last") {
				set = surname
			}
			for _, s := range phpString.FindAllStringSubmatch(m[2], -1) {
				add(set, strings.ReplaceAll(s[1], `\'`, "'"))
			}
		}
	}
	ff, _ := filepath.Glob(filepath.Join(*genNames, "usr/share/rubygems-integration/all/gems/ffaker-*/lib/ffaker/data/name*/*"))
	for _, f := range ff {
		base := filepath.Base(f)
		set := given
		switch {
		case strings.Contains(base, "first"):
		case strings.Contains(base, "last"):
			set = surname
		default:
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.IndexFunc(line, unicode.IsLetter) >= 0 {
				add(set, line)
			}
		}
	}
	// Places and languages are not names alone, whatever the lists say
	// ("Israel", "Florida", "German"): drop one-word country, subdivision,
	// language and time-zone city names (Debian's iso-codes and tzdata).
	places := 0
	for _, w := range placeNames(t) {
		h := wordHash(w)
		if given[h] || surname[h] {
			places++
		}
		delete(given, h)
		delete(surname, h)
	}
	if len(php) == 0 || len(ff) == 0 || len(given) < 1000 || len(surname) < 1000 {
		t.Fatalf("%d php-faker and %d ffaker files, %d given names and %d surnames: wrong directory?", len(php), len(ff), len(given), len(surname))
	}
	out := []byte("DDN1")
	g, s := slices.Sorted(mapKeys(given)), slices.Sorted(mapKeys(surname))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(g)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(s)))
	for _, h := range append(g, s...) {
		out = binary.LittleEndian.AppendUint32(out, h)
	}
	if err := os.WriteFile("data/names.bin", out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d given-name and %d surname hashes from %d php-faker and %d ffaker files; %d place or language names left out", len(g), len(s), len(php), len(ff), places)
}

// placeNames returns the lower-case one-word names of countries,
// subdivisions (states, provinces, counties), major languages and
// time-zone cities known to the system (iso-codes, tzdata).
func placeNames(t *testing.T) []string {
	var out []string
	for _, f := range []struct{ file, key string }{
		{"/usr/share/iso-codes/json/iso_3166-1.json", "3166-1"},
		{"/usr/share/iso-codes/json/iso_3166-2.json", "3166-2"},
		{"/usr/share/iso-codes/json/iso_639-2.json", "639-2"},
	} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatalf("%v (apt-get install iso-codes)", err)
		}
		var doc map[string][]map[string]string
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		for _, e := range doc[f.key] {
			for _, k := range []string{"name", "common_name"} {
				for _, n := range strings.Split(e[k], ";") {
					if n = strings.TrimSpace(n); n != "" && !strings.ContainsAny(n, " ,()") {
						out = append(out, strings.ToLower(n))
					}
				}
			}
		}
	}
	zones, err := os.ReadFile("/usr/share/zoneinfo/tzdata.zi")
	if err != nil {
		t.Fatalf("%v (apt-get install tzdata)", err)
	}
	for _, line := range strings.Split(string(zones), "\n") {
		for _, f := range strings.Fields(line) {
			if i := strings.LastIndexByte(f, '/'); i > 0 && !strings.ContainsAny(f[i+1:], "_-+0123456789") {
				out = append(out, strings.ToLower(f[i+1:]))
			}
		}
	}
	return out
}

func mapKeys(m map[uint32]bool) func(func(uint32) bool) {
	return func(yield func(uint32) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
