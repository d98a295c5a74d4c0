package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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

// chatLoad sends chat turns through every node until stopped, counting
// turns, failures (any status but 200) and the policy versions seen.
type chatLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	versions   map[string]int
	lastErr    string
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startChatLoad(t *testing.T, nodes []*testNode, fams []family, perNode int) *chatLoad {
	t.Helper()
	l := &chatLoad{versions: map[string]int{}, stop: make(chan struct{})}
	for i, n := range nodes {
		for w := 0; w < perNode; w++ {
			fam := fams[i]
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					var tr struct {
						Turn struct {
							Safety struct {
								PolicyVersion string `json:"policy_version"`
							} `json:"safety"`
						} `json:"turn"`
					}
					st, err := n.callNoFatal("POST", "/v1/chat", fam.childToken, map[string]string{"message": "I like my dog"}, &tr)
					l.mu.Lock()
					if st == 200 {
						l.ok.Add(1)
						l.versions[tr.Turn.Safety.PolicyVersion]++
					} else {
						l.failed.Add(1)
						l.lastErr = fmt.Sprintf("%s: status %d %v", n.nf.NodeID, st, err)
					}
					l.mu.Unlock()
				}
			}()
		}
	}
	return l
}

// callNoFatal is call for goroutines other than the test's: any transport
// error is reported as status 0.
func (tn *testNode) callNoFatal(method, path, token string, body any, out any) (int, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, tn.base+path, bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := tn.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, err
		}
	}
	return res.StatusCode, nil
}

func (l *chatLoad) finish() { close(l.stop); l.wg.Wait() }

// activeEverywhere waits until every node evaluates with version.
func activeEverywhere(t *testing.T, nodes []*testNode, version string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, d, "every node active on "+version, func() error {
		for _, n := range nodes {
			set := n.pol.current()
			if set.failed != nil {
				return fmt.Errorf("%s failed: %v", n.nf.NodeID, set.failed)
			}
			if set.Version() != version {
				return fmt.Errorf("%s is on %s", n.nf.NodeID, set.Version())
			}
		}
		return nil
	})
	return time.Since(start)
}

func auditActions(t *testing.T, n *testNode, prefix string) []string {
	t.Helper()
	tail, err := n.DB().AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(tail) - 1; i >= 0; i-- {
		if strings.HasPrefix(tail[i].Action, prefix) {
			out = append(out, tail[i].Action+" "+tail[i].Target)
		}
	}
	return out
}

// TestPolicyPushUnderLoad: a signed bundle pushed while children chat on
// all three nodes becomes active on every node, at the same log index,
// with no failed request; shadow counts disagreements without enforcing;
// rollback returns to the default; bad bundles are refused and audited.
func TestPolicyPushUnderLoad(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	// The fallback is a tiny module: on this shared 2-core box the real
	// default's start-up can exceed its init budget under -race. The e2e
	// test swaps from the real embedded default.
	nodes := startCluster(t, 3, func(c *Config) { constFallback(c); c.ShadowReportEvery = 100 * time.Millisecond })
	leader, _ := leaderOf(t, nodes)
	admin := policyAdmin{leader.Node}
	const by = "admin:ad_test"
	pub, priv := bundletest.Key(t)
	if _, err := admin.Trust(ctx, by, pub); err != nil {
		t.Fatal(err)
	}
	fams := make([]family, len(nodes))
	for i, n := range nodes {
		fams[i] = newFamily(t, n, fmt.Sprintf("p%d@example.test", i), "Pip", "9-12")
	}
	defaultVersion := leader.pol.current().Version()

	// 1. Push v1 (it blocks everything) under load.
	load := startChatLoad(t, nodes, fams, 2)
	waitFor(t, 30*time.Second, "load running", func() error {
		if load.ok.Load() < 20 {
			return errors.New("warming up")
		}
		return nil
	})
	start := time.Now()
	res, err := admin.Push(ctx, by, bundletest.Const(t, priv, "strict", "1", "block", "profanity"), true)
	if err != nil {
		t.Fatal(err)
	}
	pushed := time.Since(start)
	lag := activeEverywhere(t, nodes, "strict@1", 30*time.Second)
	before := load.ok.Load()
	waitFor(t, 30*time.Second, "turns after the swap", func() error {
		if load.ok.Load() < before+30 {
			return errors.New("waiting")
		}
		return nil
	})
	load.finish()
	t.Logf("push→active: push call %v (check %dms, stage %dms, every node ready %dms, activate %dms; staged at index %d, active at %d), then %v until every node evaluated with it; %d turns ok, %d failed; versions seen %v",
		pushed.Round(time.Millisecond), res.CheckMillis, res.StageMillis, res.ReadyMillis, res.ActivateMillis, res.StagedIndex, res.ActiveIndex,
		lag.Round(time.Millisecond), load.ok.Load(), load.failed.Load(), load.versions)
	if load.failed.Load() != 0 {
		t.Fatalf("%d requests failed during the swap (last: %s)", load.failed.Load(), load.lastErr)
	}
	if load.versions[defaultVersion] == 0 || load.versions["strict@1"] == 0 {
		t.Fatalf("the load did not straddle the swap: %v", load.versions)
	}
	for _, n := range nodes {
		if idx := n.pol.current().index; idx < res.ActiveIndex {
			t.Errorf("%s installed at index %d, before the activation at %d", n.nf.NodeID, idx, res.ActiveIndex)
		}
		_, tr := n.chat(t, fams[0].childToken, "I like my dog")
		if tr.Turn.Safety.Action != "block" {
			t.Errorf("%s: the new policy is not enforced: %+v", n.nf.NodeID, tr.Turn.Safety)
		}
	}

	// 2. Shadow: v2 (allows everything) beside v1, never enforced.
	if _, err := admin.Push(ctx, by, bundletest.Const(t, priv, "strict", "2", "allow"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Shadow(ctx, by, "strict@2"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitFor(t, 10*time.Second, "shadow installed", func() error {
			if s := n.pol.current().shadow; s == nil || s.id != "strict@2" {
				return errors.New("no shadow yet")
			}
			return nil
		})
		_, tr := n.chat(t, fams[1].childToken, "I like my dog")
		if tr.Turn.Safety.Action != "block" {
			t.Errorf("%s: shadow was enforced: %+v", n.nf.NodeID, tr.Turn.Safety)
		}
	}
	waitFor(t, 10*time.Second, "shadow disagreements counted", func() error {
		st, err := admin.Status(ctx)
		if err != nil {
			return err
		}
		if st.Shadow == nil || st.Shadow.Disagreed == 0 || len(st.Shadow.Recent) == 0 || st.Shadow.Recent[0].ShadowAction != "allow" {
			return fmt.Errorf("shadow %+v", st.Shadow)
		}
		return nil
	})
	// Every node chatted once with the candidate in shadow: the leader's
	// status shows each node's replicated disagreements.
	waitFor(t, 10*time.Second, "cluster-wide shadow counts", func() error {
		st, err := admin.Status(ctx)
		if err != nil {
			return err
		}
		c := st.Shadow.Cluster
		if c == nil || len(c.Nodes) != len(nodes) {
			return fmt.Errorf("cluster counts %+v", c)
		}
		var sum uint64
		for id, nc := range c.Nodes {
			if nc.Disagreed == 0 || nc.Evaluated < nc.Disagreed {
				return fmt.Errorf("%s: %+v", id, nc)
			}
			sum += nc.Disagreed
		}
		if sum != c.Disagreed {
			return fmt.Errorf("total disagreed %d, nodes sum to %d", c.Disagreed, sum)
		}
		return nil
	})

	// 3. Bad bundles are refused; the active policy stays.
	_, otherPriv := bundletest.Key(t)
	for name, raw := range map[string][]byte{
		"untrusted key":   bundletest.Const(t, otherPriv, "evil", "1", "allow"),
		"failing vectors": badVectors(t, priv),
		"too large":       make([]byte, bundle.MaxCompressed+1),
	} {
		if _, err := admin.Push(ctx, by, raw, true); !errors.Is(err, api.ErrPolicyRefused) {
			t.Errorf("%s: err %v, want refused", name, err)
		}
	}
	activeEverywhere(t, nodes, "strict@1", time.Second)

	// 4. Rollback twice: to the default, then nothing left.
	if active, _, err := admin.Rollback(ctx, by); err != nil || active != "" {
		t.Fatalf("rollback: %q %v", active, err)
	}
	activeEverywhere(t, nodes, defaultVersion, 10*time.Second)
	if _, _, err := admin.Rollback(ctx, by); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second rollback: %v", err)
	}

	want := []string{
		"policy_key_added policy_key:" + bundle.KeyID(pub),
		"policy_staged policy:strict@1", "policy_activated policy:strict@1",
		"policy_staged policy:strict@2", "policy_shadow_started policy:strict@2",
	}
	for _, n := range nodes {
		got := auditActions(t, n, "policy_")
		joined := strings.Join(got, "\n")
		for _, w := range append(want, "policy_refused policy:evil@1", "policy_rolled_back policy:default") {
			if !strings.Contains(joined, w) {
				t.Errorf("%s audit lacks %q:\n%s", n.nf.NodeID, w, joined)
			}
		}
	}
}

func badVectors(t *testing.T, priv ed25519.PrivateKey) []byte {
	t.Helper()
	// A bundle whose module allows everything but whose vectors expect a block.
	raw := bundletest.Const(t, priv, "liar", "1", "allow")
	b, err := bundle.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := bundle.Build(bundle.Spec{Name: "liar", Version: "1", Module: b.Module,
		Vectors: bundletest.WordVectors(t, "zonk"), Now: time.Now()}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// constFallback replaces the embedded default with a tiny allow-all module
// (fast node starts on a loaded machine; the lifecycle does not depend on
// what the fallback is).
func constFallback(c *Config) {
	c.PolicyModule = wasmtest.ConstModule([]byte(`{"action":"allow"}`))
}

// TestPolicyActivationAcrossLeaderChange: the leader steps down (closes)
// while an activation is in flight; the survivors end on one version, and
// the old leader, restarted, comes back on it too.
func TestPolicyActivationAcrossLeaderChange(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3, constFallback)
	leader, followers := leaderOf(t, nodes)
	const by = "admin:ad_test"
	pub, priv := bundletest.Key(t)
	if _, err := (policyAdmin{followers[0].Node}).Trust(ctx, by, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := (policyAdmin{followers[0].Node}).Push(ctx, by, bundletest.Const(t, priv, "lc", "1", "redirect", "grooming"), false); err != nil {
		t.Fatal(err)
	}
	defaultVersion := leader.pol.current().Version()
	waitFor(t, 60*time.Second, "every node compiled lc@1", func() error {
		st, err := policyAdmin{followers[1].Node}.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st.Staged {
			if s.ID == "lc@1" && len(s.Nodes) == 3 && s.Nodes["n1"] == "ok" && s.Nodes["n2"] == "ok" && s.Nodes["n3"] == "ok" {
				return nil
			}
		}
		return fmt.Errorf("staged %+v", st.Staged)
	})

	done := make(chan error, 1)
	go func() {
		_, err := policyAdmin{followers[0].Node}.Activate(ctx, by, "lc@1")
		done <- err
	}()
	leader.stop(t) // hands leadership over while the activation is in flight
	err := <-done
	t.Logf("activation during the leader change: %v", err)
	survivors := followers
	// Whatever happened, the survivors agree.
	waitFor(t, 30*time.Second, "survivors agree", func() error {
		a, b := survivors[0].pol.current().Version(), survivors[1].pol.current().Version()
		if a != b {
			return fmt.Errorf("%s vs %s", a, b)
		}
		return nil
	})
	if err != nil { // not activated (or not confirmed): the admin retries
		if survivors[0].pol.current().Version() == defaultVersion {
			if _, err := (policyAdmin{survivors[1].Node}).Activate(ctx, by, "lc@1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	activeEverywhere(t, survivors, "lc@1", 30*time.Second)

	restarted := startTestNode(t, leader.dir, constFallback)
	activeEverywhere(t, append(survivors, restarted), "lc@1", 60*time.Second)
}

// TestPolicyNodeThatCannotLoadFailsClosed: a node that cannot compile a
// staged bundle reports it (replicated), so the leader refuses to
// activate; and if the bundle becomes active anyway (a node that fails
// only after a restart, say), that node fails closed and says so in its
// status instead of silently keeping the old policy.
func TestPolicyNodeThatCannotLoadFailsClosed(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3, constFallback)
	leader, followers := leaderOf(t, nodes)
	broken := followers[0]
	broken.pol.mu.Lock()
	broken.pol.load = func(context.Context, *wasm.Runtime, *bundle.Bundle) (*policies.Engine, error) {
		return nil, errors.New("out of memory (injected)")
	}
	broken.pol.mu.Unlock()
	admin := policyAdmin{leader.Node}
	const by = "admin:ad_test"
	pub, priv := bundletest.Key(t)
	if _, err := admin.Trust(ctx, by, pub); err != nil {
		t.Fatal(err)
	}
	fam := newFamily(t, broken, "failclosed@example.test", "Pip", "9-12")
	_, err := admin.Push(ctx, by, bundletest.Const(t, priv, "fc", "1", "redirect", "grooming"), true)
	if !errors.Is(err, api.ErrPolicyNotReady) || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("push with a failing node: %v", err)
	}
	for _, n := range nodes {
		if v := n.pol.current().Version(); v != "custom" {
			t.Fatalf("%s activated %s although a node failed", n.nf.NodeID, v)
		}
	}
	st, err := policyAdmin{followers[1].Node}.Status(ctx)
	if err != nil || len(st.Staged) != 1 || !strings.Contains(st.Staged[0].Nodes[broken.nf.NodeID], "injected") {
		t.Fatalf("status does not show the failing node: %+v %v", st.Staged, err)
	}

	// Force the activation past the readiness check.
	if _, _, err := admin.apply(ctx, &storage.ActivatePolicy{ID: "fc@1", By: by, At: 1}); err != nil {
		t.Fatal(err)
	}
	activeEverywhere(t, []*testNode{leader, followers[1]}, "fc@1", 10*time.Second)
	waitFor(t, 10*time.Second, "the broken node fails closed", func() error {
		if set := broken.pol.current(); set.failed == nil || set.Version() != "fc@1" {
			return fmt.Errorf("%s: %s failed=%v", broken.nf.NodeID, set.Version(), set.failed)
		}
		return nil
	})
	st, err = policyAdmin{broken.Node}.Status(ctx)
	if err != nil || !strings.Contains(st.Error, "injected") || st.Active != "fc@1" {
		t.Fatalf("broken node status: %+v %v", st, err)
	}
	status, tr := broken.chat(t, fam.childToken, "I like my dog")
	if status != 200 || !tr.Turn.Safety.FailClosed {
		t.Fatalf("the broken node did not fail closed: %d %+v", status, tr.Turn.Safety)
	}
	if _, tr := followers[1].chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "redirect" || tr.Turn.Safety.FailClosed {
		t.Fatalf("a healthy node: %+v", tr.Turn.Safety)
	}
}

// TestPolicyStateArrivesBySnapshot: a node that was down while a policy
// was activated, and whose log position was trimmed meanwhile, catches up
// from a snapshot and evaluates with the active policy.
func TestPolicyStateArrivesBySnapshot(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	tuning := func(c *Config) {
		constFallback(c)
		c.SnapshotThreshold, c.TrailingLogs, c.SnapshotInterval = 40, 10, 200*time.Millisecond
	}
	nodes := startCluster(t, 3, tuning)
	leader, followers := leaderOf(t, nodes)
	admin := policyAdmin{leader.Node}
	const by = "admin:ad_test"
	pub, priv := bundletest.Key(t)
	if _, err := admin.Trust(ctx, by, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Push(ctx, by, bundletest.Const(t, priv, "snap", "1", "redirect", "grooming"), false); err != nil {
		t.Fatal(err)
	}
	if err := admin.waitReady(ctx, "snap@1"); err != nil {
		t.Fatal(err)
	}
	fam := newFamily(t, leader, "snapshot@example.test", "Pip", "9-12") // before: the policy redirects nicknames too
	away := followers[0]
	away.stop(t)
	if _, err := admin.Activate(ctx, by, "snap@1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ { // enough entries for a snapshot and a log trim
		if st, _ := leader.chat(t, fam.childToken, "I like my dog"); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	restarted := startTestNode(t, away.dir, tuning)
	activeEverywhere(t, []*testNode{leader, followers[1], restarted}, "snap@1", 60*time.Second)
	if _, tr := restarted.chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "redirect" {
		t.Fatalf("restarted node: %+v", tr.Turn.Safety)
	}
}
