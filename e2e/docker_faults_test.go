package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerNet is a three-node cluster of FROM-scratch containers, each on two
// private networks: "api" (the HTTPS API, published on a loopback port of
// the host for the test's clients) and "raft" (the cluster port, which each
// node advertises under an alias that resolves on that network only).
// Disconnecting a container from the raft network cuts it off from the
// other nodes while its API stays reachable.
type dockerNet struct {
	t        *testing.T
	names    []string
	raftNet  string
	aliases  []string
	clusterC *cluster
	// create makes and starts container i again with image and tuning,
	// its first command line otherwise (the same name, networks, ports
	// and /data); replace uses it.
	create func(i int, image string, tuning []string)
}

// startDockerCluster builds the image and starts the cluster; the result
// works with the load client, the checker and the cluster helpers.
func startDockerCluster(t *testing.T, tuning ...string) (*cluster, *dockerNet) {
	t.Helper()
	return startDockerClusterOn(t, nil, tuning...)
}

// startDockerClusterOn is startDockerCluster with each node's /data
// bind-mounted from a directory of this host (dataDirs[i], which becomes
// the node's dir); nil keeps /data inside the containers.
func startDockerClusterOn(t *testing.T, dataDirs []string, tuning ...string) (*cluster, *dockerNet) {
	t.Helper()
	dockerAvailable(t)
	return startDockerClusterImage(t, sharedImage(t), dataDirs, tuning...)
}

// startDockerClusterImage is startDockerClusterOn with the given image.
func startDockerClusterImage(t *testing.T, image string, dataDirs []string, tuning ...string) (*cluster, *dockerNet) {
	t.Helper()
	id := strings.ToLower(randLetters(6))
	apiNet, raftNet := "dd-e2e-"+id+"-api", "dd-e2e-"+id+"-raft"
	dn := &dockerNet{t: t, raftNet: raftNet}
	c := &cluster{env: newEnv(t), tuning: tuning}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("dd-%s-n%d", id, i)
		dn.names = append(dn.names, name)
		dn.aliases = append(dn.aliases, name+"-raft")
		n := &node{id: fmt.Sprintf("n%d", i)}
		if dataDirs != nil {
			n.dir = dataDirs[i-1]
		}
		c.nodes = append(c.nodes, n)
	}
	dn.clusterC = c
	docker(t, "network", "create", apiNet)
	docker(t, "network", "create", raftNet)
	t.Cleanup(func() {
		for _, n := range dn.names {
			if t.Failed() {
				out, _ := exec.Command("docker", "logs", "--tail", "40", n).CombinedOutput()
				t.Logf("--- %s logs:\n%s", n, out)
			}
		}
		// A clean stop lets each node write its coverage counters; one
		// command stops the three at once.
		exec.Command("docker", append([]string{"stop", "--time", "10"}, dn.names...)...).Run()
		exec.Command("docker", append([]string{"rm", "-f"}, dn.names...)...).Run()
		exec.Command("docker", "network", "rm", apiNet).Run()
		exec.Command("docker", "network", "rm", raftNet).Run()
	})

	// A fixed host port per container: a restarted container keeps its
	// address, so nothing that load goroutines read changes under them.
	published := freeAddrs(t, 3)
	cmds := make([][]string, 3)
	dn.create = func(i int, image string, tuning []string) {
		args := []string{"create", "--name", dn.names[i], "--network", apiNet, "-p", published[i] + ":8443"}
		if dataDirs != nil {
			args = append(args, "-v", dataDirs[i]+":/data")
		}
		// One compiled-policy cache for the run, as the processes share.
		args = append(args, "-v", policyCache+":/policy-cache")
		if dir := os.Getenv("GOCOVERDIR"); dir != "" {
			// The image's binary is the one under test, built with coverage
			// counters in `make e2e`: collect them like the processes'.
			args = append(args, "-e", "GOCOVERDIR=/cover", "-v", dir+":/cover")
		}
		args = append(args, image)
		args = append(args, cmds[i]...)
		args = append(args, "--data", "/data", "--node-id", c.nodes[i].id, "--http", "0.0.0.0:8443", "--raft", "0.0.0.0:9443",
			"--advertise-http", dn.names[i]+":8443", "--advertise-raft", dn.aliases[i]+":9443", "--log-level", "warn",
			"--policy-cache", "/policy-cache")
		docker(t, append(args, tuning...)...)
		dn.connect(i)
		docker(t, "start", dn.names[i])
	}
	start := func(i int, cmd ...string) {
		cmds[i] = cmd
		dn.create(i, image, tuning)
	}
	begin := time.Now()
	start(0, "init")
	tokenRE := regexp.MustCompile(`ddj1\.[0-9a-f]{64}\.[0-9a-f]{64}`)
	var token string
	waitFor(t, 30*time.Second, "join token in n1's output", func() (bool, string) {
		out, _ := exec.Command("docker", "logs", dn.names[0]).CombinedOutput()
		token = tokenRE.FindString(string(out))
		return token != "", "no token yet"
	})
	for i := 1; i < 3; i++ {
		start(i, "join", "--join", dn.names[0]+":8443", "--token", token)
	}
	c.caFile = filepath.Join(t.TempDir(), "ca.crt")
	docker(t, "cp", dn.names[0]+":/data/tls/ca.crt", c.caFile)
	c.api = newAPIClient(t, c.caFile)
	for i, n := range c.nodes {
		n.httpAddr = published[i]
	}
	c.aliveOf = func(n *node) error {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", dn.name(n)).Output()
		if err != nil || strings.TrimSpace(string(out)) != "true" {
			return fmt.Errorf("container %s is not running (%v %s)", dn.name(n), err, out)
		}
		return nil
	}
	c.statusOf = func(n *node) (nodeStatus, error) {
		// Ask the node's own cluster port inside its container, which
		// works while the node is cut off from the raft network.
		out, err := exec.Command("docker", "exec", dn.name(n), "/daisydog", "cluster", "status", "--data", "/data", "--addr", "127.0.0.1:9443").Output()
		var st nodeStatus
		if err == nil {
			err = json.Unmarshal(out, &st)
		}
		return st, err
	}
	c.killOf = func(n *node) { docker(t, "kill", "--signal", "KILL", dn.name(n)) }
	c.stopOf = func(n *node) error {
		// docker stop sends SIGTERM, then SIGKILL after the grace period.
		docker(t, "stop", "--time", fmt.Sprint(int(stopTimeout.Seconds())), dn.name(n))
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", dn.name(n)).Output()
		if err != nil {
			return fmt.Errorf("docker inspect: %w", err)
		}
		if got := strings.TrimSpace(string(out)); got != "0 false" {
			return fmt.Errorf("container exited with code and OOM flag %q, want \"0 false\"", got)
		}
		return nil
	}
	c.restartOf = func(n *node) {
		// Same container, same command line, same /data, same host port.
		docker(t, "start", dn.name(n))
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	c.waitMembers(c.nodes, 3)
	t.Logf("container cluster of 3 ready in %v", time.Since(begin).Round(time.Millisecond))
	return c, dn
}

func (dn *dockerNet) index(n *node) int {
	for i, m := range dn.clusterC.nodes {
		if m == n {
			return i
		}
	}
	dn.t.Fatalf("node %s is not in the container cluster", n.id)
	return -1
}

func (dn *dockerNet) name(n *node) string { return dn.names[dn.index(n)] }

// replace removes n's stopped container and creates it again from image with
// tuning: an upgrade (or rollback) of that server. Its /data must be
// bind-mounted (startDockerClusterOn) to survive.
func (dn *dockerNet) replace(n *node, image string, tuning []string) {
	docker(dn.t, "rm", dn.name(n))
	dn.create(dn.index(n), image, tuning)
}

// logs is n's container output so far.
func (dn *dockerNet) logs(n *node) string {
	out, _ := exec.Command("docker", "logs", dn.name(n)).CombinedOutput()
	return string(out)
}

// connect attaches container i to the raft network under its alias.
func (dn *dockerNet) connect(i int) {
	docker(dn.t, "network", "connect", "--alias", dn.aliases[i], dn.raftNet, dn.names[i])
}

// disconnect cuts n off the raft network (its API stays reachable).
func (dn *dockerNet) disconnect(n *node) {
	docker(dn.t, "network", "disconnect", dn.raftNet, dn.name(n))
}

// TestContainerPartitionLeader: the partition scenario (partitionLeader) on
// containers, the leader cut off with `docker network disconnect`.
func TestContainerPartitionLeader(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c, dn := startDockerCluster(t, faultTuning...)
	partitionLeader(t, c, "partition of the leader (docker network disconnect)",
		dn.disconnect, func(n *node) { dn.connect(dn.index(n)) })
}

// TestContainerLeaderKill: the leader-kill scenario (leaderKill, with the
// checker) on containers, the leader's container killed with SIGKILL.
func TestContainerLeaderKill(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c, _ := startDockerCluster(t, faultTuning...)
	leaderKill(t, c, "leader kill (docker kill)")
}

// TestContainerPowerCut: all three containers killed at once and started
// again; no acknowledged turn may be lost.
func TestContainerPowerCut(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c, _ := startDockerCluster(t, faultTuning...)
	powerCut(t, c, "power cut (docker kill of every container)")
}

// TestContainerFollowerKill: a follower's container killed with SIGKILL
// under load and started again (followerKill, with the checker).
func TestContainerFollowerKill(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c, _ := startDockerCluster(t, faultTuning...)
	followerKill(t, c, "follower kill (docker kill)")
}

// TestContainerRollingRestart: each container stopped with SIGTERM (`docker
// stop`, which must end in exit code 0) and started again in turn, the
// leader last — the upgrade path with the same image (rollingRestart).
func TestContainerRollingRestart(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c, _ := startDockerCluster(t, faultTuning...)
	rollingRestart(t, c, "rolling restart (docker stop, docker start)")
}

// TestContainerLongAbsence: a follower's container killed and left down
// until the leader snapshotted far past it; started again, it catches up by
// snapshot install (its container log must say so).
func TestContainerLongAbsence(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	// Info level (the last --log-level wins): "snapshot restored" is an info line.
	tuning := append(append(append([]string{}, faultTuning...), longAbsenceTuning...), "--log-level", "info")
	c, dn := startDockerCluster(t, tuning...)
	longAbsence(t, c, "long absence (docker kill, docker start)", func(n *node) string {
		out, _ := exec.Command("docker", "logs", dn.name(n)).CombinedOutput()
		return string(out)
	})
}

// TestContainerDiskFull: each container's /data is a 256 MiB tmpfs of this
// host, bind-mounted; one node's is filled to the last byte under load
// (diskFull: 507 at once, the others serve, recovery when space returns, the
// audit chain intact), on a follower and on the leader.
func TestContainerDiskFull(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	requireTmpfs(t)
	for _, role := range []string{"follower", "leader"} {
		t.Run(role, func(t *testing.T) {
			dockerAvailable(t)
			root := t.TempDir()
			dirs := []string{filepath.Join(root, "n1"), filepath.Join(root, "n2"), filepath.Join(root, "n3")}
			var names []string
			// Registered before the containers exist, so it runs after their
			// removal: removing them first frees the mounts.
			mountTmpfs(t, dirs, func() {
				for _, n := range names {
					exec.Command("docker", "rm", "-f", n).Run()
				}
			})
			c, dn := startDockerClusterOn(t, dirs, faultTuning...)
			names = dn.names
			diskFull(t, c, role == "leader", func(n *node) string {
				out, _ := exec.Command("docker", "logs", dn.name(n)).CombinedOutput()
				return string(out)
			})
		})
	}
}
