package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// TestPolicyPushUnderLoadAndLeaderChange: the whole lifecycle through the
// CLI against three processes: keygen, trust, bundle, push while children
// chat on every node (zero failed requests, one active version
// everywhere), then an activation during which the leader is killed.
func TestPolicyPushUnderLoadAndLeaderChange(t *testing.T) {
	c := startCluster(t, 3)
	token := c.adminToken(c.nodes[0])
	ca := filepath.Join(c.nodes[0].dir, "tls", "ca.crt")
	work := t.TempDir()
	admin := func(n *node, args ...string) (string, error) {
		return cliEnv([]string{"DAISYDOG_ADMIN_TOKEN=" + token}, append(args, "--url", "https://"+n.httpAddr, "--ca", ca)...)
	}

	// Keys and two signed bundles.
	key := filepath.Join(work, "signing")
	if out, err := cli("policy", "keygen", "--out", key); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	if out, err := admin(c.nodes[1], "policy", "trust", "--pub", key+".pub"); err != nil {
		t.Fatalf("trust: %v %s", err, out)
	}
	build := func(version string, words ...string) string {
		mod, data, vec := policyFiles(t, work, words...)
		out := filepath.Join(work, "words-"+version+".ddpb")
		if o, err := cliEnv(nil, "policy", "bundle", "--module", mod, "--data", data, "--vectors", vec,
			"--name", "words", "--version", version, "--key", key+".key", "-o", out); err != nil {
			t.Fatalf("bundle %s: %v %s", version, err, o)
		}
		return out
	}
	v1, v2, v3 := build("1", "zonk"), build("2", "zonk", "blarg"), build("3", "zonk", "blarg", "quux")

	// Load: two children per node chatting continuously.
	var ok, failed atomic.Int64
	var mu sync.Mutex
	versions := map[string]int{}
	var lastErr string
	// Latency per phase (see push below).
	var phase atomic.Int32
	lat := [5][]time.Duration{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		for range 2 {
			f := c.newFamily(n, "", "")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					r, err := c.chat(n, f, "I like my dog")
					var body struct {
						Turn struct {
							Safety struct {
								PolicyVersion string `json:"policy_version"`
							} `json:"safety"`
						} `json:"turn"`
					}
					mu.Lock()
					if err == nil && r.Status == 200 && json.Unmarshal(r.Body, &body) == nil {
						ph := phase.Load()
						lat[ph] = append(lat[ph], r.Elapsed)
						ok.Add(1)
						versions[body.Turn.Safety.PolicyVersion]++
					} else {
						failed.Add(1)
						lastErr = fmt.Sprintf("%s: %v %s", n.id, err, r)
					}
					mu.Unlock()
				}
			}()
		}
	}
	waitFor(t, 30*time.Second, "load running", func() (bool, string) { return ok.Load() >= 30, fmt.Sprint(ok.Load()) })

	// push runs one push under the load; the phases around it are
	// numbered so latencies can be compared.
	push := func(file, version string, during, after int32) {
		t.Helper()
		start := time.Now()
		phase.Store(during)
		out, err := admin(c.nodes[2], "policy", "push", file)
		if err != nil {
			close(stop)
			wg.Wait()
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
	close(stop)
	wg.Wait()
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
}
