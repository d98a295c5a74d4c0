package node

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The hot-read cache is exact on every node: once a node has applied a
// write (here: after a read-index catch-up), the very next read there shows
// it, although each node had the old value cached a moment before.
func TestCachedReadsNeverOlderThanAppliedWrites(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, nil)
	fam := newFamily(t, nodes[0], "cache@example.test", "Kit", "9-12")
	path := "/v1/children/" + fam.childID + "/settings"
	body := func(limit int) string {
		return fmt.Sprintf(`{"daily_limit_minutes":%d,"time_zone":"UTC","strictness":"standard",
			"features":{"games":true,"jokes":true,"stories":true,"ai_mode":false}}`, limit)
	}
	catchUp := func(n *testNode) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Cluster().SyncRead(ctx); err != nil {
			t.Fatalf("sync read on %s: %v", n.nf.NodeID, err)
		}
	}
	hitsBefore := uint64(0)
	for _, n := range nodes {
		hitsBefore += n.DB().CacheStats().Hits
	}
	for i := 1; i <= 6; i++ {
		// Warm every node's cache with the current value (twice: the second is a hit).
		for _, n := range nodes {
			catchUp(n)
			for range 2 {
				var s settingsDoc
				if st, _ := n.call(t, "GET", path, fam.parentToken, nil, &s); st != 200 || s.DailyLimitMinutes != i-1 {
					t.Fatalf("round %d, %s before write: %d limit %d, want %d", i, n.nf.NodeID, st, s.DailyLimitMinutes, i-1)
				}
				var d daisyResp
				if st, _ := n.call(t, "GET", "/v1/chat/daisy", fam.childToken, nil, &d); st != 200 {
					t.Fatalf("daisy on %s: %d", n.nf.NodeID, st)
				}
			}
		}
		writer := nodes[i%len(nodes)]
		if st, _ := writer.call(t, "PUT", path, fam.parentToken, body(i), nil); st != 200 {
			t.Fatalf("round %d: PUT settings via %s: %d", i, writer.nf.NodeID, st)
		}
		// Read-your-writes on the writer, and on every node once it applied.
		for _, n := range append(nodes[i%len(nodes):i%len(nodes)+1], nodes...) {
			if n != writer {
				catchUp(n)
			}
			var s settingsDoc
			if st, _ := n.call(t, "GET", path, fam.parentToken, nil, &s); st != 200 || s.DailyLimitMinutes != i {
				t.Fatalf("round %d, %s after the write was applied: %d limit %d, want %d (stale cache)", i, n.nf.NodeID, st, s.DailyLimitMinutes, i)
			}
		}
	}
	hitsAfter := uint64(0)
	for _, n := range nodes {
		hitsAfter += n.DB().CacheStats().Hits
	}
	if hitsAfter <= hitsBefore {
		t.Fatal("no cache hits: the test did not exercise the cache")
	}

	// The device check is cached too: a revocation applied on a node is
	// enforced by its very next request.
	for _, n := range nodes {
		if st, _ := n.chat(t, fam.childToken, "hello"); st != 200 {
			t.Fatalf("chat on %s: %d", n.nf.NodeID, st)
		}
	}
	var list struct{ Devices []struct{ ID string } }
	if st, _ := nodes[0].call(t, "GET", "/v1/children/"+fam.childID+"/devices", fam.parentToken, nil, &list); st != 200 || len(list.Devices) != 1 {
		t.Fatalf("devices: %d %+v", st, list)
	}
	if st, _ := nodes[1].call(t, "DELETE", "/v1/children/"+fam.childID+"/devices/"+list.Devices[0].ID, fam.parentToken, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	for _, n := range nodes {
		catchUp(n)
		var d daisyResp
		if st, _ := n.call(t, "GET", "/v1/chat/daisy", fam.childToken, nil, &d); st != 401 {
			t.Fatalf("revoked device on %s after applying the revocation: %d, want 401", n.nf.NodeID, st)
		}
	}
}

// GET /v1/metrics shows where a turn's time went, to loopback clients only
// (the test client is on loopback; the token check is unit-tested in api).
func TestMetricsAfterTurns(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 1, nil)
	n := nodes[0]
	fam := newFamily(t, n, "metrics@example.test", "Mo", "5-8")
	for range 3 {
		if st, _ := n.chat(t, fam.childToken, "tell me a joke"); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	var m struct {
		Requests map[string]uint64 `json:"requests"`
		Timings  map[string]struct {
			Count uint64  `json:"count"`
			SumMs float64 `json:"sum_ms"`
		} `json:"timings"`
		FSM     map[string]uint64 `json:"fsm"`
		Cache   struct{ Hits, Misses uint64 }
		Process map[string]int64 `json:"process"`
	}
	if st, _ := n.call(t, "GET", "/v1/metrics", "", nil, &m); st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	for name, min := range map[string]uint64{"turn": 3, "policy_eval": 6, "raft_apply": 3, "fsm_apply_batch": 3, "storage_read": 3, "http_request": 8} {
		if got := m.Timings[name]; got.Count < min || got.SumMs <= 0 {
			t.Errorf("timing %s = %+v, want count ≥ %d and time > 0", name, got, min)
		}
	}
	if m.Requests["total"] < 8 || m.FSM["entries"] < 3 || m.Process["goroutines"] == 0 || m.Process["db_bytes"] == 0 {
		t.Errorf("metrics = %+v", m)
	}
	if m.Cache.Hits == 0 {
		t.Errorf("no cache hits after three turns of one device: %+v", m.Cache)
	}
}
