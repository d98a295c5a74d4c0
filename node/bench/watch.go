package bench

import (
	"context"
	"sync"
	"time"
)

// Sample is the cluster's resources at one moment of a run (all nodes
// together): what a soak run watches for growth.
type Sample struct {
	AtSec      float64 `json:"at_sec"`
	Nodes      int     `json:"nodes"`
	Goroutines int64   `json:"goroutines"`
	OpenFDs    int64   `json:"open_fds"`
	RSSBytes   int64   `json:"rss_bytes"`
	HeapBytes  int64   `json:"heap_inuse"`
	// GoHeldBytes is what the Go runtimes hold from the OS (Sys minus
	// released heap); RSSBytes minus it is memory outside Go (SQLite's
	// allocator, compiled policy code), so growth can be attributed.
	GoHeldBytes int64 `json:"go_held_bytes"`
	// RSSAnonBytes and RSSFileBytes split RSSBytes: anonymous memory, and
	// file-backed pages (the binary, the Raft log store's memory map —
	// page cache the kernel reclaims under pressure, not a leak).
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	RSSFileBytes int64 `json:"rss_file_bytes"`
	DBBytes      int64 `json:"db_bytes"`
}

// Growth compares the last sample with the first (after warm-up).
type Growth struct {
	Samples    []Sample `json:"samples"`
	Goroutines int64    `json:"goroutines_delta"`
	OpenFDs    int64    `json:"open_fds_delta"`
	RSSBytes   int64    `json:"rss_bytes_delta"`
	GoHeld     int64    `json:"go_held_bytes_delta"`
	RSSAnon    int64    `json:"rss_anon_bytes_delta"`
	RSSFile    int64    `json:"rss_file_bytes_delta"`
	DBBytes    int64    `json:"db_bytes_delta"`
}

// watch samples the nodes' process metrics every interval until ctx ends.
func watch(ctx context.Context, c *client, token string, every time.Duration, wg *sync.WaitGroup) *Growth {
	g := &Growth{}
	start := time.Now()
	var mu sync.Mutex
	take := func() {
		ms, _ := scrape(ctx, c, token)
		if ctx.Err() != nil {
			// The window ended during the scrape: the nodes not asked yet,
			// or cut off, would read as missing. (A node that does not
			// answer while the window is open is recorded as missing.)
			return
		}
		s := Sample{AtSec: time.Since(start).Seconds()}
		for _, m := range ms {
			if m == nil {
				continue
			}
			s.Nodes++
			s.Goroutines += m.Process["goroutines"]
			s.OpenFDs += m.Process["open_fds"]
			s.RSSBytes += m.Process["rss_bytes"]
			s.HeapBytes += m.Process["heap_inuse"]
			s.GoHeldBytes += m.Process["go_held_bytes"]
			s.RSSAnonBytes += m.Process["rss_anon_bytes"]
			s.RSSFileBytes += m.Process["rss_file_bytes"]
			s.DBBytes += m.Process["db_bytes"]
		}
		if s.Nodes > 0 {
			mu.Lock()
			g.Samples = append(g.Samples, s)
			mu.Unlock()
		}
	}
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		take()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				take()
			}
		}
	})
	return g
}

// finish computes the deltas (call after the watcher stopped).
func (g *Growth) finish() {
	if len(g.Samples) < 2 {
		return
	}
	a, b := g.Samples[0], g.Samples[len(g.Samples)-1]
	g.Goroutines = b.Goroutines - a.Goroutines
	g.OpenFDs = b.OpenFDs - a.OpenFDs
	g.RSSBytes = b.RSSBytes - a.RSSBytes
	g.GoHeld = b.GoHeldBytes - a.GoHeldBytes
	g.RSSAnon = b.RSSAnonBytes - a.RSSAnonBytes
	g.RSSFile = b.RSSFileBytes - a.RSSFileBytes
	g.DBBytes = b.DBBytes - a.DBBytes
}
