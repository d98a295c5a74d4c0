package raftcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawRPC sends one request to a node's cluster port with ident's certificate
// and returns the status and the decoded rpcError (empty on success bodies).
func rawRPC(t *testing.T, ident *Identity, addr, method, path string, body []byte, forwarded bool) (int, rpcError) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t, 10*time.Second), method, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if forwarded {
		req.Header.Set("X-Forwarded-By", "node")
	}
	res, err := NewClient(ident).http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var e rpcError
	_ = json.Unmarshal(data, &e)
	return res.StatusCode, e
}

// TestRPCHandlerRefusals: the cluster port answers malformed, misdirected and
// looping requests with a status and code that tell the caller whether the
// command can have been written.
func TestRPCHandlerRefusals(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, nil)
	tc.form("a", "b")
	leader := tc.mustLeader(5 * time.Second)
	follower := tc.followers()[0]
	before := leader.c.Status().LastLogIndex

	joinSelf, _ := json.Marshal(joinRequest{ID: follower.id, Address: follower.addr})
	cases := []struct {
		name      string
		node      *testNode
		method    string
		path      string
		body      []byte
		forwarded bool
		status    int
		code      string
	}{
		{"apply on a follower", follower, "POST", pathApply, []byte("x"), false, 503, "not_leader"},
		{"apply larger than the limit", leader, "POST", pathApply, make([]byte, maxCommandBytes+1), false, 400, "bad_request"},
		{"read index on a follower", follower, "GET", pathRead, nil, false, 503, "not_leader"},
		{"join with a broken body", leader, "POST", pathJoin, []byte("{"), false, 400, "bad_request"},
		{"join without an address", leader, "POST", pathJoin, []byte(`{"id":"b"}`), false, 400, "bad_request"},
		{"remove without an id", leader, "POST", pathRemove, []byte(`{}`), false, 400, "bad_request"},
		// A request already forwarded once is not forwarded again (no loops
		// while two nodes disagree about the leader).
		{"forwarded join reaching a follower", follower, "POST", pathJoin, joinSelf, true, 503, "no_leader"},
		{"forwarded remove reaching a follower", follower, "POST", pathRemove, []byte(`{"id":"b"}`), true, 503, "no_leader"},
		{"status", follower, "GET", pathStatus, nil, false, 200, ""},
		{"unknown path", leader, "GET", "/v1/nothing", nil, false, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, e := rawRPC(t, follower.ident, c.node.addr, c.method, c.path, c.body, c.forwarded)
			if status != c.status || e.Code != c.code {
				t.Fatalf("%s %s on %s = %d %q (%s), want %d %q", c.method, c.path, c.node.id, status, e.Code, e.Message, c.status, c.code)
			}
		})
	}
	// None of the refused requests reached the log, and both nodes are
	// still the only voters.
	if got := leader.c.Status().LastLogIndex; got != before {
		t.Fatalf("log grew from %d to %d on refused requests", before, got)
	}
	tc.voters(5*time.Second, "a", "b")

	// Read index on the leader answers the applied position.
	req, _ := http.NewRequestWithContext(ctxFor(t, 5*time.Second), "GET", "https://"+leader.addr+pathRead, nil)
	res, err := NewClient(follower.ident).http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Index uint64 }
	err = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || out.Index < before {
		t.Fatalf("read index on the leader = %d %+v %v, want >= %d", res.StatusCode, out, err, before)
	}
}

// scriptedPeer is a real cluster-port listener (mux, mutual TLS) whose RPC
// side answers POST /v1/apply with a fixed reply, standing in for a leader
// that misbehaves in one specific way.
func scriptedPeer(t *testing.T, ident *Identity, h http.HandlerFunc) string {
	t.Helper()
	addr := freeAddr(t)
	m, err := newMux(addr, ident, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(m.rpc)
	t.Cleanup(func() { srv.Close(); m.Close() })
	return addr
}

// TestForwardOutcomes: how a follower classifies each answer of the node it
// forwarded a write to. Only a provably unwritten command may be retried.
func TestForwardOutcomes(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, nil)
	tc.form("a", "b")
	leader := tc.mustLeader(5 * time.Second)
	follower := tc.followers()[0]
	peerID := newIdentity(t, tc.ca, "peer")
	reply := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	cases := []struct {
		name      string
		addr      string
		wantData  string
		wantRetry bool
		wantErr   error
		errText   string
	}{
		{"applied", scriptedPeer(t, peerID, reply(200, `{"data":"b2s=","index":7}`)), "ok", false, nil, ""},
		{"applied but unreadable answer", scriptedPeer(t, peerID, reply(200, `{`)), "", false, ErrAmbiguous, ""},
		{"not the leader", scriptedPeer(t, peerID, reply(503, `{"code":"not_leader"}`)), "", true, nil, ""},
		{"unavailable", scriptedPeer(t, peerID, reply(503, `{"code":"unavailable"}`)), "", false, ErrUnavailable, ""},
		{"ambiguous", scriptedPeer(t, peerID, reply(409, `{"code":"ambiguous"}`)), "", false, ErrAmbiguous, ""},
		{"unexpected status", scriptedPeer(t, peerID, reply(500, ``)), "", false, nil, "leader answered 500"},
		{"connection lost after the request", scriptedPeer(t, peerID, hangUp), "", false, ErrAmbiguous, ""},
		{"nobody listening", freeAddr(t), "", true, nil, ""},
		{"a real follower", follower.addr, "", true, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, retry, err := leader.c.forward(ctxFor(t, 5*time.Second), c.addr, []byte("cmd"))
			if retry != c.wantRetry {
				t.Errorf("retry = %v, want %v", retry, c.wantRetry)
			}
			switch {
			case c.wantErr != nil:
				if !errors.Is(err, c.wantErr) {
					t.Errorf("err = %v, want %v", err, c.wantErr)
				}
			case c.errText != "":
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Errorf("err = %v, want %q", err, c.errText)
				}
			case err != nil:
				t.Errorf("err = %v, want none", err)
			}
			if string(resp.Data) != c.wantData {
				t.Errorf("response data %q, want %q", resp.Data, c.wantData)
			}
		})
	}
	if n := follower.sm.count("cmd"); n != 0 {
		t.Fatalf("a forward to a non-leader wrote the command %d times", n)
	}
}

// TestClientErrors: the operator client names the node and path it failed
// on, and carries the node's refusal code.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "test")
	cl := NewClient(newIdentity(t, ca, "op"))
	addr := freeAddr(t)
	_, err := cl.Status(ctxFor(t, 5*time.Second), addr)
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), pathStatus) {
		t.Fatalf("status of a closed port = %v", err)
	}
	peer := scriptedPeer(t, newIdentity(t, ca, "peer"), func(w http.ResponseWriter, r *http.Request) {
		writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "no_leader", Message: "no leader known"})
	})
	err = cl.Remove(ctxFor(t, 5*time.Second), peer, "x")
	if err == nil || !strings.Contains(err.Error(), "answered 503: no_leader no leader known") {
		t.Fatalf("remove refused by the node = %v", err)
	}
	peer = scriptedPeer(t, newIdentity(t, ca, "peer2"), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not json")
	})
	if _, err := cl.Status(ctxFor(t, 5*time.Second), peer); err == nil {
		t.Fatal("status with an unreadable answer succeeded")
	}
}

// TestTransferLeadership: on a follower it does nothing; on the leader
// another voter takes over.
func TestTransferLeadership(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, nil)
	tc.form("a", "b")
	leader := tc.mustLeader(5 * time.Second)
	follower := tc.followers()[0]
	if follower.c.NodeID() != follower.id || leader.c.NodeID() != leader.id {
		t.Fatalf("NodeID = %q/%q", follower.c.NodeID(), leader.c.NodeID())
	}
	if err := follower.c.TransferLeadership(); err != nil {
		t.Fatalf("TransferLeadership on a follower = %v", err)
	}
	if !leader.c.IsLeader() {
		t.Fatal("a follower's TransferLeadership moved leadership")
	}
	if err := leader.c.TransferLeadership(); err != nil {
		t.Fatalf("TransferLeadership on the leader = %v", err)
	}
	eventually(t, 5*time.Second, "the follower leads", func() error {
		if !follower.c.IsLeader() {
			return errors.New("not yet")
		}
		return nil
	})
	if _, err := leader.c.Apply(ctxFor(t, 5*time.Second), []byte("after-handover")); err != nil {
		t.Fatalf("apply via the old leader after the handover: %v", err)
	}
}

// TestStartErrors: Start fails cleanly on a bad directory, a taken port or an
// invalid configuration, and frees the port and the log store it opened.
func TestStartErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "test")
	ident := newIdentity(t, ca, "n1")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		bind    string
		nodeID  string
		boot    bool
		want    string
	}{
		{"dir is a file", func(t *testing.T, dir string) { mustWrite(t, dir) }, "", "n1", false, "raftcluster"},
		{"log store is a directory", func(t *testing.T, dir string) { mustMkdir(t, filepath.Join(dir, "raft.db")) }, "", "n1", false, "open log store"},
		{"snapshot dir is a file", func(t *testing.T, dir string) { mustMkdir(t, dir); mustWrite(t, filepath.Join(dir, "snapshots")) }, "", "n1", false, "snapshot store"},
		{"port taken", nil, taken.Addr().String(), "n1", false, "listen"},
		{"bootstrap without a node ID", nil, "", "", true, "bootstrap"},
		{"no node ID", nil, "", "", false, "start raft"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "raft")
			if c.prepare != nil {
				c.prepare(t, dir)
			}
			bind := c.bind
			if bind == "" {
				bind = freeAddr(t)
			}
			sm := newSQLMachine(t, filepath.Join(t.TempDir(), "sm.db"))
			cl, err := Start(context.Background(), Config{NodeID: c.nodeID, Bind: bind, Dir: dir, Identity: ident,
				SnapshotKey: testKey(t), Machine: sm, Logger: slog.New(slog.DiscardHandler), RaftLog: io.Discard, Bootstrap: c.boot})
			if err == nil {
				cl.Close(false)
				t.Fatalf("Start succeeded, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Start = %v, want an error containing %q", err, c.want)
			}
			if c.bind == "" {
				// The port was released: it can be bound again.
				ln, err := net.Listen("tcp", bind)
				if err != nil {
					t.Fatalf("port still held after a failed Start: %v", err)
				}
				ln.Close()
			}
		})
	}
}

func mustWrite(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

// TestAddrs: the stream layer advertises the configured address, which is
// what the peers store in the configuration.
func TestAddrs(t *testing.T) {
	a := tcpAddr("10.0.0.7:7001")
	s := &streamLayer{advertise: a}
	if s.Addr().String() != "10.0.0.7:7001" || s.Addr().Network() != "tcp" {
		t.Fatalf("Addr = %s/%s", s.Addr().Network(), s.Addr())
	}
}
