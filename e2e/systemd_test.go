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

// TestDebianPackage builds the Debian package of the binary under test
// (deploy/debian/build-deb.sh, `make deb`) and checks what an operator
// installs: its control fields, every file with its owner and mode, the
// binary in it runs, its unit starts /usr/bin/daisydog and systemd accepts
// it, and the maintainer scripts — run with stand-ins for the commands that
// need root — create the system user and the 0700 data directory once,
// never enable or start the service, and keep the data on purge.
func TestDebianPackage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dpkg-deb is required in CI but not available: %v", err)
		}
		t.Skipf("dpkg-deb not available (%v); skipping the package check", err)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	build := exec.Command("sh", filepath.Join(root, "deploy", "debian", "build-deb.sh"), daisydogBin, "v1.4.0-3-gabc1234", out)
	build.Env = append(os.Environ(), "DEB_COMPRESSION=gzip") // xz takes half a minute here
	b, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b))
	if !strings.HasSuffix(deb, "/daisydog_1.4.0+3+gabc1234_"+debArch(t)+".deb") {
		t.Fatalf("build-deb.sh wrote %q", deb)
	}
	for field, want := range map[string]string{"Package": "daisydog", "Version": "1.4.0+3+gabc1234", "Architecture": debArch(t), "Depends": "passwd"} {
		got, err := exec.Command("dpkg-deb", "--field", deb, field).Output()
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("control field %s = %q (%v), want %q", field, strings.TrimSpace(string(got)), err, want)
		}
	}
	contents, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{} // path → "mode owner"
	for _, line := range strings.Split(strings.TrimSpace(string(contents)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 {
			files[f[len(f)-1]] = f[0] + " " + f[1]
		}
	}
	for path, want := range map[string]string{
		"./":                                     "drwxr-xr-x root/root",
		"./usr/bin/daisydog":                     "-rwxr-xr-x root/root",
		"./lib/systemd/system/daisydog.service":  "-rw-r--r-- root/root",
		"./usr/share/doc/daisydog/operations.md": "-rw-r--r-- root/root",
		"./usr/share/doc/daisydog/README.md":     "-rw-r--r-- root/root",
		"./usr/share/doc/daisydog/security.md":   "-rw-r--r-- root/root",
	} {
		if files[path] != want {
			t.Errorf("%s: %q, want %q", path, files[path], want)
		}
	}
	for path := range files {
		if !strings.HasPrefix(path, "./usr/") && !strings.HasPrefix(path, "./lib/") && path != "./" {
			t.Errorf("the package installs %s, outside /usr and /lib", path)
		}
	}

	// What it installs works.
	tree := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, b)
	}
	if b, err := exec.Command(filepath.Join(tree, "usr", "bin", "daisydog"), "version").CombinedOutput(); err != nil {
		t.Fatalf("the packaged binary: %v\n%s", err, b)
	}
	unit, err := os.ReadFile(filepath.Join(tree, "lib", "systemd", "system", "daisydog.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nExecStart=/usr/bin/daisydog serve --data /var/lib/daisydog\n") || strings.Contains(string(unit), "/usr/local/bin") {
		t.Fatalf("the packaged unit does not start /usr/bin/daisydog:\n%s", unit)
	}
	if tool, err := exec.LookPath("systemd-analyze"); err == nil {
		file := filepath.Join(t.TempDir(), "daisydog.service")
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(unit), "/usr/bin/daisydog", filepath.Join(tree, "usr", "bin", "daisydog"))), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(tool, "verify", file).CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
			t.Fatalf("systemd-analyze verify of the packaged unit: %v\n%s", err, b)
		}
	}

	// The maintainer scripts, with stand-ins logging what they would do.
	ctl := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "--control", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --control: %v\n%s", err, b)
	}
	run := func(script string, userExists bool, args ...string) []string {
		t.Helper()
		stubs := t.TempDir()
		log := filepath.Join(stubs, "calls")
		getent := "exit 2"
		if userExists {
			getent = "exit 0"
		}
		for name, body := range map[string]string{"getent": getent, "groupadd": "", "useradd": "", "install": "", "systemctl": "", "deb-systemd-helper": "", "userdel": ""} {
			sh := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\n" + body + "\n"
			if err := os.WriteFile(filepath.Join(stubs, name), []byte(sh), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("/bin/sh", append([]string{filepath.Join(ctl, script)}, args...)...)
		cmd.Env = []string{"PATH=" + stubs + ":/usr/bin:/bin"}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, b)
		}
		calls, _ := os.ReadFile(log)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
			if l != "" && !strings.HasPrefix(l, "getent ") {
				out = append(out, l)
			}
		}
		return out
	}
	first := strings.Join(run("postinst", false, "configure"), "\n")
	for _, want := range []string{"groupadd --system daisydog", "useradd --system --gid daisydog --home-dir /var/lib/daisydog --no-create-home --shell /usr/sbin/nologin",
		"install -d -m 0700 -o daisydog -g daisydog /var/lib/daisydog"} {
		if !strings.Contains(first, want) {
			t.Errorf("postinst configure (new user) did not run %q; it ran:\n%s", want, first)
		}
	}
	again := strings.Join(run("postinst", true, "configure"), "\n")
	if strings.Contains(again, "useradd") || strings.Contains(again, "groupadd") || !strings.Contains(again, "install -d -m 0700") {
		t.Errorf("postinst configure (user exists) ran:\n%s", again)
	}
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		for _, args := range [][]string{{"configure"}, {"remove"}, {"purge"}, {"upgrade"}} {
			for _, call := range run(script, true, args...) {
				if strings.Contains(call, "enable") || strings.Contains(call, "start") || strings.HasPrefix(call, "userdel") {
					t.Errorf("%s %s ran %q: the package never enables or starts the service, nor removes the user", script, args[0], call)
				}
			}
		}
	}
}

// debArch is dpkg's name of this machine's architecture.
func debArch(t *testing.T) string {
	t.Helper()
	b, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatalf("dpkg --print-architecture: %v", err)
	}
	return strings.TrimSpace(string(b))
}
