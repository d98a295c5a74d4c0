package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsPrivacyAndRetention runs one node with the retention flags set
// (and the retention job every 2 s, and scheduled backups every second) and checks what an operator and a parent
// see of them: GET /metrics in the Prometheus text format from loopback,
// counting the turns sent and holding none of their text; GET /v1/privacy
// publishing the configured days; and the leader's retention job running
// on its period — its `retention applied` log lines, one audit entry per
// command in `daisydog audit verify` — without deleting the turns just sent.
func TestMetricsPrivacyAndRetention(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	// debug: the job logs `retention applied` at info only when it deleted
	// something, and nothing here is old enough.
	backups := filepath.Join(t.TempDir(), "backups")
	c := startCluster(t, 1, "--retain-turns-days", "30", "--retain-safety-days", "60", "--retain-sessions-days", "7",
		"--retention-every", "2s", "--log-level", "debug", "--backup-dir", backups, "--backup-every", "1s", "--backup-keep", "2",
		// a model provider (never asked: no child has AI mode), so that the
		// metrics about it are exported for the check of the alert rules
		"--ai-url", "http://127.0.0.1:9/v1", "--ai-model", "stand-in")
	n := c.nodes[0]
	c.waitLeader(c.nodes, 0)
	f := c.newFamily(n, "", "")
	msgs := []string{"hello daisy, do you like penguins", "tell me a joke about pancakes", "what is your favourite colour"}
	var sent []turn
	for _, msg := range msgs {
		tu, _ := c.chatUntilAcked(n, f, msg, 30*time.Second)
		sent = append(sent, tu)
	}

	// (a) Prometheus text format, from loopback without a token.
	r := c.api.must(200, "GET", n.url("/metrics"), "", nil)
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("GET /metrics Content-Type %q, want the Prometheus text format 0.0.4", ct)
	}
	body := string(r.Body)
	if !strings.Contains(body, "\n# TYPE daisydog_http_requests_total counter\n") {
		t.Errorf("GET /metrics has no counter family daisydog_http_requests_total:\n%s", tail(body, 40, 4<<10))
	}
	turnCount, ok := promSample(body, "daisydog_turn_duration_seconds_count")
	if !ok || turnCount < float64(len(msgs)) {
		t.Errorf("daisydog_turn_duration_seconds_count = %v (present %t), want at least the %d turns sent", turnCount, ok, len(msgs))
	}
	for _, secret := range append([]string{f.nickname, f.email}, msgs...) {
		if strings.Contains(body, secret) {
			t.Errorf("GET /metrics holds %q (chat text or personal data)", secret)
		}
	}
	// The alert rules and dashboard the binary prints name only series this
	// running binary exports (histograms by their _bucket/_sum/_count).
	for _, what := range []string{"alerts", "dashboard"} {
		out, err := cli("monitoring", what)
		if err != nil {
			t.Fatalf("daisydog monitoring %s: %v", what, err)
		}
		names := regexp.MustCompile(`\bdaisydog_[a-z0-9_]+`).FindAllString(out, -1)
		if len(names) < 10 {
			t.Fatalf("daisydog monitoring %s names %d metrics", what, len(names))
		}
		for _, m := range names {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(m, suffix); ok && strings.Contains(body, "\n# TYPE "+b+" histogram\n") {
					base = b
				}
			}
			if !strings.Contains(body, "\n# TYPE "+base+" ") {
				t.Errorf("daisydog monitoring %s uses %s, which this node does not export", what, m)
			}
		}
	}

	// (b) The privacy notice publishes the days the flags set.
	var notice struct {
		DataClasses []struct {
			Class         string `json:"class"`
			RetentionDays int    `json:"retention_days"`
			Retention     string `json:"retention"`
		} `json:"data_classes"`
	}
	c.api.must(200, "GET", n.url("/v1/privacy"), "", nil).decode(t, &notice)
	want := map[string]int{"chat_turns": 30, "safety_events": 60, "parent_sessions": 7}
	for _, dc := range notice.DataClasses {
		if days, ok := want[dc.Class]; ok {
			if dc.RetentionDays != days || !strings.Contains(dc.Retention, fmt.Sprintf("deleted %d days after", days)) {
				t.Errorf("privacy notice: %s kept %d days (%q), want %d", dc.Class, dc.RetentionDays, dc.Retention, days)
			}
			delete(want, dc.Class)
		}
	}
	if len(want) > 0 {
		t.Errorf("privacy notice lacks the data classes %v", want)
	}

	// (c) The retention job runs every 2 s (without the flag the first run
	// would come a minute after the election, the next an hour later).
	// Entries before: read before the log, so every run logged after the
	// log was read ran its commands after this count — certainly from the
	// second one on, the first may have been under way.
	before := auditEntries(t, n)
	runsBefore := len(retentionRuns(t, n.proc.stderrText()))
	var runs []retentionRun
	waitFor(t, 15*time.Second, "two runs of the retention job after the turns", func() (bool, string) {
		c.mustRun(n)
		runs = retentionRuns(t, n.proc.stderrText())[runsBefore:]
		return len(runs) >= 2, fmt.Sprintf("%d runs logged after the turns (%d before)", len(runs), runsBefore)
	})
	commands := 0
	for i, run := range runs {
		if run.Commands < 1 || run.Turns != 0 || run.SafetyEvents != 0 || run.RefreshTokens != 0 || run.Sessions != 0 {
			t.Errorf("retention run %+v, want at least one command and nothing deleted (nothing is old enough)", run)
		}
		if i > 0 {
			commands += run.Commands
		}
	}
	// Every command appends one retention_applied entry to the audit log.
	after := auditEntries(t, n)
	if after-before < commands {
		t.Errorf("audit log grew by %d entries (%d → %d) over retention runs of %d commands, want at least one entry per command", after-before, before, after, commands)
	}

	t.Logf("turns counted in /metrics: %v; retention runs after the turns: %+v; audit log: %d → %d entries", turnCount, runs, before, after)

	// (d) Scheduled backups (--backup-dir, every second, keep 2): each run
	// writes a backup, verifies it and deletes the oldest beyond two.
	var files []string
	waitFor(t, 20*time.Second, "three scheduled backups written and verified, two kept", func() (bool, string) {
		c.mustRun(n)
		written := strings.Count(n.proc.stderrText(), "scheduled backup written and verified")
		files, _ = filepath.Glob(filepath.Join(backups, "daisydog-n1-*.ddbk"))
		return written >= 3 && len(files) == 2, fmt.Sprintf("%d runs logged, %d files %v", written, len(files), files)
	})
	if strings.Contains(n.proc.stderrText(), "scheduled backup failed") {
		t.Errorf("a scheduled backup failed:\n%s", tail(n.proc.stderrText(), 20, 4<<10))
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
			t.Errorf("backup %s: %v %v", f, st, err)
		}
	}

	// Nothing recent was deleted: the child and the parent still read every
	// turn just sent.
	for _, parent := range []bool{false, true} {
		have := map[string]bool{}
		for _, tu := range c.history(n, f, parent) {
			have[tu.ID] = true
		}
		for _, tu := range sent {
			if !have[tu.ID] {
				t.Errorf("turn %s (seq %d) is gone from the history (parent view %t) after the retention runs", tu.ID, tu.Seq, parent)
			}
		}
	}
}

// promSample returns the value of the unlabelled sample name in a
// Prometheus text exposition.
func promSample(body, name string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// retentionRun is one `retention applied` line of a node's JSON log.
type retentionRun struct {
	Turns         int `json:"turns"`
	SafetyEvents  int `json:"safety_events"`
	RefreshTokens int `json:"refresh_tokens"`
	Sessions      int `json:"sessions"`
	Commands      int `json:"commands"`
}

// retentionRuns returns the retention runs logged in stderr, oldest first.
func retentionRuns(t *testing.T, stderr string) []retentionRun {
	t.Helper()
	var runs []retentionRun
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"msg":"retention applied"`) {
			continue
		}
		var run retentionRun
		if err := json.Unmarshal(line, &run); err != nil {
			t.Fatalf("a retention log line that is not JSON: %v\n%s", err, line)
		}
		runs = append(runs, run)
	}
	return runs
}

// auditEntries is the number of entries `daisydog audit verify` finds in
// n's audit log; it fails the test unless the chain is intact.
func auditEntries(t *testing.T, n *node) int {
	t.Helper()
	out, err := cli("audit", "verify", "--data", n.dir)
	if err != nil {
		t.Fatal(err)
	}
	var entries int
	if _, err := fmt.Sscanf(out, "audit log OK: %d entries", &entries); err != nil || !strings.Contains(out, "hash chain intact") {
		t.Fatalf("audit verify on %s: %q", n.id, out)
	}
	return entries
}
