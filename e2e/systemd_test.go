package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit checks deploy/systemd/daisydog.service, the unit an
// operator installs: systemd accepts it (`systemd-analyze verify`), its
// sandbox keeps the exposure systemd computes at 2.0 or below (`security
// --offline`, 0 = locked down, 10 = none), and the command line it runs
// is one this binary accepts (on a directory without a node it asks for
// init or join, rather than failing on a flag). The machine has no
// systemd as PID 1, so the unit is analysed, not run.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("systemd-analyze is required in CI but not available: %v", err)
		}
		t.Skipf("systemd-analyze not available (%v); skipping the systemd unit check", err)
	}
	unit, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", "daisydog.service"))
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/daisydog"
	if strings.Count(string(unit), "ExecStart="+installed+" ") != 1 {
		t.Fatalf("the unit does not start %s exactly once", installed)
	}
	file := filepath.Join(t.TempDir(), "daisydog.service")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(unit), installed, daisydogBin)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "verify", file).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(tool, "security", "--offline=true", "--threshold=20", file).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for daisydog\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level (%v):\n%s", err, out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd exposure level: %.1f", level)
	if err != nil || level > 2.0 {
		t.Fatalf("exposure %.1f (above 2.0?), %v:\n%s", level, err, out)
	}

	// The unit's command line, on a data directory without a node.
	var args []string
	for _, line := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="+installed+" "); ok {
			args = strings.Fields(strings.ReplaceAll(rest, "/var/lib/daisydog", filepath.Join(t.TempDir(), "data")))
		}
	}
	run, err := exec.Command(daisydogBin, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(run), "run 'daisydog init' or 'daisydog join' first") {
		t.Fatalf("daisydog %s: %v\n%s", strings.Join(args, " "), err, run)
	}
}
