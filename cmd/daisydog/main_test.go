package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"daisydog/internal/freeport"
	"daisydog/node"
	"daisydog/raftcluster"
	"daisydog/storage"
	"daisydog/wasm/wasmtest"
)

// TestDispatch: the exit code and the message of each way a command line
// can go wrong, and of the commands that only print.
func TestDispatch(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErr    string
		createsDir bool
	}{
		{"no command", nil, 2, "", "Usage:\n  daisydog run", false},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command \"frobnicate\"\n\ndaisydog — DaisyDog Edge server", false},
		{"version", []string{"version"}, 0, "daisydog dev\n", "", false},
		{"help", []string{"help"}, 0, "Usage:\n  daisydog run", "", false},
		{"--help", []string{"--help"}, 0, "daisydog cluster status", "", false},
		{"audit without subcommand", []string{"audit"}, 1, "", "daisydog: usage: daisydog audit verify --data DIR\n", false},
		{"cluster without subcommand", []string{"cluster"}, 1, "", "daisydog: cluster needs a subcommand", false},
		{"serve without data", []string{"serve"}, 1, "", "daisydog: --data is required\n", false},
		{"init without data", []string{"init", "--node-id", "n1"}, 1, "", "daisydog: --data is required\n", false},
		{"join without token", []string{"join", "--data", data, "--join", "127.0.0.1:1"}, 1, "", "--data, --join and --token are required", false},
		{"bench without targets", []string{"bench"}, 1, "", "daisydog: --targets is required\n", false},
		// run creates the node first, then refuses the bad flag before serving.
		{"run with a bad log level", []string{"run", "--data", data, "--log-level", "chatty", "--http", "127.0.0.1:1", "--raft", "127.0.0.1:2"}, 1, "", "daisydog: --log-level", true},
		{"run with a bad node ID", []string{"run", "--data", filepath.Join(t.TempDir(), "d"), "--node-id", "Bad_ID"}, 1, "", "daisydog: ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var code int
			out, errOut, _ := capture(t, func() error { code = dispatch(tc.args); return nil })
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if !strings.Contains(out, tc.wantOut) || (tc.wantOut == "" && out != "") {
				t.Errorf("stdout %q, want it to contain %q", out, tc.wantOut)
			}
			if !strings.Contains(errOut, tc.wantErr) || (tc.wantErr == "" && errOut != "") {
				t.Errorf("stderr %q, want it to contain %q", errOut, tc.wantErr)
			}
			if tc.createsDir && !(node.Layout{Dir: data}).Initialized() {
				t.Errorf("%s was not initialised", data)
			}
		})
	}
}

// freePortPair picks two distinct free ports (a node's HTTP and Raft).
func freePortPair(t *testing.T) (string, string) {
	t.Helper()
	a, err := freeport.Addrs(2)
	if err != nil {
		t.Fatal(err)
	}
	return a[0], a[1]
}

// freePort picks a loopback port outside the ephemeral range (freeport).
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// serving runs fn (a command that serves until SIGTERM) in the background,
// waits until addr accepts connections, runs during, then stops the server
// with SIGTERM as an operator or init system would, and returns what fn and
// during printed and what fn returned. Standard output is swapped once, in
// this goroutine, around all of it (during must not call capture).
func serving(t *testing.T, addr string, fn func() error, during func()) (stdout string, err error) {
	t.Helper()
	stdout, _, err = capture(t, func() error {
		done := make(chan error, 1)
		go func() { done <- fn() }()
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, derr := net.DialTimeout("tcp", addr, time.Second)
			if derr == nil {
				c.Close()
				break
			}
			select {
			case err := <-done:
				return fmt.Errorf("server stopped before it listened: %w", err)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s never accepted a connection: %w", addr, derr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		during()
		// The command's signal.NotifyContext is registered before the node
		// listens, so SIGTERM reaches it rather than ending the test process.
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			return errors.New("server did not stop after SIGTERM")
		}
	})
	return stdout, err
}

// TestRunServesAndStops: "daisydog run" creates a node on first use, prints
// the welcome text once it serves, answers the cluster commands, and shuts
// down cleanly on SIGTERM; re-running "join" with the same node ID (a
// container restart) serves the existing node instead of joining again.
func TestRunServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	data := filepath.Join(t.TempDir(), "data")
	httpAddr, raftAddr := freePortPair(t)
	args := []string{"--data", data, "--node-id", "solo", "--http", httpAddr, "--raft", raftAddr, "--log-level", "error"}
	// make unit's shared compilation cache (compiling under -race takes ~30 s).
	var cacheArgs []string
	if dir := wasmtest.SharedCacheDir(); dir != "" {
		cacheArgs = []string{"--policy-cache", dir}
	}
	args = append(args, cacheArgs...)
	var statusErr, membersErr, removeErr, caErr error
	out, err := serving(t, httpAddr, func() error { return cmdRun(args) }, func() {
		// Wait for the node to elect itself, asking as the CLI does.
		l := node.Layout{Dir: data}
		id, err := loadIdentity(l, "solo")
		if err != nil {
			statusErr = err
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := raftcluster.NewClient(id).Status(ctx, raftAddr)
			cancel()
			if err == nil && st.LeaderID != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		statusErr = cmdCluster([]string{"status", "--data", data})
		membersErr = cmdCluster([]string{"status", "--data", data, "--members"})
		removeErr = cmdCluster([]string{"remove", "--data", data, "--addr", raftAddr, "ghost"})
		caErr = rotateCAWithCLI(data)
	})
	if err != nil {
		t.Fatalf("run ended with %v", err)
	}
	if !strings.Contains(out, "DaisyDog Edge is running at https://"+httpAddr) {
		t.Fatalf("run printed no welcome text:\n%s", out)
	}
	var status raftcluster.Status
	if i := strings.Index(out, "{\n  \"node_id\""); i < 0 || statusErr != nil {
		t.Fatalf("cluster status printed no status (%v):\n%s", statusErr, out)
	} else if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&status); err != nil {
		t.Fatal(err)
	}
	if status.NodeID != "solo" || status.LeaderID != "solo" || status.State != "Leader" || len(status.Nodes) != 1 || status.Nodes[0].Address != raftAddr {
		t.Fatalf("cluster status = %+v", status)
	}
	// --members: the one member answers with what its binary applies.
	var view memberView
	if i := strings.LastIndex(out, "{\n  \"node_id\""); i < 0 || membersErr != nil {
		t.Fatalf("cluster status --members printed nothing (%v):\n%s", membersErr, out)
	} else if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&view); err != nil {
		t.Fatal(err)
	}
	if len(view.Members) != 1 || view.Members[0].ID != "solo" || !view.Members[0].Answered || view.Members[0].Commands["apply_retention"] != storage.NewerKinds()[storage.KindApplyRetention] {
		t.Fatalf("cluster status --members = %+v", view.Members)
	}
	wantErrContains(t, removeErr, `node "ghost" is not a member`)
	// cluster ca: the rotation's steps, each with what it printed.
	if caErr != nil {
		t.Fatalf("cluster ca: %v\n%s", caErr, out)
	}
	for _, want := range []string{"staged the new cluster CA", "MEMBER", "switched to the cluster CA", "New join token (the old one no longer works):\n  ddj1.",
		"finished: the cluster trusts the CA", "aborted the rotation"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster ca printed no %q:\n%s", want, out)
		}
	}

	// The same node restarted through its join command line.
	joinArgs := append([]string{"--data", data, "--node-id", "solo", "--join", "127.0.0.1:1", "--token", "ddj1.unused", "--log-level", "error"}, cacheArgs...)
	out, err = serving(t, httpAddr, func() error { return cmdJoin(joinArgs) }, func() {})
	if err != nil {
		t.Fatalf("restart via join ended with %v", err)
	}
	if !strings.Contains(out, `Node "solo" is already initialised in `+data+"; starting it.") {
		t.Fatalf("restart via join printed:\n%s", out)
	}
}

// TestServePprofRefused: a non-loopback --pprof address stops serve after the
// node started, and the node is closed again (its ports are free).
func TestServePprofRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	httpAddr, raftAddr := freePortPair(t)
	data, _ := initNodeAt(t, "p1", httpAddr, raftAddr)
	_, _, err := capture(t, func() error {
		return cmdServe([]string{"--data", data, "--pprof", "0.0.0.0:6060", "--log-level", "error"})
	})
	wantErrContains(t, err, "--pprof must be a loopback address")
	for _, a := range []string{httpAddr, raftAddr} {
		ln, lerr := net.Listen("tcp", a)
		if lerr != nil {
			t.Fatalf("%s still held after the refused start: %v", a, lerr)
		}
		ln.Close()
	}
}

// initNodeAt is initNode with the given listen addresses.
func initNodeAt(t *testing.T, nodeID, httpAddr, raftAddr string) (dir, stdout string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	stdout, _, err := capture(t, func() error {
		return cmdInit([]string{"--data", dir, "--node-id", nodeID, "--http", httpAddr, "--raft", raftAddr, "--no-serve"})
	})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return dir, stdout
}

// TestClusterCommandErrors: cluster status and remove fail with the cause
// when the node's credentials are unreadable or nobody answers.
func TestClusterCommandErrors(t *testing.T) {
	dir, _ := initNode(t, "n1")
	l := node.Layout{Dir: dir}
	down := freePort(t)
	_, _, err := capture(t, func() error { return cmdCluster([]string{"status", "--data", dir, "--addr", down}) })
	wantErrContains(t, err, down+"/v1/status")
	_, _, err = capture(t, func() error { return cmdCluster([]string{"remove", "--data", dir, "--addr", down, "n2"}) })
	wantErrContains(t, err, down+"/v1/remove")
	for _, step := range []string{"status", "stage"} {
		_, _, err = capture(t, func() error { return cmdCluster([]string{"ca", "--data", dir, "--addr", down, step}) })
		wantErrContains(t, err, down+"/v1/status")
	}

	if err := os.Remove(l.NodeKey()); err != nil {
		t.Fatal(err)
	}
	_, _, err = capture(t, func() error { return cmdCluster([]string{"status", "--data", dir}) })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("status without the node key = %v, want not-exist", err)
	}
	if err := os.Remove(filepath.Join(dir, "keys", "join-token")); err != nil {
		t.Fatal(err)
	}
	_, _, err = capture(t, func() error { return cmdCluster([]string{"token", "--data", dir}) })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("token without the token file = %v, want not-exist", err)
	}
}

// rotateCAWithCLI runs a CA rotation on a serving node through `daisydog
// cluster ca`, as an operator would: status, stage, switch, status, finish
// (each returns once the node is at its step, so the next may follow at
// once), then a second stage aborted; and the refusals of steps out of
// order.
func rotateCAWithCLI(data string) error {
	ca := func(args ...string) error { return cmdCluster(append([]string{"ca", "--data", data}, args...)) }
	if err := ca("finish"); err == nil {
		return errors.New("finish before any rotation was accepted")
	}
	if err := ca("stage", "now"); err == nil || !strings.Contains(err.Error(), "usage: daisydog cluster ca") {
		return fmt.Errorf("two steps: %v", err)
	}
	for _, step := range []string{"status", "stage", "switch", "status", "finish", "stage", "abort"} {
		if err := ca(step); err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	return nil
}
