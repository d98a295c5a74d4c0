package companion

import (
	"strings"
	"testing"
)

// referenceClassify is the matcher as it was before the word index: every
// rule in order, every word of the message. The indexed matcher must give
// the same answer for every message.
func referenceClassify(rules []rule, negators []string, text string) (intent, sub string) {
	neg := map[string]bool{}
	for _, n := range negators {
		neg[n] = true
	}
	m := &matcher{negators: neg}
	w := splitWords(text)
	for _, r := range rules {
		words := map[string]bool{}
		for _, x := range r.words {
			words[x] = true
		}
		hit := false
		for i := range w.toks {
			for _, p := range r.phrases {
				if phraseAt(strings.Fields(p), w.fs, i) {
					hit = true
				}
			}
			if hit {
				break
			}
			if m.negated(w.toks, i) && !(r.intent == IntentFeelings && r.sub == feelingHurt) {
				continue
			}
			for _, f := range w.fs[i] {
				if words[f] {
					hit = true
				}
			}
			if hit {
				break
			}
		}
		if !hit {
			continue
		}
		needs := make([][]string, len(r.needs))
		for i, n := range r.needs {
			needs[i] = strings.Fields(n)
		}
		if len(r.needs) == 0 || len(w.toks) <= r.short || containsAny(w, needs) {
			return r.intent, r.sub
		}
	}
	return IntentDefault, ""
}

// TestIndexedMatcherMatchesReference compares the indexed matcher with the
// reference on every line Daisy can say, every suggestion, the benchmark's
// messages, and each rule's words and phrases alone, negated, elongated,
// inside a long sentence and next to other rules' words.
func TestIndexedMatcherMatchesReference(t *testing.T) {
	e := New()
	rules := intentRules(DefaultCatalog())
	negs := negatorWords()
	texts := append([]string{}, benchMessages...)
	for _, c := range e.Corpus() {
		texts = append(texts, c.Text)
	}
	var atoms []string
	for _, r := range rules {
		atoms = append(atoms, r.words...)
		atoms = append(atoms, r.phrases...)
		atoms = append(atoms, r.needs...)
	}
	for i, a := range atoms {
		b := atoms[(i*7+3)%len(atoms)]
		texts = append(texts, a, "not "+a, "I dont want to "+a, "no more "+a, a+"!!!",
			strings.ToUpper(a), elongate(a), "my friend and me went to the park and then "+a,
			a+" "+b, b+" and "+a, "never "+b+" "+a, "daisy "+a)
	}
	if len(texts) < 1000 {
		t.Fatalf("only %d texts", len(texts))
	}
	differ := 0
	for _, text := range texts {
		gi, gs := e.matcher.classify(text)
		wi, ws := referenceClassify(rules, negs, text)
		if gi != wi || gs != ws {
			differ++
			if differ < 20 {
				t.Errorf("%q: indexed %s/%s, reference %s/%s", text, gi, gs, wi, ws)
			}
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d texts classified differently", differ, len(texts))
	}
}

// elongate repeats the last letter of s: "hi" → "hiiii".
func elongate(s string) string {
	if s == "" {
		return s
	}
	return s + strings.Repeat(s[len(s)-1:], 4)
}
