package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAuditLogReplicatedAndVerifiable: security events land in the audit log
// of every node through Raft, and `daisydog audit verify` checks the chain on
// a running node's data directory.
func TestAuditLogReplicatedAndVerifiable(t *testing.T) {
	c := startCluster(t, 3)
	f := c.newFamily(c.nodes[1], "audit-"+strings.ToLower(randLetters(8))+"@example.test", "Aud"+randLetters(5))
	if _, err := c.chat(c.nodes[2], f, "I want to kill myself"); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		var out string
		waitFor(t, 10*time.Second, "audit entries on "+n.id, func() (bool, string) {
			var err error
			out, err = cli("audit", "verify", "--data", n.dir)
			if err != nil {
				return false, err.Error()
			}
			// At least: signing_key_added, sign_up, email_verification_sent, login,
			// create_child, create_link_code, link_device, safety_escalation
			// (background work such as seeding the catalogue may add more).
			var n int
			if _, err := fmt.Sscanf(out, "audit log OK: %d entries", &n); err != nil {
				return false, out
			}
			return n >= 8 && strings.Contains(out, "hash chain intact"), out
		})
	}
}
