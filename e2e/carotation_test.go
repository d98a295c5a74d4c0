package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCLICARotation rotates the cluster CA of three running processes with
// `daisydog cluster ca` as an operator would, and checks what a client and
// a newcomer see: the API keeps answering at every step (a client given the
// new CA to trust beside the old one between stage and switch, the new CA
// alone after the finish); after the switch every member presents a
// certificate from the new CA, and the old join token is refused; after
// the finish each member trusts one CA; a member restarted after the
// rotation serves with the new CA. A chat load runs from the stage to
// after the finish, and none of its requests may fail.
func TestCLICARotation(t *testing.T) {
	// Sequential: it asserts that no request of its own load fails (see
	// parallelTests in main_test.go).
	c := startCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	signup := func(n *node, step string) {
		t.Helper()
		c.api.must(201, "POST", n.url("/v1/parents/signup"), "", map[string]string{
			"email": "ca-" + step + "-" + randLetters(8) + "@example.test", "password": "correct horse battery staple",
		})
	}
	oldToken, err := os.ReadFile(filepath.Join(n1.dir, "keys", "join-token"))
	if err != nil {
		t.Fatal(err)
	}
	oldCA, err := os.ReadFile(filepath.Join(n1.dir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}

	out, err := cli("cluster", "ca", "--data", n2.dir, "stage")
	if err != nil || !strings.Contains(out, "staged the new cluster CA") {
		t.Fatalf("stage: %v\n%s", err, out)
	}
	// The stage returns once every member trusts the new CA (and wrote it).
	var newCA []byte
	for _, n := range c.nodes {
		if newCA, err = os.ReadFile(filepath.Join(n.dir, "tls", "ca-next.crt")); err != nil {
			t.Fatalf("%s after the stage: %v", n.id, err)
		}
	}
	both := filepath.Join(t.TempDir(), "both.crt")
	if err := os.WriteFile(both, append(append([]byte{}, oldCA...), newCA...), 0o600); err != nil {
		t.Fatal(err)
	}
	c.api = newAPIClient(t, both)
	signup(n1, "stage")

	// Load from here to the finish: two children per node chatting without
	// pause, through a client that trusts both CAs. The switch and the
	// finish change the certificates members present and trust (the
	// finish closes the connections opened with old ones): no request may
	// fail for it.
	var lastErr atomic.Value
	load := startChatLoad(c, newAPIClient(t, both), 2, "I like my dog", func(n *node, r apiResp, err error) {
		if err != nil || r.Status != 200 {
			lastErr.Store(fmt.Sprintf("%s: %v %s", n.id, err, r))
		}
	})
	defer load.stop()
	ok, failed := &load.ok, &load.failed
	waitFor(t, 30*time.Second, "load running", func() (bool, string) { return ok.Load() >= 30, fmt.Sprint(ok.Load()) })

	switched, err := cli("cluster", "ca", "--data", n3.dir, "switch")
	if err != nil {
		t.Fatalf("switch: %v\n%s", err, switched)
	}
	if !strings.Contains(switched, "switched to the cluster CA") || !strings.Contains(switched, "ddj1.") {
		t.Fatalf("switch printed:\n%s", switched)
	}
	newToken := ""
	for _, line := range strings.Split(switched, "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "ddj1.") {
			newToken = s
		}
	}
	if newToken == "" || newToken == strings.TrimSpace(string(oldToken)) {
		t.Fatalf("no new join token in:\n%s", switched)
	}
	for _, n := range c.nodes {
		signup(n, "switch")
		b, err := os.ReadFile(filepath.Join(n.dir, "keys", "join-token"))
		if err != nil || strings.TrimSpace(string(b)) != newToken {
			t.Fatalf("%s: join token file %q (%v), want the new token", n.id, b, err)
		}
	}
	if out, err := cli("join", "--data", filepath.Join(t.TempDir(), "n4"), "--node-id", "n4", "--http", "127.0.0.1:1", "--raft", "127.0.0.1:2",
		"--join", n1.httpAddr, "--token", strings.TrimSpace(string(oldToken)), "--no-serve"); err == nil || !strings.Contains(err.Error(), "CA fingerprint mismatch") {
		t.Fatalf("join with the old token: %v\n%s", err, out)
	}

	if out, err := cli("cluster", "ca", "--data", n1.dir, "finish"); err != nil || !strings.Contains(out, "finished") {
		t.Fatalf("finish: %v\n%s", err, out)
	}
	c.api = newAPIClient(t, filepath.Join(n1.dir, "tls", "ca.crt")) // the new CA alone
	// The finish returns once every member trusts the new CA alone.
	out, err = cli("cluster", "ca", "--data", n1.dir)
	if err != nil {
		t.Fatal(err)
	}
	newFP, members := "", 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "n") {
			continue
		}
		if newFP == "" {
			newFP = f[2]
		}
		if f[2] != newFP || f[3] != newFP || len(f) != 4 {
			t.Fatalf("after the finish, a member presents or trusts another CA:\n%s", out)
		}
		members++
	}
	if members != 3 {
		t.Fatalf("status lists %d members:\n%s", members, out)
	}
	for _, n := range c.nodes {
		signup(n, "finish")
	}
	before := ok.Load()
	waitFor(t, 30*time.Second, "load after the finish", func() (bool, string) { return ok.Load() >= before+30, fmt.Sprint(ok.Load() - before) })
	load.stop()
	t.Logf("load during the rotation: %d turns, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; last: %v", failed.Load(), ok.Load()+failed.Load(), lastErr.Load())
	}

	c.stop(n3)
	c.restart(n3)
	c.waitReady(n3)
	signup(n3, "restart")
	if _, err := os.Stat(filepath.Join(n3.dir, "tls", "ca-prev.crt")); !os.IsNotExist(err) {
		t.Fatalf("ca-prev.crt left after the finish: %v", err)
	}
}
