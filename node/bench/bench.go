package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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
}

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

	res := measure(ctx, c, cfg, children)
	s := res.summary(cfg)
	fmt.Fprintf(log, "bench: %d turns, %d errors in %.2fs (%.1f turns/s), p50 %.2fms p99 %.2fms\n",
		s.Turns, s.Errors, s.DurationSec, s.TurnsPerSec, s.LatencyMs.P50, s.LatencyMs.P99)
	if err := ctx.Err(); err != nil {
		return s, err
	}
	return s, nil
}

// result is the merged output of all workers.
type result struct {
	window  time.Duration
	lat     []time.Duration
	errors  map[string]int64
	nErrors int64
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
	return s
}

// worker is one chat client's local tallies (merged after the run, so the
// hot path takes no locks).
type worker struct {
	lat    []time.Duration
	errors map[string]int64
}

func measure(ctx context.Context, c *client, cfg Config, children []child) result {
	start := time.Now()
	warmEnd := start.Add(cfg.Warmup)
	end := warmEnd.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	var (
		reserved atomic.Int64
		wg       sync.WaitGroup
		msgs     = chatBodies()
		workers  = make([]worker, cfg.Concurrency)
	)
	for i := range workers {
		w := &workers[i]
		w.errors = map[string]int64{}
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
				outcome, d := chat(runCtx, c, token, msgs[(i*7+k)%len(msgs)])
				cutOff := runCtx.Err() != nil && (outcome == errTimeout || outcome == errTransport)
				if measured && !cutOff && !now.Add(d).After(end) {
					if outcome == "" {
						w.lat = append(w.lat, d)
					} else {
						w.errors[outcome]++
					}
				}
				if cfg.ThinkTime > 0 {
					t := time.NewTimer(cfg.ThinkTime)
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
	r := result{errors: map[string]int64{}}
	if stop.After(warmEnd) {
		r.window = stop.Sub(warmEnd)
	}
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
	}
	return r
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

// chat sends one chat turn. outcome is "" on success, else the error key.
func chat(ctx context.Context, c *client, token string, body []byte) (outcome string, d time.Duration) {
	t0 := time.Now()
	r, err := c.do(ctx, "/v1/chat", token, body)
	d = time.Since(t0)
	if err != nil {
		return classify(err), d
	}
	if r.status < 200 || r.status > 299 {
		return strconv.Itoa(r.status), d
	}
	var out struct {
		Turn *struct {
			Reply json.RawMessage `json:"reply"`
		} `json:"turn"`
	}
	if json.Unmarshal(r.body, &out) != nil || out.Turn == nil || !present(out.Turn.Reply) {
		return errBadResponse, d
	}
	return "", d
}

// present reports whether a JSON value is there and not null or "".
func present(v json.RawMessage) bool {
	s := string(v)
	return s != "" && s != "null" && s != `""`
}
