package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Markers written through the commands exactly as the node would write them
// (sealed before replication) must never appear in plaintext in any file of
// the data directory: the database, its -wal and -shm, and snapshots.
func TestAtRestNoPlaintext(t *testing.T) {
	const (
		nickMarker  = "MARKER-NICK-Zq7xW"
		emailMarker = "marker-email-q9v4@example.org"
		msgMarker   = "MARKER-MESSAGE-tb81Kd my address is 12 Elm Street"
		replyMarker = "MARKER-REPLY-Hn3pL"
		// control is stored in clear on purpose (policy version): the scan
		// must find it, which proves it reads the bytes that were written.
		control = "CONTROL-POLICY-VERSION-r5Yk"
	)
	markers := []string{nickMarker, emailMarker, strings.ToLower(emailMarker), strings.ToUpper(emailMarker), msgMarker, replyMarker}

	f := newFixture(t)
	f.signUp("fam-m", "par-m", emailMarker)
	f.createChild("fam-m", "par-m", "ch-m", nickMarker)
	f.linkDevice("par-m", "ch-m", "dev-m")
	dek := f.deks["fam-m"]
	for i, id := range []string{"turn-m1", "turn-m2", "turn-m3"} {
		c := f.turnCmd("fam-m", "ch-m", "dev-m", id, msgMarker)
		c.ReplySealed = f.seal(dek, replyMarker, FieldReply, id)
		c.PolicyVersion = control
		if i == 2 {
			c.Escalate, c.EventID = true, "ev-m"
		}
		f.must(c)
	}
	// The stored values are the sealed ones and open with the family key.
	row, err := f.db.Child(f.ctx, Actor{Role: RoleSystem}, "ch-m")
	if err != nil {
		t.Fatal(err)
	}
	if nick, err := Unseal(dek, row.NicknameSealed, FieldAAD(FieldNickname, "ch-m")); err != nil || string(nick) != nickMarker {
		t.Fatalf("nickname = %q, %v", nick, err)
	}
	snap := filepath.Join(f.dir, "snapshot.db")
	if err := f.db.SnapshotTo(f.ctx, snap); err != nil {
		t.Fatal(err)
	}

	scan := func(when string) {
		t.Helper()
		controlSeen := false
		entries, err := os.ReadDir(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		scanned := 0
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			scanned++
			controlSeen = controlSeen || bytes.Contains(data, []byte(control))
			for _, m := range markers {
				if bytes.Contains(data, []byte(m)) {
					t.Errorf("%s: %s contains plaintext marker %q", when, e.Name(), m)
				}
			}
		}
		if scanned == 0 {
			t.Fatalf("%s: no files scanned", when)
		}
		if !controlSeen {
			t.Fatalf("%s: control string not found in any file: the scan does not see the data", when)
		}
		t.Logf("%s: scanned %d files", when, scanned)
	}

	scan("while open") // includes daisydog.db-wal and -shm
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after close")

}
