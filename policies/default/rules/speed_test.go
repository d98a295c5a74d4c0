package rules

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// speedTexts are texts for the checks below that a shortcut of the
// matcher changes nothing: the test vectors, and texts made of lexicon
// words (so that phrase programs start and run), filler words, ordinary
// words and masked words, with words repeated.
func speedTexts(t *testing.T) []string {
	t.Helper()
	var texts []string
	for _, v := range loadVectors(t).Vectors {
		texts = append(texts, v.Input.Text)
	}
	lex := Default().lex
	rng := rand.New(rand.NewSource(1))
	extra := []string{"really", "just", "so", "the", "and", "you", "are", "a", "f**k", "sh*t", "b!tch", "kunt", "fvck", "phuck",
		"hello", "Hello", "school", "Anna", "fuuuck", "ki11", "f.uck", "w anker", "l3itch"}
	for range 3000 {
		n := 3 + rng.Intn(25)
		words := make([]string, 0, n)
		for range n {
			switch k := rng.Intn(10); {
			case k < 6:
				words = append(words, lex.wordText[rng.Intn(len(lex.wordText))])
			case k < 9:
				words = append(words, extra[rng.Intn(len(extra))])
			default:
				if len(words) > 0 {
					words = append(words, words[rng.Intn(len(words))]) // a repeat
				}
			}
		}
		texts = append(texts, strings.Join(words, " "))
	}
	return texts
}

// TestSplitFirstsSkipNothing checks that run's skipping of split branches
// whose first word is not at hand (splitFirsts) finds exactly the hits of
// the plain backtracking, which tries every branch.
func TestSplitFirstsSkipNothing(t *testing.T) {
	lex := Default().lex
	plain := *lex
	plain.progs = make([]program, len(lex.progs))
	skips := 0
	for i, p := range lex.progs {
		p.code = slices.Clone(p.code)
		for pc := range p.code {
			if p.code[pc].op == opSplit && p.code[pc].arg != 0 {
				p.code[pc].arg = 0
				skips++
			}
		}
		plain.progs[i] = p
	}
	if skips == 0 {
		t.Fatal("no split has a first-word set")
	}
	s := new(scratch)
	found := 0
	for _, text := range speedTexts(t) {
		s.normalize(text)
		lex.candidates(s)
		lex.match(s)
		want := slices.Clone(s.hits)
		plain.match(s)
		if !slices.Equal(s.hits, want) {
			t.Fatalf("%q: hits %v with split skipping, %v without", text, want, s.hits)
		}
		found += len(want)
	}
	if found < 1000 {
		t.Fatalf("only %d hits: the texts do not exercise the programs", found)
	}
}

// TestWildCandsMatchScan checks that the position index gives masked
// words the same lexicon words, in the same order, as a scan over every
// word of their length.
func TestWildCandsMatchScan(t *testing.T) {
	lex := Default().lex
	if lex.byPosChar == nil {
		t.Fatal("no position index built")
	}
	rng := rand.New(rand.NewSource(2))
	matches := 0
	for _, word := range lex.wordText {
		for range 4 {
			w := []byte(word)
			for k := range w {
				if rng.Intn(3) == 0 {
					w[k] = '*'
				}
			}
			if rng.Intn(4) == 0 && len(w) > 1 {
				w[rng.Intn(len(w))] = 'q'
			}
			var want, got []uint32
			for _, id := range lex.byLen[len(w)] {
				if wildMatch(w, lex.wordText[id]) {
					want = append(want, id)
				}
			}
			for _, id := range lex.wildCands(w) {
				if wildMatch(w, lex.wordText[id]) {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%q: %v from the index, %v from the scan", w, got, want)
			}
			matches += len(want)
		}
	}
	if matches == 0 {
		t.Fatal("no masked word matched")
	}
}

// TestWordMemoChangesNothing checks that looseWords and the model, which
// reuse the result of a word met before in the message (scratch.same),
// give what they give when every word is worked out anew.
func TestWordMemoChangesNothing(t *testing.T) {
	p := Default()
	s := new(scratch)
	var with, without [5]float32
	repeats := 0
	for _, text := range speedTexts(t) {
		s.normalize(text)
		p.lex.candidates(s)
		p.lex.match(s)
		n := len(s.hits)
		for i, o := range s.same {
			if int(o) != i {
				repeats++
			}
		}
		p.looseWords(s)
		want := slices.Clone(s.hits)
		p.model.logits(s, with[:])
		same := s.same
		s.same = nil // no memo
		s.hits = s.hits[:n]
		p.looseWords(s)
		p.model.logits(s, without[:])
		if !slices.Equal(s.hits, want) {
			t.Fatalf("%q: loose hits %v with the memo, %v without", text, want, s.hits)
		}
		if with != without {
			t.Fatalf("%q: logits %v with the memo, %v without", text, with, without)
		}
		s.same = same
	}
	if repeats < 1000 {
		t.Fatalf("only %d repeated words", repeats)
	}
}
