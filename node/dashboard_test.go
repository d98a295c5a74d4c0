package node

import (
	"fmt"
	"testing"
	"time"
)

// The staff dashboard shows the whole cluster from any node: every member
// as it answers on the cluster port — its role, how far behind it is, the
// CA of its certificate — and a member that is down as not answering.
func TestDashboardShowsEveryMember(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, clock.config())
	leader, followers := leaderOf(t, nodes)
	admin := newAdmin(t, leader)
	type member struct {
		ID       string `json:"id"`
		Answered bool   `json:"answered"`
		State    string `json:"state"`
		Behind   uint64 `json:"behind"`
		CA       string `json:"ca"`
	}
	view := func(via *testNode) map[string]member {
		t.Helper()
		var d struct {
			Cluster []member `json:"cluster"`
		}
		if st, _ := via.call(t, "GET", "/v1/admin/dashboard", admin.token, nil, &d); st != 200 {
			t.Fatalf("dashboard via %s: %d", via.nf.NodeID, st)
		}
		out := map[string]member{}
		for _, m := range d.Cluster {
			out[m.ID] = m
		}
		return out
	}
	ca := leader.identity.CurrentCA().Fingerprint()[:12]
	waitFor(t, 10*time.Second, "every member answering and up to date", func() error {
		got := view(followers[0])
		if len(got) != 3 {
			return fmt.Errorf("%d members", len(got))
		}
		for _, n := range nodes {
			m := got[n.nf.NodeID]
			want := "Follower"
			if n == leader {
				want = "Leader"
			}
			if !m.Answered || m.State != want || m.CA != ca || m.Behind > 0 {
				return fmt.Errorf("%s: %+v, want answered, %s, CA %s, not behind", n.nf.NodeID, m, want, ca)
			}
		}
		return nil
	})

	down := followers[1]
	down.stop(t)
	got := view(followers[0])
	if m := got[down.nf.NodeID]; m.Answered || m.State != "" {
		t.Fatalf("the stopped %s: %+v", down.nf.NodeID, m)
	}
	if m := got[leader.nf.NodeID]; !m.Answered || m.State != "Leader" {
		t.Fatalf("the leader with a member down: %+v", m)
	}
}
