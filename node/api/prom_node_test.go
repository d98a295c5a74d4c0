package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"daisydog/node/api"
	"daisydog/policies/sdk"
	"daisydog/wasm"
)

// GET /metrics on a running node (loopback client): real chat turns move
// the counters and histograms, the Raft gauges describe the node, and no
// label carries anything but a fixed name.
func TestPromOnANode(t *testing.T) {
	n := testNode(t)
	scrape := func() (*api.PromDoc, string) {
		t.Helper()
		res := n.do(t, "GET", "/metrics", "", "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", res.status, res.body)
		}
		if ct := res.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		doc, err := api.ParsePromText(string(res.body))
		if err != nil {
			t.Fatalf("exposition: %v\n%s", err, res.body)
		}
		return doc, string(res.body)
	}
	before, _ := scrape()
	f := n.newFamily(t, "9-12")
	msgs := []string{"hello daisy", "my number is 07700 900123"}
	for _, msg := range msgs {
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, nil)
	}
	n.do(t, "GET", "/v1/nope", "", "", nil)
	after, body := scrape()

	delta := func(key string) float64 { return after.Values[key] - before.Values[key] }
	for _, tc := range []struct {
		series string
		min    float64 // the least it must have grown by
	}{
		{api.PromKey("daisydog_http_requests_total", "class", "2xx"), 2 + 1}, // the turns and the first scrape
		{api.PromKey("daisydog_http_requests_total", "class", "4xx"), 1},
		{"daisydog_http_request_duration_seconds_count", 4},
		{"daisydog_turn_duration_seconds_count", 2},
		{"daisydog_turn_duration_seconds_sum", 1e-9},
		{"daisydog_policy_evaluation_duration_seconds_count", 2},
		{"daisydog_raft_apply_duration_seconds_count", 2},
		{"daisydog_fsm_apply_batch_duration_seconds_count", 1},
		{"daisydog_fsm_entries_total", 2},
		{"daisydog_safety_turns_total", 2},
		{api.PromKey("daisydog_policy_verdicts_total", "target", "message", "action", "allow"), 1},
		{api.PromKey("daisydog_policy_verdicts_total", "target", "message", "action", "redact"), 1},
		{api.PromKey("daisydog_policy_verdicts_total", "target", "reply", "action", "allow"), 2},
		{api.PromKey("daisydog_policy_message_categories_total", "category", "pii_disclosure"), 1},
		{"daisydog_raft_applied_index", 2},
		{"daisydog_raft_commit_index", 2},
		{"daisydog_process_cpu_seconds_total", 1e-9},
	} {
		if _, ok := after.Values[tc.series]; !ok {
			t.Errorf("%s: missing", tc.series)
		} else if d := delta(tc.series); d < tc.min {
			t.Errorf("%s grew by %v over two turns, want ≥ %v", tc.series, d, tc.min)
		}
	}
	// The active policy's work: budget, total and worst call on this node.
	budget, units, most := after.Values["daisydog_policy_work_budget_units"], after.Values["daisydog_policy_work_units_total"], after.Values["daisydog_policy_work_max_units"]
	if budget != wasm.DefaultCallBudget || units <= 0 || most <= 0 || most > units || most > budget {
		t.Errorf("policy work: budget %v units %v max %v; want budget %d and 0 < max ≤ units", budget, units, most, wasm.DefaultCallBudget)
	}
	if d := delta("daisydog_safety_turns_total"); d != 2 {
		t.Errorf("safety turns grew by %v, want exactly 2", d)
	}
	if d := delta(api.PromKey("daisydog_policy_message_categories_total", "category", "self_harm")); d != 0 {
		t.Errorf("self_harm grew by %v on harmless turns", d)
	}
	for _, key := range []string{
		api.PromKey("daisydog_raft_state", "state", "leader"), "daisydog_raft_leader_known", "daisydog_raft_term", "daisydog_raft_voters",
		"daisydog_process_goroutines", "daisydog_process_resident_memory_bytes", "daisydog_process_open_fds", "daisydog_db_size_bytes",
		"daisydog_uptime_seconds",
	} {
		if after.Values[key] <= 0 {
			t.Errorf("%s = %v, want > 0", key, after.Values[key])
		}
	}
	if v := after.Values["daisydog_raft_voters"]; v != 1 {
		t.Errorf("single-node cluster with %v voters", v)
	}
	if after.Values["daisydog_read_cache_hits_total"]+after.Values["daisydog_read_cache_misses_total"] == 0 {
		t.Error("the hot-read cache was never consulted")
	}
	if r := after.Values["daisydog_read_cache_hit_ratio"]; r <= 0 || r > 1 {
		t.Errorf("read cache hit ratio %v", r)
	}

	// Labels: fixed names only.
	allowed := map[string][]string{
		"class":    {"2xx", "4xx", "5xx"},
		"target":   {"message", "reply"},
		"action":   sdk.Actions,
		"category": sdk.Categories,
		"state":    {"candidate", "follower", "leader", "shutdown", "unknown", "closed", "open", "half_open"},
		"result":   {"ok", "failed", "dropped", "used", "refused", "breaker_open"},
		"cert":     {"node", "ca"},
	}
	for _, s := range after.Series {
		for k, v := range s.Labels {
			if k == "le" {
				continue // a bound: parsed as a number by the reader
			}
			if vals, ok := allowed[k]; !ok || !slices.Contains(vals, v) {
				t.Errorf("%s: label %s=%q is not a fixed name", s.Name, k, v)
			}
		}
	}
	for _, leak := range append(msgs, "07700", f.childID, f.deviceID, f.childToken, f.token, f.email, "Milo") {
		if strings.Contains(body, leak) {
			t.Errorf("exposition holds %q", leak)
		}
	}
}
