package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

// buildImage builds the FROM-scratch image (deploy/Dockerfile) around the
// binary under test, tagged with id, and removes it when the test ends.
func buildImage(t *testing.T, id string) string {
	t.Helper()
	return buildImageOf(t, id, daisydogBin)
}

// buildImageOf builds the FROM-scratch image of deploy/Dockerfile around
// the binary bin, tagged daisydog-e2e:ID.
func buildImageOf(t *testing.T, id, bin string) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(self))
	image := "daisydog-e2e:" + id
	ctx := t.TempDir()
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repo, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "daisydog"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	docker(t, "build", "-q", "-t", image, ctx)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}
