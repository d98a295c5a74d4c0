package api

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// processStats reports what a soak run watches; on Linux every value is
// read from the process itself and must be plausible.
func TestProcessStats(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p := processStats()
	for _, k := range []string{"goroutines", "heap_inuse", "sys_bytes", "go_held_bytes", "open_fds", "rss_bytes", "rss_anon_bytes", "rss_file_bytes", "cpu_ns"} {
		if p[k] <= 0 {
			t.Errorf("%s = %d, want > 0", k, p[k])
		}
	}
	if p["rss_anon_bytes"]+p["rss_file_bytes"] > p["rss_bytes"]+1<<20 {
		t.Errorf("anon %d + file %d exceed RSS %d", p["rss_anon_bytes"], p["rss_file_bytes"], p["rss_bytes"])
	}
	if p["go_held_bytes"] > p["sys_bytes"] {
		t.Errorf("go_held %d > sys %d", p["go_held_bytes"], p["sys_bytes"])
	}
}

// The Go memory limit is reported while one is set, and only then.
func TestProcessStatsMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	debug.SetMemoryLimit(math.MaxInt64)
	if v, ok := processStats()["go_memory_limit_bytes"]; ok {
		t.Fatalf("no limit set, yet go_memory_limit_bytes = %d", v)
	}
	debug.SetMemoryLimit(3 << 30)
	if v := processStats()["go_memory_limit_bytes"]; v != 3<<30 {
		t.Fatalf("go_memory_limit_bytes = %d, want %d", v, 3<<30)
	}
}
