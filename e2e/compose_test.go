package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// composeAvailable skips the test when docker-compose is missing, except
// in CI (CI=true), where `make test` installs it.
func composeAvailable(t *testing.T) string {
	t.Helper()
	dockerAvailable(t)
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("docker-compose is required in CI (make test installs the docker-compose package) but it is not on PATH")
	}
	t.Skip("docker-compose not on PATH; skipping the compose file's test (apt-get install -y docker-compose)")
	return ""
}

// TestComposeCluster follows deploy/compose/docker-compose.yml's own
// instructions with the run's image: n1 up, its join token from its log,
// n2 and n3 up with it; the three form one cluster (a parent signed up
// through n1 logs in through n3, and each node's own `cluster status`
// counts three voters); n1 restarted by compose (the same init command
// line) serves its data again.
func TestComposeCluster(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	compose := composeAvailable(t)
	image := sharedImage(t)
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(repo, "deploy", "compose", "docker-compose.yml")
	project := "dde2e" + strings.ToLower(randLetters(6))
	ports := freeAddrs(t, 3)
	env := append(os.Environ(), "DAISYDOG_IMAGE="+image, "DAISYDOG_BIND=127.0.0.1")
	for i, a := range ports {
		_, port, _ := net.SplitHostPort(a)
		env = append(env, "DAISYDOG_PORT"+string(rune('1'+i))+"="+port)
	}
	run := func(extraEnv []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(compose, append([]string{"-f", file, "-p", project}, args...)...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(compose, "-f", file, "-p", project, "logs", "--tail", "30")
			cmd.Env = env
			out, _ := cmd.CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		cmd := exec.Command(compose, "-f", file, "-p", project, "down", "-v", "--timeout", "10")
		cmd.Env = env
		cmd.Run()
	})

	run(nil, "up", "-d", "n1")
	tokenRE := regexp.MustCompile(`ddj1\.[0-9a-f]{64}\.[0-9a-f]{64}`)
	var token string
	waitFor(t, startTimeout, "the join token in n1's log", func() (bool, string) {
		token = tokenRE.FindString(run(nil, "logs", "n1"))
		return token != "", "not yet"
	})
	run([]string{"DAISYDOG_JOIN_TOKEN=" + token}, "up", "-d", "n2", "n3")

	n1 := strings.TrimSpace(run(nil, "ps", "-q", "n1"))
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	docker(t, "cp", n1+":/data/tls/ca.crt", caFile)
	api := newAPIClient(t, caFile)
	for _, a := range ports {
		waitFor(t, startTimeout, "https://"+a+"/readyz", func() (bool, string) {
			r, err := api.get("https://"+a+"/readyz", "")
			if err != nil {
				return false, err.Error()
			}
			return r.Status == 200, r.String()
		})
	}
	for _, svc := range []string{"n1", "n2", "n3"} {
		id := strings.TrimSpace(run(nil, "ps", "-q", svc))
		waitFor(t, startTimeout, svc+" sees three voters", func() (bool, string) {
			out, err := exec.Command("docker", "exec", id, "/daisydog", "cluster", "status", "--data", "/data").CombinedOutput()
			return err == nil && strings.Count(string(out), `"Voter"`) == 3, string(out)
		})
	}
	creds := map[string]string{"email": "compose@example.com", "password": "a long passphrase here"}
	api.must(201, "POST", "https://"+ports[0]+"/v1/parents/signup", "", creds)
	waitFor(t, startTimeout, "log in through n3", func() (bool, string) {
		r, err := api.do("POST", "https://"+ports[2]+"/v1/auth/login", "", creds)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})

	run(nil, "restart", "--timeout", "30", "n1")
	waitFor(t, startTimeout, "n1 serving again after its restart", func() (bool, string) {
		r, err := api.do("POST", "https://"+ports[0]+"/v1/auth/login", "", creds)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})
	if logs := run(nil, "logs", "n1"); strings.Count(logs, "Initialised cluster node") != 1 {
		t.Fatalf("n1 initialised %d times, want once (a restart serves the data already there)", strings.Count(logs, "Initialised cluster node"))
	}
}
