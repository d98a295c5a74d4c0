package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dockerAvailable skips the test when no Docker engine answers, except in CI
// (CI=true), where a missing engine is a failure.
func dockerAvailable(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Docker is required in CI but not available: %v %s", err, out)
	}
	t.Skipf("Docker engine not available (%v); skipping the container cluster test", err)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// runImage is the image of the binary under test, built once per run by
// the first container test that needs it (tests run in parallel) and
// removed by TestMain.
var runImage struct {
	once sync.Once
	name string
	err  error
}

// sharedImage returns the run's image of the binary under test.
func sharedImage(t *testing.T) string {
	t.Helper()
	runImage.once.Do(func() {
		runImage.name, runImage.err = makeImage("run-"+strings.ToLower(randLetters(6)), daisydogBin)
	})
	if runImage.err != nil {
		t.Fatal(runImage.err)
	}
	return runImage.name
}

// removeSharedImage removes the run's image, if one was built.
func removeSharedImage() {
	if runImage.name != "" {
		exec.Command("docker", "rmi", "-f", runImage.name).Run()
	}
}

// buildImageOf builds the FROM-scratch image of deploy/Dockerfile around
// the binary bin, tagged daisydog-e2e:ID, and removes it when the test ends.
func buildImageOf(t *testing.T, id, bin string) string {
	t.Helper()
	image, err := makeImage(id, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}

// makeImage builds the FROM-scratch image of deploy/Dockerfile around the
// binary bin, tagged daisydog-e2e:ID.
func makeImage(id, bin string) (string, error) {
	repo, err := repoRoot()
	if err != nil {
		return "", err
	}
	image := "daisydog-e2e:" + id
	ctx, err := os.MkdirTemp("", "daisydog-e2e-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(ctx)
	exe, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	dockerfile, err := os.ReadFile(filepath.Join(repo, "deploy", "Dockerfile"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(ctx, "daisydog"), exe, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), dockerfile, 0o644); err != nil {
		return "", err
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", image, ctx).CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build -t %s: %v: %s", image, err, out)
	}
	return image, nil
}
