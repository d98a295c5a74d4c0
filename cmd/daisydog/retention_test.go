package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"daisydog/node/api"
)

// TestRetentionFlags: the defaults, explicit values and 0 (no time limit)
// reach the node's configuration.
func TestRetentionFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want api.Retention
	}{
		{nil, api.Retention{TurnsDays: 180, SafetyDays: 365, SessionsDays: 30}},
		{[]string{"--retain-turns-days", "30", "--retain-safety-days", "90", "--retain-sessions-days", "7"}, api.Retention{TurnsDays: 30, SafetyDays: 90, SessionsDays: 7}},
		{[]string{"--retain-turns-days", "0", "--retain-safety-days", "0", "--retain-sessions-days", "0"}, api.Retention{}},
		{[]string{"--retain-turns-days", "3650"}, api.Retention{TurnsDays: 3650, SafetyDays: 365, SessionsDays: 30}},
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
		if err := sf.check(); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// TestRetentionFlagsRefused: negative and absurd values stop every serving
// command before it creates or opens anything, naming the setting.
func TestRetentionFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, flag, value, want string
	}{
		{"negative turns", "--retain-turns-days", "-1", "retention of turns: -1 days is not between 0"},
		{"absurd turns", "--retain-turns-days", "36500", "retention of turns: 36500 days"},
		{"negative safety", "--retain-safety-days", "-30", "retention of safety: -30 days"},
		{"absurd sessions", "--retain-sessions-days", "3651", "retention of sessions: 3651 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, cmd := range map[string]func([]string) error{"serve": cmdServe, "init": cmdInit, "join": cmdJoin, "run": cmdRun} {
				data := filepath.Join(t.TempDir(), "data")
				args := []string{"--data", data, tc.flag, tc.value}
				switch name {
				case "join":
					args = append(args, "--node-id", "n1", "--join", "127.0.0.1:1", "--token", "x")
				case "init", "run":
					args = append(args, "--node-id", "n1")
				}
				_, _, err := capture(t, func() error { return cmd(args) })
				wantErrContains(t, err, "--retain-*-days: "+tc.want)
				if _, err := os.Stat(data); !os.IsNotExist(err) {
					t.Fatalf("%s created %s before refusing: %v", name, data, err)
				}
			}
		})
	}
}
