package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
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
	_, self, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(self))
	image := "daisydog-e2e:" + id
	ctx := t.TempDir()
	bin, err := os.ReadFile(daisydogBin)
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repo, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "daisydog"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	docker(t, "build", "-q", "-t", image, ctx)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}

// TestContainerClusterSurvivesLeaderKill runs three nodes as FROM-scratch
// containers on a private Docker network, each with its own address, kills
// the leader's container with SIGKILL under writes, and checks that every
// acknowledged turn is on every node after the killed one restarts (with the
// same command line, which serves the existing data).
func TestContainerClusterSurvivesLeaderKill(t *testing.T) {
	dockerAvailable(t)
	id := strings.ToLower(randLetters(6))
	image, network := buildImage(t, id), "dd-e2e-"+id
	docker(t, "network", "create", network)
	names := []string{"dd-" + id + "-n1", "dd-" + id + "-n2", "dd-" + id + "-n3"}
	t.Cleanup(func() {
		for _, n := range names {
			if t.Failed() {
				out, _ := exec.Command("docker", "logs", "--tail", "40", n).CombinedOutput()
				t.Logf("--- %s logs:\n%s", n, out)
			}
			exec.Command("docker", "rm", "-f", n).Run()
		}
		exec.Command("docker", "network", "rm", network).Run()
	})

	common := func(i int) []string {
		return []string{"--data", "/data", "--node-id", fmt.Sprintf("n%d", i+1), "--http", "0.0.0.0:8443", "--raft", "0.0.0.0:9443",
			"--advertise-http", names[i] + ":8443", "--advertise-raft", names[i] + ":9443", "--log-level", "warn"}
	}
	run := func(i int, cmd ...string) {
		args := append([]string{"run", "-d", "--name", names[i], "--network", network, "-p", "127.0.0.1::8443", image}, cmd...)
		docker(t, append(args, common(i)...)...)
	}
	run(0, "init")
	tokenRE := regexp.MustCompile(`ddj1\.[0-9a-f]{64}\.[0-9a-f]{64}`)
	var token string
	waitFor(t, 30*time.Second, "join token in n1's output", func() (bool, string) {
		out, _ := exec.Command("docker", "logs", names[0]).CombinedOutput()
		token = tokenRE.FindString(string(out))
		return token != "", "no token yet"
	})
	run(1, "join", "--join", names[0]+":8443", "--token", token)
	run(2, "join", "--join", names[0]+":8443", "--token", token)

	caFile := filepath.Join(t.TempDir(), "ca.crt")
	docker(t, "cp", names[0]+":/data/tls/ca.crt", caFile)
	api := newAPIClient(t, caFile)
	base := func(i int) string { return "https://" + docker(t, "port", names[i], "8443/tcp") }
	status := func(i int) (nodeStatus, error) {
		out, err := exec.Command("docker", "exec", names[i], "/daisydog", "cluster", "status", "--data", "/data").Output()
		var st nodeStatus
		if err == nil {
			err = json.Unmarshal(out, &st)
		}
		return st, err
	}
	ready := func(i int) {
		waitFor(t, 60*time.Second, names[i]+" ready with 3 voters", func() (bool, string) {
			r, err := api.get(base(i)+"/readyz", "")
			if err != nil || r.Status != 200 {
				return false, fmt.Sprint(r, err)
			}
			st, err := status(i)
			return err == nil && st.voters() == 3, fmt.Sprint(st, err)
		})
	}
	for i := range names {
		ready(i)
	}

	// A family through a follower-or-leader, chats through all three.
	email := "docker-" + id + "@example.test"
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	api.must(201, "POST", base(1)+"/v1/parents/signup", "", creds)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	api.must(200, "POST", base(1)+"/v1/auth/login", "", creds).decode(t, &login)
	var child struct{ ID string }
	api.must(201, "POST", base(1)+"/v1/children", login.AccessToken, map[string]string{"nickname": "Dock", "age_tier": "9-12"}).decode(t, &child)
	var code struct{ Code string }
	api.must(201, "POST", base(1)+"/v1/children/"+child.ID+"/link-codes", login.AccessToken, nil).decode(t, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	api.must(201, "POST", base(1)+"/v1/devices/link", "", map[string]string{"code": code.Code}).decode(t, &dev)

	acked := map[string]bool{}
	chat := func(i int, msg string) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := api.do("POST", base(i)+"/v1/chat", dev.AccessToken, map[string]string{"message": msg})
			if err == nil && r.Status == 200 {
				var tr struct{ Turn struct{ ID string } }
				r.decode(t, &tr)
				acked[tr.Turn.ID] = true
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("chat via %s: %v %v", names[i], r, err)
			}
		}
	}
	for k := 0; k < 15; k++ {
		chat(k%3, fmt.Sprintf("hello daisy %d", k))
	}

	st, err := status(0)
	if err != nil {
		t.Fatal(err)
	}
	leader := -1
	for i := range names {
		if "n"+fmt.Sprint(i+1) == st.LeaderID {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("no leader in %v", st)
	}
	docker(t, "kill", names[leader]) // SIGKILL
	var survivors []int
	for i := range names {
		if i != leader {
			survivors = append(survivors, i)
		}
	}
	for k := 0; k < 15; k++ {
		chat(survivors[k%2], fmt.Sprintf("after the kill %d", k))
	}
	docker(t, "start", names[leader]) // same command line: serves the existing data
	ready(leader)

	for i := range names {
		waitFor(t, 30*time.Second, "all acknowledged turns on "+names[i], func() (bool, string) {
			r, err := api.get(base(i)+"/v1/children/"+child.ID+"/turns?limit=100", login.AccessToken)
			if err != nil || r.Status != 200 {
				return false, fmt.Sprint(r, err)
			}
			var h struct{ Turns []struct{ ID string } }
			r.decode(t, &h)
			got := map[string]bool{}
			for _, tu := range h.Turns {
				got[tu.ID] = true
			}
			for id := range acked {
				if !got[id] {
					return false, fmt.Sprintf("missing %s (%d of %d)", id, len(got), len(acked))
				}
			}
			return len(got) == len(acked), fmt.Sprintf("%d turns, %d acknowledged", len(got), len(acked))
		})
	}
}
