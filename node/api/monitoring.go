package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Monitoring that ships with the binary: Prometheus alerting rules and a
// Grafana dashboard over the metrics of GET /metrics (prom.go). They are
// generated from the tables below (`daisydog monitoring alerts|dashboard`),
// committed under deploy/, and a test checks that every metric they name is
// one a running node exports, that every alert has a runbook section in
// docs/operations.md, and that the committed files are the generated ones.

// AlertRule is one Prometheus alerting rule.
type AlertRule struct {
	Name string
	// Expr is the PromQL condition; For how long it must hold.
	Expr, For string
	// Severity: "page" (someone acts now: children are affected or about
	// to be) or "ticket" (within a working day).
	Severity    string
	Summary     string
	Description string
}

// Runbook is where an alert's runbook is (a section of docs/operations.md
// titled with the alert's name).
func (r AlertRule) Runbook() string {
	return "docs/operations.md#" + strings.ToLower(r.Name)
}

// AlertRules are the suggested rules. The job label is whatever the
// operator's scrape configuration calls the nodes; "daisydog" here.
func AlertRules() []AlertRule {
	return []AlertRule{
		{Name: "DaisyDogNodeDown", Expr: `up{job="daisydog"} == 0`, For: "2m", Severity: "page",
			Summary:     "A DaisyDog node has not answered a scrape for 2 minutes",
			Description: "{{ $labels.instance }} is down or unreachable. Two nodes keep serving; a second failure stops all writes."},
		{Name: "DaisyDogNoLeader", Expr: `daisydog_raft_leader_known == 0`, For: "30s", Severity: "page",
			Summary:     "A DaisyDog node knows no Raft leader",
			Description: "{{ $labels.instance }} has known no leader for 30 s: writes through it fail (503). If every node says so, the cluster has lost its majority."},
		{Name: "DaisyDogVoterMissing", Expr: `daisydog_raft_voters < 3`, For: "10m", Severity: "ticket",
			Summary:     "The cluster has fewer than three voters",
			Description: "{{ $labels.instance }} counts {{ $value }} voters: one more failure would stop writes. Replace or re-join the missing node."},
		{Name: "DaisyDogApplyLag", Expr: `daisydog_raft_commit_index - daisydog_raft_applied_index > 1000`, For: "2m", Severity: "ticket",
			Summary:     "A node is far behind in applying committed entries",
			Description: "{{ $labels.instance }} is {{ $value }} entries behind its commit index for 2 minutes: its reads are stale and its writes slow (disk, CPU or a stuck state machine)."},
		{Name: "DaisyDogServerErrors", Expr: `sum by (instance) (rate(daisydog_http_requests_total{class="5xx"}[5m])) / sum by (instance) (rate(daisydog_http_requests_total[5m])) > 0.001`, For: "10m", Severity: "page",
			Summary:     "More than 0.1% of a node's requests fail with a server error",
			Description: "{{ $labels.instance }}: {{ $value | humanizePercentage }} of requests answered 5xx over 5 minutes (the checklist's error budget is 0.1%)."},
		{Name: "DaisyDogTurnsSlow", Expr: `histogram_quantile(0.95, sum by (instance, le) (rate(daisydog_turn_duration_seconds_bucket[5m]))) > 0.2`, For: "10m", Severity: "ticket",
			Summary:     "95th percentile of chat turns above 200 ms",
			Description: "{{ $labels.instance }}: p95 of turns {{ $value | humanizeDuration }} for 10 minutes (target: under 200 ms)."},
		{Name: "DaisyDogTurnsShed", Expr: `rate(daisydog_turns_shed_total[5m]) + rate(daisydog_policy_starved_total[5m]) > 0`, For: "10m", Severity: "ticket",
			Summary:     "A node is refusing chat turns because it is overloaded",
			Description: "{{ $labels.instance }} has refused turns (503: turn admission, or a safety check the machine did not run in time) for 10 minutes: the cluster is over its capacity."},
		{Name: "DaisyDogPolicyFailingClosed", Expr: `increase(daisydog_safety_fail_closed_total[10m]) > 0`, For: "0m", Severity: "page",
			Summary:     "The safety policy could not decide on a child's message",
			Description: "{{ $labels.instance }}: {{ $value }} turns failed closed in 10 minutes (the child got a safe fallback and the turn was escalated). A broken policy (a trap, its work budget spent, a bad verdict): check the active version and roll back if it is new."},
		{Name: "DaisyDogPolicyNearWorkBudget", Expr: `daisydog_policy_work_max_units > 0.5 * daisydog_policy_work_budget_units`, For: "0m", Severity: "ticket",
			Summary:     "The active safety policy used over half its work budget on one message",
			Description: "{{ $labels.instance }}: one evaluation of the active policy used {{ $value }} work units, over half the per-call budget; messages like it may soon fail closed."},
		{Name: "DaisyDogSafetyAlertsFailing", Expr: `increase(daisydog_safety_alerts_total{result="failed"}[15m]) > 0`, For: "0m", Severity: "page",
			Summary:     "Parent safety alerts cannot be sent",
			Description: "{{ $labels.instance }} (the leader) failed to send {{ $value }} parent safety alerts in 15 minutes; they stay in the outbox and are retried, but parents are not being told."},
		{Name: "DaisyDogMailStuck", Expr: `max(daisydog_mail_outbox_oldest_age_seconds) > 600`, For: "5m", Severity: "ticket",
			Summary:     "E-mails to parents wait in the outbox",
			Description: "The oldest e-mail in the outbox (address confirmation, password reset, consent confirmation) has waited {{ $value }} s: the leader cannot send. Parents cannot confirm their address or reset a password."},
		{Name: "DaisyDogAIProviderFailing", Expr: `sum by (instance) (rate(daisydog_ai_provider_replies_total{result=~"failed|breaker_open"}[15m])) / sum by (instance) (rate(daisydog_ai_provider_replies_total[15m])) > 0.5`, For: "15m", Severity: "ticket",
			Summary:     "The optional model provider fails for most turns",
			Description: "{{ $labels.instance }}: {{ $value | humanizePercentage }} of the turns that would use the model provider got the built-in reply because it failed or its breaker was open. Children are unaffected (built-in replies); AI mode is not working."},
		{Name: "DaisyDogModerationBacklog", Expr: `max(daisydog_moderation_oldest_open_age_seconds) > 86400`, For: "1h", Severity: "ticket",
			Summary:     "Flagged turns wait over a day for a moderator",
			Description: "The oldest unreviewed safety event has waited {{ $value }} s. Moderators review the queue with GET /v1/moderation/flagged?status=open and record an outcome for each."},
		{Name: "DaisyDogDiskLow", Expr: `daisydog_data_disk_low == 1`, For: "0m", Severity: "page",
			Summary:     "A node's data disk is below its reserve: it refuses writes",
			Description: "{{ $labels.instance }} answers writes with 507 and has left leadership. Free space on the data disk."},
		{Name: "DaisyDogDiskFillingUp", Expr: `predict_linear(daisydog_data_disk_free_bytes[6h], 24 * 3600) < daisydog_data_disk_reserve_bytes`, For: "30m", Severity: "ticket",
			Summary:     "A node's data disk will reach its reserve within a day",
			Description: "At the rate of the last 6 hours {{ $labels.instance }} will refuse writes within 24 hours."},
		{Name: "DaisyDogBackupFailing", Expr: `increase(daisydog_backups_total{result="failed"}[1d]) > 0`, For: "0m", Severity: "ticket",
			Summary:     "A scheduled backup failed",
			Description: "{{ $labels.instance }}: a scheduled backup could not be written or did not verify in the last day (the node logs why)."},
		{Name: "DaisyDogBackupStale", Expr: `daisydog_backup_last_success_timestamp_seconds > 0 and time() - daisydog_backup_last_success_timestamp_seconds > 2 * 86400`, For: "1h", Severity: "ticket",
			Summary:     "No good scheduled backup for two days",
			Description: "{{ $labels.instance }}'s last verified backup is more than 48 hours old."},
		{Name: "DaisyDogCertificateNotRenewed", Expr: `daisydog_tls_certificate_expiry_timestamp_seconds{cert="node"} - time() < 30 * 86400`, For: "1h", Severity: "page",
			Summary:     "A node certificate expires within 30 days",
			Description: "{{ $labels.instance }}'s TLS certificate was not renewed (renewal starts 180 days ahead and is retried every 12 hours; the node logs why it failed). At expiry its peers refuse it on the cluster port."},
		{Name: "DaisyDogClusterCAExpiring", Expr: `daisydog_tls_certificate_expiry_timestamp_seconds{cert="ca"} - time() < 365 * 86400`, For: "1h", Severity: "ticket",
			Summary:     "The cluster CA expires within a year",
			Description: "{{ $labels.instance }}: rotate the cluster CA before it expires, online: daisydog cluster ca stage, switch, finish (docs/operations.md \"Rotating the cluster CA\")."},
		{Name: "DaisyDogMemoryHigh", Expr: `daisydog_process_resident_memory_bytes > 2 * 1024 * 1024 * 1024`, For: "15m", Severity: "ticket",
			Summary:     "A node uses more than 2 GiB of memory",
			Description: "{{ $labels.instance }}: resident memory {{ $value | humanize1024 }}B for 15 minutes (a soak run stays far below; a leak or an unusual load)."},
	}
}

// WriteAlertRules writes the rules as a Prometheus rule file (YAML; every
// string is a double-quoted scalar, JSON-escaped, which YAML reads as is).
func WriteAlertRules(w io.Writer, rules []AlertRule) error {
	q := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	}
	var b strings.Builder
	b.WriteString("# Generated by `daisydog monitoring alerts` (node/api/monitoring.go); do not edit by hand.\n")
	b.WriteString("# Suggested alerting rules for DaisyDog Edge; runbooks: docs/operations.md \"Alerts\".\n")
	b.WriteString("groups:\n  - name: daisydog\n    rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "      - alert: %s\n", r.Name)
		fmt.Fprintf(&b, "        expr: %s\n", q(r.Expr))
		fmt.Fprintf(&b, "        for: %s\n", r.For)
		fmt.Fprintf(&b, "        labels:\n          severity: %s\n", r.Severity)
		fmt.Fprintf(&b, "        annotations:\n          summary: %s\n          description: %s\n          runbook: %s\n",
			q(r.Summary), q(r.Description), q(r.Runbook()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DashboardPanel is one time-series panel: a title and its queries.
type DashboardPanel struct {
	Title, Unit string
	Exprs       []DashboardQuery
}

// DashboardQuery is one query of a panel and its legend.
type DashboardQuery struct{ Expr, Legend string }

// DashboardPanels are the dashboard's panels, safety and performance first.
func DashboardPanels() []DashboardPanel {
	return []DashboardPanel{
		{Title: "Chat turns per second", Unit: "reqps", Exprs: []DashboardQuery{
			{`sum by (instance) (rate(daisydog_turn_duration_seconds_count[1m]))`, "{{instance}}"}}},
		{Title: "Turn latency p50 / p95 / p99", Unit: "s", Exprs: []DashboardQuery{
			{`histogram_quantile(0.5, sum by (le) (rate(daisydog_turn_duration_seconds_bucket[5m])))`, "p50"},
			{`histogram_quantile(0.95, sum by (le) (rate(daisydog_turn_duration_seconds_bucket[5m])))`, "p95"},
			{`histogram_quantile(0.99, sum by (le) (rate(daisydog_turn_duration_seconds_bucket[5m])))`, "p99"}}},
		{Title: "Safety verdicts on children's messages", Unit: "ops", Exprs: []DashboardQuery{
			{`sum by (action) (rate(daisydog_policy_verdicts_total{target="message"}[5m]))`, "{{action}}"}}},
		{Title: "Categories found in children's messages", Unit: "ops", Exprs: []DashboardQuery{
			{`sum by (category) (rate(daisydog_policy_message_categories_total[5m]))`, "{{category}}"}}},
		{Title: "Escalations and policy failures", Unit: "ops", Exprs: []DashboardQuery{
			{`sum(rate(daisydog_safety_escalated_total[5m]))`, "escalated"},
			{`sum(rate(daisydog_safety_fail_closed_total[5m]))`, "failed closed"}}},
		{Title: "Parent safety alerts", Unit: "short", Exprs: []DashboardQuery{
			{`sum by (result) (increase(daisydog_safety_alerts_total[5m]))`, "{{result}}"}}},
		{Title: "Optional model provider: replies by outcome", Unit: "ops", Exprs: []DashboardQuery{
			{`sum by (result) (rate(daisydog_ai_provider_replies_total[5m]))`, "{{result}}"},
			{`daisydog_ai_provider_breaker_state{state!="closed"} == 1`, "breaker {{state}} {{instance}}"}}},
		{Title: "Where a turn's time goes (mean)", Unit: "s", Exprs: []DashboardQuery{
			{`sum(rate(daisydog_policy_evaluation_duration_seconds_sum[5m])) / sum(rate(daisydog_policy_evaluation_duration_seconds_count[5m]))`, "policy evaluation"},
			{`sum(rate(daisydog_raft_apply_duration_seconds_sum[5m])) / sum(rate(daisydog_raft_apply_duration_seconds_count[5m]))`, "Raft commit + apply"},
			{`sum(rate(daisydog_storage_read_duration_seconds_sum[5m])) / sum(rate(daisydog_storage_read_duration_seconds_count[5m]))`, "storage read"}}},
		{Title: "Requests by class", Unit: "reqps", Exprs: []DashboardQuery{
			{`sum by (class) (rate(daisydog_http_requests_total[1m]))`, "{{class}}"}}},
		{Title: "Turns refused under overload", Unit: "ops", Exprs: []DashboardQuery{
			{`sum by (instance) (rate(daisydog_turns_shed_total[1m]))`, "shed {{instance}}"},
			{`sum by (instance) (rate(daisydog_policy_starved_total[1m]))`, "safety check starved {{instance}}"}}},
		{Title: "Policy work: worst message against the budget", Unit: "percentunit", Exprs: []DashboardQuery{
			{`daisydog_policy_work_max_units / daisydog_policy_work_budget_units`, "{{instance}}"}}},
		{Title: "Raft: leader known, voters, apply lag", Unit: "short", Exprs: []DashboardQuery{
			{`daisydog_raft_leader_known`, "leader known {{instance}}"},
			{`daisydog_raft_voters`, "voters {{instance}}"},
			{`daisydog_raft_commit_index - daisydog_raft_applied_index`, "apply lag {{instance}}"}}},
		{Title: "Raft role", Unit: "short", Exprs: []DashboardQuery{
			{`daisydog_raft_state{state="leader"} == 1`, "leader: {{instance}}"}}},
		{Title: "Hot-read cache hit ratio", Unit: "percentunit", Exprs: []DashboardQuery{
			{`daisydog_read_cache_hit_ratio`, "{{instance}}"}}},
		{Title: "Data disk free", Unit: "bytes", Exprs: []DashboardQuery{
			{`daisydog_data_disk_free_bytes`, "free {{instance}}"},
			{`daisydog_data_disk_reserve_bytes`, "reserve {{instance}}"}}},
		{Title: "Database size", Unit: "bytes", Exprs: []DashboardQuery{
			{`daisydog_db_size_bytes`, "{{instance}}"}}},
		{Title: "Age of the last good backup", Unit: "s", Exprs: []DashboardQuery{
			{`time() - (daisydog_backup_last_success_timestamp_seconds > 0)`, "{{instance}}"}}},
		{Title: "Memory and goroutines", Unit: "short", Exprs: []DashboardQuery{
			{`daisydog_process_resident_memory_bytes / 1048576`, "RSS MiB {{instance}}"},
			{`daisydog_process_goroutines`, "goroutines {{instance}}"},
			{`daisydog_process_open_fds`, "open files {{instance}}"}}},
		{Title: "CPU (cores busy)", Unit: "short", Exprs: []DashboardQuery{
			{`rate(daisydog_process_cpu_seconds_total[1m])`, "{{instance}}"}}},
	}
}

// WriteDashboard writes a Grafana dashboard (JSON model, schema 39) of the
// panels, two per row, on a Prometheus data source chosen at import.
func WriteDashboard(w io.Writer, panels []DashboardPanel) error {
	type target struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		RefID        string `json:"refId"`
	}
	type panel struct {
		ID         int               `json:"id"`
		Type       string            `json:"type"`
		Title      string            `json:"title"`
		Datasource map[string]string `json:"datasource"`
		GridPos    map[string]int    `json:"gridPos"`
		Targets    []target          `json:"targets"`
		FieldCfg   map[string]any    `json:"fieldConfig"`
	}
	ds := map[string]string{"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
	var ps []panel
	for i, p := range panels {
		pp := panel{ID: i + 1, Type: "timeseries", Title: p.Title, Datasource: ds,
			GridPos:  map[string]int{"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
			FieldCfg: map[string]any{"defaults": map[string]any{"unit": p.Unit}, "overrides": []any{}}}
		for j, q := range p.Exprs {
			pp.Targets = append(pp.Targets, target{Expr: q.Expr, LegendFormat: q.Legend, RefID: string(rune('A' + j))})
		}
		ps = append(ps, pp)
	}
	doc := map[string]any{
		"__inputs": []map[string]string{{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}},
		"title":    "DaisyDog Edge",
		"uid":      "daisydog-edge",
		"description": "Generated by `daisydog monitoring dashboard` (node/api/monitoring.go): safety verdicts, turn latency, " +
			"Raft, disk, backups and memory of a DaisyDog Edge cluster.",
		"schemaVersion": 39,
		"tags":          []string{"daisydog"},
		"time":          map[string]string{"from": "now-6h", "to": "now"},
		"refresh":       "30s",
		"panels":        ps,
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
