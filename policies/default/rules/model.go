package rules

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// The statistical model: a multi-head logistic regression over hashed
// features of the NORMALISED text (the same tokens the phrase rules see,
// so leetspeak, confusables and spacing are already undone). Features are
// whole words, word pairs and character 3–5-grams of each word with its
// boundaries ("<fu", "uck>"), hashed into 2^Bits buckets. Each bucket holds
// one int8 weight per head (interleaved, so a feature costs one cache
// line), dequantised with a per-head scale.
//
// The model reaches phrasing that word lists cannot (hateful statements
// without slurs, sexual or self-harm talk in ordinary words) and, through
// Veto, lets context clear a soft word-list hit ("a queer theory
// seminar"). It never overrides the crisis, disclosure, grooming or
// personal-data rules. It is trained reproducibly by
// `daisydog policy train` (policies/eval/train.go); docs/safety.md has its
// cross-validated numbers.

// ModelHead is one output of the model.
type ModelHead struct {
	Name      string  // "abusive", "hate", "sexual", "self_harm", "violence"
	Bias      float32 // intercept
	Scale     float32 // weight of one int8 step
	Threshold float32 // probability at or above which the head fires
}

// Model is an immutable trained model.
type Model struct {
	Bits  uint8
	Heads []ModelHead
	// Veto is the probability under which every head must stay for the
	// model to clear a soft rule hit (0 disables the veto).
	Veto float32
	// W holds (1<<Bits) * len(Heads) quantised weights, bucket-major.
	W []int8
}

const modelMagic = "DDM1"

// MarshalBinary encodes the model (little-endian; see UnmarshalModel).
func (m *Model) MarshalBinary() ([]byte, error) {
	b := []byte(modelMagic)
	b = append(b, m.Bits, byte(len(m.Heads)))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(m.Veto))
	for _, h := range m.Heads {
		if len(h.Name) > 255 {
			return nil, errors.New("model: head name too long")
		}
		b = append(b, byte(len(h.Name)))
		b = append(b, h.Name...)
		for _, f := range []float32{h.Bias, h.Scale, h.Threshold} {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	for _, w := range m.W {
		b = append(b, byte(w))
	}
	return b, nil
}

// UnmarshalModel decodes a model written by MarshalBinary.
func UnmarshalModel(b []byte) (*Model, error) {
	if len(b) < 10 || string(b[:4]) != modelMagic {
		return nil, errors.New("model: bad magic")
	}
	m := &Model{Bits: b[4]}
	n := int(b[5])
	if m.Bits < 8 || m.Bits > 22 || n == 0 || n > 16 {
		return nil, fmt.Errorf("model: bad shape bits=%d heads=%d", m.Bits, n)
	}
	m.Veto = math.Float32frombits(binary.LittleEndian.Uint32(b[6:]))
	p := 10
	for range n {
		if p >= len(b) {
			return nil, errors.New("model: truncated header")
		}
		l := int(b[p])
		p++
		if p+l+12 > len(b) {
			return nil, errors.New("model: truncated header")
		}
		h := ModelHead{Name: string(b[p : p+l])}
		p += l
		h.Bias = math.Float32frombits(binary.LittleEndian.Uint32(b[p:]))
		h.Scale = math.Float32frombits(binary.LittleEndian.Uint32(b[p+4:]))
		h.Threshold = math.Float32frombits(binary.LittleEndian.Uint32(b[p+8:]))
		p += 12
		m.Heads = append(m.Heads, h)
	}
	want := (1 << m.Bits) * n
	if len(b)-p != want {
		return nil, fmt.Errorf("model: %d weight bytes, want %d", len(b)-p, want)
	}
	m.W = make([]int8, want)
	for i := range m.W {
		m.W[i] = int8(b[p+i])
	}
	return m, nil
}

// Feature hashing. Every feature kind has its own seed so that the word
// "ass" and the 3-gram "ass" do not share a bucket by construction.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	seedWord  = 0x9e3779b9
	seedPair  = 0x85ebca6b
	seedGram  = 0xc2b2ae35
)

func fnv(h uint32, b []byte) uint32 {
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// features appends the hashed feature buckets of the normalised tokens in
// s to dst. Tokens of other scripts are skipped byte-wise like any other.
func (s *scratch) features(bits uint8, dst []uint32) []uint32 {
	mask := uint32(1)<<bits - 1
	var prev uint32
	var gram [64]byte
	for i, t := range s.toks {
		w := s.norm[t.ns:t.ne]
		if len(w) > 40 {
			w = w[:40]
		}
		hw := fnv(fnvOffset^seedWord, w)
		dst = append(dst, mix(hw)&mask)
		if i > 0 {
			dst = append(dst, mix(prev*31+hw^seedPair)&mask)
		}
		prev = hw
		// character 3-, 4- and 5-grams of "<word>", hashed incrementally
		// from each start position
		g := append(append(append(gram[:0], '<'), w...), '>')
		for k := 0; k+3 <= len(g); k++ {
			h := uint32(fnvOffset ^ seedGram)
			for n := 0; n < 5 && k+n < len(g); n++ {
				h = (h ^ uint32(g[k+n])) * fnvPrime
				if n >= 2 {
					dst = append(dst, mix(h+uint32(n))&mask)
				}
			}
		}
	}
	return dst
}

// wordFeats is what a word's own features add to the logits (Model.logits).
type wordFeats struct {
	sum  [5]int32
	n    int32
	hash uint32
}

// logits writes each head's logit for the normalised tokens in s to out:
// features and scores in one pass, without materialising the feature
// list. It must agree exactly with features followed by scores
// (TestLogitsMatchFeatures); it exists because the two passes, with a
// per-head inner loop, cost a wasm guest several times more than this.
func (m *Model) logits(s *scratch, out []float32) {
	nh := len(m.Heads)
	if nh != 5 {
		s.feats = s.features(m.Bits, s.feats[:0])
		m.scores(s.feats, out)
		return
	}
	mask := uint32(1)<<m.Bits - 1
	// The weights as rows of five: one bounds check per feature.
	W := unsafe.Slice((*[5]int8)(unsafe.Pointer(unsafe.SliceData(m.W))), len(m.W)/5)
	var a0, a1, a2, a3, a4 int32
	nf := 0
	var prev uint32
	var gram [64]byte
	// A word met before in the message (lexicon.candidates' same) adds
	// what it added then: its own feature and its n-grams depend on the
	// word alone, and integer sums do not depend on the order.
	memo := len(s.same) == len(s.toks)
	if memo {
		s.wfeat = s.wfeat[:0]
		for range s.toks {
			s.wfeat = append(s.wfeat, wordFeats{})
		}
	}
	for i, t := range s.toks {
		if memo {
			if o := s.same[i]; int(o) != i {
				f := &s.wfeat[o]
				a0, a1, a2, a3, a4 = a0+f.sum[0], a1+f.sum[1], a2+f.sum[2], a3+f.sum[3], a4+f.sum[4]
				nf += int(f.n)
				hw := f.hash
				r := &W[mix(prev*31+hw^seedPair)&mask] // (i > 0: token o came first)
				a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
				nf++
				prev = hw
				continue
			}
		}
		w := s.norm[t.ns:t.ne]
		if len(w) > 40 {
			w = w[:40]
		}
		hw := fnv(fnvOffset^seedWord, w)
		if i > 0 {
			r := &W[mix(prev*31+hw^seedPair)&mask]
			a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
			nf++
		}
		prev = hw
		// The word's own features, summed apart for the memo.
		s0, s1, s2, s3, s4 := a0, a1, a2, a3, a4
		nf0 := nf
		r := &W[mix(hw)&mask]
		a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
		nf++
		g := append(append(append(gram[:0], '<'), w...), '>')
		// The 3-, 4- and 5-grams starting at k, in straight-line code
		// (a loop over n cost the guest a loop step per letter).
		for k := 0; k+3 <= len(g); k++ {
			h := (uint32(fnvOffset^seedGram) ^ uint32(g[k])) * fnvPrime
			h = (h ^ uint32(g[k+1])) * fnvPrime
			h = (h ^ uint32(g[k+2])) * fnvPrime
			r = &W[mix(h+2)&mask]
			a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
			nf++
			if k+3 < len(g) {
				h = (h ^ uint32(g[k+3])) * fnvPrime
				r = &W[mix(h+3)&mask]
				a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
				nf++
				if k+4 < len(g) {
					h = (h ^ uint32(g[k+4])) * fnvPrime
					r = &W[mix(h+4)&mask]
					a0, a1, a2, a3, a4 = a0+int32(r[0]), a1+int32(r[1]), a2+int32(r[2]), a3+int32(r[3]), a4+int32(r[4])
					nf++
				}
			}
		}
		if memo {
			s.wfeat[i] = wordFeats{sum: [5]int32{a0 - s0, a1 - s1, a2 - s2, a3 - s3, a4 - s4}, n: int32(nf - nf0), hash: hw}
		}
	}
	inv := FeatureNorm(nf)
	acc := [5]int32{a0, a1, a2, a3, a4}
	for h := range 5 {
		out[h] = m.Heads[h].Bias + float32(acc[h])*m.Heads[h].Scale*inv
	}
}

// Features returns the hashed feature buckets of text (for training; the
// policy computes the same features inside Evaluate).
func Features(text string, bits uint8) []uint32 {
	var s scratch
	s.normalize(text)
	return s.features(bits, nil)
}

// scores writes each head's logit for the feature buckets to out.
func (m *Model) scores(feats []uint32, out []float32) {
	nh := len(m.Heads)
	var acc [16]int32
	for _, f := range feats {
		row := m.W[int(f)*nh : int(f)*nh+nh]
		for h, w := range row {
			acc[h] += int32(w)
		}
	}
	inv := FeatureNorm(len(feats))
	for h := range nh {
		out[h] = m.Heads[h].Bias + float32(acc[h])*m.Heads[h].Scale*inv
	}
}

// Logits returns the model's logit per head for feature buckets (for the
// trainer's threshold search).
func (m *Model) Logits(feats []uint32) []float32 {
	out := make([]float32, len(m.Heads))
	m.scores(feats, out)
	return out
}

// FeatureNorm is the value of one feature in a message with n features:
// 1/sqrt(n), so that long and short messages score on the same scale.
func FeatureNorm(n int) float32 {
	if n == 0 {
		return 0
	}
	return float32(1 / math.Sqrt(float64(n)))
}

// Sigmoid is the logistic function.
func Sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// Logit is the inverse of Sigmoid.
func Logit(p float32) float32 { return float32(math.Log(float64(p) / (1 - float64(p)))) }

// softCategories are the categories whose word-list hits the model may
// clear: words whose meaning depends on context. Crisis, disclosure,
// grooming, sexual content involving minors and personal data are never
// cleared.
var softCategories = map[string]bool{
	"profanity": true, "hate": true, "harassment": true, "violence": true,
	"weapons": true, "substances": true, "sexual": true,
}

func softRule(r *Rule) bool { return softCategories[r.Category] && r.Severity <= 3 }

// applyModel scores the message, adds the heads that fire to b, and
// reports whether the model is confident enough that the message is fine
// to clear soft rule hits (only for a child's message: Daisy's replies get
// no benefit of the doubt).
func (p *Policy) applyModel(s *scratch, out bool, b *verdictBuilder) bool {
	m := p.model
	var logits [16]float32
	m.logits(s, logits[:len(m.Heads)])
	veto := m.Veto > 0 && !out
	for i, h := range m.Heads {
		pr := Sigmoid(logits[i])
		if pr >= h.Threshold {
			hr := p.heads[i]
			action, esc := hr.action, hr.escalate
			if out {
				action, esc = "block", false
			}
			b.add(hr.id, hr.category, action, hr.severity, esc)
			veto = false
		}
		if pr >= m.Veto {
			veto = false
		}
	}
	return veto
}
