package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// daisydogBin is the absolute path of the binary under test.
var daisydogBin string

// policyCache is the compiled-policy cache every cluster node of the run
// shares (--policy-cache): the default policy compiles once per run instead
// of once per node (~3 s of CPU each). Nodes started without a cluster
// (single-node tests) keep the default under their data directory.
var policyCache string

// parallelTests: most tests here start their own cluster (processes on
// loopback ports drawn by freeport, or containers on private networks with
// the run's one image) and call t.Parallel(); `make e2e` runs two at a time
// (-parallel 2), which keeps the two cores busy while one test waits for an
// election, a restart or its load. A test stays sequential when it asserts
// that no request fails under its own load (TestPolicyPushUnderLoad: a
// neighbour's load must not decide it) or checks the harness itself. None
// sets the test process's environment (t.Setenv would forbid t.Parallel):
// what a node needs goes to its process (env.environ). The bench test runs
// beside others: it checks what bench reports, not how fast the machine is.

func TestMain(m *testing.M) {
	bin, err := findBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	// Run a private copy: other work in the repository may rebuild
	// bin/daisydog while the suite runs.
	tmp, err := os.MkdirTemp("", "daisydog-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	daisydogBin = filepath.Join(tmp, "daisydog")
	policyCache = filepath.Join(tmp, "policy-cache")
	if err := os.Mkdir(policyCache, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	if err := copyExecutable(bin, daisydogBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: copying the binary under test:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	removeSharedImage()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// findBinary returns $DAISYDOG_BIN, or builds the binary with `make build`
// at the repository root and returns <root>/bin/daisydog.
func findBinary() (string, error) {
	if bin := os.Getenv("DAISYDOG_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return "", fmt.Errorf("DAISYDOG_BIN=%s: %w", bin, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("DAISYDOG_BIN=%s is not an executable file", bin)
		}
		return abs, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "-C", root, "build")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("DAISYDOG_BIN is not set and `make -C %s build` failed: %v\n%s", root, err, out)
	}
	bin := filepath.Join(root, "bin", "daisydog")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("`make build` succeeded but %s is missing: %w", bin, err)
	}
	return bin, nil
}

// repoRoot walks up from the working directory (the package directory under
// `go test`) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
