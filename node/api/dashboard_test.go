package api

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"daisydog/raftcluster"
)

// clusterView: a member that answered shows its state and how far behind
// the commit index this node knows it is (never negative: a member may
// have applied more than this node knows of); one that did not answer
// shows only that.
func TestClusterView(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	got := clusterView([]raftcluster.MemberAnswer{
		{ID: "n1", Address: "a1", Status: raftcluster.Status{State: "Leader", Term: 3, AppliedIndex: 100, IssuerCA: fp}},
		{ID: "n2", Address: "a2", Status: raftcluster.Status{State: "Follower", Term: 3, AppliedIndex: 90, IssuerCA: fp}},
		{ID: "n3", Address: "a3", Status: raftcluster.Status{State: "Follower", Term: 3, AppliedIndex: 120}},
		{ID: "n4", Address: "a4", Err: errors.New("connection refused")},
	}, 110)
	want := []dashboardMember{
		{ID: "n1", Address: "a1", Answered: true, State: "Leader", Term: 3, Applied: 100, Behind: 10, CA: fp[:12]},
		{ID: "n2", Address: "a2", Answered: true, State: "Follower", Term: 3, Applied: 90, Behind: 20, CA: fp[:12]},
		{ID: "n3", Address: "a3", Answered: true, State: "Follower", Term: 3, Applied: 120},
		{ID: "n4", Address: "a4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("clusterView:\n got %+v\nwant %+v", got, want)
	}
}
