package node

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"daisydog/storage"
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

// The dashboard's trend: per UTC day over the last 14 days, today last —
// turns, the children who chatted and safety events by category, in
// aggregate. A day that ended keeps its counts; today's follow within the
// dashboard's one-minute reuse of its totals.
func TestDashboardDailyTrend(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC))
	n := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, n)
	fam := newFamily(t, n, "trend@example.test", "Tess", "9-12")
	n.say(t, fam.childToken, "hello daisy")
	if cr := n.say(t, fam.childToken, "a man in a car asked me to come with him"); !slices.Contains(cr.Turn.Safety.Categories, "grooming") {
		t.Fatalf("the grooming message was not flagged: %+v", cr.Turn.Safety)
	}
	daily := func(step string) []storage.DayUsage {
		t.Helper()
		var d struct {
			Daily []storage.DayUsage `json:"daily"`
		}
		if st, _ := n.call(t, "GET", "/v1/admin/dashboard", admin.token, nil, &d); st != 200 {
			t.Fatalf("%s: dashboard %d", step, st)
		}
		if len(d.Daily) != 14 {
			t.Fatalf("%s: %d days, want 14", step, len(d.Daily))
		}
		return d.Daily
	}
	check := func(step string, got storage.DayUsage, day string, turns, children, grooming int) {
		t.Helper()
		if got.Day != day || got.Turns != turns || got.ActiveChildren != children || got.EventsByCategory["grooming"] != grooming || (grooming > 0) != (got.SafetyEvents > 0) {
			t.Errorf("%s: %+v, want %s with %d turns, %d children, %d grooming events", step, got, day, turns, children, grooming)
		}
	}
	d := daily("first day")
	check("first day, today", d[13], "2026-03-10", 2, 1, 1)
	check("first day, yesterday", d[12], "2026-03-09", 0, 0, 0)
	check("first day, first of the trend", d[0], "2026-02-25", 0, 0, 0)

	// Past midnight (UTC): yesterday keeps its counts, today starts at one.
	clock.add(15 * time.Minute)
	n.staffLogin(t, admin) // the staff token has expired
	n.say(t, fam.childToken, "tell me a joke")
	d = daily("next day")
	check("next day, today", d[13], "2026-03-11", 1, 1, 0)
	check("next day, yesterday", d[12], "2026-03-10", 2, 1, 1)

	// Today's count is reused for a minute, then counted again.
	n.say(t, fam.childToken, "tell me another joke")
	clock.add(time.Second)
	check("within the minute", daily("within the minute")[13], "2026-03-11", 1, 1, 0)
	clock.add(time.Minute)
	check("a minute later", daily("a minute later")[13], "2026-03-11", 2, 1, 0)
}
