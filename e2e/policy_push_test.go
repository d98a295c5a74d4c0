package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/node/auth"
	"daisydog/policies/bundle/bundletest"
)

// policyTimeout bounds one lifecycle CLI call (a push waits until every
// node compiled and self-tested the bundle).
const policyTimeout = 3 * time.Minute

// cliEnv runs the daisydog CLI with extra environment and a longer bound.
func cliEnv(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, daisydogBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("daisydog %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// adminToken creates the first administrator on n (daisydog admin create),
// logs in and enrols TOTP; it returns the admin access token.
func (c *cluster) adminToken(n *node) string {
	c.t.Helper()
	const email, password = "admin@example.org", "correct horse battery staple"
	if out, err := cliEnv([]string{"DAISYDOG_ADMIN_PASSWORD=" + password}, "admin", "create", "--data", n.dir, "--email", email); err != nil {
		c.t.Fatalf("admin create: %v\n%s", err, out)
	}
	var m struct {
		MFA        string `json:"mfa"`
		MFAToken   string `json:"mfa_token"`
		TOTPSecret string `json:"totp_secret"`
	}
	c.api.must(200, "POST", n.url("/v1/admin/login"), "", map[string]string{"email": email, "password": password}).decode(c.t, &m)
	code, err := auth.TOTPCode(m.TOTPSecret, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.api.must(200, "POST", n.url("/v1/admin/mfa"), "", map[string]string{"mfa_token": m.MFAToken, "code": code}).decode(c.t, &tok)
	if tok.AccessToken == "" {
		c.t.Fatal("no admin access token")
	}
	return tok.AccessToken
}

// policyStatus is the part of GET /v1/admin/policies the tests read.
type policyStatus struct {
	Node   string `json:"node"`
	Active string `json:"active"`
	Error  string `json:"error"`
	Staged []struct {
		ID    string            `json:"id"`
		Nodes map[string]string `json:"nodes"`
	} `json:"staged"`
}

func (c *cluster) policyStatus(n *node, token string) (policyStatus, error) {
	var st policyStatus
	r, err := c.api.get(n.url("/v1/admin/policies"), token)
	if err != nil {
		return st, err
	}
	if r.Status != 200 {
		return st, fmt.Errorf("status %s", r)
	}
	return st, json.Unmarshal(r.Body, &st)
}

// waitActive waits until every node in nodes reports version active, with no error.
func (c *cluster) waitActive(nodes []*node, token, version string, d time.Duration) {
	c.t.Helper()
	waitFor(c.t, d, "every node active on "+version, func() (bool, string) {
		for _, n := range nodes {
			st, err := c.policyStatus(n, token)
			if err != nil {
				return false, n.id + ": " + err.Error()
			}
			if st.Active != version || st.Error != "" {
				return false, fmt.Sprintf("%s: active %q error %q", n.id, st.Active, st.Error)
			}
		}
		return true, ""
	})
}

// policyFiles writes what `daisydog policy bundle` needs for the word
// policy (a data-driven test policy blocking the words of its data).
func policyFiles(t *testing.T, dir string, words ...string) (module, data, vectors string) {
	t.Helper()
	module = filepath.Join(dir, "words.wasm")
	data = filepath.Join(dir, "data-"+strings.Join(words, "-"))
	vectors = filepath.Join(dir, "vectors-"+strings.Join(words, "-")+".json")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string][]byte{
		module:                             bundletest.WordModule(t),
		filepath.Join(data, "blocked.txt"): []byte(strings.Join(words, "\n") + "\n"),
		vectors:                            bundletest.WordVectors(t, words...),
	} {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return module, data, vectors
}

// percentiles formats n, p50, p99 and max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))].Round(time.Millisecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), at(0.50), at(0.99), s[len(s)-1].Round(time.Millisecond))
}

// policyCluster is a three-process cluster that trusts a fresh policy
// signing key from `daisydog init --policy-key`, with the word policy's
// bundles built by the CLI and an admin helper running CLI commands.
type policyCluster struct {
	*cluster
	work, key, kid, token string
	admin                 func(n *node, args ...string) (string, error)
}

func newPolicyCluster(t *testing.T) *policyCluster {
	t.Helper()
	pc := &policyCluster{work: t.TempDir()}
	pc.key = filepath.Join(pc.work, "signing")
	out, err := cli("policy", "keygen", "--out", pc.key)
	if err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	pc.kid = strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "key id ")
	pc.cluster = newCluster(t, 3)
	pc.initArgs = []string{"--policy-key", pc.key + ".pub"}
	pc.boot()
	pc.token = pc.adminToken(pc.nodes[0])
	ca := filepath.Join(pc.nodes[0].dir, "tls", "ca.crt")
	pc.admin = func(n *node, args ...string) (string, error) {
		return cliEnv([]string{"DAISYDOG_ADMIN_TOKEN=" + pc.token}, append(args, "--url", "https://"+n.httpAddr, "--ca", ca)...)
	}
	waitFor(t, replicaWait, "the init key trusted, seen through n3", func() (bool, string) {
		var st struct {
			TrustedKeys []string `json:"trusted_keys"`
		}
		pc.api.must(200, "GET", pc.nodes[2].url("/v1/admin/policies"), pc.token, nil).decode(t, &st)
		return pc.kid != "" && slices.ContainsFunc(st.TrustedKeys, func(k string) bool { return strings.Contains(k, pc.kid) }), fmt.Sprint(st.TrustedKeys)
	})
	return pc
}

// buildWordBundle signs a word-policy bundle blocking words with key
// (KEY.key) and returns its path in dir.
func buildWordBundle(t *testing.T, dir, key, version string, words ...string) string {
	t.Helper()
	mod, data, vec := policyFiles(t, dir, words...)
	out := filepath.Join(dir, "words-"+version+".ddpb")
	if o, err := cliEnv(nil, "policy", "bundle", "--module", mod, "--data", data, "--vectors", vec,
		"--name", "words", "--version", version, "--key", key+".key", "-o", out); err != nil {
		t.Fatalf("bundle %s: %v %s", version, err, o)
	}
	return out
}

// TestPolicyScoreSignedBundles: `daisydog policy score --bundle` checks a
// signed bundle offline, against the signer's key and Daisy's own lines.
func TestPolicyScoreSignedBundles(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	key := filepath.Join(work, "signing")
	if out, err := cli("policy", "keygen", "--out", key); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	lines := scoreBundle(t, work, buildWordBundle(t, work, key, "2", "zonk", "blarg"), key+".pub")
	scoreDaisyLines(t, work, buildWordBundle(t, work, key, "4", "bone"), key+".pub", lines)
}

// TestPolicyPushUnderLoad: keygen, trust, bundle and push through the CLI
// against three processes while children chat on every node: zero failed
// requests, one active version everywhere. It runs alone (not t.Parallel):
// its zero-failure assertion must not depend on a neighbour's load.
func TestPolicyPushUnderLoad(t *testing.T) {
	pc := newPolicyCluster(t)
	c, token, admin, work := pc.cluster, pc.token, pc.admin, pc.work
	if out, err := admin(c.nodes[1], "policy", "trust", "--pub", pc.key+".pub"); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Fatalf("trusting the init key again: %v %s, want 409 conflict", err, out)
	}
	v1, v2 := buildWordBundle(t, work, pc.key, "1", "zonk"), buildWordBundle(t, work, pc.key, "2", "zonk", "blarg")

	// Load: two children per node chatting continuously.
	var mu sync.Mutex
	versions := map[string]int{}
	var lastErr string
	// Latency per phase (see push below).
	var phase atomic.Int32
	lat := [5][]time.Duration{}
	load := startChatLoad(c, c.api, 2, "I like my dog", func(n *node, r apiResp, err error) {
		var body struct {
			Turn struct {
				Safety struct {
					PolicyVersion string `json:"policy_version"`
				} `json:"safety"`
			} `json:"turn"`
		}
		mu.Lock()
		defer mu.Unlock()
		if err == nil && r.Status == 200 && json.Unmarshal(r.Body, &body) == nil {
			ph := phase.Load()
			lat[ph] = append(lat[ph], r.Elapsed)
			versions[body.Turn.Safety.PolicyVersion]++
		} else {
			lastErr = fmt.Sprintf("%s: %v %s", n.id, err, r)
		}
	})
	defer load.stop()
	ok, failed := &load.ok, &load.failed
	waitFor(t, 30*time.Second, "load running", func() (bool, string) { return ok.Load() >= 30, fmt.Sprint(ok.Load()) })

	// push runs one push under the load; the phases around it are
	// numbered so latencies can be compared.
	push := func(file, version string, during, after int32) {
		t.Helper()
		start := time.Now()
		phase.Store(during)
		out, err := admin(c.nodes[2], "policy", "push", file)
		if err != nil {
			load.stop()
			t.Fatalf("push: %v %s", err, out)
		}
		pushed := time.Since(start)
		c.waitActive(c.nodes, token, version, 30*time.Second)
		everywhere := time.Since(start)
		phase.Store(after)
		t.Logf("push %s→active on every node: %v (the push command itself %v): %s",
			version, everywhere.Round(time.Millisecond), pushed.Round(time.Millisecond), strings.Join(strings.Fields(out), " "))
		before := ok.Load()
		waitFor(t, 30*time.Second, "turns after the swap", func() (bool, string) { return ok.Load() >= before+30, "" })
	}
	push(v1, "words@1", 1, 2)
	// A data-only update: same module bytes, so every node's compilation
	// cache answers and the push costs no compile.
	push(v2, "words@2", 3, 4)
	load.stop()
	t.Logf("%d turns ok, %d failed; policy versions seen %v", ok.Load(), failed.Load(), versions)
	for i, name := range []string{"before any push", "during the first push (new module: every node compiles it)", "between the pushes",
		"during the second push (data-only update)", "after the swaps"} {
		t.Logf("chat latency %s: %s", name, percentiles(lat[i]))
	}
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during the swaps; last: %s", failed.Load(), lastErr)
	}
	if versions["words@1"] == 0 || versions["words@2"] == 0 || len(versions) < 3 {
		t.Fatalf("the load did not straddle the swaps: %v", versions)
	}
	f := c.newFamily(c.nodes[0], "", "")
	for _, n := range c.nodes {
		r, err := c.chat(n, f, "you zonk")
		if err != nil || r.Status != 200 || turnOf(t, r).Safety.Action != "block" {
			t.Fatalf("%s: the bundle's data word is not blocked: %v %s", n.id, err, r)
		}
	}

	// A bad bundle is refused with a clear error; the active policy stays.
	bad := filepath.Join(work, "bad.ddpb")
	if err := os.WriteFile(bad, []byte("not a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := admin(c.nodes[0], "policy", "push", bad); err == nil || !strings.Contains(err.Error(), "policy_refused") {
		t.Fatalf("bad bundle: %v %s", err, out)
	}

}

// TestPolicyActivationDuringLeaderChange: the leader is killed while an
// activation is in flight; the survivors agree on one version and the
// returning node follows it. Then rollback, shadow, unstage and revoking
// the signer, each at one log index on every node.
func TestPolicyActivationDuringLeaderChange(t *testing.T) {
	t.Parallel()
	pc := newPolicyCluster(t)
	c, token, admin, work := pc.cluster, pc.token, pc.admin, pc.work
	v1, v2, v3 := buildWordBundle(t, work, pc.key, "1", "zonk"), buildWordBundle(t, work, pc.key, "2", "zonk", "blarg"),
		buildWordBundle(t, work, pc.key, "3", "zonk", "blarg", "quux")
	for _, p := range []struct{ file, version string }{{v1, "words@1"}, {v2, "words@2"}} {
		if out, err := admin(c.nodes[2], "policy", "push", p.file); err != nil {
			t.Fatalf("push %s: %v %s", p.version, err, out)
		}
		c.waitActive(c.nodes, token, p.version, 30*time.Second)
	}
	f := c.newFamily(c.nodes[0], "", "")

	// Leadership change during an activation.
	if out, err := admin(c.nodes[0], "policy", "push", v3, "--stage-only"); err != nil {
		t.Fatalf("stage v3: %v %s", err, out)
	}
	waitFor(t, 60*time.Second, "every node compiled words@3", func() (bool, string) {
		st, err := c.policyStatus(c.nodes[0], token)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range st.Staged {
			if s.ID == "words@3" {
				return len(s.Nodes) == 3 && s.Nodes["n1"] == "ok" && s.Nodes["n2"] == "ok" && s.Nodes["n3"] == "ok", fmt.Sprint(s.Nodes)
			}
		}
		return false, "not staged"
	})
	leader, _ := c.waitLeader(c.nodes, 0)
	survivors := c.others(leader)
	done := make(chan error, 1)
	go func() {
		_, err := admin(survivors[0], "policy", "activate", "words@3")
		done <- err
	}()
	c.kill(leader)
	err := <-done
	t.Logf("activate while the leader (%s) was killed: %v", leader.id, err)
	c.waitLeader(survivors, 0)
	var agreed string
	waitFor(t, 30*time.Second, "survivors agree on one version", func() (bool, string) {
		a, errA := c.policyStatus(survivors[0], token)
		b, errB := c.policyStatus(survivors[1], token)
		if errA != nil || errB != nil {
			return false, fmt.Sprint(errA, errB)
		}
		agreed = a.Active
		return a.Active == b.Active, a.Active + " vs " + b.Active
	})
	if agreed != "words@3" { // not committed: the administrator retries
		if out, err := admin(survivors[1], "policy", "activate", "words@3"); err != nil {
			t.Fatalf("retrying the activation: %v %s", err, out)
		}
	}
	c.waitActive(survivors, token, "words@3", 30*time.Second)
	c.restart(leader)
	c.waitReady(leader)
	c.waitActive(c.nodes, token, "words@3", 60*time.Second)
	for _, n := range c.nodes {
		r, err := c.chat(n, f, "quux")
		if err != nil || r.Status != 200 || turnOf(t, r).Safety.Action != "block" {
			t.Fatalf("%s: words@3 is not enforced: %v %s", n.id, err, r)
		}
	}

	// Rollback is one command, at one log index.
	if out, err := admin(c.nodes[1], "policy", "rollback"); err != nil {
		t.Fatalf("rollback: %v %s", err, out)
	}
	c.waitActive(c.nodes, token, "words@2", 30*time.Second)
	if out, err := admin(c.nodes[0], "policy", "status"); err != nil || !strings.Contains(out, "active words@2") {
		t.Fatalf("status: %v %s", err, out)
	}
	shadowAndUnstage(t, c, token, admin, f)
	revokeTheSigner(t, c, token, admin, f, work, pc.kid, v2)
}

// revokeTheSigner: pushing a staged version again or activating the active
// one is a conflict, a bundle from an untrusted signer is refused; once the
// signing key is revoked, the version it signed stays in force (the revoke
// says so) but nothing it signed can be activated, shadowed or rolled back to.
func revokeTheSigner(t *testing.T, c *cluster, token string, admin func(*node, ...string) (string, error), f *family, work, kid, v2 string) {
	t.Helper()
	if _, err := admin(c.nodes[1], "policy", "push", v2); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Fatalf("pushing the staged words@2 again: %v, want 409 conflict", err)
	}
	if _, err := admin(c.nodes[2], "policy", "activate", "words@2"); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Fatalf("activating the active words@2: %v, want 409 conflict", err)
	}
	_, stranger := bundletest.Key(t)
	foreign := filepath.Join(work, "foreign.ddpb")
	if err := os.WriteFile(foreign, bundletest.Const(t, stranger, "foreign", "1", "allow"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := admin(c.nodes[0], "policy", "push", foreign); err == nil || !strings.Contains(err.Error(), "policy_refused") || !strings.Contains(err.Error(), "untrusted") {
		t.Fatalf("a bundle signed by an untrusted key: %v, want policy_refused naming the untrusted signer", err)
	}

	out, err := admin(c.nodes[0], "policy", "untrust", kid)
	if err != nil || !strings.Contains(out, `"active_signed_by_key": "words@2"`) {
		t.Fatalf("untrust the signer of the active version: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"activate", "words@1"}, {"shadow", "words@1"}} {
		if _, err := admin(c.nodes[1], append([]string{"policy"}, args...)...); err == nil || !strings.Contains(err.Error(), "no longer trusted") {
			t.Fatalf("policy %v after revoking its signer: %v, want a refusal naming the revoked key", args, err)
		}
	}
	if _, err := admin(c.nodes[2], "policy", "rollback"); err == nil || !strings.Contains(err.Error(), "words@1 was signed by key "+kid+", which is no longer trusted") {
		t.Fatalf("rolling back to words@1 after revoking its signer: %v, want a refusal", err)
	}
	c.waitActive(c.nodes, token, "words@2", 30*time.Second)
	for _, n := range c.nodes {
		r, err := c.chat(n, f, "you blarg")
		if err != nil || r.Status != 200 || turnOf(t, r).Safety.Action != "block" {
			t.Fatalf("%s: words@2 is no longer enforced after revoking its signer: %v %s", n.id, err, r)
		}
	}
}

// scoreBundle scores a signed bundle offline with `daisydog policy score
// --bundle`: with the signer's public key the signature is checked and the
// bundle's own data decides (its word is blocked, other text allowed), and
// all of Daisy's own lines pass it (it returns how many were checked);
// with another key the bundle is refused.
func scoreBundle(t *testing.T, work, file, pub string) int {
	t.Helper()
	cases := filepath.Join(work, "score-cases.jsonl")
	if err := os.WriteFile(cases, []byte(`{"id":"w:1","source":"words","text":"you blarg","label":"unsafe","category":"words","direction":"input"}
{"id":"w:2","source":"words","text":"I like my dog","label":"safe","category":"none","direction":"input"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	verdicts := filepath.Join(work, "score-verdicts.jsonl")
	out, err := cli("policy", "score", "--bundle", file, "--pub", pub, "--cases", cases, "--verdicts", verdicts, "--json")
	if err != nil {
		t.Fatalf("policy score --bundle: %v\n%s", err, out)
	}
	var rep struct {
		Policy string         `json:"policy"`
		Cases  int            `json:"cases"`
		Errors int            `json:"errors"`
		Action map[string]int `json:"actions"`
		Lines  daisyLines     `json:"daisy_lines"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("policy score --json: %v\n%s", err, out)
	}
	if rep.Policy != "words@2" || rep.Cases != 2 || rep.Errors != 0 {
		t.Fatalf("scored %+v, want words@2 on 2 cases without errors", rep)
	}
	if l := rep.Lines; l.Checked < 3000 || l.Refused != 0 || len(l.Lines) != 0 || l.Exempt == 0 || l.Strictness != "standard" {
		t.Fatalf("words@2 on Daisy's lines: %+v, want thousands checked at standard strictness and none blocked", l)
	}
	b, err := os.ReadFile(verdicts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v struct{ ID, Action string }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("verdict line %q: %v", l, err)
		}
		got[v.ID] = v.Action
	}
	if got["w:1"] != "block" || got["w:2"] != "allow" {
		t.Fatalf("bundle verdicts %v, want w:1 blocked by the bundle's data and w:2 allowed", got)
	}
	// Without a key the bundle is scored too, its signature unchecked.
	if out, err := cli("policy", "score", "--bundle", file, "--cases", cases, "--json"); err != nil || !strings.Contains(out, `"policy": "words@2"`) {
		t.Fatalf("policy score --bundle without --pub: %v\n%s", err, out)
	}
	other := filepath.Join(work, "other-signer")
	if out, err := cli("policy", "keygen", "--out", other); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	if _, err := cli("policy", "score", "--bundle", file, "--pub", other+".pub", "--cases", cases); err == nil || !strings.Contains(err.Error(), "untrusted key") {
		t.Fatalf("scoring with the wrong public key: %v, want the signer refused as untrusted", err)
	}
	if _, err := cli("policy", "score", "--bundle", filepath.Join(work, "no-such.ddpb"), "--cases", cases); err == nil {
		t.Fatal("scoring a missing bundle succeeded")
	}
	return rep.Lines.Checked
}

// daisyLines is the daisy_lines part of `policy score --json`.
type daisyLines struct {
	Strictness string `json:"strictness"`
	Checked    int    `json:"checked"`
	Exempt     int    `json:"exempt"`
	Refused    int    `json:"refused"`
	Lines      []struct {
		Tier, Source, Text, Action string
		Rules                      []string
	} `json:"refused_lines"`
}

// scoreDaisyLines scores a bundle that blocks a word Daisy uses ("bone",
// in lines of every age tier) before it is pushed: the administrator is
// told which of her lines it would block — every checked line holding
// the word and no other, by tier and source, in the table and the JSON —
// and the command fails, so that `policy score && policy push` stops.
func scoreDaisyLines(t *testing.T, work, file, pub string, checked int) {
	t.Helper()
	cases := filepath.Join(work, "score-cases.jsonl")
	word := regexp.MustCompile(`(?i)(^|[^a-z])bone([^a-z]|$)`)
	out, err := cli("policy", "score", "--bundle", file, "--pub", pub, "--cases", cases, "--json", "--strictness", "strict")
	if err == nil || !strings.Contains(err.Error(), "words@4 blocks") || !strings.Contains(err.Error(), "of Daisy's own lines") {
		t.Fatalf("scoring a bundle that blocks Daisy's word: %v, want a failure naming her lines", err)
	}
	var rep struct {
		Policy string     `json:"policy"`
		Lines  daisyLines `json:"daisy_lines"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("policy score --json printed no report with the failure: %v\n%s", err, out)
	}
	l := rep.Lines
	if rep.Policy != "words@4" || l.Checked != checked || l.Strictness != "strict" || l.Refused == 0 || l.Refused != len(l.Lines) {
		t.Fatalf("words@4 on Daisy's lines: %s checked %d (words@2: %d) at %q, %d refused, %d listed", rep.Policy, l.Checked, checked, l.Strictness, l.Refused, len(l.Lines))
	}
	tiers := map[string]bool{}
	for _, b := range l.Lines {
		tiers[b.Tier] = true
		if !word.MatchString(b.Text) || b.Action != "block" || !slices.Equal(b.Rules, []string{"word.bone"}) || b.Source == "" {
			t.Fatalf("refused line %+v: not one holding the blocked word", b)
		}
	}
	if len(tiers) != 3 {
		t.Fatalf("refused lines in tiers %v, want all three", tiers)
	}
	// The table says the same, line by line.
	out, err = cli("policy", "score", "--bundle", file, "--cases", cases)
	if err == nil {
		t.Fatal("scoring a bundle that blocks Daisy's word as a table succeeded")
	}
	if !strings.Contains(out, fmt.Sprintf("strictness standard): %d checked, %d blocked;", checked, l.Refused)) {
		t.Fatalf("table does not count Daisy's lines:\n%s", out)
	}
	for _, b := range l.Lines[:min(len(l.Lines), 40)] { // the table lists 40 at most
		if !strings.Contains(out, fmt.Sprintf("  %s %s: %q → block [profanity word.bone]", b.Tier, b.Source, b.Text)) {
			t.Fatalf("table does not list %s %s %q:\n%s", b.Tier, b.Source, b.Text, out)
		}
	}
}

// shadowAndUnstage: with words@2 active and words@3 staged, a shadow run
// of words@3 evaluates every node's turns alongside words@2 without
// changing any answer, counts where they disagree on each node and across
// the cluster (replicated reports), and shows it in the status; a shadowed
// or once-active version cannot be unstaged, a version nothing refers to can.
func shadowAndUnstage(t *testing.T, c *cluster, token string, admin func(*node, ...string) (string, error), f *family) {
	t.Helper()
	if _, err := admin(c.nodes[1], "policy", "shadow", "ghost@9"); err == nil || !strings.Contains(err.Error(), "404 not_found") {
		t.Fatalf("shadowing an unknown version: %v, want 404 not_found", err)
	}
	out, err := admin(c.nodes[0], "policy", "shadow", "words@3")
	if err != nil || !strings.Contains(out, `"shadow": "words@3"`) {
		t.Fatalf("shadow words@3: %v %s", err, out)
	}
	type shadowStatus struct {
		Active string `json:"active"`
		Shadow *struct {
			Policy    string `json:"policy"`
			Against   string `json:"against"`
			Evaluated uint64 `json:"evaluated"`
			Disagreed uint64 `json:"disagreed"`
			Recent    []struct {
				ActiveAction string `json:"active_action"`
				ShadowAction string `json:"shadow_action"`
			} `json:"recent_disagreements"`
			Cluster *struct {
				Disagreed uint64                     `json:"disagreed"`
				Nodes     map[string]json.RawMessage `json:"nodes"`
			} `json:"cluster"`
		} `json:"shadow"`
	}
	status := func(n *node) shadowStatus {
		var st shadowStatus
		c.api.must(200, "GET", n.url("/v1/admin/policies"), token, nil).decode(t, &st)
		return st
	}
	for _, n := range c.nodes {
		waitFor(t, 30*time.Second, n.id+" counting a disagreement of the shadow run", func() (bool, string) {
			r, err := c.chat(n, f, "quux")
			if err != nil || r.Status != 200 {
				t.Fatalf("%s: chat during the shadow run: %v %s", n.id, err, r)
			}
			if a := turnOf(t, r).Safety.Action; a == "block" {
				t.Fatalf("%s: the shadow version decided a turn (blocked under active words@2)", n.id)
			}
			st := status(n)
			if st.Shadow == nil || st.Shadow.Disagreed == 0 {
				return false, fmt.Sprintf("%+v", st.Shadow)
			}
			sh := st.Shadow
			if st.Active != "words@2" || sh.Policy != "words@3" || sh.Against != "words@2" || sh.Evaluated < sh.Disagreed ||
				len(sh.Recent) == 0 || sh.Recent[len(sh.Recent)-1].ShadowAction != "block" || sh.Recent[len(sh.Recent)-1].ActiveAction == "block" {
				t.Fatalf("%s: shadow status %+v", n.id, st)
			}
			return true, ""
		})
	}
	// Every node replicates its counts: the cluster totals on any node hold all three.
	waitFor(t, 30*time.Second, "every node's shadow counts replicated", func() (bool, string) {
		sh := status(c.nodes[2]).Shadow
		if sh == nil || sh.Cluster == nil {
			return false, "no cluster totals"
		}
		return len(sh.Cluster.Nodes) == 3 && sh.Cluster.Disagreed >= 3, fmt.Sprintf("%d disagreements from %d nodes", sh.Cluster.Disagreed, len(sh.Cluster.Nodes))
	})
	if out, err := admin(c.nodes[1], "policy", "status"); err != nil || !strings.Contains(out, "shadow words@3 vs words@2") {
		t.Fatalf("status during the shadow run: %v\n%s", err, out)
	}
	if _, err := admin(c.nodes[2], "policy", "unstage", "words@3"); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Fatalf("unstaging the shadowed version: %v, want 409 conflict", err)
	}
	if out, err := admin(c.nodes[2], "policy", "shadow", "--off"); err != nil {
		t.Fatalf("shadow --off: %v %s", err, out)
	}
	waitFor(t, replicaWait, "the shadow run ended on n2", func() (bool, string) {
		sh := status(c.nodes[1]).Shadow
		return sh == nil, fmt.Sprintf("%+v", sh)
	})
	if _, err := admin(c.nodes[0], "policy", "unstage", "ghost@9"); err == nil || !strings.Contains(err.Error(), "404 not_found") {
		t.Fatalf("unstaging an unknown version: %v, want 404 not_found", err)
	}
	if _, err := admin(c.nodes[0], "policy", "unstage", "words@1"); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Fatalf("unstaging a version in the activation history: %v, want 409 conflict", err)
	}
	if out, err := admin(c.nodes[2], "policy", "unstage", "words@3"); err != nil || !strings.Contains(out, `"unstaged": "words@3"`) {
		t.Fatalf("unstage words@3: %v %s", err, out)
	}
	out, err = admin(c.nodes[0], "policy", "status", "--json")
	if err != nil {
		t.Fatalf("status --json: %v %s", err, out)
	}
	var st policyStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Active != "words@2" {
		t.Fatalf("status --json: %v %+v\n%s", err, st, out)
	}
	for _, s := range st.Staged {
		if s.ID == "words@3" {
			t.Fatalf("words@3 is still staged after unstaging: %s", out)
		}
	}
	if _, err := admin(c.nodes[0], "policy", "untrust", "no-such-key"); err == nil || !strings.Contains(err.Error(), "422 invalid") {
		t.Fatalf("untrusting a malformed key id: %v, want 422 invalid", err)
	}
	if _, err := admin(c.nodes[0], "policy", "untrust", "0123456789abcdef"); err == nil || !strings.Contains(err.Error(), "404 not_found") {
		t.Fatalf("untrusting an unknown key: %v, want 404 not_found", err)
	}
}
