package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSingleNodeRun checks `daisydog run` on a fresh directory: it prints
// the URL and how to log in, becomes ready, and the printed instructions
// work. It also checks the binary is static.
func TestSingleNodeRun(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	e := newEnv(t)
	addrs := freeAddrs(t, 2)
	dir := filepath.Join(e.root, "single")
	p := e.start("run", "run", "--data", dir, "--http", addrs[0], "--raft", addrs[1])
	url := "https://" + addrs[0]
	caPath, _ := filepath.Abs(filepath.Join(dir, "tls", "ca.crt"))

	waitFor(t, startTimeout, "`daisydog run` to print its URL", func() (bool, string) {
		out := p.stdoutText()
		if p.exited() {
			t.Fatalf("daisydog run %s; stdout:\n%s\nstderr tail:\n%s", p.state(), out, tail(p.stderrText(), 30, 8<<10))
		}
		return strings.Contains(out, url), "stdout so far: " + out
	})
	out := p.stdoutText()
	for _, want := range []string{url, caPath, "/v1/parents/signup", "/v1/auth/login"} {
		if !strings.Contains(out, want) {
			t.Errorf("`daisydog run` stdout does not mention %q:\n%s", want, out)
		}
	}

	api := newAPIClient(t, caPath)
	waitFor(t, startTimeout, "/readyz to answer 200", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog run %s", p.state())
		}
		r, err := api.get(url+"/readyz", "")
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})

	// Follow the printed instructions.
	creds := map[string]string{"email": "parent@example.com", "password": "a long passphrase here"}
	api.must(201, "POST", url+"/v1/parents/signup", "", creds)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	api.must(200, "POST", url+"/v1/auth/login", "", creds).decode(t, &login)
	if login.AccessToken == "" {
		t.Error("login returned no access token")
	}

	p.signal(syscall.SIGTERM)
	if !p.wait(stopTimeout) {
		t.Fatalf("daisydog run did not exit within %v of SIGTERM", stopTimeout)
	}
	if p.err != nil {
		t.Errorf("daisydog run exited uncleanly after SIGTERM: %v", p.err)
	}

	t.Run("static binary", func(t *testing.T) {
		ldd, err := exec.LookPath("ldd")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("ldd is not installed; CI must be able to check the binary is static")
			}
			t.Skip("ldd is not installed")
		}
		out, _ := exec.Command(ldd, daisydogBin).CombinedOutput() // exits 1 for a static binary
		if !strings.Contains(string(out), "not a dynamic executable") {
			t.Errorf("ldd %s says:\n%s\nwant \"not a dynamic executable\"", daisydogBin, out)
		}
	})
}
