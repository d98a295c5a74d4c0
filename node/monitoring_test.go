package node

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/node/llm"
)

var metricNameRe = regexp.MustCompile(`\bdaisydog_[a-z0-9_]+`)

// The shipped alert rules and dashboard name only metrics a running node
// exports (histograms by their _bucket/_sum/_count series); every alert has
// a severity, a duration and a runbook section in docs/operations.md; and
// the files under deploy/ are exactly what the binary generates.
func TestMonitoringMatchesTheMetrics(t *testing.T) {
	t.Parallel()
	ai := newAIStandIn(t) // with a model provider: its breaker's family too
	n := startCluster(t, 1, func(c *Config) {
		c.AI = &llm.Config{URL: ai.URL + "/v1", Model: "stand-in", Timeout: 2 * time.Second, DailyBudget: 10}
	})[0]
	fam := newFamily(t, n, "monitor@example.test", "Moss", "9-12") // writes: the disk guard has checked
	if st, _ := n.chat(t, fam.childToken, "hello daisy"); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	st, _, body := n.raw(t, "GET", "/metrics", "", "", nil)
	if st != 200 {
		t.Fatalf("GET /metrics: %d", st)
	}
	families := map[string]string{} // name → type
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = f[3]
		}
	}
	for _, want := range []string{"daisydog_data_disk_free_bytes", "daisydog_data_disk_reserve_bytes", "daisydog_data_disk_low"} {
		if families[want] != "gauge" {
			t.Errorf("/metrics has no gauge %s", want)
		}
	}
	exported := func(name string) bool {
		if _, ok := families[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && families[base] == "histogram" {
				return true
			}
		}
		return false
	}
	check := func(where, expr string) {
		t.Helper()
		names := metricNameRe.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: %q names no daisydog metric", where, expr)
		}
		for _, m := range names {
			if !exported(m) {
				t.Errorf("%s: %s is not a metric a node exports", where, m)
			}
		}
	}

	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range api.AlertRules() {
		if seen[r.Name] {
			t.Errorf("alert %s twice", r.Name)
		}
		seen[r.Name] = true
		if !strings.Contains(r.Expr, "up{") {
			check("alert "+r.Name, r.Expr)
		}
		if r.Severity != "page" && r.Severity != "ticket" {
			t.Errorf("alert %s: severity %q", r.Name, r.Severity)
		}
		if _, err := time.ParseDuration(r.For); err != nil {
			t.Errorf("alert %s: for %q: %v", r.Name, r.For, err)
		}
		if r.Summary == "" || r.Description == "" {
			t.Errorf("alert %s has no summary or description", r.Name)
		}
		if !bytes.Contains(ops, []byte("\n### "+r.Name+"\n")) {
			t.Errorf("alert %s: no runbook section \"### %s\" in docs/operations.md", r.Name, r.Name)
		}
	}
	for _, p := range api.DashboardPanels() {
		for _, q := range p.Exprs {
			check("panel "+p.Title, q.Expr)
		}
	}

	for _, f := range []struct {
		path  string
		write func(*bytes.Buffer) error
	}{
		{"../deploy/prometheus/alerts.yml", func(b *bytes.Buffer) error { return api.WriteAlertRules(b, api.AlertRules()) }},
		{"../deploy/grafana/daisydog-dashboard.json", func(b *bytes.Buffer) error { return api.WriteDashboard(b, api.DashboardPanels()) }},
	} {
		var want bytes.Buffer
		if err := f.write(&want); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("%v (make monitoring writes it)", err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from what the binary generates: run make monitoring", f.path)
		}
	}
}
