package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPointInTimeRestore runs point-in-time recovery with the real binary:
// a node serving with --archive-dir, a `daisydog backup`, more turns, a
// moment T, a turn after it (the mistake); while the old cluster keeps
// serving and archiving, `daisydog restore --archive --until T` makes a new
// cluster whose history is exactly the turns acknowledged up to T, in
// order. (A site lost to SIGKILL: TestBackupAndRestore; the archive reaches
// the kernel with every batch — TestPointInTimeRecovery reads it from a
// running node.)
func TestPointInTimeRestore(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	archive := filepath.Join(t.TempDir(), "archive")
	c := startCluster(t, 1, "--archive-dir", archive)
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	f := c.newFamily(n, "", "")
	var want []turn
	tu, _ := c.chatUntilAcked(n, f, "before the backup", 30*time.Second)
	want = append(want, tu)
	backup := filepath.Join(c.root, "night.backup")
	if _, err := cli("backup", "--data", n.dir, "--out", backup); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"after the backup", "still before the moment"} {
		tu, _ := c.chatUntilAcked(n, f, msg, 30*time.Second)
		want = append(want, tu)
	}
	until := time.Now().UTC()
	c.chatUntilAcked(n, f, "after the moment", 30*time.Second)

	addrs := freeAddrs(t, 2)
	dir := filepath.Join(c.root, "restored")
	out, err := cli("restore", "--from", backup, "--cluster-key", filepath.Join(n.dir, "keys", "cluster.key"),
		"--archive", archive, "--until", until.Format(time.RFC3339Nano),
		"--data", dir, "--node-id", "r1", "--http", addrs[0], "--raft", addrs[1], "--no-serve")
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(out, "archived commands after it") || !strings.Contains(out, "ddj1.") {
		t.Fatalf("restore printed %q", out)
	}
	p := c.start("restored", "serve", "--data", dir, "--log-level", "warn")
	defer func() {
		p.signal(syscall.SIGTERM)
		if !p.wait(stopTimeout) {
			p.kill()
		}
	}()
	api := newAPIClient(t, filepath.Join(dir, "tls", "ca.crt"))
	base := "https://" + addrs[0]
	waitServing(t, p, api, base)
	if got, exp := restoredHistory(t, api, base, f), turnLines(want); got != exp {
		t.Fatalf("restored history:\n%s\nwant the turns acknowledged up to %s:\n%s", got, until.Format(time.RFC3339Nano), exp)
	}
	// Asked for a moment the archive has not reached, the restore says so.
	out, err = cli("restore", "--from", backup, "--cluster-key", filepath.Join(n.dir, "keys", "cluster.key"),
		"--archive", archive, "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"--data", filepath.Join(c.root, "latest"), "--node-id", "r2", "--http", addrs[0], "--raft", addrs[1], "--no-serve")
	if err != nil || !strings.Contains(out, "The archives end before") {
		t.Fatalf("restore to a moment past the archive: %q %v", out, err)
	}
	c.stop(n) // the old cluster retires
}
