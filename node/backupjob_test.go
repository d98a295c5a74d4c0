package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestScheduledBackups: RunBackup writes a backup that a restore accepts
// (verified right after it is written), keeps the newest Keep of this node's
// series and leaves other files alone; the loop runs on its own.
func TestScheduledBackups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newTestClock(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "daisydog-n2-20260101T000000.000Z.ddbk") // another node's series
	if err := os.WriteFile(other, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startCluster(t, 1, func(c *Config) {
		c.Now = clock.now
		c.Backups = BackupSchedule{Dir: dir, Every: time.Hour, Keep: 2}
	})[0]
	fam := newFamily(t, n, "sched@example.test", "Maple", "9-12")
	n.chat(t, fam.childToken, "before the backups")

	var runs []BackupRun
	for i := 0; i < 3; i++ {
		run, err := n.RunBackup(ctx)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if run.Info.AppliedIndex == 0 || run.Info.Bytes == 0 {
			t.Fatalf("run %d: %+v", i, run)
		}
		if st, err := os.Stat(run.File); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("run %d file: %v %v", i, st, err)
		}
		runs = append(runs, run)
		clock.add(time.Hour)
	}
	if len(runs[0].Deleted) != 0 || len(runs[1].Deleted) != 0 || !slices.Equal(runs[2].Deleted, []string{runs[0].File}) {
		t.Fatalf("deleted %v, %v, %v; want only the first file, at the third run", runs[0].Deleted, runs[1].Deleted, runs[2].Deleted)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if want := []string{runs[1].File, runs[2].File, other}; !slices.Equal(left, want) {
		t.Fatalf("backup directory holds %v, want %v", left, want)
	}
	// What the job keeps restores: a new cluster from the newest file.
	key, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if _, info, err := Restore(ctx, Layout{Dir: restored}, nodeAddrs(t, "r1"), runs[2].File, key); err != nil || info.AppliedIndex != runs[2].Info.AppliedIndex {
		t.Fatalf("restore of the newest scheduled backup: %+v %v", info, err)
	}

	// The metrics count them, and a failure (a name taken within the same
	// millisecond) as a failure, leaving the last good one in place.
	b := &n.metrics.Backups
	if b.OK.Load() != 3 || b.Failed.Load() != 0 || b.LastBytes.Load() != runs[2].Info.Bytes ||
		b.LastOKIndex.Load() != int64(runs[2].Info.AppliedIndex) || b.LastOKUnix.Load() != clock.now().Add(-time.Hour).Unix() {
		t.Fatalf("backup metrics %+v after three runs", b.Snapshot())
	}
	if _, err := n.RunBackup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RunBackup(ctx); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second backup in the same millisecond: %v", err)
	}
	if b.OK.Load() != 4 || b.Failed.Load() != 1 || b.LastOKUnix.Load() != clock.now().Unix() {
		t.Fatalf("backup metrics %+v after a good run and a failed one", b.Snapshot())
	}

	// On its own: the loop, with a short period.
	clock.add(time.Hour)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); n.backupLoop(lctx, 20*time.Millisecond) }()
	waitFor(t, 20*time.Second, "the loop to write a backup", func() error {
		if b.OK.Load() < 5 {
			return errors.New("no good backup from the loop yet")
		}
		return nil
	})
	cancel()
	<-done
}

// TestVerifyBackupRefuses: a backup that would not restore is caught by the
// verification: the wrong key, a damaged byte, a header that disagrees.
func TestVerifyBackupRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startCluster(t, 1, nil)[0]
	file := filepath.Join(t.TempDir(), "b.ddbk")
	info, err := Backup(ctx, Layout{Dir: n.dir}, file)
	if err != nil {
		t.Fatal(err)
	}
	key, err := Layout{Dir: n.dir}.ReadClusterKey()
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := VerifyBackup(ctx, file, key, info.AppliedIndex); err != nil || idx != info.AppliedIndex {
		t.Fatalf("a good backup: index %d, %v", idx, err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.ddbk")
	bad := slices.Clone(raw)
	bad[len(bad)/2] ^= 0x40
	if err := os.WriteFile(damaged, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	wrongKey := slices.Clone(key)
	wrongKey[0] ^= 1
	for _, tc := range []struct {
		name  string
		file  string
		key   []byte
		index uint64
		want  string
	}{
		{"wrong key", file, wrongKey, 0, ErrBackupKey.Error()},
		{"damaged byte", damaged, key, 0, ErrBackupKey.Error()},
		{"other index", file, key, info.AppliedIndex + 1, "the header says index"},
		{"missing file", file + ".gone", key, 0, "no such file"},
	} {
		_, err := VerifyBackup(ctx, tc.file, tc.key, tc.index)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// Nothing is left beside the files.
	for _, d := range []string{filepath.Dir(file), filepath.Dir(damaged)} {
		if junk, _ := filepath.Glob(filepath.Join(d, ".verify-*")); len(junk) != 0 {
			t.Errorf("verification left %v", junk)
		}
	}
}

// TestBackupScheduleValidate: the bounds the flags enforce.
func TestBackupScheduleValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    BackupSchedule
		want string // "" = valid
	}{
		{BackupSchedule{}, ""},
		{BackupSchedule{Dir: "/srv/backups", Every: 24 * time.Hour, Keep: 7}, ""},
		{BackupSchedule{Dir: "/srv/backups", Every: time.Second, Keep: 1}, ""},
		{BackupSchedule{Dir: "/srv/backups", Every: MaxBackupEvery, Keep: MaxBackupKeep}, ""},
		{BackupSchedule{Dir: "backups", Every: time.Hour, Keep: 7}, "must be an absolute path"},
		{BackupSchedule{Dir: "/srv/backups", Every: 0, Keep: 7}, "backup period 0s is not between"},
		{BackupSchedule{Dir: "/srv/backups", Every: MaxBackupEvery + time.Second, Keep: 7}, "is not between"},
		{BackupSchedule{Dir: "/srv/backups", Every: time.Hour, Keep: 0}, "backups kept 0 is not between 1 and 1000"},
		{BackupSchedule{Dir: "/srv/backups", Every: time.Hour, Keep: MaxBackupKeep + 1}, "backups kept 1001"},
	} {
		err := tc.b.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.b, err, tc.want)
		}
	}
}
