package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to tamper with a copy of a node's database
)

// TestAuditLogReplicatedAndVerifiable: security events land in the audit log
// of every node through Raft, and `daisydog audit verify` checks the chain on
// a running node's data directory.
func TestAuditLogReplicatedAndVerifiable(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
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

	// Tampering with a copy of a node's database — an entry altered, an
	// entry deleted — is caught by `daisydog audit verify`, naming the entry.
	for _, tc := range []struct{ name, stmt, want string }{
		{"altered", "UPDATE audit_log SET action = action || '_x' WHERE seq = 3", "entry 3 was altered"},
		{"deleted", "DELETE FROM audit_log WHERE seq = 2", "entry 2 is missing"},
	} {
		dir := filepath.Join(t.TempDir(), tc.name)
		if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
			t.Fatal(err)
		}
		copyFile := filepath.Join(dir, "db", "daisydog.db")
		src, err := sql.Open("sqlite", "file:"+filepath.Join(c.nodes[0].dir, "db", "daisydog.db")+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Exec("VACUUM INTO ?", copyFile)
		src.Close()
		if err != nil {
			t.Fatalf("copying n1's database: %v", err)
		}
		if out, err := cli("audit", "verify", "--data", dir); err != nil || !strings.Contains(out, "hash chain intact") {
			t.Fatalf("the untouched copy: %v %s", err, out)
		}
		db, err := sql.Open("sqlite", "file:"+copyFile)
		if err != nil {
			t.Fatal(err)
		}
		// A tamperer with the file drops the append-only triggers first.
		var triggers []string
		rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			triggers = append(triggers, name)
		}
		rows.Close()
		for _, name := range triggers {
			if _, err := db.Exec(`DROP TRIGGER "` + name + `"`); err != nil {
				t.Fatal(err)
			}
		}
		_, err = db.Exec(tc.stmt)
		db.Close()
		if err != nil {
			t.Fatalf("tampering (%s): %v", tc.name, err)
		}
		if out, err := cli("audit", "verify", "--data", dir); err == nil || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("audit verify of a copy with an entry %s: %v %s, want a failure naming %q", tc.name, err, out, tc.want)
		}
	}
}
