package api

import (
	"bytes"
	"cmp"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"daisydog/raftcluster"
)

// GET /metrics: the metrics of GET /v1/metrics (MetricsSnapshot) in the
// Prometheus text exposition format, version 0.0.4, written with the
// standard library only. Same access rule as /v1/metrics (metricsAllowed:
// loopback clients or the operator metrics token; anyone else gets 404).
//
// Every name starts with daisydog_, is snake_case and carries its unit
// (_seconds, _bytes; _total on counters). Label values are fixed names
// only — response classes, policy actions and categories, Raft roles,
// bucket bounds — never IDs, text or secrets. The output order is fixed:
// families in the order written below, series sorted by label value.
//
// The latency timings are exported as Prometheus *histograms*, not
// summaries: the snapshot keeps the raw per-bucket counts (fixed 1-2-5
// bounds, 10µs…10s, plus an overflow bucket) and the exact sum, which is
// exactly what a histogram needs; the buckets are made cumulative here. A
// histogram also aggregates across the three nodes and over any window
// (histogram_quantile(0.99, sum by (le) (rate(..._bucket[5m])))), which the
// snapshot's own since-start p50/p99 could not.

// promContentType is the text format's media type.
const promContentType = "text/plain; version=0.0.4; charset=utf-8"

// raftStatuser is the part of the Replicator that reports Raft state
// (raftcluster.Cluster). Optional: without it no raft_ families are written.
type raftStatuser interface {
	Status() raftcluster.Status
}

// prometheus serves GET /metrics.
func (s *Server) prometheus(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if !s.metricsAllowed(r) {
		return errNotFound
	}
	snap := s.snapshot()
	var rs *raftcluster.Status
	if sr, ok := s.Repl.(raftStatuser); ok {
		st := sr.Status()
		rs = &st
	}
	var b bytes.Buffer
	writePrometheus(&b, snap, rs)
	w.Header().Set("Content-Type", promContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}

// promTiming names the Prometheus histogram of each snapshot timing.
var promTimings = []struct{ key, name, help string }{
	{"http_request", "daisydog_http_request_duration_seconds", "Time to serve an API request inside the node, end to end."},
	{"turn", "daisydog_turn_duration_seconds", "Time to run a chat or game turn, the whole pipeline."},
	{"policy_eval", "daisydog_policy_evaluation_duration_seconds", "Time of one safety-policy evaluation (message or reply), once admitted."},
	{"policy_wait", "daisydog_policy_wait_duration_seconds", "Time waiting for a policy-evaluation slot (admission)."},
	{"turn_wait", "daisydog_turn_wait_duration_seconds", "Time waiting for a turn slot (admission)."},
	{"raft_apply", "daisydog_raft_apply_duration_seconds", "Time the API waits for a write: forward, commit, apply, this node caught up."},
	{"fsm_apply_batch", "daisydog_fsm_apply_batch_duration_seconds", "Time of one state-machine batch (one SQLite transaction)."},
	{"storage_read", "daisydog_storage_read_duration_seconds", "Time of one storage read statement."},
}

// promProcess names the Prometheus metric of each snapshot process figure;
// scale converts the snapshot's unit to the metric's (nanoseconds to seconds).
var promProcess = []struct {
	key, name, typ, help string
	scale                float64
}{
	{"goroutines", "daisydog_process_goroutines", "gauge", "Goroutines in the process.", 1},
	{"open_fds", "daisydog_process_open_fds", "gauge", "Open file descriptors of the process.", 1},
	{"rss_bytes", "daisydog_process_resident_memory_bytes", "gauge", "Resident set size of the process.", 1},
	{"rss_anon_bytes", "daisydog_process_resident_memory_anon_bytes", "gauge", "Anonymous resident memory (Go heap, SQLite's allocator).", 1},
	{"rss_file_bytes", "daisydog_process_resident_memory_file_bytes", "gauge", "File-backed resident memory (the binary, the Raft log's memory map).", 1},
	{"heap_inuse", "daisydog_go_heap_inuse_bytes", "gauge", "Go heap bytes in use.", 1},
	{"sys_bytes", "daisydog_go_sys_bytes", "gauge", "Bytes the Go runtime obtained from the OS.", 1},
	{"go_held_bytes", "daisydog_go_held_bytes", "gauge", "Bytes the Go runtime holds from the OS (obtained less released).", 1},
	{"go_memory_limit_bytes", "daisydog_go_memory_limit_bytes", "gauge", "The Go runtime's soft memory limit (--memory-limit); absent when there is none.", 1},
	{"gc_cycles", "daisydog_go_gc_cycles_total", "counter", "Completed Go garbage-collection cycles.", 1},
	{"gc_pause_total", "daisydog_go_gc_pause_seconds_total", "counter", "Total Go garbage-collection stop-the-world pause time.", 1e-9},
	{"cpu_ns", "daisydog_process_cpu_seconds_total", "counter", "User and system CPU time the process used.", 1e-9},
	{"db_bytes", "daisydog_db_size_bytes", "gauge", "Size of the SQLite database (file and WAL).", 1},
}

// aiResults are the outcomes of daisydog_ai_provider_replies_total.
var aiResults = []string{"used", "refused", "failed", "breaker_open"}

// aiBreakerStates are the states of the provider's breaker (node/llm).
var aiBreakerStates = []string{"closed", "open", "half_open"}

// raftStates are the Raft roles daisydog_raft_state reports (one is 1).
var raftStates = []string{"candidate", "follower", "leader", "shutdown", "unknown"}

// writePrometheus renders snap (and Raft state, if rs is not nil).
func writePrometheus(b *bytes.Buffer, snap MetricsSnapshot, rs *raftcluster.Status) {
	p := promWriter{b: b}
	p.single("daisydog_uptime_seconds", "gauge", "Seconds since this node's metrics started.", snap.UptimeSec)

	p.family("daisydog_http_requests_total", "counter", "API requests served, by response class (1xx and 3xx count as 2xx).")
	for _, class := range sortedKeys(snap.Requests) {
		if class != "total" { // the sum of the classes: a series of its own would double-count
			p.sample("daisydog_http_requests_total", []string{"class", class}, float64(snap.Requests[class]))
		}
	}

	known := map[string]bool{}
	for _, t := range promTimings {
		known[t.key] = true
		if h, ok := snap.Timings[t.key]; ok {
			p.histogram(t.name, t.help, h)
		}
	}
	for _, k := range sortedKeys(snap.Timings) { // a timing added to the snapshot but not to promTimings
		if !known[k] {
			p.histogram("daisydog_"+promName(k)+"_duration_seconds", "Duration of "+k+".", snap.Timings[k])
		}
	}

	p.single("daisydog_turns_shed_total", "counter", "Turns refused by admission under overload (503).", float64(snap.Shed))
	if pw := snap.PolicyWork; pw != nil && pw.Budget > 0 {
		p.single("daisydog_policy_work_units_total", "counter", "Work units (2,048 checks each) the active policy's evaluations used on this node since it was loaded here.", float64(pw.Units))
		p.single("daisydog_policy_work_max_units", "gauge", "The most work units one evaluation of the active policy used on this node.", float64(pw.MaxUnits))
		p.single("daisydog_policy_work_budget_units", "gauge", "Work budget of one policy evaluation, in work units.", float64(pw.Budget))
	}
	p.single("daisydog_policy_starved_total", "counter", "Policy evaluations whose time ran out with work budget left (overload): refused as busy, not failed closed.", float64(snap.PolicyStarved))
	p.single("daisydog_fsm_batches_total", "counter", "State-machine batches applied (SQLite transactions).", float64(snap.FSM["batches"]))
	p.single("daisydog_fsm_entries_total", "counter", "Raft log entries applied by the state machine (entries/batches is the batching).", float64(snap.FSM["entries"]))

	sf := snap.Safety
	p.single("daisydog_safety_turns_total", "counter", "Turns this node stored.", float64(sf.Turns))
	p.family("daisydog_policy_verdicts_total", "counter", "Safety-policy verdicts on stored turns, by target (the child's message or Daisy's reply) and action.")
	for _, t := range []struct {
		target string
		m      map[string]uint64
	}{{"message", sf.In}, {"reply", sf.Out}} {
		for _, a := range sortedKeys(t.m) {
			p.sample("daisydog_policy_verdicts_total", []string{"action", a, "target", t.target}, float64(t.m[a]))
		}
	}
	p.family("daisydog_policy_message_categories_total", "counter", "Safety categories the policy found in children's messages on stored turns.")
	for _, c := range sortedKeys(sf.Categories) {
		p.sample("daisydog_policy_message_categories_total", []string{"category", c}, float64(sf.Categories[c]))
	}
	p.single("daisydog_safety_escalated_total", "counter", "Stored turns escalated to the family's moderators.", float64(sf.Escalated))
	p.single("daisydog_safety_fail_closed_total", "counter", "Stored turns that failed closed (the policy could not decide).", float64(sf.FailClosed))

	bk := snap.Backups
	p.family("daisydog_backups_total", "counter", "Scheduled backups of this node, by result (ok: written and verified).")
	p.sample("daisydog_backups_total", []string{"result", "ok"}, float64(bk.OK))
	p.sample("daisydog_backups_total", []string{"result", "failed"}, float64(bk.Failed))
	p.single("daisydog_backup_last_success_timestamp_seconds", "gauge", "When this node's last good scheduled backup finished (unix seconds; 0 = none yet).", float64(bk.LastOKUnix))
	p.single("daisydog_backup_last_size_bytes", "gauge", "Size of this node's last good scheduled backup.", float64(bk.LastBytes))

	if tl := snap.TLS; tl.NodeCertNotAfterUnix > 0 || tl.CANotAfterUnix > 0 {
		p.family("daisydog_tls_certificate_expiry_timestamp_seconds", "gauge", "When a certificate expires (unix seconds): cert=node, the certificate this node presents now (renewed by the node 180 days ahead); cert=ca, the cluster CA (not renewed).")
		p.sample("daisydog_tls_certificate_expiry_timestamp_seconds", []string{"cert", "node"}, float64(tl.NodeCertNotAfterUnix))
		p.sample("daisydog_tls_certificate_expiry_timestamp_seconds", []string{"cert", "ca"}, float64(tl.CANotAfterUnix))
	}

	p.family("daisydog_safety_alerts_total", "counter", "Parent safety-alert e-mails this node sent from the outbox as leader, by result (ok: sent; failed: retried).")
	p.sample("daisydog_safety_alerts_total", []string{"result", "ok"}, float64(snap.Alerts["sent"]))
	p.sample("daisydog_safety_alerts_total", []string{"result", "failed"}, float64(snap.Alerts["failed"]))

	ml := snap.Mail
	p.family("daisydog_mail_total", "counter", "E-mails to parents (address confirmation, password reset, consent confirmation) this node sent from the outbox as leader, by result (ok: sent; failed: retried later; dropped: not sent within a day or a dozen attempts).")
	p.sample("daisydog_mail_total", []string{"result", "ok"}, float64(ml.Sent))
	p.sample("daisydog_mail_total", []string{"result", "failed"}, float64(ml.Failed))
	p.sample("daisydog_mail_total", []string{"result", "dropped"}, float64(ml.Dropped))
	p.single("daisydog_mail_outbox_pending", "gauge", "E-mails waiting in the replicated outbox (the same on every node).", float64(ml.Pending))
	p.single("daisydog_mail_outbox_oldest_age_seconds", "gauge", "How long the oldest e-mail in the outbox has waited (0: none).", ml.OldestAgeSec)

	// The optional model provider: the replies family always (zeros
	// without a provider, so rules over it hold on every node), the
	// breaker's state only with one.
	p.single("daisydog_ai_provider_configured", "gauge", "1 if the optional model provider is configured on this node.", b2f(snap.AI != nil))
	p.family("daisydog_ai_provider_replies_total", "counter", "Turns that asked the optional model provider (or would have), by outcome: used; refused (out of character, or by the output policy); failed (error, timeout); breaker_open (not asked). All but used kept the built-in reply.")
	for _, r := range aiResults {
		var v uint64
		if snap.AI != nil {
			v = snap.AI.Replies[r]
		}
		p.sample("daisydog_ai_provider_replies_total", []string{"result", r}, float64(v))
	}
	if snap.AI != nil && snap.AI.Breaker != "" {
		p.family("daisydog_ai_provider_breaker_state", "gauge", "The optional model provider's circuit breaker (1 for the current state): open after consecutive failures, half_open while one probe call may go through.")
		for _, st := range aiBreakerStates {
			p.sample("daisydog_ai_provider_breaker_state", []string{"state", st}, b2f(st == snap.AI.Breaker))
		}
	}

	p.single("daisydog_moderation_open_events", "gauge", "Safety events no moderator has reviewed yet (the same on every node).", float64(snap.Moderation.Open))
	p.single("daisydog_moderation_oldest_open_age_seconds", "gauge", "How long the oldest unreviewed safety event has waited (0: none).", snap.Moderation.OldestAgeSec)

	if d := snap.Disk; d != nil {
		low := 0.0
		if d.Low {
			low = 1
		}
		p.single("daisydog_data_disk_free_bytes", "gauge", "Free bytes on the data directory's file system, as last checked.", float64(d.FreeBytes))
		p.single("daisydog_data_disk_reserve_bytes", "gauge", "Free space below which this node refuses writes (507) and leaves leadership.", float64(d.ReserveBytes))
		p.single("daisydog_data_disk_low", "gauge", "1 while free space is below the reserve (writes refused), else 0.", low)
	}

	c := snap.Cache
	p.single("daisydog_read_cache_hits_total", "counter", "Hot-read cache hits.", float64(c.Hits))
	p.single("daisydog_read_cache_misses_total", "counter", "Hot-read cache misses.", float64(c.Misses))
	p.single("daisydog_read_cache_invalidations_total", "counter", "Hot-read cache invalidations.", float64(c.Invalidations))
	p.single("daisydog_read_cache_entries", "gauge", "Entries in the hot-read cache.", float64(c.Entries))
	p.single("daisydog_read_cache_hit_ratio", "gauge", "Hot-read cache hits / (hits + misses) since start (0 before any lookup).", c.HitRatio)
	if rv := snap.ReplyVerdicts; rv != nil {
		hits, misses := rv["hits"], rv["misses"]
		ratio := 0.0
		if hits+misses > 0 {
			ratio = float64(hits) / float64(hits+misses)
		}
		p.single("daisydog_reply_verdict_cache_hits_total", "counter", "Output-policy verdict cache hits (Daisy's lines).", float64(hits))
		p.single("daisydog_reply_verdict_cache_misses_total", "counter", "Output-policy verdict cache misses.", float64(misses))
		p.single("daisydog_reply_verdict_cache_entries", "gauge", "Entries in the output-policy verdict cache.", float64(rv["entries"]))
		p.single("daisydog_reply_verdict_cache_hit_ratio", "gauge", "Output-policy verdict cache hits / (hits + misses) since start.", ratio)
	}

	for _, m := range promProcess {
		if v, ok := snap.Process[m.key]; ok {
			p.single(m.name, m.typ, m.help, float64(v)*m.scale)
		}
	}

	if rs != nil {
		state := strings.ToLower(rs.State)
		if !slices.Contains(raftStates, state) {
			state = "unknown"
		}
		p.family("daisydog_raft_state", "gauge", "This node's Raft role (1 for the current one).")
		for _, st := range raftStates {
			p.sample("daisydog_raft_state", []string{"state", st}, b2f(st == state))
		}
		p.single("daisydog_raft_leader_known", "gauge", "1 if this node knows a cluster leader.", b2f(rs.LeaderID != ""))
		p.single("daisydog_raft_term", "gauge", "Current Raft term.", float64(rs.Term))
		p.single("daisydog_raft_applied_index", "gauge", "Last Raft log index this node's state machine applied.", float64(rs.AppliedIndex))
		p.single("daisydog_raft_commit_index", "gauge", "Last Raft log index this node knows committed.", float64(rs.CommitIndex))
		p.single("daisydog_raft_last_log_index", "gauge", "Last index in this node's Raft log.", float64(rs.LastLogIndex))
		p.single("daisydog_raft_last_snapshot_index", "gauge", "Raft log index of this node's latest snapshot (0 if none).", float64(rs.LastSnapshotIndex))
		p.single("daisydog_raft_commit_notices_total", "counter", "Empty entries this node appended as leader to tell followers of a commit when writes paused.", float64(rs.CommitNotices))
		voters := 0
		for _, n := range rs.Nodes {
			if n.Suffrage == "Voter" {
				voters++
			}
		}
		p.single("daisydog_raft_voters", "gauge", "Voting members in this node's view of the cluster configuration.", float64(voters))
	}
}

// promWriter writes families and samples into a buffer.
type promWriter struct{ b *bytes.Buffer }

// family writes the HELP and TYPE lines.
func (p promWriter) family(name, typ, help string) {
	p.b.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
	p.b.WriteString("# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample; labels are name, value pairs.
func (p promWriter) sample(name string, labels []string, v float64) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		p.b.WriteByte('}')
	}
	p.b.WriteString(" " + promFloat(v) + "\n")
}

// single writes a family of one unlabelled sample.
func (p promWriter) single(name, typ, help string, v float64) {
	p.family(name, typ, help)
	p.sample(name, nil, v)
}

// histogram writes h as a Prometheus histogram: the snapshot's per-bucket
// counts made cumulative, bounds in seconds, the overflow bucket folded
// into +Inf. _count is the +Inf bucket (not h.Count, which a concurrent
// observation may have moved between the two loads), so the two always
// agree as the format requires.
func (p promWriter) histogram(name, help string, h HistogramSnapshot) {
	p.family(name, "histogram", help)
	bs := slices.Clone(h.Buckets)
	slices.SortStableFunc(bs, func(x, y Bucket) int {
		switch {
		case x.LeMs < 0 && y.LeMs < 0:
			return 0
		case x.LeMs < 0:
			return 1
		case y.LeMs < 0:
			return -1
		}
		return cmp.Compare(x.LeMs, y.LeMs)
	})
	var cum uint64
	for _, bk := range bs {
		cum += bk.Count
		if bk.LeMs >= 0 {
			// Bounds are whole nanoseconds: round away the ms conversion's error.
			p.sample(name+"_bucket", []string{"le", promFloat(math.Round(bk.LeMs*1e6) / 1e9)}, float64(cum))
		}
	}
	p.sample(name+"_bucket", []string{"le", "+Inf"}, float64(cum))
	p.sample(name+"_sum", nil, h.SumMs/1e3)
	p.sample(name+"_count", nil, float64(cum))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// promFloat formats a sample value or bound as the format wants it.
func promFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// escapeLabel escapes a label value: backslash, double quote, line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// promName turns a key into a metric-name part ([a-zA-Z0-9_], lower case).
func promName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
