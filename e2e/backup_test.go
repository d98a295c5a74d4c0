package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupAndRestore runs the operator's disaster recovery with the real
// binary: `daisydog backup` beside a serving node, the site is lost (every
// process killed), `daisydog restore` on new addresses starts a new cluster
// from the backup. The parent logs in with the same password and reads
// exactly the turns acknowledged before the backup, in order; the child's
// linked device keeps chatting; a wrong cluster key is refused and leaves
// nothing behind.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 1)
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	f := c.newFamily(n, "", "")
	before := c.chatTurns(n, f, "hello daisy", "tell me a joke", "I like pancakes")
	backup := filepath.Join(c.root, "site.backup")
	out, err := cli("backup", "--data", n.dir, "--out", backup)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "backup written: "+backup) {
		t.Fatalf("backup printed %q", out)
	}
	if _, err := cli("backup", "--data", n.dir, "--out", backup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second backup over the file: %v", err)
	}
	c.chatUntilAcked(n, f, "this turn is after the backup", 30*time.Second)
	keyCopy := c.copyClusterKey(n)
	c.killAll() // the site is lost

	addrs := freeAddrs(t, 2)
	dir := filepath.Join(c.root, "restored")
	wrongKey := filepath.Join(c.root, "wrong.key")
	if err := os.WriteFile(wrongKey, []byte(strings.Repeat("0", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("restore", "--from", backup, "--cluster-key", wrongKey, "--data", dir, "--node-id", "r1",
		"--http", addrs[0], "--raft", addrs[1], "--no-serve"); err == nil || !strings.Contains(err.Error(), "does not open with this cluster key") {
		t.Fatalf("restore with the wrong key: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left %s behind (%v)", dir, err)
	}
	// The copy checks out before it is used; with the wrong key it does not.
	if out, err := cli("backup", "verify", "--from", backup, "--cluster-key", keyCopy); err != nil || !strings.Contains(out, "backup OK: "+backup) {
		t.Fatalf("backup verify: %q %v", out, err)
	}
	if _, err := cli("backup", "verify", "--from", backup, "--cluster-key", wrongKey); err == nil || !strings.Contains(err.Error(), "FAILED verification") {
		t.Fatalf("backup verify with the wrong key: %v", err)
	}

	restoreAt := time.Now()
	p, api, base := c.startRestored("restore", backup, keyCopy, dir)
	// The recovery time of a lost site, past provisioning the server: from
	// the restore command to a node that answers ready (docs/operations.md
	// "Recovery targets").
	t.Logf("restore: the new cluster was ready %v after the restore command (backup of %d bytes)", time.Since(restoreAt).Round(time.Millisecond), fileSize(t, backup))
	if out := p.stdoutText(); !strings.Contains(out, "Restored the state at Raft index") || !strings.Contains(out, "ddj1.") {
		t.Errorf("restore printed:\n%s", out)
	}
	if got, want := restoredHistory(t, api, base, f), turnLines(before); got != want {
		t.Fatalf("restored history:\n%s\nwant the turns acknowledged before the backup:\n%s", got, want)
	}
	var next struct {
		Turn turn `json:"turn"`
	}
	api.must(200, "POST", base+"/v1/chat", f.childToken, map[string]string{"message": "we moved to a new server"}).decode(t, &next)
	if next.Turn.Seq != int64(len(before)+1) {
		t.Fatalf("first turn on the restored cluster has seq %d, want %d", next.Turn.Seq, len(before)+1)
	}

	// The same backup restored under a new cluster key (docs/operations.md
	// "Rotating the cluster key"): the same history under the same
	// password; the child's device is refused until linked again; the old
	// key opens no backup of the new cluster.
	rekeyed := filepath.Join(c.root, "rekeyed")
	p2, api2, base2 := c.startRestored("rekeyed", backup, keyCopy, rekeyed, "--new-cluster-key")
	if out := p2.stdoutText(); !strings.Contains(out, "New cluster key: ") || !strings.Contains(out, "Re-encrypted under new data keys: 1 families") {
		t.Errorf("restore --new-cluster-key printed:\n%s", out)
	}
	if got, want := restoredHistory(t, api2, base2, f), turnLines(before); got != want {
		t.Fatalf("history under the new key:\n%s\nwant:\n%s", got, want)
	}
	api2.must(401, "POST", base2+"/v1/chat", f.childToken, map[string]string{"message": "is it still me?"})
	newKey, err := os.ReadFile(filepath.Join(rekeyed, "keys", "cluster.key"))
	oldKey, _ := os.ReadFile(keyCopy)
	if err != nil || len(oldKey) == 0 || bytes.Equal(newKey, oldKey) {
		t.Fatalf("the rotated cluster's key is the old one (%v)", err)
	}
	after := filepath.Join(c.root, "rekeyed.backup")
	if _, err := cli("backup", "--data", rekeyed, "--out", after); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("backup", "verify", "--from", after, "--cluster-key", keyCopy); err == nil || !strings.Contains(err.Error(), "FAILED verification") {
		t.Fatalf("a backup of the rotated cluster with the old key: %v", err)
	}
}

// chatTurns sends each message as f's child through n until acknowledged
// and returns the turns, in order.
func (c *cluster) chatTurns(n *node, f *family, msgs ...string) []turn {
	c.t.Helper()
	out := make([]turn, 0, len(msgs))
	for _, msg := range msgs {
		tu, _ := c.chatUntilAcked(n, f, msg, 30*time.Second)
		out = append(out, tu)
	}
	return out
}

// copyClusterKey copies n's cluster key to a file of the test's own (kept
// apart, as an operator keeps it for restores) and returns its path.
func (c *cluster) copyClusterKey(n *node) string {
	c.t.Helper()
	keyCopy := filepath.Join(c.root, "cluster.key.copy")
	key, err := os.ReadFile(filepath.Join(n.dir, "keys", "cluster.key"))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(keyCopy, key, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return keyCopy
}

// startRestored runs `daisydog restore` of backup (with the cluster key
// in keyFile; extra flags after the others) into the new data directory dir on fresh addresses, with the
// cluster's binary, and waits until the new one-node cluster serves; the
// process is stopped when the test ends. It returns the process, a client
// that trusts the new cluster's CA, and its base URL.
func (c *cluster) startRestored(name, backup, keyFile, dir string, extra ...string) (*proc, *apiClient, string) {
	t := c.t
	t.Helper()
	addrs := freeAddrs(t, 2)
	p := c.start(name, append([]string{"restore", "--from", backup, "--cluster-key", keyFile, "--data", dir, "--node-id", "r1",
		"--http", addrs[0], "--raft", addrs[1], "--log-level", "warn"}, extra...)...)
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		if !p.wait(stopTimeout) {
			p.kill()
		}
	})
	caFile := filepath.Join(dir, "tls", "ca.crt")
	waitFor(t, startTimeout, "the restore to write the new cluster's CA", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog restore %s; stderr:\n%s", p.state(), tail(p.stderrText(), 30, 8<<10))
		}
		_, err := os.Stat(caFile)
		return err == nil, fmt.Sprint(err)
	})
	api := newAPIClient(t, caFile)
	base := "https://" + addrs[0]
	waitServing(t, p, api, base)
	return p, api, base
}

// waitServing waits until the node process p answers /readyz at base.
func waitServing(t *testing.T, p *proc, api *apiClient, base string) {
	t.Helper()
	waitFor(t, startTimeout, "the restored node to be ready", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog %s; stderr:\n%s", p.state(), tail(p.stderrText(), 30, 8<<10))
		}
		r, err := api.get(base+"/readyz", "")
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})
}

// restoredHistory logs f's parent in at base and returns the child's turns
// there, oldest first, one "seq:id:message" line each.
func restoredHistory(t *testing.T, api *apiClient, base string, f *family) string {
	t.Helper()
	var login struct {
		AccessToken string `json:"access_token"`
	}
	api.must(200, "POST", base+"/v1/auth/login", "", map[string]string{"email": f.email, "password": f.password}).decode(t, &login)
	var hist struct {
		Turns []turn `json:"turns"`
	}
	api.must(200, "GET", base+"/v1/children/"+f.childID+"/turns", login.AccessToken, nil).decode(t, &hist)
	slices.Reverse(hist.Turns) // newest first
	return turnLines(hist.Turns)
}

// turnLines is turns as "seq:id:message" lines.
func turnLines(turns []turn) string {
	var lines []string
	for _, tu := range turns {
		lines = append(lines, fmt.Sprintf("%d:%s:%s", tu.Seq, tu.ID, tu.Message))
	}
	return strings.Join(lines, "\n")
}

// fileSize is the size of path, or fails the test.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
