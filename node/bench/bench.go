package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults applied by Run to zero-valued Config fields.
const (
	DefaultChildren       = 32
	DefaultDuration       = 20 * time.Second
	DefaultWarmup         = 2 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	MaxChildren           = 10000
)

// Config describes one bench run.
type Config struct {
	Targets        []string      // base URLs, e.g. https://127.0.0.1:8443; requests go round-robin
	CAFile         string        // PEM CA bundle to trust ("" = system roots)
	Insecure       bool          // skip TLS verification (development only)
	Children       int           // children to create (0 = DefaultChildren)
	Concurrency    int           // concurrent clients, closed loop (0 = Children)
	Duration       time.Duration // measured window (0 = DefaultDuration)
	Warmup         time.Duration // unmeasured lead-in (0 = DefaultWarmup, <0 = none)
	ThinkTime      time.Duration // pause between a client's turns (0 = closed loop)
	MaxTurns       int           // stop after this many measured chat requests (0 = unlimited)
	RequestTimeout time.Duration // per request (0 = DefaultRequestTimeout)

	// Mix weights the operations each client sends (nil = chat only).
	Mix Mix
	// OpenLoop simulates Children independent children, each sending its
	// next request ThinkMin..ThinkMax (uniform) after its previous one was
	// scheduled, whatever the latency; Concurrency and MaxTurns are unused.
	OpenLoop           bool
	ThinkMin, ThinkMax time.Duration // open loop (0 = DefaultThinkMin, DefaultThinkMax)
	// MetricsToken is sent to read the nodes' GET /v1/metrics when the
	// bench is not on their machine ("" = rely on loopback access).
	MetricsToken string
	// LimitsDir, if set, is where the fsync probe writes (the data disk):
	// the machine's limits are measured before the load and reported.
	LimitsDir string
	// Watch, if positive, samples the nodes' goroutines, open files, RSS
	// and database size this often during the measured window (soak runs).
	Watch time.Duration
}

// Open-loop think time defaults: a child sends a message every 3–10 s.
const (
	DefaultThinkMin = 3 * time.Second
	DefaultThinkMax = 10 * time.Second
)

// Summary is the result of a run. Latencies are of successful turns only.
type Summary struct {
	Targets        int              `json:"targets"`
	Children       int              `json:"children"`
	Concurrency    int              `json:"concurrency"`
	DurationSec    float64          `json:"duration_sec"`
	Turns          int64            `json:"turns"`
	Errors         int64            `json:"errors"`
	ErrorsByStatus map[string]int64 `json:"errors_by_status"`
	TurnsPerSec    float64          `json:"turns_per_sec"`
	LatencyMs      Latency          `json:"latency_ms"`
	GoMaxProcs     int              `json:"gomaxprocs"`
	NumCPU         int              `json:"num_cpu"`

	Mode string `json:"mode"` // "closed" or "open"
	// OfferedPerSec is the open loop's scheduled request rate.
	OfferedPerSec float64            `json:"offered_per_sec,omitempty"`
	PerOp         map[Op]OpSummary   `json:"per_op,omitempty"`
	Server        *ServerSplit       `json:"server,omitempty"`
	Machine       *MachineLimits     `json:"machine,omitempty"`
	Ratios        map[string]float64 `json:"ratios,omitempty"`
	Growth        *Growth            `json:"growth,omitempty"`
	CPU           *CPUCost           `json:"cpu,omitempty"`
}

// CPUCost is what a request cost in CPU time during the measured window, on
// the nodes (all together) and in this load generator, and the request rate
// at which the machine's cores would be fully busy at that cost: the ceiling
// this machine puts on the run, whatever the software's latency.
type CPUCost struct {
	ServerMsPerRequest float64 `json:"server_ms_per_request"`
	ClientMsPerRequest float64 `json:"client_ms_per_request"`
	Cores              int     `json:"cores"`
	CeilingPerSec      float64 `json:"ceiling_requests_per_sec"`
	// BusyShare is the share of the cores the nodes and the client used.
	BusyShare float64 `json:"busy_share"`
}

// OpSummary is one operation's share of the run.
type OpSummary struct {
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
	LatencyMs Latency `json:"latency_ms"`
}

// withDefaults fills zero fields and rejects impossible values.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Targets) == 0 {
		return cfg, errors.New("bench: no targets")
	}
	for _, t := range cfg.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return cfg, fmt.Errorf("bench: target %q is not a base URL like https://host:port", t)
		}
	}
	if cfg.Children < 0 || cfg.Concurrency < 0 || cfg.Duration < 0 || cfg.ThinkTime < 0 || cfg.MaxTurns < 0 || cfg.RequestTimeout < 0 {
		return cfg, errors.New("bench: negative Children, Concurrency, Duration, ThinkTime, MaxTurns or RequestTimeout")
	}
	if cfg.Children == 0 {
		cfg.Children = DefaultChildren
	}
	if cfg.Children > MaxChildren {
		return cfg, fmt.Errorf("bench: at most %d children", MaxChildren)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = cfg.Children
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	switch {
	case cfg.Warmup == 0:
		cfg.Warmup = DefaultWarmup
	case cfg.Warmup < 0:
		cfg.Warmup = 0
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.OpenLoop {
		if cfg.ThinkMin == 0 {
			cfg.ThinkMin = DefaultThinkMin
		}
		if cfg.ThinkMax == 0 {
			cfg.ThinkMax = DefaultThinkMax
		}
		if cfg.ThinkMin <= 0 || cfg.ThinkMax < cfg.ThinkMin {
			return cfg, errors.New("bench: open loop needs 0 < ThinkMin ≤ ThinkMax")
		}
		if cfg.Warmup == DefaultWarmup {
			// Children start spread over one ThinkMax: measure once all run.
			cfg.Warmup = max(cfg.Warmup, cfg.ThinkMax)
		}
		cfg.Concurrency = cfg.Children
	}
	return cfg, nil
}

// Run sets up a family, drives the chat endpoint and returns the summary.
// Progress lines go to log (nil = discard). If ctx ends during the measured
// phase, Run returns the partial summary together with ctx's error.
func Run(ctx context.Context, cfg Config, log io.Writer) (Summary, error) {
	if log == nil {
		log = io.Discard
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return Summary{}, err
	}
	defer c.close()

	fmt.Fprintf(log, "bench: %d target(s); creating 1 parent and %d children\n", len(cfg.Targets), cfg.Children)
	t0 := time.Now()
	children, err := setup(ctx, c, cfg.Children)
	if err != nil {
		return Summary{}, err
	}
	fmt.Fprintf(log, "bench: setup done in %s; warm-up %s, measuring %s with %d clients\n",
		time.Since(t0).Round(time.Millisecond), cfg.Warmup, cfg.Duration, cfg.Concurrency)

	var limits *MachineLimits
	if cfg.LimitsDir != "" {
		m, err := MeasureLimits(ctx, cfg.LimitsDir)
		if err != nil {
			return Summary{}, err
		}
		limits = &m
		fmt.Fprintf(log, "bench: machine: fsync p50 %.2fms p99 %.2fms (%.0f/s sequential), loopback RTT p50 %.0fµs\n",
			m.FsyncMs.P50, m.FsyncMs.P99, m.FsyncsPerSec, m.LoopbackRTTUs.P50)
	}
	var before []*nodeMetrics
	var scrapeErrs []string
	var (
		watchers sync.WaitGroup
		growth   *Growth
	)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var clientCPU0 time.Duration
	measured := func() {
		clientCPU0 = selfCPU()
		before, scrapeErrs = scrape(ctx, c, cfg.MetricsToken)
		if cfg.Watch > 0 {
			growth = watch(watchCtx, c, cfg.MetricsToken, cfg.Watch, &watchers)
		}
	}
	var res result
	if cfg.OpenLoop {
		res = measureOpen(ctx, c, cfg, children, measured)
	} else {
		res = measure(ctx, c, cfg, children, measured)
	}
	clientCPU := selfCPU() - clientCPU0
	stopWatch()
	watchers.Wait()
	s := res.summary(cfg)
	if growth != nil {
		growth.finish()
		s.Growth = growth
	}
	after, errs := scrape(context.WithoutCancel(ctx), c, cfg.MetricsToken)
	if before != nil {
		s.Server = split(before, after, append(scrapeErrs, errs...))
	}
	s.CPU = cpuCost(s, clientCPU)
	if limits != nil {
		c := readContention()
		limits.After = &c
	}
	s.Machine = limits
	s.Ratios = ratios(s)
	fmt.Fprintf(log, "bench: %d requests, %d errors in %.2fs (%.1f/s), p50 %.2fms p99 %.2fms p99.9 %.2fms\n",
		s.Turns, s.Errors, s.DurationSec, s.TurnsPerSec, s.LatencyMs.P50, s.LatencyMs.P99, s.LatencyMs.P999)
	if err := ctx.Err(); err != nil {
		return s, err
	}
	return s, nil
}

// selfCPU is the CPU time this process has used (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuCost divides the CPU time used during the window by the requests made
// in it (successful or not: a refused request costs CPU too). nil when the
// nodes' CPU time could not be read.
func cpuCost(s Summary, client time.Duration) *CPUCost {
	reqs := float64(s.Turns + s.Errors)
	if s.Server == nil || s.Server.CPUSec <= 0 || reqs == 0 || s.DurationSec <= 0 {
		return nil
	}
	c := &CPUCost{
		ServerMsPerRequest: s.Server.CPUSec * 1000 / reqs,
		ClientMsPerRequest: client.Seconds() * 1000 / reqs,
		Cores:              runtime.NumCPU(),
	}
	if per := c.ServerMsPerRequest + c.ClientMsPerRequest; per > 0 {
		c.CeilingPerSec = float64(c.Cores) * 1000 / per
	}
	c.BusyShare = (s.Server.CPUSec + client.Seconds()) / (s.DurationSec * float64(c.Cores))
	return c
}

// ratios relate the results to the machine's limits and the server split.
func ratios(s Summary) map[string]float64 {
	r := map[string]float64{}
	if m := s.Machine; m != nil && m.CommitFloorMs > 0 {
		r["p50_over_commit_floor"] = s.LatencyMs.P50 / m.CommitFloorMs
		if m.FsyncsPerSec > 0 {
			r["throughput_over_sequential_fsyncs"] = s.TurnsPerSec / m.FsyncsPerSec
		}
	}
	if sv := s.Server; sv != nil {
		if t := sv.Stages["turn"]; t.MeanMs > 0 && s.LatencyMs.Mean > 0 {
			r["server_turn_share_of_client_latency"] = t.MeanMs / s.LatencyMs.Mean
		}
	}
	if len(r) == 0 {
		return nil
	}
	return r
}

// result is the merged output of all workers.
type result struct {
	window  time.Duration
	lat     []time.Duration
	errors  map[string]int64
	nErrors int64
	perOp   map[Op]*opResult
	offered float64
}

type opResult struct {
	lat    []time.Duration
	errors int64
}

func (r result) summary(cfg Config) Summary {
	s := Summary{
		Targets:        len(cfg.Targets),
		Children:       cfg.Children,
		Concurrency:    cfg.Concurrency,
		DurationSec:    r.window.Seconds(),
		Turns:          int64(len(r.lat)),
		Errors:         r.nErrors,
		ErrorsByStatus: r.errors,
		LatencyMs:      summarize(r.lat),
		GoMaxProcs:     runtime.GOMAXPROCS(0),
		NumCPU:         runtime.NumCPU(),
	}
	if s.DurationSec > 0 {
		s.TurnsPerSec = float64(s.Turns) / s.DurationSec
	}
	s.Mode = "closed"
	if cfg.OpenLoop {
		s.Mode = "open"
		s.OfferedPerSec = r.offered
	}
	if len(r.perOp) > 1 || (len(r.perOp) == 1 && r.perOp[OpChat] == nil) {
		s.PerOp = map[Op]OpSummary{}
		for op, o := range r.perOp {
			s.PerOp[op] = OpSummary{OK: int64(len(o.lat)), Errors: o.errors, LatencyMs: summarize(o.lat)}
		}
	}
	return s
}

// worker is one chat client's local tallies (merged after the run, so the
// hot path takes no locks).
type worker struct {
	lat    []time.Duration
	errors map[string]int64
	perOp  map[Op]*opResult
}

func newWorker() worker {
	return worker{errors: map[string]int64{}, perOp: map[Op]*opResult{}}
}

// record tallies one measured request.
func (w *worker) record(op Op, outcome string, d time.Duration) {
	o := w.perOp[op]
	if o == nil {
		o = &opResult{}
		w.perOp[op] = o
	}
	if outcome == "" {
		w.lat = append(w.lat, d)
		o.lat = append(o.lat, d)
		return
	}
	w.errors[outcome]++
	o.errors++
}

// merge combines the workers' tallies.
func merge(workers []worker, window time.Duration) result {
	r := result{errors: map[string]int64{}, perOp: map[Op]*opResult{}, window: window}
	n := 0
	for _, w := range workers {
		n += len(w.lat)
	}
	r.lat = make([]time.Duration, 0, n)
	for _, w := range workers {
		r.lat = append(r.lat, w.lat...)
		for k, v := range w.errors {
			r.errors[k] += v
			r.nErrors += v
		}
		for op, o := range w.perOp {
			m := r.perOp[op]
			if m == nil {
				m = &opResult{}
				r.perOp[op] = m
			}
			m.lat = append(m.lat, o.lat...)
			m.errors += o.errors
		}
	}
	return r
}

func measure(ctx context.Context, c *client, cfg Config, children []child, measuring func()) result {
	start := time.Now()
	warmEnd := start.Add(cfg.Warmup)
	end := warmEnd.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	var timer sync.WaitGroup
	// The "before" metrics scrape has finished (or never started) when this returns.
	defer func() { cancel(); timer.Wait() }()
	timer.Go(func() { onTime(runCtx, warmEnd, measuring) })

	var (
		reserved atomic.Int64
		wg       sync.WaitGroup
		b        = newBodies()
		sched    = cfg.Mix.schedule()
		workers  = make([]worker, cfg.Concurrency)
	)
	for i := range workers {
		w := &workers[i]
		*w = newWorker()
		token := children[i%len(children)].token
		wg.Go(func() {
			for k := 0; ; k++ {
				now := time.Now()
				if !now.Before(end) || runCtx.Err() != nil {
					return
				}
				measured := !now.Before(warmEnd)
				if measured && cfg.MaxTurns > 0 && reserved.Add(1) > int64(cfg.MaxTurns) {
					return
				}
				op := sched[(i*37+k)%len(sched)]
				outcome, d, backoff := send(runCtx, c, op, token, b, i*7+k)
				cutOff := runCtx.Err() != nil && (outcome == errTimeout || outcome == errTransport)
				if measured && !cutOff && !now.Add(d).After(end) {
					w.record(op, outcome, d)
				}
				// Like a device, a client told to come back later (503 or
				// 429 with Retry-After) waits that long; the refusal still
				// counts as an error.
				if pause := max(cfg.ThinkTime, backoff); pause > 0 {
					t := time.NewTimer(pause)
					select {
					case <-runCtx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
			}
		})
	}
	wg.Wait()

	stop := time.Now()
	if stop.After(end) {
		stop = end
	}
	var window time.Duration
	if stop.After(warmEnd) {
		window = stop.Sub(warmEnd)
	}
	return merge(workers, window)
}

// onTime calls f at t (or at once if t has passed), unless ctx ends first.
func onTime(ctx context.Context, t time.Time, f func()) {
	if f == nil {
		return
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
		f()
	}
}

// chatBodies pre-encodes the chat request bodies.
func chatBodies() [][]byte {
	msgs := chatMessages()
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i], _ = json.Marshal(map[string]string{"message": m}) // strings always encode
	}
	return out
}

// present reports whether a JSON value is there and not null or "".
func present(v json.RawMessage) bool {
	s := string(v)
	return s != "" && s != "null" && s != `""`
}
