package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A backup taken while the node serves restores into a new cluster that
// holds exactly what was acknowledged before it: the parent logs in with
// the same password, the child's device token still works, the history is
// the same turns in the same order (texts opened with the family keys
// under the backup's cluster key), and turns made after the backup are not
// there. The new cluster takes writes (its applied index was reset).
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startCluster(t, 1, nil)[0]
	const email, password = "backup@example.test", "correct horse battery staple"
	fam := newFamily(t, n, email, "Pepper", "9-12")
	msgs := []string{"hello daisy", "tell me a joke", "I like pancakes"}
	for _, m := range msgs {
		if st, _ := n.chat(t, fam.childToken, m); st != 200 {
			t.Fatalf("chat %q: %d", m, st)
		}
	}
	out := filepath.Join(t.TempDir(), "daisydog.backup")
	info, err := Backup(ctx, Layout{Dir: n.dir}, out)
	if err != nil {
		t.Fatal(err)
	}
	if info.AppliedIndex == 0 || info.Bytes == 0 {
		t.Fatalf("backup info %+v", info)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	if _, err := Backup(ctx, Layout{Dir: n.dir}, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if st, _ := n.chat(t, fam.childToken, "this one is after the backup"); st != 200 {
		t.Fatalf("chat after backup: %d", st)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "pancakes") || strings.Contains(string(raw), "Pepper") || strings.Contains(string(raw), "CREATE TABLE") {
		t.Fatal("the backup file is not sealed")
	}
	key, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	n.stop(t) // the site is lost

	opts := func() InitOptions { return nodeAddrs(t, "r1") }
	t.Run("refusals leave nothing behind", func(t *testing.T) {
		wrong := append([]byte{}, key...)
		wrong[0] ^= 1
		damaged := filepath.Join(t.TempDir(), "damaged.backup")
		bad := append([]byte{}, raw...)
		bad[len(bad)/2] ^= 1
		if err := os.WriteFile(damaged, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		notBackup := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(notBackup, []byte("shopping list: bones"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, from string
			key        []byte
			want       error
			text       string
		}{
			{"wrong key", out, wrong, ErrBackupKey, ""},
			{"damaged file", damaged, key, ErrBackupKey, ""},
			{"not a backup", notBackup, key, ErrBackupKey, ""},
			{"missing file", filepath.Join(t.TempDir(), "none"), key, nil, "no such file"},
			{"short key", out, key[:16], nil, "32 bytes"},
		} {
			dir := filepath.Join(t.TempDir(), "r")
			_, _, err := Restore(ctx, Layout{Dir: dir}, opts(), tc.from, tc.key)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if exists(dir) {
				t.Fatalf("%s: %s left behind", tc.name, dir)
			}
		}
		if _, _, err := Restore(ctx, Layout{Dir: n.dir}, opts(), out, key); err == nil || !strings.Contains(err.Error(), "already holds a node") {
			t.Fatalf("restore over a node: %v", err)
		}
	})

	dir := filepath.Join(t.TempDir(), "restored")
	tok, got, err := Restore(ctx, Layout{Dir: dir}, opts(), out, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.AppliedIndex != info.AppliedIndex || tok.Secret == "" {
		t.Fatalf("restore info %+v token %+v; backup %+v", got, tok, info)
	}
	if k2, err := (Layout{Dir: dir}).ReadClusterKey(); err != nil || string(k2) != string(key) {
		t.Fatalf("restored cluster key differs: %v", err)
	}
	r := startTestNode(t, dir, nil)
	waitFor(t, 30e9, "restored node ready", func() error { return r.ready(ctx) })
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := r.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); st != 200 {
		t.Fatalf("parent login on the restored cluster: %d", st)
	}
	var hist struct {
		Turns []struct {
			Seq     int64
			Message string
		}
	}
	if st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns", login.AccessToken, nil, &hist); st != 200 || len(hist.Turns) != len(msgs) {
		t.Fatalf("history on the restored cluster: %d, %d turns; want %d", st, len(hist.Turns), len(msgs))
	}
	for i, turn := range hist.Turns { // newest first
		if want := msgs[len(msgs)-1-i]; turn.Message != want || turn.Seq != int64(len(msgs)-i) {
			t.Fatalf("turn %d: %+v, want %q", i, turn, want)
		}
	}
	// The child's device keeps working and the new cluster takes writes.
	if st, tr := r.chat(t, fam.childToken, "we moved to a new server"); st != 200 || tr.Turn.Seq != int64(len(msgs)+1) {
		t.Fatalf("chat on the restored cluster: %d %+v", st, tr.Turn)
	}
}

func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if k, err := ParseClusterKey([]byte(strings.Repeat("ab", 32) + "\n")); err != nil || len(k) != 32 {
		t.Fatalf("ParseClusterKey of a key file: %v", err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := ParseClusterKey([]byte(bad)); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
			t.Fatalf("ParseClusterKey(%q): %v", bad, err)
		}
	}
	// A directory that holds no node has no cluster key to seal with.
	if _, err := Backup(ctx, Layout{Dir: t.TempDir()}, filepath.Join(t.TempDir(), "b")); err == nil || !strings.Contains(err.Error(), "cluster key") {
		t.Fatalf("backup of no node: %v", err)
	}
	// A node that has never started has no database yet.
	dir := filepath.Join(t.TempDir(), "n")
	if _, err := Init(Layout{Dir: dir}, InitOptions{NodeID: "n1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b")
	if _, err := Backup(ctx, Layout{Dir: dir}, out); err == nil || exists(out) {
		t.Fatalf("backup without a database: %v (file left: %v)", err, exists(out))
	}
	// Restore checks the options before it reads anything.
	key := make([]byte, 32)
	target := filepath.Join(t.TempDir(), "r")
	if _, _, err := Restore(ctx, Layout{Dir: target}, InitOptions{NodeID: "Bad_ID", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"}, out, key); err == nil || !strings.Contains(err.Error(), "node ID") || exists(target) {
		t.Fatalf("restore with a bad node ID: %v", err)
	}
	if _, err := Init(Layout{Dir: target}, InitOptions{NodeID: "r1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2", ClusterKey: key[:8]}); err == nil || !strings.Contains(err.Error(), "32 bytes") || exists(filepath.Join(target, "node.json")) {
		t.Fatalf("init with a short cluster key: %v", err)
	}
	good := InitOptions{NodeID: "r1", HTTPAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2"}
	for _, tc := range []struct {
		name string
		run  func(l Layout) error
		want string
	}{
		{"a short cluster key", func(l Layout) error { _, _, err := Restore(ctx, l, good, out, key[:8]); return err }, "cluster key must be 32 bytes"},
		{"a short cluster key, to a point", func(l Layout) error {
			_, _, err := RestoreToPoint(ctx, l, good, out, key[:8], []string{t.TempDir()}, time.Now())
			return err
		}, "cluster key must be 32 bytes"},
		{"a backup that is not there", func(l Layout) error { _, _, err := Restore(ctx, l, good, out+".none", key); return err }, "no such file"},
		{"into a directory that holds a node", func(Layout) error { _, _, err := Restore(ctx, Layout{Dir: dir}, good, out, key); return err }, "already holds a node"},
	} {
		l := Layout{Dir: filepath.Join(t.TempDir(), "r")}
		if err := tc.run(l); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("restore with %s: %v, want %q", tc.name, err, tc.want)
		}
		if exists(l.Dir) {
			t.Errorf("restore with %s left %s behind", tc.name, l.Dir)
		}
	}
}

// Disaster recovery when two of three servers are lost (docs/operations.md
// "Disaster recovery"): the survivor cannot take writes (no majority), but
// a backup of its data directory, taken while it still runs, restores into
// a new cluster holding every write the survivor had applied.
func TestRecoverFromTheLastSurvivor(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3, nil)
	leader, followers := leaderOf(t, nodes)
	const email, password = "survivor@example.test", "correct horse battery staple"
	fam := newFamily(t, leader, email, "Bramble", "9-12")
	msgs := []string{"hello daisy", "what is your favourite toy", "goodnight"}
	for _, m := range msgs {
		if st, _ := leader.chat(t, fam.childToken, m); st != 200 {
			t.Fatalf("chat %q: %d", m, st)
		}
	}
	survivor := followers[1]
	applied := leader.Cluster().Status().AppliedIndex
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := survivor.Cluster().WaitApplied(wctx, applied)
	cancel()
	if err != nil {
		t.Fatalf("survivor did not apply %d: %v", applied, err)
	}
	leader.stop(t)
	followers[0].stop(t) // two of three servers are lost
	if st, _ := survivor.chat(t, fam.childToken, "is anyone there"); st != 503 {
		t.Fatalf("a write through the survivor without a majority: %d, want 503", st)
	}

	out := filepath.Join(t.TempDir(), "survivor.backup")
	info, err := Backup(ctx, Layout{Dir: survivor.dir}, out)
	if err != nil {
		t.Fatalf("backup of the survivor: %v", err)
	}
	key, err := Layout{Dir: survivor.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	survivor.stop(t)
	dir := filepath.Join(t.TempDir(), "recovered")
	if _, got, err := Restore(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), out, key); err != nil || got.AppliedIndex != info.AppliedIndex {
		t.Fatalf("restore: %v (%+v, backup %+v)", err, got, info)
	}
	r := startTestNode(t, dir, nil)
	waitFor(t, 30*time.Second, "recovered node ready", func() error { return r.ready(ctx) })
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := r.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); st != 200 {
		t.Fatalf("login on the recovered cluster: %d", st)
	}
	var hist struct {
		Turns []struct{ Message string }
	}
	if st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns", login.AccessToken, nil, &hist); st != 200 || len(hist.Turns) != len(msgs) {
		t.Fatalf("history on the recovered cluster: %d, %d turns, want %d", st, len(hist.Turns), len(msgs))
	}
	if st, _ := r.chat(t, fam.childToken, "we are back"); st != 200 {
		t.Fatalf("chat on the recovered cluster: %d", st)
	}
}
