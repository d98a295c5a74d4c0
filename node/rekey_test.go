package node

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"daisydog/raftcluster"
)

// TestRestoreWithNewClusterKey: a restore with RestoreOptions.NewClusterKey
// gives the new cluster a fresh cluster key under which everything opens —
// the parent logs in with the same password and reads the same history,
// Daisy remembers the child — while nothing that depended on the old key
// still works: the child's device and the parent's refresh token are
// refused (their signing keys and hashes were dropped; the parent links
// the device again), the administrator enrols a new second factor, and
// the old key opens no backup of the new cluster.
func TestRestoreWithNewClusterKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, n)
	const email, password = "rekey@example.test", "correct horse battery staple"
	fam := newFamily(t, n, email, "Pepper", "9-12")
	msgs := []string{"hello daisy", "tell me a joke", "I like pancakes"}
	for _, m := range msgs {
		if st, _ := n.chat(t, fam.childToken, m); st != 200 {
			t.Fatalf("chat %q: %d", m, st)
		}
	}
	var session struct {
		RefreshToken string `json:"refresh_token"`
	}
	if st, _ := n.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &session); st != 200 || session.RefreshToken == "" {
		t.Fatalf("parent login: %d", st)
	}
	out := filepath.Join(t.TempDir(), "daisydog.backup")
	if _, err := Backup(ctx, Layout{Dir: n.dir}, out); err != nil {
		t.Fatal(err)
	}
	oldKey, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	n.stop(t)

	dir := filepath.Join(t.TempDir(), "rekeyed")
	_, rep, err := RestoreWith(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), out, oldKey, RestoreOptions{NewClusterKey: true})
	if err != nil {
		t.Fatal(err)
	}
	k := rep.Rekey
	t.Logf("rekey: %+v", k)
	if k.Families != 1 || k.Parents != 1 || k.Children != 1 || k.Turns != len(msgs) || k.Companions != 1 ||
		k.Staff != 1 || k.StaffMFAReset != 1 || k.DevicesRevoked != 1 || k.Dropped["signing_keys"] == 0 || k.Dropped["refresh_tokens"] == 0 {
		t.Fatalf("rekey counts %+v", k)
	}
	newKey, err := (Layout{Dir: dir}).ReadClusterKey()
	if err != nil || bytes.Equal(newKey, oldKey) || len(newKey) != len(oldKey) {
		t.Fatalf("restored cluster key: %x (old %x), %v", newKey, oldKey, err)
	}

	r := startTestNode(t, dir, clock.config())
	waitFor(t, 30*time.Second, "re-keyed node ready", func() error { return r.ready(ctx) })
	var login struct {
		AccessToken string `json:"access_token"`
	}
	waitFor(t, 30*time.Second, "parent login on the re-keyed cluster", func() error {
		if st, _ := r.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); st != 200 {
			return errors.New("not yet")
		}
		return nil
	})
	var hist struct {
		Turns []struct{ Message string }
	}
	if st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns", login.AccessToken, nil, &hist); st != 200 || len(hist.Turns) != len(msgs) {
		t.Fatalf("history: %d, %d turns", st, len(hist.Turns))
	}
	for i, turn := range hist.Turns { // newest first
		if want := msgs[len(msgs)-1-i]; turn.Message != want {
			t.Fatalf("turn %d: %q, want %q", i, turn.Message, want)
		}
	}
	if st, _ := r.chat(t, fam.childToken, "is it still me?"); st != 401 {
		t.Fatalf("old device token on the re-keyed cluster: %d, want 401", st)
	}
	if st, _ := r.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": session.RefreshToken}, nil); st != 401 {
		t.Fatalf("old refresh token: %d, want 401", st)
	}
	if st, _ := r.call(t, "GET", "/v1/children/"+fam.childID+"/turns", fam.parentToken, nil, nil); st != 401 {
		t.Fatalf("old parent access token: %d, want 401", st)
	}
	// The parent links the device again; Daisy's state came along.
	device := r.linkDevice(t, login.AccessToken, fam.childID)
	if st, tr := r.chat(t, device, "we moved to a new server"); st != 200 || tr.Turn.Seq != int64(len(msgs)+1) {
		t.Fatalf("chat on the re-keyed cluster: %d %+v", st, tr.Turn)
	}
	// The administrator's old authenticator is gone: a new enrolment.
	var m mfaResp
	if st, _ := r.call(t, "POST", "/v1/admin/login", "", map[string]string{"email": admin.email, "password": admin.password}, &m); st != 200 || m.MFA != "enroll" {
		t.Fatalf("staff login after the rotation: %d %q, want a new enrolment", st, m.MFA)
	}
	clock.add(time.Minute)
	admin.recovery = nil
	r.staffLogin(t, admin)
	if len(admin.recovery) == 0 {
		t.Fatal("no new recovery codes after the new enrolment")
	}

	// A backup of the new cluster opens with the new key, not the old one.
	out2 := filepath.Join(t.TempDir(), "after.backup")
	if _, err := Backup(ctx, Layout{Dir: dir}, out2); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBackup(ctx, out2, newKey, 0); err != nil {
		t.Fatalf("new backup with the new key: %v", err)
	}
	if _, err := VerifyBackup(ctx, out2, oldKey, 0); !errors.Is(err, ErrBackupKey) {
		t.Fatalf("new backup with the old key: %v, want ErrBackupKey", err)
	}
}

// TestRestoreWithNewClusterKeyRefusesADamagedValue: a backup holding a
// value that does not open (a nickname damaged after it was written)
// restores as it is, but not under a new key — the rotation names the
// value and leaves no directory behind.
func TestRestoreWithNewClusterKeyRefusesADamagedValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startCluster(t, 1, nil)[0]
	fam := newFamily(t, n, "damaged@example.test", "Pepper", "9-12")
	key, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	n.stop(t)
	db, err := sql.Open("sqlite", "file:"+Layout{Dir: n.dir}.DBFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE children SET nickname_sealed=zeroblob(64) WHERE id=?", fam.childID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := filepath.Join(t.TempDir(), "damaged.backup")
	if _, err := Backup(ctx, Layout{Dir: n.dir}, out); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rekeyed")
	_, _, err = RestoreWith(ctx, Layout{Dir: dir}, nodeAddrs(t, "r1"), out, key, RestoreOptions{NewClusterKey: true})
	if err == nil || !strings.Contains(err.Error(), "new cluster key") || !strings.Contains(err.Error(), "children.nickname:"+fam.childID) {
		t.Fatalf("rotation of a backup with a damaged nickname: %v", err)
	}
	if exists(dir) {
		t.Fatalf("the refused rotation left %s behind", dir)
	}
	if _, _, err := RestoreWith(ctx, Layout{Dir: filepath.Join(t.TempDir(), "plain")}, nodeAddrs(t, "r2"), out, key, RestoreOptions{}); err != nil {
		t.Fatalf("the same backup without a new key: %v", err)
	}
}

// TestWaitForStepWithoutAnAnswer: a wait for a CA rotation step on a
// cluster that never answers ends with the question's error.
func TestWaitForStepWithoutAnAnswer(t *testing.T) {
	t.Parallel()
	l := Layout{Dir: filepath.Join(t.TempDir(), "n1")}
	if _, err := Init(l, nodeAddrs(t, "n1")); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(l, "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = waitForStep(ctx, raftcluster.NewClient(id), freeAddr(t), "trusts anything", func(CAMember) bool { return true }, nil)
	if err == nil || !strings.Contains(err.Error(), "the cluster did not answer since") {
		t.Fatalf("a wait nobody answers: %v", err)
	}
}
