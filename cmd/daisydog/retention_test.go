package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"daisydog/node/api"
)

// TestRetentionFlags: the defaults, explicit values and 0 (no time limit)
// reach the node's configuration, and so does the job's period
// (--retention-every, default 1h, 1s and 720h included).
func TestRetentionFlags(t *testing.T) {
	def := api.Retention{TurnsDays: 180, SafetyDays: 365, SessionsDays: 30}
	for _, tc := range []struct {
		args  []string
		want  api.Retention
		every time.Duration
	}{
		{nil, def, time.Hour},
		{[]string{"--retain-turns-days", "30", "--retain-safety-days", "90", "--retain-sessions-days", "7"}, api.Retention{TurnsDays: 30, SafetyDays: 90, SessionsDays: 7}, time.Hour},
		{[]string{"--retain-turns-days", "0", "--retain-safety-days", "0", "--retain-sessions-days", "0"}, api.Retention{}, time.Hour},
		{[]string{"--retain-turns-days", "3650"}, api.Retention{TurnsDays: 3650, SafetyDays: 365, SessionsDays: 30}, time.Hour},
		{[]string{"--retention-every", "2s"}, def, 2 * time.Second},
		{[]string{"--retention-every", "1s"}, def, time.Second},
		{[]string{"--retention-every", "720h"}, def, 720 * time.Hour},
		{[]string{"--retention-every", "15m", "--retain-turns-days", "30"}, api.Retention{TurnsDays: 30, SafetyDays: 365, SessionsDays: 30}, 15 * time.Minute},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var sf serveFlags
		sf.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if sf.retention != tc.want {
			t.Errorf("%v: retention %+v, want %+v", tc.args, sf.retention, tc.want)
		}
		if sf.retentionEvery != tc.every {
			t.Errorf("%v: retention every %v, want %v", tc.args, sf.retentionEvery, tc.every)
		}
		if err := sf.check(); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// TestRetentionFlagsRefused: negative and absurd values stop every serving
// command before it creates or opens anything, naming the flag and the
// setting.
func TestRetentionFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, flag, value, want string
	}{
		{"negative turns", "--retain-turns-days", "-1", "--retain-*-days: retention of turns: -1 days is not between 0"},
		{"absurd turns", "--retain-turns-days", "36500", "--retain-*-days: retention of turns: 36500 days"},
		{"negative safety", "--retain-safety-days", "-30", "--retain-*-days: retention of safety: -30 days"},
		{"absurd sessions", "--retain-sessions-days", "3651", "--retain-*-days: retention of sessions: 3651 days"},
		{"zero period", "--retention-every", "0s", "--retention-every: 0s is not between 1s and 720h0m0s"},
		{"negative period", "--retention-every", "-1h", "--retention-every: -1h0m0s is not between 1s and 720h0m0s"},
		{"period under a second", "--retention-every", "999ms", "--retention-every: 999ms is not between 1s and 720h0m0s"},
		{"period over 30 days", "--retention-every", "720h1s", "--retention-every: 720h0m1s is not between 1s and 720h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, cmd := range map[string]func([]string) error{"serve": cmdServe, "init": cmdInit, "join": cmdJoin, "run": cmdRun, "restore": cmdRestore} {
				data := filepath.Join(t.TempDir(), "data")
				args := []string{"--data", data, tc.flag, tc.value}
				switch name {
				case "join":
					args = append(args, "--node-id", "n1", "--join", "127.0.0.1:1", "--token", "x")
				case "init", "run":
					args = append(args, "--node-id", "n1")
				case "restore":
					args = append(args, "--node-id", "n1", "--from", filepath.Join(t.TempDir(), "site.backup"), "--cluster-key", filepath.Join(t.TempDir(), "cluster.key"))
				}
				_, _, err := capture(t, func() error { return cmd(args) })
				wantErrContains(t, err, tc.want)
				if _, err := os.Stat(data); !os.IsNotExist(err) {
					t.Fatalf("%s created %s before refusing: %v", name, data, err)
				}
			}
		})
	}
}

// TestBackupFlags: the schedule reaches the node with an absolute
// directory; wrong values stop every serving command before it creates or
// opens anything, naming the flags.
func TestBackupFlags(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fs)
	if err := fs.Parse([]string{"--backup-dir", "backups", "--backup-every", "6h", "--backup-keep", "3"}); err != nil {
		t.Fatal(err)
	}
	if err := sf.check(); err != nil {
		t.Fatal(err)
	}
	b := sf.absBackups()
	wd, _ := os.Getwd()
	if b.Dir != filepath.Join(wd, "backups") || b.Every != 6*time.Hour || b.Keep != 3 {
		t.Fatalf("schedule %+v", b)
	}
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	sf = serveFlags{}
	sf.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if b := sf.absBackups(); b.Dir != "" || b.Every != 24*time.Hour || b.Keep != 7 {
		t.Fatalf("default schedule %+v, want off (every 24h, keep 7 when a directory is given)", b)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"keep none", []string{"--backup-keep", "0"}, "backups kept 0 is not between 1 and 1000"},
		{"keep too many", []string{"--backup-keep", "1001"}, "backups kept 1001"},
		{"zero period", []string{"--backup-every", "0s"}, "backup period 0s is not between 1s and 720h0m0s"},
		{"period over 30 days", []string{"--backup-every", "721h"}, "backup period 721h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--data", data, "--backup-dir", filepath.Join(t.TempDir(), "b")}, tc.args...)
			_, _, err := capture(t, func() error { return cmdServe(args) })
			wantErrContains(t, err, "--backup-dir/--backup-every/--backup-keep: "+tc.want)
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("%s created or touched %s", tc.name, data)
			}
		})
	}
}

// TestArchiveFlags: the log archive reaches the node with an absolute
// directory; a retention under an hour stops the command before it
// touches anything.
func TestArchiveFlags(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fs)
	if err := fs.Parse([]string{"--archive-dir", "archive"}); err != nil {
		t.Fatal(err)
	}
	if err := sf.check(); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if a := sf.absArchive(); a.Dir != filepath.Join(wd, "archive") || a.Keep != 8*24*time.Hour {
		t.Fatalf("archive %+v", a)
	}
	data := filepath.Join(t.TempDir(), "data")
	_, _, err := capture(t, func() error {
		return cmdServe([]string{"--data", data, "--archive-dir", t.TempDir(), "--archive-keep", "30m"})
	})
	wantErrContains(t, err, "--archive-dir/--archive-keep: archive retention 30m0s is shorter than an hour")
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("created or touched %s", data)
	}
}
