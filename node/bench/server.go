package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
)

// nodeMetrics is the part of a node's GET /v1/metrics the bench reads.
type nodeMetrics struct {
	Requests map[string]uint64       `json:"requests"`
	Timings  map[string]histSnapshot `json:"timings"`
	FSM      map[string]uint64       `json:"fsm"`
	Cache    struct {
		Hits   uint64 `json:"hits"`
		Misses uint64 `json:"misses"`
	} `json:"cache"`
	Process map[string]int64 `json:"process"`
}

type histSnapshot struct {
	Count   uint64  `json:"count"`
	SumMs   float64 `json:"sum_ms"`
	Buckets []struct {
		LeMs  float64 `json:"le_ms"`
		Count uint64  `json:"count"`
	} `json:"buckets"`
}

// StageTime is one server-side stage over the run, all nodes together.
type StageTime struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"` // from histogram buckets: accurate to the bucket (1-2-5 steps)
	P99Ms  float64 `json:"p99_ms"`
	// PerTurnMs is this stage's total time divided by the turns the nodes
	// served: how much of an average turn it accounts for.
	PerTurnMs float64 `json:"per_turn_ms"`
}

// ServerSplit is where the time went inside the nodes during the measured
// window (the difference of their metrics before and after it).
type ServerSplit struct {
	Nodes           int                  `json:"nodes"`
	Stages          map[string]StageTime `json:"stages"`
	EntriesPerBatch float64              `json:"fsm_entries_per_batch"`
	CacheHitRatio   float64              `json:"cache_hit_ratio"`
	Requests5xx     uint64               `json:"requests_5xx"`
	Goroutines      int64                `json:"goroutines"` // all nodes, after the run
	OpenFDs         int64                `json:"open_fds"`
	RSSBytes        int64                `json:"rss_bytes"`
	DBBytes         int64                `json:"db_bytes"`
	// CPUSec is the CPU time (user + system) the nodes used during the
	// measured window, all nodes together.
	CPUSec              float64  `json:"cpu_sec"`
	ScrapeErrors        []string `json:"scrape_errors,omitempty"`
	FSMApplyPerNodeNote string   `json:"note"`
}

// scrape reads every target's metrics; failures are reported, not fatal
// (the metrics are only served to loopback clients or with a token).
func scrape(ctx context.Context, c *client, token string) ([]*nodeMetrics, []string) {
	out := make([]*nodeMetrics, len(c.targets))
	var errs []string
	for i, t := range c.targets {
		r, err := c.doAt(ctx, t, http.MethodGet, "/v1/metrics", token, nil)
		if err == nil && r.status != http.StatusOK {
			err = fmt.Errorf("HTTP %d", r.status)
		}
		var m nodeMetrics
		if err == nil {
			err = json.Unmarshal(r.body, &m)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", t, err))
			continue
		}
		out[i] = &m
	}
	return out, errs
}

// split is the difference after − before, summed over nodes.
func split(before, after []*nodeMetrics, errs []string) *ServerSplit {
	s := &ServerSplit{Stages: map[string]StageTime{}, ScrapeErrors: errs,
		FSMApplyPerNodeNote: "fsm_apply_batch runs on every node (count = batches × nodes); raft_apply and turn only on the node a client called"}
	type acc struct {
		count   uint64
		sum     float64
		buckets []float64
		bounds  []float64
	}
	stages := map[string]*acc{}
	var turns, batches, entries, hits, misses uint64
	for i := range after {
		a, b := after[i], before[i]
		if a == nil || b == nil {
			continue
		}
		s.Nodes++
		for name, h := range a.Timings {
			hb := b.Timings[name]
			st := stages[name]
			if st == nil {
				st = &acc{buckets: make([]float64, len(h.Buckets)), bounds: make([]float64, len(h.Buckets))}
				stages[name] = st
			}
			st.count += h.Count - hb.Count
			st.sum += h.SumMs - hb.SumMs
			for j, bk := range h.Buckets {
				if j < len(st.buckets) {
					prev := uint64(0)
					if j < len(hb.Buckets) {
						prev = hb.Buckets[j].Count
					}
					st.buckets[j] += float64(bk.Count - prev)
					st.bounds[j] = bk.LeMs
				}
			}
		}
		turns += a.Timings["turn"].Count - b.Timings["turn"].Count
		batches += a.FSM["batches"] - b.FSM["batches"]
		entries += a.FSM["entries"] - b.FSM["entries"]
		hits += a.Cache.Hits - b.Cache.Hits
		misses += a.Cache.Misses - b.Cache.Misses
		s.Requests5xx += a.Requests["5xx"] - b.Requests["5xx"]
		s.Goroutines += a.Process["goroutines"]
		s.OpenFDs += a.Process["open_fds"]
		s.RSSBytes += a.Process["rss_bytes"]
		s.DBBytes += a.Process["db_bytes"]
		s.CPUSec += float64(a.Process["cpu_ns"]-b.Process["cpu_ns"]) / 1e9
	}
	if s.Nodes == 0 {
		return s
	}
	names := make([]string, 0, len(stages))
	for n := range stages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := stages[n]
		t := StageTime{Count: st.count}
		if st.count > 0 {
			t.MeanMs = st.sum / float64(st.count)
			t.P50Ms = bucketQuantile(st.bounds, st.buckets, 0.50)
			t.P99Ms = bucketQuantile(st.bounds, st.buckets, 0.99)
		}
		if turns > 0 {
			t.PerTurnMs = st.sum / float64(turns)
		}
		s.Stages[n] = t
	}
	if batches > 0 {
		s.EntriesPerBatch = float64(entries) / float64(batches)
	}
	if hits+misses > 0 {
		s.CacheHitRatio = float64(hits) / float64(hits+misses)
	}
	return s
}

// bucketQuantile estimates quantile q from per-bucket counts with upper
// bounds (−1 = open last bucket), interpolating inside the bucket.
func bucketQuantile(bounds, counts []float64, q float64) float64 {
	var total float64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := math.Ceil(q * total)
	seen, lower := 0.0, 0.0
	for i, c := range counts {
		if c > 0 && seen+c >= rank {
			if bounds[i] < 0 {
				return lower
			}
			return lower + (rank-seen)/c*(bounds[i]-lower)
		}
		seen += c
		if bounds[i] >= 0 {
			lower = bounds[i]
		}
	}
	return lower
}
