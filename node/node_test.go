package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A lone node whose data disk is nearly full keeps leading (there is no
// one to hand leadership to, and a single voter keeps its candidacy) but
// says it is not ready and refuses writes with 507.
func TestLoneNodeWithFullDiskKeepsLeadingButIsNotReady(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "n1")
	if _, err := Init(Layout{Dir: dir}, nodeAddrs(t, "n1")); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	n := startTestNode(t, dir, func(c *Config) {
		constFallback(c)
		c.DiskReserve = 1 << 62 // more than any disk has free
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	// Ready once it has a leader and keys, except for the disk.
	waitFor(t, 30*time.Second, "the disk to be the only thing missing", func() error {
		if err := n.ready(context.Background()); err == nil || err.Error() != "data disk nearly full" {
			return fmt.Errorf("ready: %v", err)
		}
		return nil
	})
	// What the disk watch does when it finds the disk low (it first looks
	// before the node leads, then waits a quiet period before trying again).
	n.leaveLeadership()
	for _, msg := range []string{"handing leadership to another node", "leadership transfer failed"} {
		if !strings.Contains(logs.String(), msg) {
			t.Fatalf("log lacks %q", msg)
		}
	}
	if !n.Cluster().IsLeader() {
		t.Fatal("a lone node gave up leadership")
	}
	var e apiErr
	if st, _ := n.call(t, "POST", "/v1/parents/signup", "", map[string]string{"email": "full@example.test", "password": "correct horse battery staple"}, &e); st != 507 || e.Error.Code != "insufficient_storage" {
		t.Fatalf("write on a full disk: %d %+v", st, e)
	}
	// Candidacy changes are no-ops for a single voter: it still leads after both.
	n.diskCandidacy(true)
	n.diskCandidacy(false)
	if !n.Cluster().IsLeader() {
		t.Fatal("a lone node lost leadership over its candidacy")
	}
}
