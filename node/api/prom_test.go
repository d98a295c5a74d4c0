package api

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"daisydog/raftcluster"
)

// A small, strict reader of the Prometheus text format 0.0.4, written
// against the spec rather than against prom.go: every sample follows the
// HELP and TYPE lines of its family, a family's lines are contiguous,
// names and labels are well formed, label values use only the three
// escapes, no series appears twice, histograms are cumulative with a +Inf
// bucket equal to _count. Plus our conventions: daisydog_ prefix, counters
// end in _total.

// PromSeries is one parsed sample.
type PromSeries struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// PromDoc is a parsed exposition.
type PromDoc struct {
	Types  map[string]string  // family → type
	Values map[string]float64 // promKey(name, labels) → value
	Series []PromSeries       // in document order
}

// ParsePromText is the strict reader (exported for the node test in package api_test).
var ParsePromText = parseProm

var (
	promMetricRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabelRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// PromKey is the canonical key of a series: name{k="v",…}, labels sorted
// by name, values quoted with Go's %q (independent of the exporter's escaping).
func PromKey(name string, labels ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	return promKeyOf(name, m)
}

func promKeyOf(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

type promHist struct {
	les, counts []float64
	sum, count  *float64
}

func parseProm(text string) (*PromDoc, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("exposition does not end with a line feed")
	}
	doc := &PromDoc{Types: map[string]string{}, Values: map[string]float64{}}
	helps := map[string]bool{}
	closed := map[string]bool{} // families whose block has ended
	cur := ""                   // the family of the current block
	hists := map[string]*promHist{}
	var histOrder []string
	enter := func(name string) error {
		if name == cur {
			return nil
		}
		if closed[name] {
			return fmt.Errorf("family %s appears in two blocks", name)
		}
		if cur != "" {
			closed[cur] = true
		}
		cur = name
		return nil
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, a ...any) (*PromDoc, error) {
			return nil, fmt.Errorf("line %d %q: %s", i+1, line, fmt.Sprintf(format, a...))
		}
		switch {
		case line == "":
			return fail("empty line")
		case strings.HasPrefix(line, "# HELP "):
			name, help, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if !ok || !promMetricRE.MatchString(name) || help == "" {
				return fail("malformed HELP")
			}
			if helps[name] || doc.Types[name] != "" {
				return fail("HELP twice or after TYPE")
			}
			if err := checkEscapes(help, false); err != nil {
				return fail("%v", err)
			}
			if err := enter(name); err != nil {
				return fail("%v", err)
			}
			helps[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, ok := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if !ok || !promMetricRE.MatchString(name) {
				return fail("malformed TYPE")
			}
			if !slices.Contains([]string{"counter", "gauge", "histogram", "summary", "untyped"}, typ) {
				return fail("unknown type %q", typ)
			}
			if doc.Types[name] != "" {
				return fail("TYPE twice")
			}
			if err := enter(name); err != nil {
				return fail("%v", err)
			}
			if !helps[name] {
				return fail("TYPE without HELP")
			}
			if !strings.HasPrefix(name, "daisydog_") {
				return fail("name without the daisydog_ prefix")
			}
			if typ == "counter" && !strings.HasSuffix(name, "_total") {
				return fail("counter not ending in _total")
			}
			doc.Types[name] = typ
		case strings.HasPrefix(line, "#"):
			return fail("comment other than HELP or TYPE")
		default:
			s, err := parseSample(line)
			if err != nil {
				return fail("%v", err)
			}
			typ := doc.Types[cur]
			suffix, ok := strings.CutPrefix(s.Name, cur)
			switch {
			case typ == "":
				return fail("sample without a TYPE line")
			case !ok:
				return fail("sample of another family than %s (or its TYPE is elsewhere)", cur)
			case typ == "histogram" && !slices.Contains([]string{"_bucket", "_sum", "_count"}, suffix):
				return fail("histogram sample %s", s.Name)
			case typ != "histogram" && suffix != "":
				return fail("%s sample named %s", typ, s.Name)
			case typ == "counter" && !(s.Value >= 0):
				return fail("counter value %v", s.Value)
			}
			key := promKeyOf(s.Name, s.Labels)
			if _, dup := doc.Values[key]; dup {
				return fail("duplicate series")
			}
			doc.Values[key] = s.Value
			doc.Series = append(doc.Series, s)
			if typ != "histogram" {
				if _, has := s.Labels["le"]; has {
					return fail("le label outside a histogram")
				}
				continue
			}
			rest := map[string]string{}
			le, hasLe := "", false
			for k, v := range s.Labels {
				if k == "le" {
					le, hasLe = v, true
				} else {
					rest[k] = v
				}
			}
			gk := promKeyOf(cur, rest)
			h := hists[gk]
			if h == nil {
				h = &promHist{}
				hists[gk] = h
				histOrder = append(histOrder, gk)
			}
			switch suffix {
			case "_bucket":
				if !hasLe {
					return fail("bucket without le")
				}
				bound, err := strconv.ParseFloat(le, 64)
				if err != nil || math.IsNaN(bound) {
					return fail("le %q", le)
				}
				if n := len(h.les); n > 0 && (bound <= h.les[n-1] || s.Value < h.counts[n-1]) {
					return fail("buckets not increasing and cumulative")
				}
				if h.count != nil || h.sum != nil {
					return fail("bucket after _sum/_count")
				}
				h.les, h.counts = append(h.les, bound), append(h.counts, s.Value)
			case "_sum", "_count":
				if hasLe {
					return fail("le on %s", suffix)
				}
				v := s.Value
				if suffix == "_sum" {
					h.sum = &v
				} else {
					h.count = &v
				}
			}
		}
	}
	for _, gk := range histOrder {
		h := hists[gk]
		n := len(h.les)
		switch {
		case n == 0 || !math.IsInf(h.les[n-1], 1):
			return nil, fmt.Errorf("histogram %s: no +Inf bucket", gk)
		case h.count == nil || h.sum == nil:
			return nil, fmt.Errorf("histogram %s: no _count or _sum", gk)
		case *h.count != h.counts[n-1]:
			return nil, fmt.Errorf("histogram %s: _count %v, +Inf bucket %v", gk, *h.count, h.counts[n-1])
		}
	}
	return doc, nil
}

// parseSample reads name{labels} value (no timestamps: we write none).
func parseSample(line string) (PromSeries, error) {
	s := PromSeries{Labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return s, fmt.Errorf("no value")
	}
	s.Name, line = line[:end], line[end:]
	if !promMetricRE.MatchString(s.Name) {
		return s, fmt.Errorf("bad metric name %q", s.Name)
	}
	if strings.HasPrefix(line, "{") {
		line = line[1:]
		for {
			name, rest, ok := strings.Cut(line, `="`)
			if !ok || !promLabelRE.MatchString(name) || strings.HasPrefix(name, "__") {
				return s, fmt.Errorf("bad label name in %q", line)
			}
			if _, dup := s.Labels[name]; dup {
				return s, fmt.Errorf("label %s twice", name)
			}
			var val strings.Builder
			i := 0
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					if i+1 == len(rest) {
						return s, fmt.Errorf("dangling escape")
					}
					i++
					switch rest[i] {
					case '\\', '"':
						val.WriteByte(rest[i])
					case 'n':
						val.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", rest[i])
					}
					continue
				}
				val.WriteByte(rest[i])
			}
			if i == len(rest) {
				return s, fmt.Errorf("unterminated label value")
			}
			s.Labels[name] = val.String()
			rest = rest[i+1:]
			if r, ok := strings.CutPrefix(rest, "}"); ok {
				line = r
				break
			}
			r, ok := strings.CutPrefix(rest, ",")
			if !ok {
				return s, fmt.Errorf("expected , or } after a label")
			}
			line = r
		}
	}
	v, ok := strings.CutPrefix(line, " ")
	if !ok || v == "" || strings.ContainsAny(v, " \t") {
		return s, fmt.Errorf("expected one space and a value, got %q", line)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return s, fmt.Errorf("value %q", v)
	}
	s.Value = f
	return s, nil
}

// checkEscapes accepts only \\ and \n (and \" in label values).
func checkEscapes(s string, quote bool) error {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+1 == len(s) || !(s[i+1] == '\\' || s[i+1] == 'n' || (quote && s[i+1] == '"')) {
				return fmt.Errorf("bad escape at %d", i)
			}
			i++
		}
	}
	return nil
}

// The reader itself must refuse what the format forbids, or the tests
// below would prove nothing.
func TestPromParserRejects(t *testing.T) {
	const c = "# HELP daisydog_x_total x\n# TYPE daisydog_x_total counter\n"
	const h = "# HELP daisydog_h_seconds h\n# TYPE daisydog_h_seconds histogram\n"
	good := c + "daisydog_x_total{a=\"q\\\"\\\\\\n\"} 1\n" + h +
		"daisydog_h_seconds_bucket{le=\"0.1\"} 1\ndaisydog_h_seconds_bucket{le=\"+Inf\"} 2\ndaisydog_h_seconds_sum 0.3\ndaisydog_h_seconds_count 2\n"
	doc, err := parseProm(good)
	if err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	if v, ok := doc.Values[PromKey("daisydog_x_total", "a", "q\"\\\n")]; !ok || v != 1 {
		t.Fatalf("escaped label not decoded: %v", doc.Values)
	}
	for _, tc := range []struct{ name, text string }{
		{"no TYPE", "daisydog_x_total 1\n"},
		{"TYPE of another family", c + "daisydog_y_total 1\n"},
		{"no final line feed", c + "daisydog_x_total 1"},
		{"bad metric name", "# HELP 1x x\n# TYPE 1x gauge\n1x 1\n"},
		{"bad label name", c + "daisydog_x_total{1a=\"b\"} 1\n"},
		{"unquoted label", c + "daisydog_x_total{a=b} 1\n"},
		{"unescaped quote", c + "daisydog_x_total{a=\"b\"c\"} 1\n"},
		{"bad escape", c + "daisydog_x_total{a=\"\\t\"} 1\n"},
		{"unterminated labels", c + "daisydog_x_total{a=\"b\" 1\n"},
		{"label twice", c + "daisydog_x_total{a=\"b\",a=\"c\"} 1\n"},
		{"duplicate series", c + "daisydog_x_total 1\ndaisydog_x_total 2\n"},
		{"duplicate series, label order", c + "daisydog_x_total{a=\"1\",b=\"2\"} 1\ndaisydog_x_total{b=\"2\",a=\"1\"} 1\n"},
		{"TYPE twice", c + "# TYPE daisydog_x_total counter\n"},
		{"family split", c + "daisydog_x_total{a=\"1\"} 1\n# HELP daisydog_g g\n# TYPE daisydog_g gauge\ndaisydog_g 1\n" + c},
		{"bad value", c + "daisydog_x_total one\n"},
		{"negative counter", c + "daisydog_x_total -1\n"},
		{"counter without _total", "# HELP daisydog_x x\n# TYPE daisydog_x counter\ndaisydog_x 1\n"},
		{"no prefix", "# HELP x_total x\n# TYPE x_total counter\nx_total 1\n"},
		{"empty line", c + "\ndaisydog_x_total 1\n"},
		{"stray comment", c + "# hello\n"},
		{"no +Inf", h + "daisydog_h_seconds_bucket{le=\"0.1\"} 1\ndaisydog_h_seconds_sum 0\ndaisydog_h_seconds_count 1\n"},
		{"not cumulative", h + "daisydog_h_seconds_bucket{le=\"0.1\"} 2\ndaisydog_h_seconds_bucket{le=\"+Inf\"} 1\ndaisydog_h_seconds_sum 0\ndaisydog_h_seconds_count 1\n"},
		{"bounds out of order", h + "daisydog_h_seconds_bucket{le=\"0.2\"} 1\ndaisydog_h_seconds_bucket{le=\"0.1\"} 1\ndaisydog_h_seconds_bucket{le=\"+Inf\"} 1\ndaisydog_h_seconds_sum 0\ndaisydog_h_seconds_count 1\n"},
		{"+Inf not _count", h + "daisydog_h_seconds_bucket{le=\"+Inf\"} 2\ndaisydog_h_seconds_sum 0\ndaisydog_h_seconds_count 3\n"},
		{"no _sum", h + "daisydog_h_seconds_bucket{le=\"+Inf\"} 2\ndaisydog_h_seconds_count 2\n"},
		{"bucket without le", h + "daisydog_h_seconds_bucket 2\n"},
		{"stray histogram sample", h + "daisydog_h_seconds_max 2\n"},
	} {
		if _, err := parseProm(tc.text); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// knownSnapshot is a snapshot whose every figure the test knows.
func knownSnapshot() (MetricsSnapshot, *raftcluster.Status) {
	var turn Histogram
	for range 90 {
		turn.Observe(3 * time.Millisecond) // (2ms, 5ms]
	}
	for range 10 {
		turn.Observe(300 * time.Millisecond) // (200ms, 500ms]
	}
	turn.Observe(time.Minute) // above the largest bound
	var policy Histogram
	policy.Observe(10 * time.Microsecond) // exactly on the first bound
	var empty Histogram
	// A snapshot taken while an observation landed: the count was read
	// after it, the buckets before (or a hand-built one, unsorted).
	racy := HistogramSnapshot{Count: 5, SumMs: 4, Buckets: []Bucket{{LeMs: -1, Count: 1}, {LeMs: 1, Count: 3}}}
	snap := MetricsSnapshot{
		UptimeSec: 12.5,
		Requests:  map[string]uint64{"total": 10, "2xx": 7, "4xx": 2, "5xx": 1},
		Timings: map[string]HistogramSnapshot{"turn": turn.Snapshot(), "policy_eval": policy.Snapshot(), "storage_read": empty.Snapshot(), "turn_wait": racy,
			"Odd-Stage": policy.Snapshot()}, // a timing without a chosen name
		FSM:           map[string]uint64{"batches": 4, "entries": 9},
		Cache:         CacheSnapshot{HitRatio: 0.75},
		ReplyVerdicts: map[string]uint64{"hits": 1, "misses": 3, "entries": 2},
		Process: map[string]int64{"goroutines": 17, "cpu_ns": 2_500_000_000, "gc_pause_total": 1_500_000,
			"rss_bytes": 1 << 20, "open_fds": 9, "db_bytes": 4096},
		Shed:   5,
		Disk:   &DiskSnapshot{FreeBytes: 5 << 30, ReserveBytes: 64 << 20, Low: true},
		Alerts: map[string]uint64{"sent": 7, "failed": 2},
		Safety: SafetySnapshot{Turns: 6, Escalated: 1, FailClosed: 2,
			In:         map[string]uint64{"allow": 4, "support": 1, "redact": 1},
			Out:        map[string]uint64{"allow": 6, "block": 0},
			Categories: map[string]uint64{"self_harm": 1, "pii_disclosure": 1, "we\"ird\\cat\nx": 3}},
	}
	snap.Cache.Hits, snap.Cache.Misses, snap.Cache.Invalidations, snap.Cache.Entries = 3, 1, 8, 11
	rs := &raftcluster.Status{NodeID: "node-secret-id", State: "Leader", LeaderID: "node-secret-id", LeaderAddr: "10.9.8.7:7000",
		Term: 7, AppliedIndex: 42, CommitIndex: 43, LastLogIndex: 44, LastSnapshotIndex: 40, CommitNotices: 12,
		Nodes: []raftcluster.NodeStatus{{ID: "a", Suffrage: "Voter"}, {ID: "b", Suffrage: "Voter"}, {ID: "c", Suffrage: "Voter"}, {ID: "d", Suffrage: "Nonvoter"}}}
	return snap, rs
}

func renderProm(snap MetricsSnapshot, rs *raftcluster.Status) string {
	var b bytes.Buffer
	writePrometheus(&b, snap, rs)
	return b.String()
}

func TestPromRender(t *testing.T) {
	snap, rs := knownSnapshot()
	out := renderProm(snap, rs)
	doc, err := parseProm(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	const turn = "daisydog_turn_duration_seconds"
	type want struct {
		series string
		value  float64
	}
	for _, w := range []want{
		{"daisydog_uptime_seconds", 12.5},
		{PromKey("daisydog_http_requests_total", "class", "2xx"), 7},
		{PromKey("daisydog_http_requests_total", "class", "4xx"), 2},
		{PromKey("daisydog_http_requests_total", "class", "5xx"), 1},
		{PromKey(turn+"_bucket", "le", "1e-05"), 0},
		{PromKey(turn+"_bucket", "le", "0.002"), 0},
		{PromKey(turn+"_bucket", "le", "0.005"), 90},
		{PromKey(turn+"_bucket", "le", "0.2"), 90},
		{PromKey(turn+"_bucket", "le", "0.5"), 100},
		{PromKey(turn+"_bucket", "le", "10"), 100},
		{PromKey(turn+"_bucket", "le", "+Inf"), 101},
		{turn + "_count", 101},
		{turn + "_sum", 63.27}, // 90×3ms + 10×300ms + 60s
		{PromKey("daisydog_policy_evaluation_duration_seconds_bucket", "le", "1e-05"), 1},
		{"daisydog_policy_evaluation_duration_seconds_sum", 1e-05},
		{PromKey("daisydog_storage_read_duration_seconds_bucket", "le", "+Inf"), 0},
		{"daisydog_storage_read_duration_seconds_count", 0},
		{PromKey("daisydog_turn_wait_duration_seconds_bucket", "le", "0.001"), 3},
		{PromKey("daisydog_turn_wait_duration_seconds_bucket", "le", "+Inf"), 4},
		{"daisydog_turn_wait_duration_seconds_count", 4}, // the +Inf bucket, not Count
		{"daisydog_turn_wait_duration_seconds_sum", 0.004},
		{"daisydog_odd_stage_duration_seconds_count", 1},
		{"daisydog_turns_shed_total", 5},
		{"daisydog_fsm_batches_total", 4},
		{"daisydog_fsm_entries_total", 9},
		{"daisydog_safety_turns_total", 6},
		{PromKey("daisydog_policy_verdicts_total", "target", "message", "action", "allow"), 4},
		{PromKey("daisydog_policy_verdicts_total", "target", "message", "action", "support"), 1},
		{PromKey("daisydog_policy_verdicts_total", "target", "reply", "action", "allow"), 6},
		{PromKey("daisydog_policy_verdicts_total", "target", "reply", "action", "block"), 0},
		{PromKey("daisydog_policy_message_categories_total", "category", "self_harm"), 1},
		{PromKey("daisydog_policy_message_categories_total", "category", "we\"ird\\cat\nx"), 3},
		{"daisydog_safety_escalated_total", 1},
		{"daisydog_safety_fail_closed_total", 2},
		{"daisydog_read_cache_hits_total", 3},
		{"daisydog_read_cache_misses_total", 1},
		{"daisydog_read_cache_invalidations_total", 8},
		{"daisydog_read_cache_entries", 11},
		{"daisydog_read_cache_hit_ratio", 0.75},
		{"daisydog_reply_verdict_cache_hits_total", 1},
		{"daisydog_reply_verdict_cache_misses_total", 3},
		{"daisydog_reply_verdict_cache_entries", 2},
		{"daisydog_reply_verdict_cache_hit_ratio", 0.25},
		{"daisydog_process_goroutines", 17},
		{"daisydog_process_cpu_seconds_total", 2.5},
		{"daisydog_go_gc_pause_seconds_total", 0.0015},
		{"daisydog_process_resident_memory_bytes", 1 << 20},
		{"daisydog_process_open_fds", 9},
		{"daisydog_db_size_bytes", 4096},
		{PromKey("daisydog_raft_state", "state", "leader"), 1},
		{PromKey("daisydog_raft_state", "state", "follower"), 0},
		{PromKey("daisydog_raft_state", "state", "candidate"), 0},
		{"daisydog_raft_leader_known", 1},
		{"daisydog_raft_term", 7},
		{"daisydog_raft_applied_index", 42},
		{"daisydog_raft_commit_index", 43},
		{"daisydog_raft_last_log_index", 44},
		{"daisydog_raft_last_snapshot_index", 40},
		{"daisydog_raft_commit_notices_total", 12},
		{"daisydog_raft_voters", 3},
		{"daisydog_data_disk_free_bytes", 5 << 30},
		{"daisydog_data_disk_reserve_bytes", 64 << 20},
		{"daisydog_data_disk_low", 1},
		{PromKey("daisydog_safety_alerts_total", "result", "ok"), 7},
		{PromKey("daisydog_safety_alerts_total", "result", "failed"), 2},
	} {
		got, ok := doc.Values[w.series]
		if !ok {
			t.Errorf("%s: missing", w.series)
		} else if math.Abs(got-w.value) > 1e-9*math.Max(1, math.Abs(w.value)) {
			t.Errorf("%s = %v, want %v", w.series, got, w.value)
		}
	}
	for _, absent := range []string{
		PromKey("daisydog_http_requests_total", "class", "total"), // the sum of the classes
		"daisydog_policy_wait_duration_seconds_count",             // not in this snapshot
		"daisydog_process_open_fds_total",
	} {
		if _, ok := doc.Values[absent]; ok {
			t.Errorf("%s: present", absent)
		}
	}
	for fam, typ := range map[string]string{
		turn: "histogram", "daisydog_http_requests_total": "counter", "daisydog_raft_state": "gauge",
		"daisydog_read_cache_hit_ratio": "gauge", "daisydog_process_cpu_seconds_total": "counter", "daisydog_process_goroutines": "gauge",
	} {
		if doc.Types[fam] != typ {
			t.Errorf("%s: type %q, want %s", fam, doc.Types[fam], typ)
		}
	}
	// The histogram has every bound of the Histogram, in seconds.
	if n := strings.Count(out, turn+"_bucket{"); n != len(histogramBounds)+1 {
		t.Errorf("%d %s buckets, want %d", n, turn, len(histogramBounds)+1)
	}
	// No identifier of the Raft status reaches the output.
	for _, leak := range []string{"node-secret-id", "10.9.8.7", "Nonvoter"} {
		if strings.Contains(out, leak) {
			t.Errorf("output holds %q", leak)
		}
	}
	// A role Raft does not name reports as unknown.
	odd := *rs
	odd.State = "Weird"
	if doc, err := parseProm(renderProm(snap, &odd)); err != nil || doc.Values[PromKey("daisydog_raft_state", "state", "unknown")] != 1 ||
		doc.Values[PromKey("daisydog_raft_state", "state", "leader")] != 0 {
		t.Errorf("unnamed Raft role: %v", err)
	}
	// Before the disk guard's first check there are no disk gauges.
	noDisk := snap
	noDisk.Disk = nil
	if out := renderProm(noDisk, rs); strings.Contains(out, "daisydog_data_disk") {
		t.Error("disk gauges without a disk check")
	}
	// Without Raft state there are no raft_ families (and it still parses).
	out = renderProm(snap, nil)
	if _, err := parseProm(out); err != nil || strings.Contains(out, "daisydog_raft_state") {
		t.Errorf("without raft state: %v, raft_state present %v", err, strings.Contains(out, "daisydog_raft_state"))
	}
}

// Maps iterate in random order; the output must not.
func TestPromDeterministic(t *testing.T) {
	snap, rs := knownSnapshot()
	first := renderProm(snap, rs)
	for range 20 {
		if renderProm(snap, rs) != first {
			t.Fatal("two renderings of one snapshot differ")
		}
	}
	doc, err := parseProm(first)
	if err != nil {
		t.Fatal(err)
	}
	// Series of a family come sorted by label value.
	var classes []string
	for _, s := range doc.Series {
		if s.Name == "daisydog_http_requests_total" {
			classes = append(classes, s.Labels["class"])
		}
	}
	if !slices.Equal(classes, []string{"2xx", "4xx", "5xx"}) {
		t.Errorf("classes in order %v", classes)
	}
}

// Every figure of a live snapshot has a Prometheus name chosen for it (with
// its unit), so adding one to the snapshot without naming it here fails.
func TestPromCoversSnapshot(t *testing.T) {
	snap := NewMetrics().Snapshot(nil)
	snap.Process["db_bytes"] = 1
	named := map[string]bool{}
	for _, m := range promProcess {
		named[m.key] = true
	}
	for k := range snap.Process {
		if !named[k] {
			t.Errorf("process figure %q has no Prometheus metric in promProcess", k)
		}
	}
	named = map[string]bool{}
	for _, m := range promTimings {
		named[m.key] = true
	}
	for k := range snap.Timings {
		if !named[k] {
			t.Errorf("timing %q has no Prometheus histogram in promTimings", k)
		}
	}
	for k := range snap.FSM {
		if k != "batches" && k != "entries" {
			t.Errorf("fsm figure %q not exported", k)
		}
	}
	out := renderProm(snap, nil)
	doc, err := parseProm(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Values["daisydog_process_goroutines"] <= 0 {
		t.Errorf("live snapshot: goroutines %v", doc.Values["daisydog_process_goroutines"])
	}
	for _, m := range promTimings {
		if doc.Types[m.name] != "histogram" {
			t.Errorf("%s: type %q, want histogram", m.name, doc.Types[m.name])
		}
	}
}

func TestPromEscaping(t *testing.T) {
	for _, tc := range []struct{ in, label, help string }{
		{"plain", "plain", "plain"},
		{`a"b`, `a\"b`, `a"b`},
		{`a\b`, `a\\b`, `a\\b`},
		{"a\nb", `a\nb`, `a\nb`},
		{"\\\"\n", `\\\"\n`, "\\\\\"\\n"},
	} {
		if got := escapeLabel(tc.in); got != tc.label {
			t.Errorf("escapeLabel(%q) = %q, want %q", tc.in, got, tc.label)
		}
		if got := escapeHelp(tc.in); got != tc.help {
			t.Errorf("escapeHelp(%q) = %q, want %q", tc.in, got, tc.help)
		}
	}
	for _, tc := range []struct {
		v    float64
		want string
	}{{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"}, {0.005, "0.005"}, {1e-05, "1e-05"}, {42, "42"}, {1 << 40, "1.099511627776e+12"}} {
		if got := promFloat(tc.v); got != tc.want {
			t.Errorf("promFloat(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// GET /metrics admits exactly whom GET /v1/metrics admits (metricsAllowed,
// see TestMetricsAccess), and refuses the same way: 404, as if absent.
func TestPromAccess(t *testing.T) {
	const token = "operator-token-0123456789"
	for _, tc := range []struct {
		name, token, remote, auth string
		status                    int
	}{
		{"loopback v4", token, "127.0.0.1:5000", "", 200},
		{"loopback v6", token, "[::1]:5000", "", 200},
		{"loopback, no token configured", "", "127.0.0.1:5000", "", 200},
		{"remote without a token", token, "192.0.2.7:5000", "", 404},
		{"remote with the token", token, "192.0.2.7:5000", "Bearer " + token, 200},
		{"remote with a wrong token", token, "192.0.2.7:5000", "Bearer operator-token-0123456780", 404},
		{"remote with a token in another scheme", token, "192.0.2.7:5000", "Basic " + token, 404},
		{"loopback with a wrong token", token, "127.0.0.1:5000", "Bearer nope", 404},
		{"remote, none configured, empty bearer", "", "192.0.2.7:5000", "Bearer ", 404},
		{"garbage address", token, "nonsense", "", 404},
	} {
		s := bareServer(Deps{MetricsToken: tc.token})
		hdr := map[string]string{}
		if tc.auth != "" {
			hdr["Authorization"] = tc.auth
		}
		w := serveReq(s, "GET", "/metrics", tc.remote, hdr, "")
		if w.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		// The same request to /v1/metrics gets the same decision.
		if v1 := serveReq(s, "GET", "/v1/metrics", tc.remote, hdr, ""); v1.Code != w.Code {
			t.Errorf("%s: /metrics %d but /v1/metrics %d", tc.name, w.Code, v1.Code)
		}
		if tc.status != 200 {
			if errCodeOf(t, w) != "not_found" || strings.Contains(w.Body.String(), "daisydog_") {
				t.Errorf("%s: refused with %s, want it to look absent", tc.name, w.Body.String())
			}
			continue
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
		doc, err := parseProm(w.Body.String())
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if doc.Values["daisydog_process_goroutines"] <= 0 || doc.Types["daisydog_turn_duration_seconds"] != "histogram" {
			t.Errorf("%s: exposition lacks the snapshot", tc.name)
		}
	}
}
