package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slack is generous on purpose: these check that Run is bounded, not how
// fast it is (tests run under -race on shared machines).
const slack = 5 * time.Second

func checkOrdered(t *testing.T, s Summary) {
	t.Helper()
	l := s.LatencyMs
	if s.Turns > 0 && !(l.P50 > 0 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max && l.Mean > 0 && l.Mean <= l.Max) {
		t.Errorf("latencies not ordered: %+v", l)
	}
}

func TestRunCountsMatchServer(t *testing.T) {
	tests := []struct {
		name        string
		targets     int
		children    int
		concurrency int
		maxTurns    int
		every503    int64
		signup503   int64
	}{
		{name: "one target", targets: 1, children: 4, concurrency: 4, maxTurns: 120},
		{name: "two targets, more clients than children", targets: 2, children: 3, concurrency: 8, maxTurns: 300},
		{name: "503s during measurement and setup", targets: 2, children: 5, concurrency: 6, maxTurns: 200, every503: 4, signup503: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			f.chat503Every = tt.every503
			f.signup503 = tt.signup503
			urls, ca := f.start(t, tt.targets)
			var log bytes.Buffer
			start := time.Now()
			s, err := Run(context.Background(), Config{
				Targets: urls, CAFile: ca, Children: tt.children, Concurrency: tt.concurrency,
				Duration: 30 * time.Second, Warmup: -1, MaxTurns: tt.maxTurns,
			}, &log)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, log.String())
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("MaxTurns did not stop the run early")
			}
			f.checkNoBadRequests(t)
			if s.Turns != f.chatOK.Load() {
				t.Errorf("Turns = %d, fake served %d ok (%s)", s.Turns, f.chatOK.Load(), f)
			}
			if s.Errors != f.chat503.Load() || s.ErrorsByStatus["503"] != f.chat503.Load() {
				t.Errorf("Errors = %d, by status %v; fake sent %d 503s", s.Errors, s.ErrorsByStatus, f.chat503.Load())
			}
			if got := s.Turns + s.Errors; got != int64(tt.maxTurns) {
				t.Errorf("Turns+Errors = %d, want MaxTurns %d", got, tt.maxTurns)
			}
			if tt.every503 > 0 && s.Errors == 0 {
				t.Errorf("expected some 503s")
			}
			if s.Targets != tt.targets || s.Children != tt.children || s.Concurrency != tt.concurrency {
				t.Errorf("summary echoes wrong config: %+v", s)
			}
			if s.DurationSec <= 0 || s.TurnsPerSec <= 0 || s.GoMaxProcs < 1 || s.NumCPU < 1 {
				t.Errorf("summary incomplete: %+v", s)
			}
			checkOrdered(t, s)
			// keep-alive: connections are reused, not one per request
			if max := int64(tt.targets * (tt.concurrency + setupParallel + 2)); f.newConns.Load() > max {
				t.Errorf("%d new connections, want ≤ %d", f.newConns.Load(), max)
			}
			n := 0
			f.perChild.Range(func(any, any) bool { n++; return true })
			if want := min(tt.children, tt.concurrency); n != want {
				t.Errorf("%d children chatted, want %d", n, want)
			}
			if strings.Contains(log.String(), "password") {
				t.Errorf("log mentions the password: %s", log.String())
			}
		})
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	f := newFakeAPI()
	f.chatDelay = time.Millisecond
	urls, ca := f.start(t, 2)
	cfg := Config{Targets: urls, CAFile: ca, Children: 4, Concurrency: 4, Duration: 400 * time.Millisecond, Warmup: 150 * time.Millisecond}
	start := time.Now()
	s, err := Run(context.Background(), cfg, nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > cfg.Duration+cfg.Warmup+slack {
		t.Errorf("Run took %s", elapsed)
	}
	if s.Turns == 0 || s.Turns > f.chatOK.Load() {
		t.Errorf("Turns = %d, fake served %d (warm-up turns are not counted)", s.Turns, f.chatOK.Load())
	}
	if s.Errors != 0 {
		t.Errorf("unexpected errors %v", s.ErrorsByStatus)
	}
	if s.DurationSec <= 0 || s.DurationSec > cfg.Duration.Seconds()+0.001 {
		t.Errorf("DurationSec = %f, want ≤ %f", s.DurationSec, cfg.Duration.Seconds())
	}
	checkOrdered(t, s)
}

func TestRunHangingServerIsBounded(t *testing.T) {
	tests := []struct {
		name        string
		reqTimeout  time.Duration
		wantTimeout bool
	}{
		// in-flight requests are cut off at the end of the window, not counted
		{name: "cut off at window end", reqTimeout: 0},
		// a request timeout inside the window is an error
		{name: "request timeout", reqTimeout: 100 * time.Millisecond, wantTimeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			f.hangChat = make(chan struct{})
			urls, ca := f.start(t, 1)
			cfg := Config{Targets: urls, CAFile: ca, Children: 2, Concurrency: 2, Duration: 500 * time.Millisecond, Warmup: -1, RequestTimeout: tt.reqTimeout}
			start := time.Now()
			s, err := Run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e := time.Since(start); e > cfg.Duration+slack {
				t.Errorf("Run took %s against a hanging server", e)
			}
			if s.Turns != 0 {
				t.Errorf("Turns = %d", s.Turns)
			}
			if tt.wantTimeout && s.ErrorsByStatus[errTimeout] == 0 {
				t.Errorf("no timeouts counted: %v", s.ErrorsByStatus)
			}
			if !tt.wantTimeout && s.Errors != 0 {
				t.Errorf("cut-off requests counted as errors: %v", s.ErrorsByStatus)
			}
		})
	}
}

func TestRunHonoursContext(t *testing.T) {
	f := newFakeAPI()
	urls, ca := f.start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Run(ctx, Config{Targets: urls, CAFile: ca, Children: 2, Concurrency: 2, Duration: time.Minute, Warmup: -1}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if e := time.Since(start); e > slack {
		t.Errorf("Run took %s after ctx ended", e)
	}
	if s.Turns == 0 {
		t.Errorf("partial summary missing: %+v", s)
	}
}

func TestRunThinkTime(t *testing.T) {
	f := newFakeAPI()
	urls, ca := f.start(t, 1)
	s, err := Run(context.Background(), Config{
		Targets: urls, CAFile: ca, Children: 2, Concurrency: 2,
		Duration: 500 * time.Millisecond, Warmup: -1, ThinkTime: 100 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// each client sends at most one turn per ThinkTime: ≤ 2 × (5+1)
	if s.Turns == 0 || s.Turns > 12 {
		t.Errorf("Turns = %d with think time, want 1..12", s.Turns)
	}
}

func TestRunTLS(t *testing.T) {
	f := newFakeAPI()
	urls, _ := f.start(t, 1)
	base := Config{Targets: urls, Children: 1, Concurrency: 1, Duration: 200 * time.Millisecond, Warmup: -1, MaxTurns: 5}

	// untrusted certificate: setup fails fast with a TLS error
	if _, err := Run(context.Background(), base, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server: err = %v, want certificate error", err)
	}
	// Insecure dev mode works
	insecure := base
	insecure.Insecure = true
	if s, err := Run(context.Background(), insecure, nil); err != nil || s.Turns != 5 {
		t.Errorf("insecure: %+v, %v", s, err)
	}
}

func TestSetupErrorsSurface(t *testing.T) {
	f := newFakeAPI()
	f.signup503 = 100 // never recovers: retries are capped
	urls, ca := f.start(t, 1)
	start := time.Now()
	_, err := Run(context.Background(), Config{Targets: urls, CAFile: ca, Children: 1, Warmup: -1}, nil)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no_leader") {
		t.Errorf("err = %v, want 503 no_leader", err)
	}
	if got := f.signups.Load(); got != setupAttempts {
		t.Errorf("signup attempts = %d, want %d", got, setupAttempts)
	}
	if e := time.Since(start); e > slack {
		t.Errorf("capped retries took %s", e)
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	badCA := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(badCA, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no targets", Config{}, "no targets"},
		{"not a url", Config{Targets: []string{"127.0.0.1:8443"}}, "base URL"},
		{"ftp", Config{Targets: []string{"ftp://x"}}, "base URL"},
		{"path", Config{Targets: []string{"https://x/v1"}}, "base URL"},
		{"negative children", Config{Targets: []string{"https://x"}, Children: -1}, "negative"},
		{"negative duration", Config{Targets: []string{"https://x"}, Duration: -time.Second}, "negative"},
		{"too many children", Config{Targets: []string{"https://x"}, Children: MaxChildren + 1}, "at most"},
		{"missing CA", Config{Targets: []string{"https://x"}, CAFile: "/nonexistent/ca.pem"}, "CA file"},
		{"bad CA", Config{Targets: []string{"https://x"}, CAFile: badCA}, "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}

	got, err := Config{Targets: []string{"https://127.0.0.1:8443/"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Children != DefaultChildren || got.Concurrency != DefaultChildren || got.Duration != DefaultDuration ||
		got.Warmup != DefaultWarmup || got.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("defaults: %+v", got)
	}
	if got, _ := (Config{Targets: []string{"https://x"}, Warmup: -1}).withDefaults(); got.Warmup != 0 {
		t.Errorf("negative warm-up should disable it, got %s", got.Warmup)
	}
}

func TestRunCountsMalformedReplies(t *testing.T) {
	f := newFakeAPI()
	f.badBody = true
	urls, ca := f.start(t, 1)
	s, err := Run(context.Background(), Config{Targets: urls, CAFile: ca, Children: 2, Concurrency: 2, Warmup: -1, MaxTurns: 40}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Turns != 0 || s.Errors != 40 || s.ErrorsByStatus[errBadResponse] != 40 {
		t.Errorf("malformed 200s: %+v", s)
	}
}
