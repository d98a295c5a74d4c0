package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
	"daisydog/storage"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// The policy runtime of one node, without Raft: replicated state is applied
// straight to a real SQLite database (storage.DB.Apply) and sync is called
// as the state machine would after each batch. Bundles are real, signed,
// and tiny (bundletest.Const), so each compiles in milliseconds.

type polHarness struct {
	t    *testing.T
	db   *storage.DB
	rt   *wasm.Runtime
	p    *policyRuntime
	priv ed25519.PrivateKey
	kid  string

	mu      sync.Mutex
	reports []storage.ReportPolicy
	shadows []storage.ReportShadow

	// applyMu orders applies as a log would: the test's and the runtime's
	// reports (another goroutine) each take the next index and apply it
	// before anyone takes the one after.
	applyMu sync.Mutex
	idx     uint64
}

var allowVerdict = []byte(`{"action":"allow"}`)

func newPolHarness(t *testing.T, opts ...func(*wasm.Config)) *polHarness {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "db", "policy.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := wasm.Config{CacheDir: wasmtest.SharedCacheDir()}
	for _, o := range opts {
		o(&cfg)
	}
	rt, err := wasm.NewRuntime(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := policies.NewEngine(ctx, rt, "fallback", "fallback", wasmtest.ConstModule(allowVerdict))
	if err != nil {
		t.Fatal(err)
	}
	bg, cancel := context.WithCancel(ctx)
	h := &polHarness{t: t, db: db, rt: rt}
	h.p = newPolicyRuntime(bg, testLogger(t), rt, db, "n1", fb, time.Now)
	t.Cleanup(func() {
		cancel()
		if err := h.p.close(ctx); err != nil {
			t.Errorf("close policy runtime: %v", err)
		}
		_ = fb.Close(ctx)
		_ = rt.Close(ctx)
		_ = db.Close()
	})
	pub, priv := bundletest.Key(t)
	h.priv, h.kid = priv, bundle.KeyID(pub)
	if err := h.apply(&storage.AddPolicyKey{KeyID: h.kid, PublicKey: pub, By: "test", At: 1}); err != nil {
		t.Fatal(err)
	}
	return h
}

// replicate makes the runtime's reports go into the database (as they
// would through Raft), recording each.
func (h *polHarness) replicate() {
	h.p.report = func(ctx context.Context, r storage.ReportPolicy) error {
		h.mu.Lock()
		h.reports = append(h.reports, r)
		h.mu.Unlock()
		return h.apply(&r)
	}
	h.p.reportShadow = func(ctx context.Context, r storage.ReportShadow) error {
		h.mu.Lock()
		h.shadows = append(h.shadows, r)
		h.mu.Unlock()
		return h.apply(&r)
	}
	close(h.p.clusterUp)
}

func (h *polHarness) apply(c storage.Command) error {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	h.idx++
	_, err := h.db.Apply(context.Background(), h.idx, c)
	return err
}

func (h *polHarness) must(c storage.Command) {
	h.t.Helper()
	if err := h.apply(c); err != nil {
		h.t.Fatalf("%s: %v", c.Kind(), err)
	}
}

// stage stages raw under id (the bundle's own ID when id is "").
func (h *polHarness) stage(id string, raw []byte) string {
	h.t.Helper()
	if id == "" {
		b, err := bundle.Open(raw)
		if err != nil {
			h.t.Fatal(err)
		}
		id = b.ID()
	}
	sum := sha256.Sum256(raw)
	h.must(&storage.StagePolicy{ID: id, Bundle: raw, SHA256: hex.EncodeToString(sum[:]), KeyID: h.kid, By: "test", At: 2})
	return id
}

func (h *polHarness) sync() *policySet {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.applyMu.Lock() // the runtime's reports apply (and count) from their own goroutines
	idx := h.idx
	h.applyMu.Unlock()
	h.p.sync(ctx, idx)
	return h.p.current()
}

func (h *polHarness) status() api.PolicyStatus {
	h.t.Helper()
	st, err := h.p.status(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

var chatIn = policies.Input{Text: "hello there", Direction: "in", AgeTier: "5-8"}

func evalAction(t *testing.T, s *policySet) string {
	t.Helper()
	v, err := s.Evaluate(context.Background(), chatIn)
	if err != nil {
		t.Fatalf("evaluate with %s: %v", s.version, err)
	}
	return v.Action
}

func TestSameDecision(t *testing.T) {
	t.Parallel()
	v := func(action string, esc bool, cats ...string) policies.Verdict {
		return policies.Verdict{Action: action, Escalate: esc, Categories: cats}
	}
	for _, tc := range []struct {
		a, b policies.Verdict
		same bool
	}{
		{v("allow", false), v("allow", false), true},
		{v("block", false, "a", "b"), v("block", false, "b", "a"), true},
		{v("block", false, "a"), v("allow", false, "a"), false},
		{v("block", true, "a"), v("block", false, "a"), false},
		{v("block", false, "a"), v("block", false, "a", "b"), false},
		{v("block", false, "a"), v("block", false, "b"), false},
		{policies.Verdict{Action: "allow", Rules: []string{"x"}}, policies.Verdict{Action: "allow", Rules: []string{"y"}}, true},
	} {
		if got := sameDecision(tc.a, tc.b); got != tc.same {
			t.Errorf("sameDecision(%+v, %+v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{{"", 3, ""}, {"abc", 3, "abc"}, {"abcd", 3, "abc"}, {"abc", 0, ""}} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q", tc.in, tc.n, got)
		}
	}
}

// Activation, rollback target and a shadow run: the shadow candidate's
// disagreements are counted and sampled without changing the verdict,
// replicated as deltas, and shown in the status.
func TestPolicyRuntimeActivateAndShadow(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	h.replicate()
	a := h.stage("", bundletest.Const(t, h.priv, "pol", "1.0.0", "allow"))
	b := h.stage("", bundletest.Const(t, h.priv, "pol", "2.0.0", "block", "profanity"))
	if got := h.sync(); got.version != "fallback" || got.id != "" || evalAction(t, got) != "allow" {
		t.Fatalf("before activation: %+v", got)
	}

	h.must(&storage.ActivatePolicy{ID: a, By: "test", At: 3})
	set := h.sync()
	if set.id != a || set.version != a || set.failed != nil || evalAction(t, set) != "allow" {
		t.Fatalf("after activating %s: id %q version %q failed %v", a, set.id, set.version, set.failed)
	}
	h.must(&storage.ActivatePolicy{ID: b, By: "test", At: 4})
	if set = h.sync(); set.version != b || evalAction(t, set) != "block" {
		t.Fatalf("after activating %s: %s", b, set.version)
	}
	h.must(&storage.RollbackPolicy{By: "test", At: 5})
	if set = h.sync(); set.version != a || evalAction(t, set) != "allow" {
		t.Fatalf("after rollback: %s", set.version)
	}

	// Every compile this node did was reported once, as ok.
	waitFor(t, 10*time.Second, "reports of both bundles", func() error {
		st, err := h.db.PolicyState(context.Background())
		if err != nil {
			return err
		}
		if len(st.Reports) != 2 || !st.Reports[0].OK || !st.Reports[1].OK {
			return fmt.Errorf("reports %+v", st.Reports)
		}
		return nil
	})

	h.must(&storage.ShadowPolicy{ID: b, By: "test", At: 6})
	set = h.sync()
	run := set.shadow
	if run == nil || run.id != b || run.active != a {
		t.Fatalf("shadow run %+v", run)
	}
	if h.sync().shadow != run {
		t.Fatal("an unchanged shadow run was restarted (its counts lost)")
	}
	// Each evaluation disagrees (allow vs block); at most 20 samples are kept.
	for i := 1; i <= maxShadowSamples+3; i++ {
		if got := evalAction(t, set); got != "allow" {
			t.Fatalf("the shadow candidate changed the verdict to %s", got)
		}
		waitFor(t, 10*time.Second, "shadow evaluation", func() error {
			if run.evaluated.Load()+run.skipped.Load() < uint64(i) {
				return fmt.Errorf("evaluated %d skipped %d", run.evaluated.Load(), run.skipped.Load())
			}
			return nil
		})
	}
	h.p.wg.Wait()
	if run.disagreed.Load() != run.evaluated.Load() || run.errors.Load() != 0 || run.evaluated.Load() == 0 {
		t.Fatalf("evaluated %d disagreed %d errors %d", run.evaluated.Load(), run.disagreed.Load(), run.errors.Load())
	}
	run.mu.Lock()
	samples := len(run.samples)
	last := run.samples[samples-1]
	run.mu.Unlock()
	if want := min(int(run.disagreed.Load()), maxShadowSamples); samples != want {
		t.Fatalf("%d samples kept, want %d", samples, want)
	}
	if last.ActiveAction != "allow" || last.ShadowAction != "block" || strings.Join(last.ShadowCategories, ",") != "profanity" || last.AgeTier != "5-8" {
		t.Fatalf("sample %+v", last)
	}

	// A full semaphore skips the shadow evaluation instead of waiting.
	skipped := run.skipped.Load()
	sem := h.p.shadowSem
	h.p.shadowSem = make(chan struct{})
	evalAction(t, set)
	h.p.shadowSem = sem
	if run.skipped.Load() != skipped+1 {
		t.Fatalf("skipped %d, want %d", run.skipped.Load(), skipped+1)
	}

	// The counts are replicated as deltas: nothing new, nothing sent.
	if err := h.p.flushShadow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.p.flushShadow(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	shadows := append([]storage.ReportShadow(nil), h.shadows...)
	h.mu.Unlock()
	if len(shadows) != 1 || shadows[0].Evaluated != run.evaluated.Load() || shadows[0].Skipped != run.skipped.Load() ||
		shadows[0].ID != b || shadows[0].Against != a || shadows[0].Node != "n1" {
		t.Fatalf("shadow reports %+v", shadows)
	}

	st := h.status()
	if st.Active != a || st.ActiveBundle != a || len(st.History) != 1 || st.Error != "" ||
		len(st.TrustedKeys) != 1 || st.TrustedKeys[0] != h.kid || len(st.Staged) != 2 {
		t.Fatalf("status %+v", st)
	}
	for _, s := range st.Staged {
		if s.Nodes["n1"] != "ok" || s.KeyID != h.kid {
			t.Errorf("staged %s: %+v", s.ID, s)
		}
	}
	if st.Compiled[a] != "ok" || st.Compiled[b] != "ok" {
		t.Errorf("compiled %v", st.Compiled)
	}
	if st.Shadow == nil || st.Shadow.Policy != b || st.Shadow.Against != a || st.Shadow.Disagreed != run.disagreed.Load() ||
		len(st.Shadow.Recent) != samples || st.Shadow.Cluster == nil || st.Shadow.Cluster.Evaluated != run.evaluated.Load() ||
		st.Shadow.Cluster.Nodes["n1"].Skipped != run.skipped.Load() {
		t.Fatalf("shadow status %+v (cluster %+v)", st.Shadow, st.Shadow.Cluster)
	}

	h.must(&storage.ShadowPolicy{ID: "", By: "test", At: 7})
	if set = h.sync(); set.shadow != nil {
		t.Fatal("the shadow run did not end")
	}
	if st := h.status(); st.Shadow != nil {
		t.Fatalf("status still shows a shadow run: %+v", st.Shadow)
	}
}

// A bundle this node cannot load fails closed: no silent fallback, the
// error shows in status and is reported (truncated) to the cluster.
// A shadow candidate the machine did not run in time (its work budget not
// spent: overload) says nothing about the candidate: it counts as skipped,
// not as an error an administrator would read as the candidate failing. A
// candidate that spends its work budget is an error of the candidate.
func TestShadowStarvedIsSkippedNotAnError(t *testing.T) {
	t.Parallel()
	const allow = `{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`
	for _, tc := range []struct {
		name        string
		budget      uint64
		wantSkipped bool
	}{
		{"time ran out with budget left", 1 << 40, true},
		{"work budget spent", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPolHarness(t, func(c *wasm.Config) { c.CallBudget = tc.budget })
			h.replicate()
			a := h.stage("", bundletest.Const(t, h.priv, "pol", "1.0.0", "allow"))
			// Answers short inputs (its vectors, the self-test), loops on a chat turn.
			loop, err := bundle.Build(bundle.Spec{Name: "words", Version: "9", Now: time.Now(), Data: map[string]string{},
				Module:  wasmtest.FlakyPolicy(allow, []byte{wasmtest.OpLoop, wasmtest.BlockEmpty, wasmtest.OpBr, 0, wasmtest.OpEnd}),
				Vectors: bundletest.WordVectors(t)}, h.priv)
			if err != nil {
				t.Fatal(err)
			}
			b := h.stage("", loop)
			h.must(&storage.ActivatePolicy{ID: a, By: "test", At: 3})
			h.must(&storage.ShadowPolicy{ID: b, By: "test", At: 4})
			set := h.sync()
			run := set.shadow
			if run == nil || run.id != b {
				t.Fatalf("shadow run %+v", run)
			}
			in := policies.Input{Text: strings.Repeat("tell me about a very good dog ", 10), Direction: "in", AgeTier: "9-12"}
			if v, err := set.Evaluate(context.Background(), in); err != nil || v.Action != "allow" {
				t.Fatalf("active verdict %+v, %v", v, err)
			}
			h.p.wg.Wait()
			skipped, errs := run.skipped.Load(), run.errors.Load()
			if tc.wantSkipped && (skipped != 1 || errs != 0 || run.evaluated.Load() != 0) {
				t.Fatalf("starved shadow: skipped %d errors %d evaluated %d; want it skipped", skipped, errs, run.evaluated.Load())
			}
			if !tc.wantSkipped && (skipped != 0 || errs != 1) {
				t.Fatalf("shadow over its budget: skipped %d errors %d; want an error", skipped, errs)
			}
		})
	}
}

func TestPolicyRuntimeLoadFailureFailsClosed(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	h.replicate()
	if err := h.p.loaded(); err != nil {
		t.Fatalf("the embedded default is loaded, but: %v", err)
	}
	long := strings.Repeat("x", 600)
	h.p.load = func(context.Context, *wasm.Runtime, *bundle.Bundle) (*policies.Engine, error) {
		return nil, errors.New("no memory for you " + long)
	}
	id := h.stage("", bundletest.Const(t, h.priv, "pol", "1.0.0", "allow"))
	h.must(&storage.ActivatePolicy{ID: id, By: "test", At: 3})
	set := h.sync()
	if set.failed == nil || set.eng != nil || set.version != id {
		t.Fatalf("set %+v", set)
	}
	_, err := set.Evaluate(context.Background(), chatIn)
	wantErr(t, err, "policy "+id+" is not loaded on this node: no memory for you")
	wantErr(t, h.p.loaded(), "active policy "+id+" is not loaded on this node") // /readyz answers 503

	st := h.status()
	if !strings.Contains(st.Error, "no memory for you") || !strings.Contains(st.Compiled[id], "no memory for you") {
		t.Fatalf("status error %q compiled %v", st.Error, st.Compiled)
	}
	waitFor(t, 10*time.Second, "the failure report", func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.reports) != 1 {
			return fmt.Errorf("%d reports", len(h.reports))
		}
		return nil
	})
	r := h.reports[0]
	if r.OK || r.ID != id || r.Node != "n1" || len(r.Error) != 500 || !strings.HasPrefix(r.Error, "no memory for you") {
		t.Fatalf("report %+v (error length %d)", r, len(r.Error))
	}
	// The report is recorded when the harness has applied it, just after
	// the report callback: wait for the status to show it.
	waitFor(t, 10*time.Second, "the report in the staged status", func() error {
		if st := h.status(); st.Staged[0].Nodes["n1"] != r.Error {
			return fmt.Errorf("staged status %+v", st.Staged[0])
		}
		return nil
	})

	// A shadow candidate that cannot load leaves no shadow run; status says
	// it is not loaded here.
	h.must(&storage.ShadowPolicy{ID: id, By: "test", At: 4})
	h.must(&storage.RollbackPolicy{By: "test", At: 5})
	if set := h.sync(); set.shadow != nil || set.failed != nil || set.version != "fallback" {
		t.Fatalf("set %+v", set)
	}
	if st := h.status(); st.Shadow == nil || !st.Shadow.NotLoaded || st.Shadow.Policy != id {
		t.Fatalf("shadow status %+v", st.Shadow)
	}
}

// compile refuses what is staged under the wrong ID, signed by an
// untrusted key, not a bundle, or not staged at all.
func TestPolicyRuntimeCompileRefusals(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	_, otherKey := bundletest.Key(t)
	good := bundletest.Const(t, h.priv, "pol", "1.0.0", "allow")
	for _, tc := range []struct {
		name string
		id   string
		raw  []byte // nil: not staged
		kind error  // nil: any
		err  string
	}{
		{"wrong id", "pol@9.9.9", good, bundle.ErrMalformed, "staged as pol@9.9.9 but the manifest says pol@1.0.0"},
		{"untrusted signer", "", bundletest.Const(t, otherKey, "pol", "2.0.0", "allow"), bundle.ErrUntrusted, "not in the cluster's trusted keys"},
		{"not a bundle", "junk@1", []byte("not a bundle at all"), bundle.ErrMalformed, ""},
		{"not staged", "ghost@1", nil, storage.ErrNotFound, "reading staged bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id
			if tc.raw != nil {
				id = h.stage(tc.id, tc.raw)
			}
			eng, sha, err := h.p.compile(context.Background(), id)
			if err == nil || eng != nil {
				t.Fatalf("compiled %s: %v", id, err)
			}
			wantErr(t, err, tc.err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v is not %v", err, tc.kind)
			}
			if tc.raw != nil {
				sum := sha256.Sum256(tc.raw)
				if sha != hex.EncodeToString(sum[:]) {
					t.Fatalf("sha %q", sha)
				}
			}
		})
	}
}

// An engine adopted for an ID whose staged bytes turned out different is
// dropped and the staged bundle compiled instead.
func TestPolicyRuntimeDropsStaleAdoptedEngine(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	ctx := context.Background()
	stale, err := policies.NewEngine(ctx, h.rt, "pol", "1.0.0", wasmtest.ConstModule(allowVerdict))
	if err != nil {
		t.Fatal(err)
	}
	if !h.p.adopt("pol@1.0.0", strings.Repeat("0", 64), stale) {
		t.Fatal("adopt refused a new ID")
	}
	if h.p.adopt("pol@1.0.0", strings.Repeat("1", 64), stale) {
		t.Fatal("adopt replaced an engine already registered")
	}
	id := h.stage("", bundletest.Const(t, h.priv, "pol", "1.0.0", "block", "profanity"))
	h.must(&storage.ActivatePolicy{ID: id, By: "test", At: 3})
	set := h.sync()
	if got := evalAction(t, set); got != "block" {
		t.Fatalf("active %s answers %s: the stale adopted engine is in use", set.version, got)
	}
	h.p.mu.Lock()
	sha := h.p.engines[id].sha
	h.p.mu.Unlock()
	st, _ := h.db.PolicyState(ctx)
	if sha != st.Staged[0].SHA256 {
		t.Fatalf("engine built from %s, staged bundle is %s", sha, st.Staged[0].SHA256)
	}
}

func TestPolicyRuntimeWaitAndStorageFailure(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.p.wait(ctx, &loadedPolicy{id: "slow@1", done: make(chan struct{})})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("wait on a cancelled context: %v", err)
	}
	wantErr(t, err, "waiting for the compile of slow@1")

	// The state cannot be read: fail closed rather than keep evaluating.
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	set := h.sync()
	if set.failed == nil || set.version != "fallback" {
		t.Fatalf("set after a storage failure: %+v", set)
	}
	if _, err := set.Evaluate(context.Background(), chatIn); err == nil {
		t.Fatal("evaluation succeeded without policy state")
	}
	if _, err := h.p.status(context.Background()); err == nil {
		t.Fatal("status without storage succeeded")
	}
}

// sendReport: nothing before the cluster is up and the runtime stops; a
// report already in the state is not sent again; a transient failure is
// retried, "not found" (unstaged meanwhile) is final.
func TestPolicyRuntimeSendReport(t *testing.T) {
	t.Parallel()
	h := newPolHarness(t)
	id := h.stage("", bundletest.Const(t, h.priv, "pol", "1.0.0", "allow"))
	var mu sync.Mutex
	var calls []error
	answers := []error{}
	h.p.report = func(ctx context.Context, r storage.ReportPolicy) error {
		mu.Lock()
		defer mu.Unlock()
		var err error
		if len(answers) > 0 {
			err, answers = answers[0], answers[1:]
		}
		calls = append(calls, err)
		if err == nil {
			return h.apply(&r)
		}
		return err
	}
	ncalls := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	close(h.p.clusterUp)

	answers = []error{errors.New("no leader")}
	h.p.sendReport(&loadedPolicy{id: id})
	if n := ncalls(); n != 2 {
		t.Fatalf("%d report calls, want 2 (one failure, one retry)", n)
	}
	h.p.sendReport(&loadedPolicy{id: id}) // already in the state
	if n := ncalls(); n != 2 {
		t.Fatalf("a report already replicated was sent again (%d calls)", n)
	}
	answers = []error{fmt.Errorf("%w: gone", storage.ErrNotFound)}
	h.p.sendReport(&loadedPolicy{id: id, err: errors.New("now it fails")}) // a different result is sent
	if n := ncalls(); n != 3 {
		t.Fatalf("%d report calls, want 3 (not found is final)", n)
	}

	// No report function: nothing to do. A stopped runtime: nothing either.
	h.p.report = nil
	h.p.sendReport(&loadedPolicy{id: id, err: errors.New("x")})
	h2 := newPolHarness(t)
	h2.p.report = func(context.Context, storage.ReportPolicy) error {
		t.Error("report before the cluster is up")
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h2.p.bg = ctx
	h2.p.sendReport(&loadedPolicy{id: id})
}
