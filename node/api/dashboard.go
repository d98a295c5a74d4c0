package api

import (
	"context"
	"net/http"
	"slices"
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

// dashboardMember is one member of the cluster as it answered this node
// on the cluster port just now: the whole cluster from one page.
type dashboardMember struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Answered bool   `json:"answered"`
	State    string `json:"state,omitempty"`
	Term     uint64 `json:"term,omitempty"`
	Applied  uint64 `json:"applied_index,omitempty"`
	// Behind is how many committed entries (as this node knows them) the
	// member has not applied yet.
	Behind uint64 `json:"behind"`
	// CA: the first 12 hex digits of the fingerprint of the CA the
	// member's certificate comes from (a CA rotation's progress).
	CA string `json:"ca,omitempty"`
}

// memberStatuser asks every member for its status (raftcluster.Cluster).
type memberStatuser interface {
	MemberStatuses(ctx context.Context, timeout time.Duration) []raftcluster.MemberAnswer
}

// memberAskTimeout bounds how long the dashboard waits for a member.
const memberAskTimeout = time.Second

type dashboardView struct {
	At      string            `json:"at"`
	Node    *dashboardNode    `json:"node"`
	Cluster []dashboardMember `json:"cluster"`
	Policy  string            `json:"policy_version"`
	Metrics MetricsSnapshot   `json:"metrics"`
	// Usage is the service's use in aggregate, the activity over the last
	// 24 hours; counted at most once a minute (UsageAt says when).
	Usage   storage.UsageTotals `json:"usage"`
	UsageAt string              `json:"usage_at"`
	// Daily is the use per UTC day over the last usageDays days, today
	// last (so far today, counted with Usage): trends of use and of safety
	// events by category, in aggregate.
	Daily []storage.DayUsage `json:"daily"`
}

// usageDays is how many days the dashboard's trend covers.
const usageDays = 14

// usageEvery is how long the dashboard's totals are reused: they count
// whole tables.
const usageEvery = time.Minute

type usageCache struct {
	mu    sync.Mutex
	at    time.Time
	v     storage.UsageTotals
	daily []storage.DayUsage
	// past holds the finished days before pastFor (a UTC day number):
	// counted once a day, as their turns no longer change (but for
	// deletions, which the trend then shows at the next day).
	past    []storage.DayUsage
	pastFor int64
}

func (s *Server) usageTotals(ctx context.Context, a storage.Actor) (storage.UsageTotals, []storage.DayUsage, time.Time, error) {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	now := s.Now()
	if !s.usage.at.IsZero() && now.Sub(s.usage.at) < usageEvery && now.After(s.usage.at) {
		return s.usage.v, s.usage.daily, s.usage.at, nil
	}
	v, err := s.DB.UsageTotals(ctx, a, now.Add(-24*time.Hour).UnixMilli())
	if err != nil {
		return v, nil, now, err
	}
	today := now.UTC().Unix() / (24 * 60 * 60)
	if s.usage.past == nil || s.usage.pastFor != today {
		past, err := s.DB.DailyUsage(ctx, a, today-usageDays+1, today)
		if err != nil {
			return v, nil, now, err
		}
		s.usage.past, s.usage.pastFor = past, today
	}
	sofar, err := s.DB.DailyUsage(ctx, a, today, today+1)
	if err != nil {
		return v, nil, now, err
	}
	s.usage.v, s.usage.at = v, now
	s.usage.daily = append(slices.Clone(s.usage.past), sofar...)
	return v, s.usage.daily, now, nil
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	usage, daily, usageAt, err := s.usageTotals(r.Context(), a)
	if err != nil {
		return err
	}
	v := dashboardView{At: millis(s.Now().UnixMilli()), Policy: s.policyFor(r.Context()).Version(), Metrics: s.snapshot(),
		Usage: usage, UsageAt: millis(usageAt.UnixMilli()), Daily: daily}
	// Buckets are for Prometheus; the page shows percentiles.
	for k, h := range v.Metrics.Timings {
		h.Buckets = nil
		v.Metrics.Timings[k] = h
	}
	if sr, ok := s.Repl.(raftStatuser); ok {
		st := sr.Status()
		v.Node = &dashboardNode{ID: st.NodeID, State: st.State, LeaderID: st.LeaderID, Term: st.Term,
			AppliedIndex: st.AppliedIndex, CommitIndex: st.CommitIndex, Members: st.Nodes}
		if ms, ok := s.Repl.(memberStatuser); ok {
			v.Cluster = clusterView(ms.MemberStatuses(r.Context(), memberAskTimeout), st.CommitIndex)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// clusterView is the dashboard's row per member; commit is the commit
// index this node knows.
func clusterView(answers []raftcluster.MemberAnswer, commit uint64) []dashboardMember {
	out := make([]dashboardMember, 0, len(answers))
	for _, a := range answers {
		m := dashboardMember{ID: a.ID, Address: a.Address}
		if a.Err == nil {
			st := a.Status
			m.Answered, m.State, m.Term, m.Applied = true, st.State, st.Term, st.AppliedIndex
			if commit > st.AppliedIndex {
				m.Behind = commit - st.AppliedIndex
			}
			if len(st.IssuerCA) >= 12 {
				m.CA = st.IssuerCA[:12]
			}
		}
		out = append(out, m)
	}
	return out
}
