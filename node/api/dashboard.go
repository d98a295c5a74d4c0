package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// The staff dashboard's data (charter §7: an admin dashboard with live
// safety and performance views). GET /v1/admin/dashboard answers staff —
// administrators and moderators — with this node's view: its place in the
// cluster, the active policy, and its counters (the same numbers as
// /v1/metrics, which only loopback or the metrics token may read). It holds
// no personal data: counts, times, IDs of servers. The page
// (/ui/staff.html) polls it and shows rates between two polls.

type dashboardNode struct {
	ID           string                   `json:"id"`
	State        string                   `json:"state"`
	LeaderID     string                   `json:"leader_id"`
	Term         uint64                   `json:"term"`
	AppliedIndex uint64                   `json:"applied_index"`
	CommitIndex  uint64                   `json:"commit_index"`
	Members      []raftcluster.NodeStatus `json:"members"`
}

type dashboardView struct {
	At      string          `json:"at"`
	Node    *dashboardNode  `json:"node"`
	Policy  string          `json:"policy_version"`
	Metrics MetricsSnapshot `json:"metrics"`
	// Usage is the service's use in aggregate, the activity over the last
	// 24 hours; counted at most once a minute (UsageAt says when).
	Usage   storage.UsageTotals `json:"usage"`
	UsageAt string              `json:"usage_at"`
}

// usageEvery is how long the dashboard's totals are reused: they count
// whole tables.
const usageEvery = time.Minute

type usageCache struct {
	mu sync.Mutex
	at time.Time
	v  storage.UsageTotals
}

func (s *Server) usageTotals(ctx context.Context, a storage.Actor) (storage.UsageTotals, time.Time, error) {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	now := s.Now()
	if !s.usage.at.IsZero() && now.Sub(s.usage.at) < usageEvery && now.After(s.usage.at) {
		return s.usage.v, s.usage.at, nil
	}
	v, err := s.DB.UsageTotals(ctx, a, now.Add(-24*time.Hour).UnixMilli())
	if err != nil {
		return v, now, err
	}
	s.usage.v, s.usage.at = v, now
	return v, now, nil
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	usage, usageAt, err := s.usageTotals(r.Context(), a)
	if err != nil {
		return err
	}
	v := dashboardView{At: millis(s.Now().UnixMilli()), Policy: s.policyFor(r.Context()).Version(), Metrics: s.snapshot(),
		Usage: usage, UsageAt: millis(usageAt.UnixMilli())}
	// Buckets are for Prometheus; the page shows percentiles.
	for k, h := range v.Metrics.Timings {
		h.Buckets = nil
		v.Metrics.Timings[k] = h
	}
	if sr, ok := s.Repl.(raftStatuser); ok {
		st := sr.Status()
		v.Node = &dashboardNode{ID: st.NodeID, State: st.State, LeaderID: st.LeaderID, Term: st.Term,
			AppliedIndex: st.AppliedIndex, CommitIndex: st.CommitIndex, Members: st.Nodes}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
