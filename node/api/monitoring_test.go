package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The rule file is the YAML Prometheus reads: one group, every rule with
// its expression quoted (JSON escapes are YAML escapes), severity and
// runbook; the dashboard is a Grafana JSON model with a panel per entry.
func TestMonitoringFiles(t *testing.T) {
	var b bytes.Buffer
	if err := WriteAlertRules(&b, AlertRules()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "# Generated") || !strings.Contains(out, "groups:\n  - name: daisydog\n    rules:\n") {
		t.Fatalf("rule file head:\n%s", out[:min(len(out), 300)])
	}
	if n := strings.Count(out, "      - alert: "); n != len(AlertRules()) {
		t.Fatalf("%d rules written, want %d", n, len(AlertRules()))
	}
	for _, want := range []string{
		`expr: "up{job=\"daisydog\"} == 0"`,
		`runbook: "docs/operations.md#daisydogdisklow"`,
		"severity: page",
		`description: "{{ $labels.instance }} answers writes with 507`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rule file lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "\t") {
			t.Fatalf("a tab in YAML: %q", line)
		}
	}

	b.Reset()
	if err := WriteDashboard(&b, DashboardPanels()); err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int            `json:"id"`
			Title   string         `json:"title"`
			GridPos map[string]int `json:"gridPos"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b.Bytes(), &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID != "daisydog-edge" || len(dash.Panels) != len(DashboardPanels()) {
		t.Fatalf("dashboard %q with %d panels", dash.UID, len(dash.Panels))
	}
	second := dash.Panels[1]
	if second.ID != 2 || second.GridPos["x"] != 12 || second.GridPos["y"] != 0 || len(second.Targets) != 3 || second.Targets[2].RefID != "C" {
		t.Fatalf("second panel %+v", second)
	}
	if dash.Panels[2].GridPos["x"] != 0 || dash.Panels[2].GridPos["y"] != 8 {
		t.Fatalf("third panel at %v, want the next row", dash.Panels[2].GridPos)
	}
}

// The disk gauges hold the last check; none before the first.
func TestDiskGauges(t *testing.T) {
	var d DiskGauges
	if d.snapshot() != nil {
		t.Fatal("a snapshot before any check")
	}
	d.Set(100, 64, false)
	d.Set(10, 64, true)
	if s := d.snapshot(); s == nil || *s != (DiskSnapshot{FreeBytes: 10, ReserveBytes: 64, Low: true}) {
		t.Fatalf("snapshot %+v", s)
	}
	m := NewMetrics()
	m.Disk.Set(1, 2, false)
	if s := m.Snapshot(nil); s.Disk == nil || s.Disk.FreeBytes != 1 {
		t.Fatalf("metrics snapshot disk %+v", s.Disk)
	}
}
