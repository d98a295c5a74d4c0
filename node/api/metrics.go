package api

import (
	"context"
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// Metrics are a node's counters and latency histograms: where a request's
// time goes (policy, Raft commit, state machine, storage reads), the
// hot-read cache's hit ratio, and the process's resources. They hold no
// personal data: only counts and durations, labelled by fixed names.
type Metrics struct {
	start time.Time

	Requests, Status2xx, Status4xx, Status5xx atomic.Uint64

	HTTPRequest Histogram // every API request, end to end inside the node
	Turn        Histogram // chat and game turns (the whole pipeline)
	Policy      Histogram // one policy evaluation (message or reply), once admitted
	PolicyWait  Histogram // waiting for a policy evaluation slot (admission.go)
	TurnWait    Histogram // waiting for a turn slot (admission.go)
	RaftApply   Histogram // Raft commit as the API waits for it: replicate, forward, apply, wait applied
	FSMApply    Histogram // one state-machine batch (one SQLite transaction)
	StorageRead Histogram // one read statement

	FSMBatches, FSMEntries atomic.Uint64 // batching: entries per batch = entries/batches
	Shed                   atomic.Uint64 // turns refused by admission (503)
	// PolicyStarved counts evaluations whose time ran out with work budget
	// left (policies.ErrStarved): refused as busy, not failed closed.
	PolicyStarved atomic.Uint64

	Safety SafetyCounters // the safety outcome of the turns this node stored

	Backups BackupCounters // scheduled backups of this node (node/backupjob.go)

	Disk DiskGauges // the data disk, as the node's disk guard last found it (node/diskspace.go)

	// CertNotAfter and CANotAfter: when the node certificate it presents
	// now and the cluster CA expire (unix seconds; 0 = not set). The node
	// renews its certificate 180 days ahead (node/certs.go).
	CertNotAfter, CANotAfter atomic.Int64

	// Alerts counts parent alerts this node sent from the outbox as leader
	// (node/alertjob.go): e-mails sent, and sends that failed (retried).
	AlertsSent, AlertsFailed atomic.Uint64

	// Mail counts e-mails this node sent from the outbox as leader
	// (node/mailjob.go): sent, failed sends (retried later), and dropped
	// (not sent within a day or a dozen attempts).
	MailSent, MailFailed, MailDropped atomic.Uint64

	// AI counts the turns that asked the optional model provider
	// (node/api/ai.go), by outcome.
	AI AICounters
}

// AICounters count the optional model provider's use by outcome: its reply
// used; refused (out of character — operational text, contact details, a
// meet-up — or by the output policy); failed (error, timeout); not asked
// because its circuit breaker was open. Every outcome but "used" left the
// built-in reply in place.
type AICounters struct {
	Used, Refused, Failed, BreakerOpen atomic.Uint64
}

// DiskGauges hold the data disk's free space and reserve as last checked
// (the node checks every 250 ms and on every write), for alerts that fire
// before writes are refused.
type DiskGauges struct {
	Checked       atomic.Bool
	Low           atomic.Bool
	Free, Reserve atomic.Uint64
}

// Set records one check.
func (d *DiskGauges) Set(free, reserve uint64, low bool) {
	d.Free.Store(free)
	d.Reserve.Store(reserve)
	d.Low.Store(low)
	d.Checked.Store(true)
}

// DiskSnapshot is DiskGauges read at once (nil before the first check).
type DiskSnapshot struct {
	FreeBytes    uint64 `json:"free_bytes"`
	ReserveBytes uint64 `json:"reserve_bytes"`
	Low          bool   `json:"low"`
}

func (d *DiskGauges) snapshot() *DiskSnapshot {
	if !d.Checked.Load() {
		return nil
	}
	return &DiskSnapshot{FreeBytes: d.Free.Load(), ReserveBytes: d.Reserve.Load(), Low: d.Low.Load()}
}

// BackupCounters count scheduled backups: written and verified, or failed,
// and the last good one (an alert watches its age).
type BackupCounters struct {
	OK, Failed  atomic.Uint64
	LastOKUnix  atomic.Int64 // when the last good backup finished (unix seconds; 0 = none yet)
	LastBytes   atomic.Int64
	LastOKIndex atomic.Int64 // the Raft index its state had applied
}

// BackupSnapshot is BackupCounters read at once.
type BackupSnapshot struct {
	OK          uint64 `json:"ok"`
	Failed      uint64 `json:"failed"`
	LastOKUnix  int64  `json:"last_ok_unix"`
	LastBytes   int64  `json:"last_bytes"`
	LastOKIndex int64  `json:"last_ok_applied_index"`
}

func (b *BackupCounters) Snapshot() BackupSnapshot {
	return BackupSnapshot{OK: b.OK.Load(), Failed: b.Failed.Load(), LastOKUnix: b.LastOKUnix.Load(),
		LastBytes: b.LastBytes.Load(), LastOKIndex: b.LastOKIndex.Load()}
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics { return &Metrics{start: time.Now()} }

// ObserveStorage is a storage.QueryObserver feeding the storage histograms.
func (m *Metrics) ObserveStorage(kind, _ string, d time.Duration) {
	switch kind {
	case "apply":
		m.FSMApply.Observe(d)
	case "read":
		m.StorageRead.Observe(d)
	}
}

// ObserveBatch counts one state-machine batch of n entries.
func (m *Metrics) ObserveBatch(n int) {
	m.FSMBatches.Add(1)
	m.FSMEntries.Add(uint64(n))
}

// histogramBounds are the bucket upper bounds (1-2-5 series, 10µs … 10s).
var histogramBounds = [...]time.Duration{
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
}

// Histogram counts durations in fixed buckets (lock-free).
type Histogram struct {
	buckets [len(histogramBounds) + 1]atomic.Uint64 // last: above the largest bound
	count   atomic.Uint64
	sumNs   atomic.Uint64
	maxNs   atomic.Uint64
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(histogramBounds) && d > histogramBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sumNs.Add(uint64(d))
	for {
		cur := h.maxNs.Load()
		if uint64(d) <= cur || h.maxNs.CompareAndSwap(cur, uint64(d)) {
			break
		}
	}
}

// Since records the time elapsed since t0.
func (h *Histogram) Since(t0 time.Time) { h.Observe(time.Since(t0)) }

// HistogramSnapshot is a histogram as JSON. Buckets are cumulative-free
// counts per upper bound in milliseconds (the last, le_ms = -1, is "above").
type HistogramSnapshot struct {
	Count   uint64   `json:"count"`
	SumMs   float64  `json:"sum_ms"`
	MeanMs  float64  `json:"mean_ms"`
	MaxMs   float64  `json:"max_ms"`
	P50Ms   float64  `json:"p50_ms"`
	P99Ms   float64  `json:"p99_ms"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one histogram bucket.
type Bucket struct {
	LeMs  float64 `json:"le_ms"`
	Count uint64  `json:"count"`
}

// Snapshot reads the histogram (counts may be a few observations apart).
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Count: h.count.Load(), SumMs: float64(h.sumNs.Load()) / 1e6, MaxMs: float64(h.maxNs.Load()) / 1e6}
	s.Buckets = make([]Bucket, len(h.buckets))
	for i := range h.buckets {
		le := -1.0
		if i < len(histogramBounds) {
			le = float64(histogramBounds[i]) / 1e6
		}
		s.Buckets[i] = Bucket{LeMs: le, Count: h.buckets[i].Load()}
	}
	if s.Count > 0 {
		s.MeanMs = s.SumMs / float64(s.Count)
	}
	s.P50Ms = BucketQuantile(s.Buckets, 0.50)
	s.P99Ms = BucketQuantile(s.Buckets, 0.99)
	return s
}

// BucketQuantile estimates quantile q (0..1) from bucket counts, by linear
// interpolation inside the bucket holding it (an upper-bound estimate
// accurate to the bucket's width). The open last bucket reports its lower bound.
func BucketQuantile(b []Bucket, q float64) float64 {
	var total uint64
	for _, x := range b {
		total += x.Count
	}
	if total == 0 {
		return 0
	}
	rank := math.Ceil(q * float64(total))
	var seen uint64
	lower := 0.0
	for _, x := range b {
		if x.Count > 0 && float64(seen+x.Count) >= rank {
			if x.LeMs < 0 {
				return lower
			}
			frac := (rank - float64(seen)) / float64(x.Count)
			return lower + frac*(x.LeMs-lower)
		}
		seen += x.Count
		if x.LeMs >= 0 {
			lower = x.LeMs
		}
	}
	return lower
}

// MetricsSnapshot is the GET /v1/metrics document.
type MetricsSnapshot struct {
	UptimeSec float64                      `json:"uptime_sec"`
	Requests  map[string]uint64            `json:"requests"`
	Timings   map[string]HistogramSnapshot `json:"timings"`
	FSM       map[string]uint64            `json:"fsm"`
	Cache     CacheSnapshot                `json:"cache"`
	// ReplyVerdicts counts the output-policy verdict cache (Daisy's lines).
	ReplyVerdicts map[string]uint64 `json:"reply_verdict_cache"`
	Process       map[string]int64  `json:"process"`
	// Shed counts turns refused by admission under overload (503).
	Shed uint64 `json:"turns_shed"`
	// PolicyStarved counts policy evaluations the machine did not run in
	// time (the request was refused as busy, 503; not a policy failure).
	PolicyStarved uint64 `json:"policy_starved"`
	// PolicyWork is how much of its per-call work budget the active
	// policy's evaluations used on this node (absent without an engine).
	PolicyWork *PolicyWork `json:"policy_work,omitempty"`
	// Safety counts the policy's decisions on the turns this node stored.
	Safety SafetySnapshot `json:"safety"`
	// Backups counts this node's scheduled backups.
	Backups BackupSnapshot `json:"backups"`
	// Disk is the data disk as last checked (absent before the first check).
	Disk *DiskSnapshot `json:"disk,omitempty"`
	// TLS: when this node's certificate and the cluster CA expire.
	TLS TLSSnapshot `json:"tls"`
	// Alerts counts the parent alerts this node sent from the outbox.
	Alerts map[string]uint64 `json:"safety_alerts"`
	// Mail counts the e-mails this node sent from the outbox, and the
	// outbox itself (the same on every node).
	Mail MailSnapshot `json:"mail"`
	// Moderation is the queue of safety events no moderator has reviewed
	// (the same on every node).
	Moderation ModerationSnapshot `json:"moderation"`
	// AI is the optional model provider's use (absent without one).
	AI *AISnapshot `json:"ai_provider,omitempty"`
}

// AISnapshot is the optional model provider as this node sees it: its
// replies by outcome (used, refused, failed, not asked
// while the breaker was open) and its circuit breaker's state (closed,
// open, half_open).
type AISnapshot struct {
	Replies map[string]uint64 `json:"replies"`
	Breaker string            `json:"breaker"`
}

// TLSSnapshot is when the node certificate and the cluster CA expire (unix
// seconds; 0 = unknown).
type TLSSnapshot struct {
	NodeCertNotAfterUnix int64 `json:"node_cert_not_after_unix"`
	CANotAfterUnix       int64 `json:"ca_not_after_unix"`
}

// ModerationSnapshot counts the open safety events and the age of the
// oldest (seconds; 0: none).
type ModerationSnapshot struct {
	Open         int     `json:"open_events"`
	OldestAgeSec float64 `json:"oldest_open_age_sec"`
}

// MailSnapshot is the e-mail outbox as this node sees it.
type MailSnapshot struct {
	Sent    uint64 `json:"sent"`
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
	// Pending e-mails in the outbox, and the age of the oldest (seconds).
	Pending      int     `json:"pending"`
	OldestAgeSec float64 `json:"oldest_age_sec"`
}

// CacheSnapshot is the hot-read cache's counters and hit ratio.
type CacheSnapshot struct {
	storage.CacheStats
	HitRatio float64 `json:"hit_ratio"`
}

// Snapshot reads all metrics; db (may be nil) adds the cache and the
// database size.
func (m *Metrics) Snapshot(db *storage.DB) MetricsSnapshot {
	s := MetricsSnapshot{
		UptimeSec: time.Since(m.start).Seconds(),
		Requests: map[string]uint64{"total": m.Requests.Load(), "2xx": m.Status2xx.Load(),
			"4xx": m.Status4xx.Load(), "5xx": m.Status5xx.Load()},
		Timings: map[string]HistogramSnapshot{
			"http_request": m.HTTPRequest.Snapshot(), "turn": m.Turn.Snapshot(), "policy_eval": m.Policy.Snapshot(), "policy_wait": m.PolicyWait.Snapshot(),
			"turn_wait":  m.TurnWait.Snapshot(),
			"raft_apply": m.RaftApply.Snapshot(), "fsm_apply_batch": m.FSMApply.Snapshot(), "storage_read": m.StorageRead.Snapshot(),
		},
		FSM:           map[string]uint64{"batches": m.FSMBatches.Load(), "entries": m.FSMEntries.Load()},
		Shed:          m.Shed.Load(),
		PolicyStarved: m.PolicyStarved.Load(),
		Safety:        m.Safety.snapshot(),
		Backups:       m.Backups.Snapshot(),
		Disk:          m.Disk.snapshot(),
		TLS:           TLSSnapshot{NodeCertNotAfterUnix: m.CertNotAfter.Load(), CANotAfterUnix: m.CANotAfter.Load()},
		Alerts:        map[string]uint64{"sent": m.AlertsSent.Load(), "failed": m.AlertsFailed.Load()},
		Mail:          MailSnapshot{Sent: m.MailSent.Load(), Failed: m.MailFailed.Load(), Dropped: m.MailDropped.Load()},
		Process:       processStats(),
	}
	if db != nil {
		cs := db.CacheStats()
		s.Cache = CacheSnapshot{CacheStats: cs}
		if n := cs.Hits + cs.Misses; n > 0 {
			s.Cache.HitRatio = float64(cs.Hits) / float64(n)
		}
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if st, err := os.Stat(db.Path() + suffix); err == nil {
				size += st.Size()
			}
		}
		s.Process["db_bytes"] = size
		if n, oldest, err := db.MailPending(context.Background()); err == nil {
			s.Mail.Pending = n
			if n > 0 {
				s.Mail.OldestAgeSec = max(0, time.Since(time.UnixMilli(oldest)).Seconds())
			}
		}
		if n, oldest, err := db.OpenSafetyEvents(context.Background()); err == nil {
			s.Moderation.Open = n
			if n > 0 {
				s.Moderation.OldestAgeSec = max(0, time.Since(time.UnixMilli(oldest)).Seconds())
			}
		}
	}
	return s
}

// processStats are the resources a soak run watches for growth.
func processStats() map[string]int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := map[string]int64{
		"goroutines": int64(runtime.NumGoroutine()),
		"heap_inuse": int64(ms.HeapInuse),
		"sys_bytes":  int64(ms.Sys),
		// What the Go runtime holds from the OS: RSS beyond it is memory
		// outside Go (SQLite's allocator, compiled policy code).
		"go_held_bytes":  int64(ms.Sys - ms.HeapReleased),
		"gc_cycles":      int64(ms.NumGC),
		"gc_pause_total": int64(ms.PauseTotalNs),
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		p["go_memory_limit_bytes"] = l // --memory-limit (reading it changes nothing)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		// CPU time the process used (user + system): a bench run divides
		// its growth by the requests served to get CPU cost per request.
		p["cpu_ns"] = ru.Utime.Nano() + ru.Stime.Nano()
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		p["open_fds"] = int64(len(ents))
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		// RSS split: anonymous memory (Go heap, SQLite's allocator) and
		// file-backed pages (the binary, the Raft log's memory map, which
		// the kernel can drop at will).
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			name := map[string]string{"RssAnon": "rss_anon_bytes", "RssFile": "rss_file_bytes"}[k]
			if f := strings.Fields(v); name != "" && len(f) == 2 && f[1] == "kB" {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					p[name] = n << 10
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			var pages int64
			for _, c := range f[1] {
				pages = pages*10 + int64(c-'0')
			}
			p["rss_bytes"] = pages * int64(os.Getpagesize())
		}
	}
	return p
}

// PolicyWork is what the active policy's evaluations used of their work
// budget on this node since the policy was loaded here (wasm/DESIGN.md
// "Work budget"): a policy whose worst message comes close to the budget
// will soon fail closed on messages like it.
type PolicyWork struct {
	Version  string `json:"version"`
	Calls    uint64 `json:"calls"`
	Units    uint64 `json:"units"`
	MaxUnits uint64 `json:"max_units"`
	Budget   uint64 `json:"budget_units"` // 0: not instrumented, a time limit only
}

// workReporter is an Evaluator that reports its work (the node's active
// policy set).
type workReporter interface {
	PolicyWork() (PolicyWork, bool)
}

// snapshot is the metrics document: the counters, the reply-verdict cache
// and the active policy's work.
func (s *Server) snapshot() MetricsSnapshot {
	snap := s.Metrics.Snapshot(s.DB)
	snap.ReplyVerdicts = s.verdicts.stats()
	if s.AI != nil {
		a := &s.Metrics.AI
		snap.AI = &AISnapshot{Replies: map[string]uint64{
			"used": a.Used.Load(), "refused": a.Refused.Load(), "failed": a.Failed.Load(), "breaker_open": a.BreakerOpen.Load(),
		}}
		if b, ok := s.AI.(breakerStater); ok {
			snap.AI.Breaker = b.BreakerState()
		}
	}
	if s.Policy != nil {
		if wr, ok := s.Policy().(workReporter); ok {
			if w, ok := wr.PolicyWork(); ok {
				snap.PolicyWork = &w
			}
		}
	}
	return snap
}

// metrics serves GET /v1/metrics: to loopback clients (an operator on the
// server, the bench run on the same machine) or with the operator metrics
// token, never to anyone else (404, as if it did not exist).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if !s.metricsAllowed(r) {
		return errNotFound
	}
	writeJSON(w, http.StatusOK, s.snapshot())
	return nil
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.MetricsToken != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(s.MetricsToken)) == 1
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *Metrics) countStatus(code int, d time.Duration) {
	m.Requests.Add(1)
	m.HTTPRequest.Observe(d)
	switch {
	case code >= 500:
		m.Status5xx.Add(1)
	case code >= 400:
		m.Status4xx.Add(1)
	default:
		m.Status2xx.Add(1)
	}
}
