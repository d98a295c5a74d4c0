package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"daisydog/node/api"
	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/storage"
	"daisydog/wasm"
)

// The policy lifecycle on one node (design.md §5 "Bundles").
//
// Replicated state (storage: trusted keys, staged bundles, the activation
// history, the shadow candidate, per-node reports) says which policy is
// active; this file turns it into engines:
//
//   - When a stage command is applied, the node compiles and self-tests
//     the bundle in the background (verify signature, compile, run the
//     vectors) and replicates its own report (ok or the error).
//   - After every batch that changes policy state, sync installs the new
//     active/shadow set with one atomic pointer store, on the FSM goroutine,
//     before the next entry is applied: every node switches at the same log
//     index. The engine is normally compiled already (the leader waits for
//     every node's report before it proposes activation); if not, sync
//     waits for the compile.
//   - A node that cannot load the active bundle installs a failed set: every
//     evaluation errors, so chat fails closed (safe reply, safety event),
//     and status shows the error. It never silently keeps the old policy.
//   - Requests pin the set they started with (api pins the Evaluator per
//     turn), so in-flight turns finish on the old engine; engines no longer
//     needed are closed only after retireGrace.

// retireGrace is how long an engine that is no longer active, shadow,
// rollback target or newest staged stays open for requests that pinned it.
const retireGrace = time.Minute

// maxShadowInFlight bounds concurrent shadow evaluations; beyond it a
// shadow evaluation is skipped (counted), never delaying the child.
var maxShadowInFlight = 2 * runtime.GOMAXPROCS(0)

// policyRuntime owns the engines of one node.
type policyRuntime struct {
	log      *slog.Logger
	rt       *wasm.Runtime
	db       *storage.DB
	nodeID   string
	fallback *policies.Engine // the embedded default (or Config.PolicyModule)
	now      func() time.Time
	bg       context.Context // compiles and reports run under it
	// report replicates this node's compile result; it is only called
	// after clusterUp is closed.
	report func(ctx context.Context, r storage.ReportPolicy) error
	// reportShadow replicates this node's shadow counts (deltas).
	reportShadow func(ctx context.Context, r storage.ReportShadow) error
	clusterUp    chan struct{}

	// load compiles and tests a verified bundle (bundle.Load; tests may
	// replace it before the first push to make this node fail).
	load func(ctx context.Context, rt *wasm.Runtime, b *bundle.Bundle) (*policies.Engine, error)

	// warm keeps the pools of loaded bundles full (policies.Engine.KeepWarm).
	warm bool

	cur       atomic.Pointer[policySet]
	shadowSem chan struct{}

	mu      sync.Mutex // serialises sync; guards engines
	engines map[string]*loadedPolicy
	wg      sync.WaitGroup
}

// loadedPolicy is one bundle's engine, compiled once per node.
type loadedPolicy struct {
	id   string
	done chan struct{} // closed when eng/err/sha are set
	eng  *policies.Engine
	err  error
	sha  string // of the compressed bundle it was built from
}

// policySet is what the API evaluates with: the active engine (or the
// reason there is none) and an optional shadow run. Immutable.
type policySet struct {
	pr      *policyRuntime
	id      string // "" = the embedded default
	eng     *policies.Engine
	failed  error  // set when eng is nil: fail closed
	version string // reported with every verdict
	index   uint64 // applied index when installed
	since   time.Time
	shadow  *shadowRun
}

// shadowRun counts a candidate's disagreements with the active policy.
type shadowRun struct {
	id     string
	eng    *policies.Engine
	since  time.Time
	active string // the active version it is compared with

	evaluated, disagreed, errors, skipped atomic.Uint64
	// reported is what reportShadowEvery has replicated so far (only that
	// goroutine touches it).
	reported storage.ReportShadow

	mu      sync.Mutex
	samples []api.ShadowSample // newest last, at most maxShadowSamples
}

const maxShadowSamples = 20

func newPolicyRuntime(bg context.Context, log *slog.Logger, rt *wasm.Runtime, db *storage.DB, nodeID string, fallback *policies.Engine, now func() time.Time) *policyRuntime {
	p := &policyRuntime{
		log: log.With("component", "policy"), rt: rt, db: db, nodeID: nodeID, fallback: fallback, now: now, bg: bg,
		shadowSem: make(chan struct{}, maxShadowInFlight), engines: map[string]*loadedPolicy{},
		clusterUp: make(chan struct{}), load: bundle.Load,
	}
	p.cur.Store(&policySet{pr: p, eng: fallback, version: fallback.Version(), since: now()})
	return p
}

// current is the set new requests evaluate with.
func (p *policyRuntime) current() *policySet { return p.cur.Load() }

// loaded reports an error while the active policy is not loaded on this
// node (every chat turn fails closed then), so that readiness sends
// clients to a node that can answer them.
func (p *policyRuntime) loaded() error {
	if s := p.current(); s.eng == nil {
		return fmt.Errorf("active policy %s is not loaded on this node", s.id)
	}
	return nil
}

// Evaluate implements api.Evaluator: the active verdict; the shadow
// candidate, if any, is evaluated beside it asynchronously and never
// changes the result.
func (s *policySet) Evaluate(ctx context.Context, in policies.Input) (policies.Verdict, error) {
	if s.eng == nil {
		return policies.Verdict{}, fmt.Errorf("policy %s is not loaded on this node: %w", s.id, s.failed)
	}
	v, err := s.eng.Evaluate(ctx, in)
	if s.shadow != nil && err == nil {
		s.pr.runShadow(s.shadow, in, v)
	}
	return v, err
}

// Version implements api.Evaluator.
func (s *policySet) Version() string { return s.version }

// PolicyWork reports the active engine's work on this node (false when no
// engine is loaded: every turn fails closed then).
func (s *policySet) PolicyWork() (api.PolicyWork, bool) {
	if s.eng == nil {
		return api.PolicyWork{}, false
	}
	w := s.eng.WorkStats()
	return api.PolicyWork{Version: s.version, Calls: w.Calls, Units: w.Units, MaxUnits: w.MaxUnits, Budget: w.Budget}, true
}

func (p *policyRuntime) runShadow(run *shadowRun, in policies.Input, active policies.Verdict) {
	select {
	case p.shadowSem <- struct{}{}:
	default:
		run.skipped.Add(1)
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.shadowSem }()
		ctx, cancel := context.WithTimeout(p.bg, time.Second)
		defer cancel()
		v, err := run.eng.Evaluate(ctx, in)
		if errors.Is(err, policies.ErrStarved) {
			// The machine did not run the candidate in time (overload, its
			// work budget not spent): nothing was learned about it, as
			// when the shadow pool was busy. Not an error of the candidate.
			run.skipped.Add(1)
			return
		}
		run.evaluated.Add(1)
		if err != nil {
			run.errors.Add(1)
			return
		}
		if sameDecision(active, v) {
			return
		}
		run.disagreed.Add(1)
		run.mu.Lock()
		defer run.mu.Unlock()
		if len(run.samples) == maxShadowSamples {
			run.samples = slices.Delete(run.samples, 0, 1)
		}
		run.samples = append(run.samples, api.ShadowSample{
			At: p.now(), Direction: in.Direction, AgeTier: in.AgeTier,
			ActiveAction: active.Action, ActiveCategories: active.Categories,
			ShadowAction: v.Action, ShadowCategories: v.Categories, ShadowRules: v.Rules,
		})
	}()
}

// reportShadowEvery replicates this node's shadow counts every interval
// (only what changed since the last report), so that the status on any
// node shows the whole cluster's comparison. A report that fails is
// retried with the next one (its deltas are kept); one whose answer was
// lost may be counted twice: these are statistics, not records.
func (p *policyRuntime) reportShadowEvery(ctx context.Context, every time.Duration) {
	onEveryTick(ctx, every, func() {
		if err := p.flushShadow(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("replicating shadow counts failed; will retry", "err", err)
		}
	})
}

// flushShadow replicates the current shadow run's counts since its last report.
func (p *policyRuntime) flushShadow(ctx context.Context) error {
	run := p.current().shadow
	if run == nil || p.reportShadow == nil {
		return nil
	}
	now := storage.ReportShadow{Evaluated: run.evaluated.Load(), Disagreed: run.disagreed.Load(), Errors: run.errors.Load(), Skipped: run.skipped.Load()}
	d := storage.ReportShadow{
		Node: p.nodeID, ID: run.id, Against: run.active, At: p.now().UnixMilli(),
		Evaluated: now.Evaluated - run.reported.Evaluated, Disagreed: now.Disagreed - run.reported.Disagreed,
		Errors: now.Errors - run.reported.Errors, Skipped: now.Skipped - run.reported.Skipped,
	}
	if d.Evaluated == 0 && d.Skipped == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.reportShadow(ctx, d); err != nil {
		return err
	}
	run.reported = now
	return nil
}

// sameDecision: same action, escalation and category set.
func sameDecision(a, b policies.Verdict) bool {
	if a.Action != b.Action || a.Escalate != b.Escalate {
		return false
	}
	return slices.Equal(slices.Sorted(slices.Values(a.Categories)), slices.Sorted(slices.Values(b.Categories)))
}

// trusted returns the cluster's trusted policy keys.
func trustedKeys(ctx context.Context, db *storage.DB) (map[string]ed25519.PublicKey, error) {
	keys, err := db.PolicyKeys(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]ed25519.PublicKey, len(keys))
	for _, k := range keys {
		m[k.KeyID] = ed25519.PublicKey(k.PublicKey)
	}
	return m, nil
}

// clusterShadow sums the nodes' replicated counts for one comparison.
func clusterShadow(counts []storage.ShadowCount, id, against string) *api.ShadowTotals {
	t := &api.ShadowTotals{Nodes: map[string]api.ShadowNodeCount{}}
	for _, c := range counts {
		if c.ID != id || c.Against != against {
			continue
		}
		t.Evaluated += c.Evaluated
		t.Disagreed += c.Disagreed
		t.Errors += c.Errors
		t.Skipped += c.Skipped
		t.Nodes[c.Node] = api.ShadowNodeCount{Evaluated: c.Evaluated, Disagreed: c.Disagreed, Errors: c.Errors, Skipped: c.Skipped, ReportedAt: time.UnixMilli(c.At).UTC()}
	}
	return t
}

// loadLocked returns the entry for id, starting its compile if needed.
// Caller holds p.mu.
func (p *policyRuntime) loadLocked(id string) *loadedPolicy {
	if lp, ok := p.engines[id]; ok {
		return lp
	}
	lp := &loadedPolicy{id: id, done: make(chan struct{})}
	p.engines[id] = lp
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		start := time.Now()
		inBackground(func() { lp.eng, lp.sha, lp.err = p.compile(p.bg, id) })
		close(lp.done)
		if lp.err != nil {
			p.log.Error("policy bundle failed on this node", "policy", id, "err", lp.err)
		} else {
			p.log.Info("policy bundle compiled and self-tested", "policy", id, "took", time.Since(start).Round(time.Millisecond))
		}
		p.sendReport(lp)
	}()
	return lp
}

// adopt registers an engine this node already compiled and tested for id
// from the bundle whose SHA-256 is sha (sync discards it if the bundle
// staged under id turns out to be another one).
func (p *policyRuntime) adopt(id, sha string, e *policies.Engine) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.engines[id]; ok {
		return false
	}
	lp := &loadedPolicy{id: id, done: make(chan struct{}), eng: e, sha: sha}
	close(lp.done)
	p.engines[id] = lp
	return true
}

// compile verifies, compiles and self-tests a staged bundle; sha is the
// SHA-256 of the bytes it was built from.
func (p *policyRuntime) compile(ctx context.Context, id string) (*policies.Engine, string, error) {
	raw, err := p.db.PolicyBundle(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("reading staged bundle: %w", err)
	}
	sum := sha256.Sum256(raw)
	sha := hex.EncodeToString(sum[:])
	b, err := bundle.Open(raw)
	if err != nil {
		return nil, sha, err
	}
	if b.ID() != id {
		return nil, sha, fmt.Errorf("%w: staged as %s but the manifest says %s", bundle.ErrMalformed, id, b.ID())
	}
	keys, err := trustedKeys(ctx, p.db)
	if err != nil {
		return nil, sha, err
	}
	if err := b.Verify(keys); err != nil {
		return nil, sha, err
	}
	e, err := p.load(ctx, p.rt, b)
	if err == nil && p.warm {
		e.KeepWarm()
	}
	return e, sha, err
}

// dropStaleLocked discards engines built from other bytes than the bundle
// now staged under their ID (e.g. adopted by a push whose stage lost a race).
func (p *policyRuntime) dropStaleLocked(st storage.PolicyState) {
	for _, s := range st.Staged {
		lp, ok := p.engines[s.ID]
		if !ok {
			continue
		}
		select {
		case <-lp.done:
		default:
			continue // compiling from the staged row itself
		}
		if lp.sha != "" && lp.sha != s.SHA256 {
			delete(p.engines, s.ID)
			p.retireEngine(lp.eng)
		}
	}
}

// sendReport replicates this node's result for lp (best effort, retried).
func (p *policyRuntime) sendReport(lp *loadedPolicy) {
	select {
	case <-p.clusterUp:
	case <-p.bg.Done():
		return
	}
	if p.report == nil {
		return
	}
	if st, err := p.db.PolicyState(p.bg); err == nil {
		for _, r := range st.Reports {
			if r.Node == p.nodeID && r.ID == lp.id && r.OK == (lp.err == nil) {
				return // already reported (e.g. before a restart)
			}
		}
	}
	r := storage.ReportPolicy{Node: p.nodeID, ID: lp.id, OK: lp.err == nil, At: p.now().UnixMilli()}
	if lp.err != nil {
		r.Error = truncate(lp.err.Error(), 500)
	}
	for attempt := 0; attempt < 20; attempt++ {
		ctx, cancel := context.WithTimeout(p.bg, 5*time.Second)
		err := p.report(ctx, r)
		cancel()
		if err == nil || errors.Is(err, storage.ErrNotFound) {
			return
		}
		select {
		case <-p.bg.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	p.log.Warn("could not replicate the policy report", "policy", lp.id)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sync installs the replicated policy state. It runs on the FSM goroutine
// after a batch that changed policy state (and once at start and after a
// snapshot restore), so every node switches at the same log index.
func (p *policyRuntime) sync(ctx context.Context, index uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := p.db.PolicyState(ctx)
	if err != nil {
		p.log.Error("reading policy state failed; failing closed", "err", err)
		prev := p.cur.Load()
		p.cur.Store(&policySet{pr: p, id: prev.id, failed: err, version: prev.version, index: index, since: p.now()})
		return
	}
	p.dropStaleLocked(st)
	// Compile the newest staged bundle now, off the apply path, so that
	// its activation is a pointer swap.
	if n := len(st.Staged); n > 0 {
		p.loadLocked(st.Staged[n-1].ID)
	}
	// Likewise the rollback target, so that a rollback is a pointer swap too.
	if n := len(st.History); n > 1 {
		p.loadLocked(st.History[n-2])
	}
	prev := p.cur.Load()
	set := &policySet{pr: p, id: st.Active, index: index, since: p.now()}
	if prev.id == st.Active && prev.failed == nil {
		set.eng, set.version, set.since = prev.eng, prev.version, prev.since
	} else if st.Active == "" {
		set.eng, set.version = p.fallback, p.fallback.Version()
	} else {
		set.version = st.Active
		set.eng, set.failed = p.wait(ctx, p.loadLocked(st.Active))
	}
	if st.Shadow != "" {
		if prev.shadow != nil && prev.shadow.id == st.Shadow && prev.shadow.active == set.version {
			set.shadow = prev.shadow
		} else if eng, err := p.wait(ctx, p.loadLocked(st.Shadow)); err == nil {
			set.shadow = &shadowRun{id: st.Shadow, eng: eng, since: p.now(), active: set.version}
		} else {
			p.log.Error("shadow policy not loaded on this node", "policy", st.Shadow, "err", err)
		}
	}
	p.cur.Store(set)
	if prev.id != set.id || prev.failed != nil || set.failed != nil {
		p.log.Info("active policy installed", "policy", set.version, "index", index, "failed", set.failed != nil)
	}
	p.retireLocked(st)
}

func (p *policyRuntime) wait(ctx context.Context, lp *loadedPolicy) (*policies.Engine, error) {
	select {
	case <-lp.done:
		return lp.eng, lp.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the compile of %s: %w", lp.id, ctx.Err())
	}
}

// retireLocked closes (after retireGrace) engines nothing refers to any
// more: not active, not the rollback target, not shadow, not the newest
// staged. They are recompiled (from the disk cache) if needed again.
func (p *policyRuntime) retireLocked(st storage.PolicyState) {
	keep := map[string]bool{st.Active: true, st.Shadow: true}
	if n := len(st.History); n > 1 {
		keep[st.History[n-2]] = true
	}
	if n := len(st.Staged); n > 0 {
		keep[st.Staged[n-1].ID] = true
	}
	for id, lp := range p.engines {
		if keep[id] {
			continue
		}
		select {
		case <-lp.done:
		default:
			continue // still compiling: decide next time
		}
		delete(p.engines, id)
		p.retireEngine(lp.eng)
	}
}

// retireEngine closes e after retireGrace (requests may have pinned it).
func (p *policyRuntime) retireEngine(e *policies.Engine) {
	if e == nil {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-time.After(retireGrace):
		case <-p.bg.Done():
		}
		_ = e.Close(context.Background())
	}()
}

// close waits for background work and closes every engine but the fallback.
func (p *policyRuntime) close(ctx context.Context) error {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for id, lp := range p.engines {
		if lp.eng != nil {
			errs = append(errs, lp.eng.Close(ctx))
		}
		delete(p.engines, id)
	}
	return errors.Join(errs...)
}

func (p *policyRuntime) status(ctx context.Context) (api.PolicyStatus, error) {
	st, err := p.db.PolicyState(ctx)
	if err != nil {
		return api.PolicyStatus{}, err
	}
	keys, err := p.db.PolicyKeys(ctx)
	if err != nil {
		return api.PolicyStatus{}, err
	}
	set := p.current()
	out := api.PolicyStatus{
		Node: p.nodeID, Active: set.version, ActiveBundle: set.id, Installed: set.index, Since: set.since,
		History: st.History, Compiled: map[string]string{}, Staged: []api.StagedStatus{}, TrustedKeys: []string{},
	}
	if out.History == nil {
		out.History = []string{}
	}
	if set.failed != nil {
		out.Error = set.failed.Error()
	}
	for _, k := range keys {
		out.TrustedKeys = append(out.TrustedKeys, k.KeyID)
	}
	for _, s := range st.Staged {
		ss := api.StagedStatus{ID: s.ID, SHA256: s.SHA256, KeyID: s.KeyID, StagedAt: s.StagedAt, StagedBy: s.StagedBy, Nodes: map[string]string{}}
		for _, r := range st.Reports {
			if r.ID == s.ID {
				ss.Nodes[r.Node] = "ok"
				if !r.OK {
					ss.Nodes[r.Node] = r.Error
				}
			}
		}
		out.Staged = append(out.Staged, ss)
	}
	p.mu.Lock()
	for id, lp := range p.engines {
		select {
		case <-lp.done:
			out.Compiled[id] = "ok"
			if lp.err != nil {
				out.Compiled[id] = lp.err.Error()
			}
		default:
			out.Compiled[id] = "compiling"
		}
	}
	p.mu.Unlock()
	if r := set.shadow; r != nil {
		r.mu.Lock()
		recent := slices.Clone(r.samples)
		r.mu.Unlock()
		if recent == nil {
			recent = []api.ShadowSample{}
		}
		out.Shadow = &api.ShadowStatus{Policy: r.id, Against: r.active, Since: r.since, Evaluated: r.evaluated.Load(),
			Disagreed: r.disagreed.Load(), Errors: r.errors.Load(), Skipped: r.skipped.Load(), Recent: recent}
		counts, err := p.db.ShadowCounts(ctx)
		if err != nil {
			return api.PolicyStatus{}, err
		}
		out.Shadow.Cluster = clusterShadow(counts, r.id, r.active)
	} else if st.Shadow != "" {
		out.Shadow = &api.ShadowStatus{Policy: st.Shadow, NotLoaded: true, Recent: []api.ShadowSample{}}
	}
	return out, nil
}

// policyAdmin implements api.PolicyAdmin for this node.
type policyAdmin struct{ n *Node }

// readyTimeout bounds how long a push waits for every node's report.
const readyTimeout = 2 * time.Minute

func (a policyAdmin) apply(ctx context.Context, cmd storage.Command) (uint64, []byte, error) {
	data, err := storage.Encode(cmd)
	if err != nil {
		return 0, nil, err
	}
	resp, err := a.n.cluster.Apply(ctx, data)
	if err != nil {
		return 0, nil, err
	}
	switch resp.Code {
	case "":
	case api.CodeConflict:
		return resp.Index, nil, fmt.Errorf("%w: %s", storage.ErrConflict, cmd.Kind())
	case api.CodeNotFound:
		return resp.Index, nil, fmt.Errorf("%w: %s", storage.ErrNotFound, cmd.Kind())
	default:
		return resp.Index, nil, fmt.Errorf("%s rejected: %s", cmd.Kind(), resp.Code)
	}
	if err := a.n.cluster.WaitApplied(ctx, resp.Index); err != nil {
		return resp.Index, nil, err
	}
	return resp.Index, resp.Data, nil
}

// Push verifies a bundle (signature against the cluster's trusted keys,
// sizes, imports, compile, init, vectors), stages it, waits until every
// node compiled and self-tested it, and (if activate) activates it. A
// refused bundle is audit-logged and the active policy stays.
func (a policyAdmin) Push(ctx context.Context, by string, raw []byte, activate bool) (api.PushResult, error) {
	n := a.n
	if err := n.cluster.SyncRead(ctx); err != nil {
		return api.PushResult{}, err
	}
	t0 := time.Now()
	b, e, err := a.check(ctx, raw)
	if err != nil {
		id := ""
		if b != nil {
			id = b.ID()
		}
		n.log.Warn("policy bundle refused", "policy", id, "err", err)
		_, _, _ = a.apply(ctx, &storage.RefusePolicy{ID: id, Reason: err.Error(), By: by, At: n.cfg.Now().UnixMilli()})
		return api.PushResult{ID: id}, fmt.Errorf("%w: %w", api.ErrPolicyRefused, err)
	}
	id := b.ID()
	checked := time.Now()
	sum := sha256.Sum256(raw)
	if !n.pol.adopt(id, hex.EncodeToString(sum[:]), e) {
		_ = e.Close(context.WithoutCancel(ctx))
	}
	idx, _, err := a.apply(ctx, &storage.StagePolicy{ID: id, Bundle: raw, SHA256: hex.EncodeToString(sum[:]), KeyID: b.Signature.KeyID, By: by, At: n.cfg.Now().UnixMilli()})
	if err != nil {
		return api.PushResult{ID: id}, fmt.Errorf("staging %s: %w", id, err)
	}
	res := api.PushResult{ID: id, Staged: true, StagedIndex: idx, CheckMillis: checked.Sub(t0).Milliseconds()}
	// This node compiled and tested it above: its report goes in now.
	if _, _, err := a.apply(ctx, &storage.ReportPolicy{Node: n.nf.NodeID, ID: id, OK: true, At: n.cfg.Now().UnixMilli()}); err != nil {
		return res, fmt.Errorf("reporting %s: %w", id, err)
	}
	staged := time.Now()
	res.StageMillis = staged.Sub(checked).Milliseconds()
	if !activate {
		return res, nil
	}
	if err := a.waitReady(ctx, id); err != nil {
		return res, err
	}
	ready := time.Now()
	res.ReadyMillis = ready.Sub(staged).Milliseconds()
	if res.ActiveIndex, err = a.activate(ctx, by, id); err != nil {
		return res, err
	}
	res.ActivateMillis = time.Since(ready).Milliseconds()
	res.Activated = true
	return res, nil
}

// check opens, verifies, compiles and tests a bundle on this node.
func (a policyAdmin) check(ctx context.Context, raw []byte) (*bundle.Bundle, *policies.Engine, error) {
	b, err := bundle.Open(raw)
	if err != nil {
		return nil, nil, err
	}
	keys, err := trustedKeys(ctx, a.n.db)
	if err != nil {
		return b, nil, err
	}
	if err := b.Verify(keys); err != nil {
		return b, nil, err
	}
	var e *policies.Engine
	inBackground(func() { e, err = bundle.Load(ctx, a.n.runtime, b) })
	return b, e, err
}

// Activate waits until every member of the cluster reported the staged
// bundle compiled and self-tested, then activates it at one log index.
func (a policyAdmin) Activate(ctx context.Context, by, id string) (uint64, error) {
	if err := a.waitReady(ctx, id); err != nil {
		return 0, err
	}
	return a.activate(ctx, by, id)
}

func (a policyAdmin) activate(ctx context.Context, by, id string) (uint64, error) {
	if err := a.checkSigner(ctx, id); err != nil {
		return 0, err
	}
	idx, _, err := a.apply(ctx, &storage.ActivatePolicy{ID: id, By: by, At: a.n.cfg.Now().UnixMilli()})
	if err != nil {
		return 0, fmt.Errorf("activating %s: %w", id, err)
	}
	return idx, nil
}

func (a policyAdmin) waitReady(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		if err := a.n.cluster.SyncRead(ctx); err == nil {
			st, err := a.n.db.PolicyState(ctx)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(st.Staged, func(s storage.StagedPolicy) bool { return s.ID == id }) {
				return fmt.Errorf("%w: %s is not staged", storage.ErrNotFound, id)
			}
			missing, failed := a.readiness(st, id)
			if len(failed) > 0 {
				return fmt.Errorf("%w: %s failed on %v; it was not activated", api.ErrPolicyNotReady, id, failed)
			}
			if len(missing) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: nodes did not report in time", api.ErrPolicyNotReady, id)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readiness lists the members without a report for id and those whose report failed.
func (a policyAdmin) readiness(st storage.PolicyState, id string) (missing, failed []string) {
	reports := map[string]storage.PolicyReport{}
	for _, r := range st.Reports {
		if r.ID == id {
			reports[r.Node] = r
		}
	}
	for _, m := range a.n.cluster.Status().Nodes {
		r, ok := reports[m.ID]
		switch {
		case !ok:
			missing = append(missing, m.ID)
		case !r.OK:
			failed = append(failed, m.ID+": "+r.Error)
		}
	}
	return missing, failed
}

// Shadow starts (id != "") or ends (id == "") a shadow run.
func (a policyAdmin) Shadow(ctx context.Context, by, id string) (uint64, error) {
	if id != "" {
		if err := a.waitReady(ctx, id); err != nil {
			return 0, err
		}
	}
	if id != "" {
		if err := a.checkSigner(ctx, id); err != nil {
			return 0, err
		}
	}
	idx, _, err := a.apply(ctx, &storage.ShadowPolicy{ID: id, By: by, At: a.n.cfg.Now().UnixMilli()})
	return idx, err
}

// checkSigner explains, before anything is proposed, why a bundle signed by
// a revoked key cannot be used (the state machine refuses it anyway, but
// its refusal carries only a code).
func (a policyAdmin) checkSigner(ctx context.Context, id string) error {
	st, err := a.n.db.PolicyState(ctx)
	if err != nil {
		return err
	}
	trusted, err := trustedKeys(ctx, a.n.db)
	if err != nil {
		return err
	}
	for _, b := range st.Staged {
		if b.ID == id {
			if _, ok := trusted[b.KeyID]; !ok {
				return fmt.Errorf("%w: %s was signed by key %s, which is no longer trusted", storage.ErrConflict, id, b.KeyID)
			}
			return nil
		}
	}
	return nil // not staged: the state machine says so
}

// Revoke stops trusting a policy-signing key cluster-wide. It returns the
// version in force if that key signed it ("" otherwise): it stays in force
// until replaced.
func (a policyAdmin) Revoke(ctx context.Context, by, kid string) (string, error) {
	_, data, err := a.apply(ctx, &storage.RevokePolicyKey{KeyID: kid, By: by, At: a.n.cfg.Now().UnixMilli()})
	if err != nil {
		return "", fmt.Errorf("revoking policy key %s: %w", kid, err)
	}
	var r storage.KeyRevoked
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r); err != nil {
			return "", err
		}
	}
	return r.ActiveSignedByKey, nil
}

// Rollback returns to the previously active version at one log index.
func (a policyAdmin) Rollback(ctx context.Context, by string) (string, uint64, error) {
	// Explain, as Activate does, why the version before cannot come back
	// (the state machine's refusal carries only a code).
	if st, err := a.n.db.PolicyState(ctx); err == nil && len(st.History) >= 2 {
		if err := a.checkSigner(ctx, st.History[len(st.History)-2]); err != nil {
			return "", 0, fmt.Errorf("rolling back: %w", err)
		}
	}
	idx, data, err := a.apply(ctx, &storage.RollbackPolicy{By: by, At: a.n.cfg.Now().UnixMilli()})
	if err != nil {
		return "", idx, err
	}
	var r storage.PolicyActivation
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r); err != nil {
			return "", idx, err
		}
	}
	return r.Active, idx, nil
}

// Unstage deletes a staged version nothing refers to any more.
func (a policyAdmin) Unstage(ctx context.Context, by, id string) (uint64, error) {
	idx, _, err := a.apply(ctx, &storage.UnstagePolicy{ID: id, By: by, At: a.n.cfg.Now().UnixMilli()})
	return idx, err
}

// Trust adds a policy-signing public key to the cluster's trusted keys.
func (a policyAdmin) Trust(ctx context.Context, by string, pub ed25519.PublicKey) (string, error) {
	kid := bundle.KeyID(pub)
	_, _, err := a.apply(ctx, &storage.AddPolicyKey{KeyID: kid, PublicKey: pub, By: by, At: a.n.cfg.Now().UnixMilli()})
	return kid, err
}

// Status returns this node's policy status (after catching up with the leader).
func (a policyAdmin) Status(ctx context.Context) (api.PolicyStatus, error) {
	if err := a.n.cluster.SyncRead(ctx); err != nil {
		return api.PolicyStatus{}, err
	}
	return a.n.pol.status(ctx)
}

// PolicyKeysFile holds bundle-signing public keys given at init (PEM); the
// leader adds them to the cluster's trusted keys.
func (l Layout) PolicyKeysFile() string { return l.path("keys", "policy-signing.pub") }

// InstallPolicyKey records a bundle-signing public key (PEM) in a new
// node's data directory (daisydog init --policy-key): once the node leads,
// it trusts the key cluster-wide (audit-logged as "system:init").
func InstallPolicyKey(l Layout, pemBytes []byte) error {
	if _, err := bundle.ParsePublicKey(pemBytes); err != nil {
		return fmt.Errorf("policy key: %w", err)
	}
	f, err := os.OpenFile(l.PolicyKeysFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("policy key: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return fmt.Errorf("policy key: %w", err)
	}
	return f.Close()
}

// trustInitialKeys (on the node that has a PolicyKeysFile) waits until it
// leads, then trusts every key of the file the cluster does not trust yet.
func (n *Node) trustInitialKeys(ctx context.Context) {
	data, err := os.ReadFile(n.layout.PolicyKeysFile())
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		n.log.Error("reading the initial policy keys", "err", err)
		return
	}
	var keys []ed25519.PublicKey
	for rest := data; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if k, err := bundle.ParsePublicKey(pem.EncodeToMemory(blk)); err == nil {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		for {
			if n.cluster.IsLeader() {
				trusted, err := trustedKeys(ctx, n.db)
				if err == nil {
					if _, ok := trusted[bundle.KeyID(k)]; ok {
						break
					}
					if _, err = (policyAdmin{n}).Trust(ctx, "system:init", k); err == nil || errors.Is(err, storage.ErrConflict) {
						break
					}
				}
				n.log.Warn("trusting an initial policy key failed; will retry", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}
