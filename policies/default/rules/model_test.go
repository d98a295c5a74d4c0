package rules

import (
	"bytes"
	"strings"
	"testing"
)

func TestModelRoundTrip(t *testing.T) {
	m := &Model{Bits: 8, Veto: 0.02, Heads: []ModelHead{
		{Name: "hate", Bias: -2, Scale: 0.01, Threshold: 0.8},
		{Name: "sexual", Bias: -3, Scale: 0.02, Threshold: 0.6},
	}}
	m.W = make([]int8, (1<<8)*2)
	for i := range m.W {
		m.W[i] = int8(i*7 - 100)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := got.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("round trip changed the model")
	}
	for _, bad := range [][]byte{nil, []byte("XXXX0000000000"), b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		if _, err := UnmarshalModel(bad); err == nil {
			t.Errorf("UnmarshalModel(%d bytes) accepted a bad model", len(bad))
		}
	}
	if _, err := CompileWithModel(DefaultRules, &Model{Bits: 8, Heads: []ModelHead{{Name: "nope"}}, W: make([]int8, 256)}); err == nil {
		t.Error("unknown head accepted")
	}
}

func TestDefaultModelShipped(t *testing.T) {
	m := DefaultModel()
	if m == nil || len(m.W) != (1<<m.Bits)*len(m.Heads) || len(m.Heads) == 0 {
		t.Fatalf("embedded model missing or malformed: %+v", m)
	}
	nonzero := 0
	for _, w := range m.W {
		if w != 0 {
			nonzero++
		}
	}
	if nonzero < len(m.W)/10 {
		t.Fatalf("embedded model has only %d non-zero weights of %d", nonzero, len(m.W))
	}
}

func TestFeaturesDeterministicAndNormalised(t *testing.T) {
	a := Features("F U C K you", 16)
	b := Features("fuck you", 16)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("spaced-out and plain spellings give different feature counts: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("feature %d differs: the model must see the normalised text", i)
		}
		if a[i] >= 1<<16 {
			t.Fatalf("feature %d out of range", a[i])
		}
	}
}

// A head fires at its threshold, a clean message under the veto level
// clears a soft word-list hit, and a reply never gets the veto.
func TestModelFiresAndVetoes(t *testing.T) {
	heads := []ModelHead{{Name: "hate", Bias: 5, Scale: 0, Threshold: 0.5}}
	firing := MustCompileModel(t, &Model{Bits: 8, Heads: heads, W: make([]int8, 256)})
	v := firing.Evaluate(in("hello there"))
	if v.Action != "block" || !contains(v.Rules, "model.hate") {
		t.Fatalf("a certain head must fire: %+v", v)
	}
	clean := MustCompileModel(t, &Model{Bits: 8, Veto: 0.5, Heads: []ModelHead{{Name: "hate", Bias: -9, Threshold: 0.9}}, W: make([]int8, 256)})
	if v := clean.Evaluate(in("what the hell")); v.Action != "allow" {
		t.Fatalf("veto should clear a soft hit: %+v", v)
	}
	if v := clean.Evaluate(in("I want to kill myself")); v.Action != "support" {
		t.Fatalf("veto must never clear a crisis: %+v", v)
	}
	out := in("what the hell")
	out.Direction = "out"
	if v := clean.Evaluate(out); v.Action == "allow" {
		t.Fatalf("a reply never gets the veto: %+v", v)
	}
}

func MustCompileModel(t *testing.T, m *Model) *Policy {
	t.Helper()
	p, err := CompileWithModel(DefaultRules, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestLogitsMatchFeatures checks that the one-pass scorer used by Evaluate
// gives exactly the logits of Features followed by scores, for the shipped
// five-head model and for a model of another shape (the general path).
func TestLogitsMatchFeatures(t *testing.T) {
	two := &Model{Bits: 10, Heads: []ModelHead{{Name: "hate", Bias: -1, Scale: 0.03}, {Name: "sexual", Bias: 0.5, Scale: 0.02}}}
	two.W = make([]int8, (1<<10)*2)
	for i := range two.W {
		two.W[i] = int8(i*37 + 11)
	}
	texts := []string{
		"", "hi", "I love my dog Daisy!", "y o u   a r e   s o   d u m b",
		"f.u.c.k th1s sh1t, you absolute w@nker",
		strings.Repeat("supercalifragilisticexpialidocious-and-then-some ", 20),
		"Ünïcödé wörds, 東京 and emoji 🙂 mixed with plain words",
		"the quick brown fox jumps over the lazy dog\nagain and again",
	}
	for _, m := range []*Model{DefaultModel(), two} {
		for _, text := range texts {
			var s scratch
			s.normalize(text)
			want := m.Logits(Features(text, m.Bits))
			got := make([]float32, len(m.Heads))
			m.logits(&s, got)
			for h := range want {
				if got[h] != want[h] {
					t.Errorf("%d heads, %q: head %d logit %v, want %v", len(m.Heads), text, h, got[h], want[h])
				}
			}
		}
	}
}
