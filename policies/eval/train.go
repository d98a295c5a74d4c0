package eval

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"daisydog/policies/default/rules"
	"daisydog/policies/sdk"
)

// Training the default policy's statistical model (rules.Model) from
// labelled cases. Everything is deterministic: the folds come from a hash
// of the case id, the example order from a seeded PCG, and the arithmetic
// is single-threaded float32, so the same cases and options give the same
// model bytes.

// ModelHeads are the heads of the model and the case categories that make
// a case a positive example for each.
//
// The abusive head never fires on its own (Threshold above 1): swearing is
// what the word lists and normaliser do well, and a model trained mostly
// on tweets learns that short affectionate messages about dogs are rude.
// It still counts for the veto (a message the model finds clean on every
// head). The other heads reach phrasing the lists cannot.
var ModelHeads = []struct {
	Name       string
	Categories []string
	Fires      bool
}{
	{"abusive", []string{"profanity", "offensive", "harassment"}, false},
	{"hate", []string{"hate", "hate_threatening"}, true},
	{"sexual", []string{"sexual", "sexual_minors"}, true},
	{"self_harm", []string{"self_harm"}, true},
	{"violence", []string{"violence", "violence_graphic"}, true},
}

// TrainOptions tune Train.
type TrainOptions struct {
	Bits   uint8   // hash buckets = 2^Bits (default 16)
	Epochs int     // passes over the data (default 6)
	Rate   float32 // initial learning rate (default 0.5)
	L2     float32 // weight decay per step (default 1e-6)
	Seed   uint64  // example order (default 1)
	Folds  int     // cross-validation folds for threshold choice (default 5)
}

func (o *TrainOptions) defaults() {
	if o.Bits == 0 {
		o.Bits = 16
	}
	if o.Epochs == 0 {
		o.Epochs = 6
	}
	if o.Rate == 0 {
		o.Rate = 0.5
	}
	if o.L2 == 0 {
		o.L2 = 1e-6
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
}

// example is one training row: hashed features and per-head labels.
type example struct {
	c      *Case
	feats  []uint32
	labels uint32 // bit h: positive for head h
	unsafe bool
	fold   int
}

// trainable reports whether a case teaches the model anything: scored
// (safe or unsafe) and not a personal-data case (the PII scanners own those;
// a text classifier cannot find spans).
func trainable(c *Case) bool {
	if c.Label != LabelSafe && c.Label != LabelUnsafe {
		return false
	}
	for _, cat := range c.Categories() {
		if strings.HasPrefix(cat, "pii:") {
			return false
		}
	}
	return true
}

func foldOf(id string, k int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(k))
}

func buildExamples(cases []Case, bits uint8, folds int) []example {
	var ex []example
	for i := range cases {
		c := &cases[i]
		if !trainable(c) {
			continue
		}
		e := example{c: c, feats: rules.Features(c.Text, bits), unsafe: c.Label == LabelUnsafe, fold: foldOf(c.ID, folds)}
		if e.unsafe {
			for h, head := range ModelHeads {
				for _, cat := range c.Categories() {
					if slices.Contains(head.Categories, cat) {
						e.labels |= 1 << h
					}
				}
			}
		}
		ex = append(ex, e)
	}
	return ex
}

// fit trains float weights on ex by SGD on the logistic loss and returns
// the quantised model (thresholds unset).
func fit(ex []example, opt TrainOptions) *rules.Model {
	nh := len(ModelHeads)
	size := 1 << opt.Bits
	w := make([]float32, size*nh)
	bias := make([]float32, nh)
	order := make([]int, len(ex))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5851f42d4c957f2d))
	step := 0
	total := opt.Epochs * len(ex)
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			e := &ex[k]
			lr := opt.Rate * (1 - 0.9*float32(step)/float32(total))
			step++
			x := rules.FeatureNorm(len(e.feats))
			for h := range nh {
				z := bias[h]
				for _, f := range e.feats {
					z += w[int(f)*nh+h] * x
				}
				y := float32(0)
				if e.labels&(1<<h) != 0 {
					y = 1
				}
				g := rules.Sigmoid(z) - y
				if g > -1e-4 && g < 1e-4 {
					continue
				}
				bias[h] -= lr * g * 0.1
				for _, f := range e.feats {
					i := int(f)*nh + h
					w[i] -= lr * (g*x + opt.L2*w[i])
				}
			}
		}
	}
	m := &rules.Model{Bits: opt.Bits, W: make([]int8, len(w))}
	for h, head := range ModelHeads {
		var mx float32
		for i := h; i < len(w); i += nh {
			mx = max(mx, float32(math.Abs(float64(w[i]))))
		}
		scale := mx / 127
		if scale == 0 {
			scale = 1
		}
		for i := h; i < len(w); i += nh {
			m.W[i] = int8(math.Round(float64(w[i] / scale)))
		}
		m.Heads = append(m.Heads, rules.ModelHead{Name: head.Name, Bias: bias[h], Scale: scale, Threshold: 1})
	}
	return m
}

// outOfFold returns, for every example, the head probabilities of a model
// trained without the example's fold: probs[i][h].
func outOfFold(ex []example, opt TrainOptions) [][]float32 {
	probs := make([][]float32, len(ex))
	for f := range opt.Folds {
		var tr []example
		for _, e := range ex {
			if e.fold != f {
				tr = append(tr, e)
			}
		}
		m := fit(tr, opt)
		for i, e := range ex {
			if e.fold == f {
				l := m.Logits(e.feats)
				p := make([]float32, len(l))
				for h := range l {
					p[h] = rules.Sigmoid(l[h])
				}
				probs[i] = p
			}
		}
	}
	return probs
}

// outOfSource returns, for every example, the head probabilities of a
// model trained without the example's whole source: probs[i][h]. Choosing
// thresholds on these (rather than on random folds, which share templates
// and authors with the training rows) prices in how the model behaves on
// kinds of text it has never seen, which is what the held-out set is.
func outOfSource(ex []example, opt TrainOptions) [][]float32 {
	probs := make([][]float32, len(ex))
	var sources []string
	for _, e := range ex {
		if !slices.Contains(sources, e.c.Source) {
			sources = append(sources, e.c.Source)
		}
	}
	sort.Strings(sources)
	for _, src := range sources {
		var tr []example
		for _, e := range ex {
			if e.c.Source != src {
				tr = append(tr, e)
			}
		}
		m := fit(tr, opt)
		for i, e := range ex {
			if e.c.Source == src {
				l := m.Logits(e.feats)
				p := make([]float32, len(l))
				for h := range l {
					p[h] = rules.Sigmoid(l[h])
				}
				probs[i] = p
			}
		}
	}
	return probs
}

// chooseThresholds picks, per head, the lowest probability threshold at
// which the head alone flags at most maxHeadFP of the safe cases of every
// source (with at least 50 safe cases), i.e. the most recall the head can
// add without making any one kind of ordinary text noticeably noisier.
// When no threshold qualifies the head is effectively off (0.99).
func chooseThresholds(ex []example, probs [][]float32) []float32 {
	out := make([]float32, len(ModelHeads))
	srcSafe := map[string]int{}
	for _, e := range ex {
		if !e.unsafe {
			srcSafe[e.c.Source]++
		}
	}
	for h := range ModelHeads {
		out[h] = 0.99
		for t := float32(0.99); t >= 0.05; t -= 0.01 {
			srcFP := map[string]int{}
			for i, e := range ex {
				if !e.unsafe && probs[i][h] >= t {
					srcFP[e.c.Source]++
				}
			}
			ok := true
			for s, n := range srcSafe {
				if n >= 50 && float64(srcFP[s]) > maxHeadFP*float64(n) {
					ok = false
				}
			}
			if !ok {
				break
			}
			out[h] = t
		}
	}
	return out
}

// chooseVeto picks the probability under which (on every head) the model
// clears soft rule hits: it maximises safe cases rescued minus three times
// the unsafe cases lost, both as per-source rates averaged over sources.
func chooseVeto(ex []example, probs [][]float32, thr []float32, soft []bool) float32 {
	best, bestV := 0.0, float32(0)
	for v := float32(0.005); v < 0.5; v += 0.005 {
		gain := map[string]float64{}
		n := map[string]int{}
		for i, e := range ex {
			n[e.c.Source]++
			if !soft[i] {
				continue
			}
			below := true
			for h := range thr {
				if probs[i][h] >= v || probs[i][h] >= thr[h] {
					below = false
				}
			}
			if !below {
				continue
			}
			if e.unsafe {
				gain[e.c.Source] -= 3
			} else {
				gain[e.c.Source]++
			}
		}
		var score float64
		for s, g := range gain {
			score += g / float64(n[s])
		}
		if score > best {
			best, bestV = score, v
		}
	}
	return bestV
}

// TrainResult is the trained model and its honest (held-out) scores.
type TrainResult struct {
	Model *rules.Model
	// CV is the policy (rules + a model trained without the fold) scored on
	// each held-out fold, pooled. LOSO is the same with one whole source
	// held out of training at a time.
	CV   []Group
	LOSO []Group
	// Rules is the word-list policy without any model, for comparison.
	Rules []Group
}

// Train fits the model on cases, chooses its thresholds and veto level on
// out-of-fold and out-of-source predictions, and measures how the resulting policy
// generalises (k-fold and leave-one-source-out). log receives progress
// lines (counts only, never case text).
func Train(ctx context.Context, cases []Case, opt TrainOptions, log io.Writer) (*TrainResult, error) {
	opt.defaults()
	ex := buildExamples(cases, opt.Bits, opt.Folds)
	if len(ex) == 0 {
		return nil, fmt.Errorf("train: no trainable cases")
	}
	fmt.Fprintf(log, "train: %d examples, %d folds, 2^%d buckets, %d heads\n", len(ex), opt.Folds, opt.Bits, len(ModelHeads))
	base, err := rules.Compile(rules.DefaultRules)
	if err != nil {
		return nil, err
	}
	// Which examples a soft rule (one the model may clear) flags, and
	// nothing else: rules only, no model.
	soft := make([]bool, len(ex))
	rulesOnly := map[string]*Group{}
	for i, e := range ex {
		v := base.Evaluate(caseInput(e.c))
		soft[i] = v.Action != sdk.ActionAllow && allSoft(v)
		tally(group(rulesOnly, e.c.Source), e.unsafe, v.Action != sdk.ActionAllow)
	}
	probs := outOfFold(ex, opt)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A head fires only at a level that is quiet both on unseen rows of
	// known sources (k-fold) and on unseen sources (leave-one-source-out).
	thr := chooseThresholds(ex, probs)
	for h, t := range chooseThresholds(ex, outOfSource(ex, opt)) {
		thr[h] = max(thr[h], t)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for h := range thr {
		if !ModelHeads[h].Fires {
			thr[h] = 2
		}
	}
	veto := chooseVeto(ex, probs, thr, soft)
	fmt.Fprintf(log, "train: thresholds %v veto %.3f\n", thr, veto)

	finalize := func(m *rules.Model) *rules.Model {
		for h := range m.Heads {
			m.Heads[h].Threshold = thr[h]
			if !ModelHeads[h].Fires {
				m.Heads[h].Threshold = 2 // never: a probability is at most 1
			}
		}
		m.Veto = veto
		return m
	}
	res := &TrainResult{Rules: sortedGroups(rulesOnly)}
	// k-fold: score the full policy on each held-out fold.
	cv := map[string]*Group{}
	for f := range opt.Folds {
		var tr, te []example
		for _, e := range ex {
			if e.fold == f {
				te = append(te, e)
			} else {
				tr = append(tr, e)
			}
		}
		if err := scoreWith(finalize(fit(tr, opt)), te, cv); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.CV = sortedGroups(cv)
	// Leave one source out.
	loso := map[string]*Group{}
	var sources []string
	for _, e := range ex {
		if !slices.Contains(sources, e.c.Source) {
			sources = append(sources, e.c.Source)
		}
	}
	sort.Strings(sources)
	for _, src := range sources {
		var tr, te []example
		for _, e := range ex {
			if e.c.Source == src {
				te = append(te, e)
			} else {
				tr = append(tr, e)
			}
		}
		if err := scoreWith(finalize(fit(tr, opt)), te, loso); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "train: left out %s\n", src)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.LOSO = sortedGroups(loso)
	res.Model = finalize(fit(ex, opt))
	return res, nil
}

func allSoft(v sdk.Verdict) bool {
	for _, c := range v.Categories {
		switch c {
		case sdk.CategoryProfanity, sdk.CategoryHate, sdk.CategoryHarassment, sdk.CategoryViolence,
			sdk.CategoryWeapons, sdk.CategorySubstances, sdk.CategorySexual:
		default:
			return false
		}
	}
	return v.Severity <= 3
}

func caseInput(c *Case) sdk.Input {
	dir, _ := direction(c.Direction)
	return sdk.Input{Text: c.Text, Direction: dir, AgeTier: sdk.AgeTier9to12, Strictness: sdk.StrictnessStandard, Locale: "en"}
}

// scoreWith evaluates the default rules plus m on te and adds the results
// to per-source groups.
func scoreWith(m *rules.Model, te []example, groups map[string]*Group) error {
	p, err := rules.CompileWithModel(rules.DefaultRules, m)
	if err != nil {
		return err
	}
	for _, e := range te {
		v := p.Evaluate(caseInput(e.c))
		tally(group(groups, e.c.Source), e.unsafe, v.Action != sdk.ActionAllow)
	}
	return nil
}

func tally(g *Group, unsafe, flagged bool) {
	g.Cases++
	if unsafe {
		g.Unsafe++
		if flagged {
			g.Caught++
		}
	} else {
		g.Safe++
		if flagged {
			g.Flagged++
		}
	}
}

func sortedGroups(m map[string]*Group) []Group {
	var out []Group
	for _, g := range m {
		finish(g)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// WriteTrainTable prints the held-out scores of a training run.
func WriteTrainTable(w io.Writer, res *TrainResult) {
	for _, part := range []struct {
		title  string
		groups []Group
	}{
		{"rules only (no model), for comparison", res.Rules},
		{"k-fold (each row scored by a model trained without its fold)", res.CV},
		{"leave-one-source-out (each source scored by a model trained on the other sources)", res.LOSO},
	} {
		fmt.Fprintf(w, "%s\n%-28s %7s %7s %8s %6s %8s\n", part.title, "source", "cases", "unsafe", "recall", "safe", "fp_rate")
		for _, g := range part.groups {
			fmt.Fprintf(w, "%-28s %7d %7d %8s %6d %8s\n", g.Source, g.Cases, g.Unsafe, fmtp(g.Recall), g.Safe, fmtp(g.FPRate))
		}
		fmt.Fprintln(w)
	}
}

func fmtp(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *f)
}

// maxHeadFP is the share of any source's safe cases one model head may
// flag on its own (out of fold): a child-safety filter that flags ordinary
// chat gets switched off, so the model only adds what it can add quietly.
const maxHeadFP = 0.05
