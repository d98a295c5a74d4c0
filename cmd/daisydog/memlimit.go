package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The Go runtime's soft memory limit (--memory-limit).
//
// Without one the Go heap may grow to twice its live size before a
// collection (GOGC=100), and memory the runtime no longer needs goes back
// to the operating system only gradually: a node's resident memory then
// follows its busiest minute, and a container with a memory cap can be
// killed by the kernel while half of its memory is garbage. With a limit
// the runtime collects sooner and returns memory promptly as it nears the
// limit. It is soft: a node whose live data needs more keeps running
// (slower, collecting often) rather than failing.
//
// "auto" (the default) sets three quarters of the cgroup's memory cap
// when the process runs under one (a container or a systemd unit with
// MemoryMax), the rest being left to what is not Go's (SQLite's allocator,
// compiled policy code, the kernel's page cache of the Raft log); without
// a cap it sets none. GOMEMLIMIT in the environment, which the runtime
// applied at start, wins over "auto" (not over an explicit value).

// memoryLimitAutoShare is the share of a cgroup memory cap "auto" gives
// the Go runtime.
const memoryLimitAutoShare = 0.75

// minMemoryLimit is the smallest limit accepted: below it a node would
// spend its time collecting (the policy's instances alone take tens of MiB).
const minMemoryLimit = 64 << 20

// memoryLimit is a decided limit: bytes (0 = none) and where it came from.
type memoryLimit struct {
	bytes  int64
	source string
}

// machineMemory is what "auto" and percentages look at; tests fake it.
type machineMemory struct {
	cgroupMax int64 // the cgroup's memory cap, 0 when none
	total     int64 // the machine's memory (MemTotal)
	envLimit  string
}

// readMachineMemory reads the cgroup v2 (or v1) memory cap of this process
// and the machine's total memory.
func readMachineMemory() machineMemory {
	m := machineMemory{envLimit: os.Getenv("GOMEMLIMIT")}
	m.cgroupMax = cgroupMemoryMax()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.total = parseMeminfoTotal(b)
	}
	return m
}

// cgroupMemoryMax returns the memory cap of this process's cgroup, or 0.
func cgroupMemoryMax() int64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// v2: "0::/path"; v1: "N:memory:/path".
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			file = "/sys/fs/cgroup" + parts[2] + "/memory.max"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			file = "/sys/fs/cgroup/memory" + parts[2] + "/memory.limit_in_bytes"
		default:
			continue
		}
		if v, ok := readCgroupLimit(file); ok {
			return v
		}
		// Inside a container the cgroup path is often not visible at the
		// listed place: the container's own cgroup is the root.
		root := "/sys/fs/cgroup/memory.max"
		if parts[0] != "0" {
			root = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
		}
		if v, ok := readCgroupLimit(root); ok {
			return v
		}
	}
	return 0
}

// readCgroupLimit reads a cgroup memory limit file: "max" (v2) or a huge
// number (v1) means none.
func readCgroupLimit(file string) (int64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v >= 1<<60 {
		return 0, true
	}
	return v, true
}

// parseMeminfoTotal returns MemTotal from /proc/meminfo, in bytes.
func parseMeminfoTotal(b []byte) int64 {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != "MemTotal" {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return n << 10
			}
		}
	}
	return 0
}

// decideMemoryLimit turns the flag's value into a limit.
func decideMemoryLimit(spec string, m machineMemory) (memoryLimit, error) {
	spec = strings.TrimSpace(spec)
	switch strings.ToLower(spec) {
	case "off", "none", "0":
		return memoryLimit{source: "off"}, nil
	case "", "auto":
		switch {
		case m.envLimit != "":
			return memoryLimit{source: "GOMEMLIMIT"}, nil // the runtime applied it at start
		case m.cgroupMax > 0:
			return memoryLimit{bytes: int64(float64(m.cgroupMax) * memoryLimitAutoShare), source: "auto: 75% of the cgroup memory cap"}, nil
		}
		return memoryLimit{source: "auto: no cgroup memory cap"}, nil
	}
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || pct <= 0 || pct > 100 {
			return memoryLimit{}, fmt.Errorf("--memory-limit %q: a percentage is between 0 and 100", spec)
		}
		base, of := m.cgroupMax, "the cgroup memory cap"
		if base == 0 {
			base, of = m.total, "the machine's memory"
		}
		if base == 0 {
			return memoryLimit{}, fmt.Errorf("--memory-limit %q: cannot read the machine's memory; give a size (e.g. 1GiB)", spec)
		}
		l := memoryLimit{bytes: int64(float64(base) * pct / 100), source: p + "% of " + of}
		return l, checkMemoryLimit(spec, l.bytes)
	}
	n, err := parseSize(spec)
	if err != nil {
		return memoryLimit{}, fmt.Errorf("--memory-limit: %w", err)
	}
	return memoryLimit{bytes: n, source: "--memory-limit"}, checkMemoryLimit(spec, n)
}

func checkMemoryLimit(spec string, n int64) error {
	if n < minMemoryLimit {
		return fmt.Errorf("--memory-limit %q: %d MiB is below the minimum of %d MiB", spec, n>>20, minMemoryLimit>>20)
	}
	return nil
}

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseSize parses "512MiB", "1.5GiB", "2G" (binary), "800MB" (decimal)
// or a plain number of bytes.
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*float64(mult) >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size (e.g. 1GiB, 800MiB, 2G, or bytes)", s)
	}
	return int64(f * float64(mult)), nil
}

// applyMemoryLimit sets the decided limit on the Go runtime and returns
// the limit in force (0 = none).
func applyMemoryLimit(l memoryLimit) int64 {
	if l.bytes > 0 {
		debug.SetMemoryLimit(l.bytes)
	} else if l.source == "off" {
		debug.SetMemoryLimit(math.MaxInt64)
	}
	cur := debug.SetMemoryLimit(-1)
	if cur == math.MaxInt64 {
		return 0
	}
	return cur
}
