package node

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors here: %v", err)
	}
	return len(ents)
}

// A short soak: a real node (TLS, Raft, SQLite, wazero) under a few rounds
// of concurrent chat load must come back to the goroutine and file
// descriptor counts it had after the first round. A leak per request (a
// goroutine left waiting, a connection or statement never closed) grows
// with every round and fails this; the 30-minute soak in
// docs/operations.md watches the same numbers (plus RSS and DB size) for
// slow growth.
func TestShortSoakNoGoroutineOrFDLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	n := startCluster(t, 1, nil)[0]
	const clients, turnsPerClient, rounds = 6, 8, 3
	fams := make([]family, clients)
	for i := range fams {
		fams[i] = newFamily(t, n, fmt.Sprintf("soak%d@example.test", i), "Sam", "9-12")
	}
	ops := []struct{ method, path, body string }{
		{"POST", "/v1/chat", `{"message":"tell me a joke"}`},
		{"POST", "/v1/games", `{"kind":"guess_number"}`},
		{"POST", "/v1/games/current/moves", `{"move":"5"}`},
		{"GET", "/v1/chat/daisy", ""},
		{"GET", "/v1/chat?limit=5", ""},
	}
	round := func() {
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for _, f := range fams {
			wg.Go(func() {
				for k := range turnsPerClient {
					op := ops[k%len(ops)]
					var body any
					if op.body != "" {
						body = []byte(op.body)
					}
					if st, _, _ := n.raw(t, op.method, op.path, f.childToken, "application/json", body); st != 200 {
						errs <- fmt.Errorf("%s %s: %d", op.method, op.path, st)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Idle keep-alive connections are the client's, not a leak.
		n.client.CloseIdleConnections()
	}
	settle := func() (int, int) {
		runtime.GC()
		return runtime.NumGoroutine(), openFDs(t)
	}

	round() // warm up: pools, prepared statements, policy instances, caches
	g0, fd0 := settle()
	for range rounds {
		round()
	}
	// Slack: a few background goroutines/fds come and go (Raft heartbeats,
	// the key manager's timer, a connection being torn down).
	const gSlack, fdSlack = 15, 8
	var g, fd int
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, fd = settle()
		if g <= g0+gSlack && fd <= fd0+fdSlack {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("after %d rounds of %d requests: goroutines %d → %d, fds %d → %d (leak)\n%s",
				rounds, clients*turnsPerClient, g0, g, fd0, fd, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines %d → %d, fds %d → %d over %d requests", g0, g, fd0, fd, rounds*clients*turnsPerClient)
}
