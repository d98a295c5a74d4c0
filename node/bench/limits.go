package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// MachineLimits are the physical floors a replicated write cannot beat on
// this machine, measured in the same run as the load: a durable write needs
// at least one fsync of the data disk, and a commit at least one round trip
// between nodes (loopback here, since the bench cluster is local).
type MachineLimits struct {
	Dir           string  `json:"dir"`
	Cores         int     `json:"cores"`
	FsyncMs       Latency `json:"fsync_ms"`
	FsyncsPerSec  float64 `json:"fsyncs_per_sec"` // 1 / mean fsync: sequential durable writes per second
	LoopbackRTTUs Latency `json:"loopback_rtt_us"`
	// CommitFloorMs is fsync p50 + round trip p50: the fastest one Raft
	// commit (leader log write, follower log write and acknowledgement) can be.
	CommitFloorMs float64 `json:"commit_floor_ms"`
	// Before and After are the machine's contention when the limits were
	// measured and when the load ended.
	Before Contention  `json:"contention_before"`
	After  *Contention `json:"contention_after,omitempty"`
}

// Limit measurement sizes: short, so the run stays about the load.
const (
	fsyncRounds = 200
	fsyncBlock  = 4096
	rttRounds   = 2000
	limitBudget = 3 * time.Second // per measurement
)

// MeasureLimits measures fsync latency (write 4 KiB + fsync, in a temporary
// file in dir, which should be on the cluster's data disk) and loopback TCP
// round-trip time.
func MeasureLimits(ctx context.Context, dir string) (MachineLimits, error) {
	m := MachineLimits{Dir: dir, Cores: runtime.NumCPU(), Before: readContention()}
	fs, err := measureFsync(ctx, dir)
	if err != nil {
		return m, err
	}
	rtt, err := measureRTT(ctx)
	if err != nil {
		return m, err
	}
	m.FsyncMs = summarize(fs)
	if m.FsyncMs.Mean > 0 {
		m.FsyncsPerSec = 1000 / m.FsyncMs.Mean
	}
	l := summarize(rtt)
	m.LoopbackRTTUs = Latency{P50: l.P50 * 1000, P95: l.P95 * 1000, P99: l.P99 * 1000, P999: l.P999 * 1000, Max: l.Max * 1000, Mean: l.Mean * 1000}
	m.CommitFloorMs = m.FsyncMs.P50 + l.P50
	return m, nil
}

func measureFsync(ctx context.Context, dir string) ([]time.Duration, error) {
	f, err := os.CreateTemp(dir, ".bench-fsync-*")
	if err != nil {
		return nil, fmt.Errorf("bench: fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, fsyncBlock)
	out := make([]time.Duration, 0, fsyncRounds)
	stop := time.Now().Add(limitBudget)
	for i := 0; i < fsyncRounds && time.Now().Before(stop) && ctx.Err() == nil; i++ {
		block[0] = byte(i)
		t0 := time.Now()
		// Append like a log does, then make it durable.
		if _, err := f.Write(block); err != nil {
			return nil, fmt.Errorf("bench: fsync probe %s: %w", filepath.Base(f.Name()), err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("bench: fsync probe: %w", err)
		}
		out = append(out, time.Since(t0))
	}
	if len(out) == 0 {
		return nil, errors.New("bench: fsync probe: no rounds")
	}
	return out, ctx.Err()
}

func measureRTT(ctx context.Context) ([]time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: loopback probe: %w", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c) // echo
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("bench: loopback probe: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(limitBudget + time.Second))
	buf := make([]byte, 64)
	out := make([]time.Duration, 0, rttRounds)
	stop := time.Now().Add(limitBudget)
	for i := 0; i < rttRounds && time.Now().Before(stop) && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if _, err := c.Write(buf); err != nil {
			return nil, fmt.Errorf("bench: loopback probe: %w", err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, fmt.Errorf("bench: loopback probe: %w", err)
		}
		out = append(out, time.Since(t0))
	}
	if len(out) == 0 {
		return nil, errors.New("bench: loopback probe: no rounds")
	}
	return out, ctx.Err()
}

// Contention is how busy the machine was around the run (Linux): the load
// average and the pressure-stall share of the last 10 s during which at
// least one task waited for a CPU or for I/O. On a shared machine a high
// CPU pressure means latency is spent queueing for a core, not in DaisyDog.
type Contention struct {
	LoadAvg1           float64 `json:"load_avg_1m"`
	CPUPressureSomePct float64 `json:"cpu_pressure_some_avg10_pct"`
	IOPressureSomePct  float64 `json:"io_pressure_some_avg10_pct"`
}

// readContention reads /proc (zero values where unavailable).
func readContention() Contention {
	var c Contention
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscanf(string(b), "%f", &c.LoadAvg1)
	}
	c.CPUPressureSomePct = pressure("/proc/pressure/cpu")
	c.IOPressureSomePct = pressure("/proc/pressure/io")
	return c
}

func pressure(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var v float64
	_, _ = fmt.Sscanf(string(b), "some avg10=%f", &v)
	return v
}
