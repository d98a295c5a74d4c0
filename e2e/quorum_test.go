package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// maxUnavailableAnswer bounds how long a write may take to be refused when
// the cluster has no quorum (the README promises 503 within 5 s).
const maxUnavailableAnswer = 10 * time.Second

// TestQuorumLossAnswers503 kills two nodes of three and checks that writes
// on the survivor are refused quickly with 503 and Retry-After while the
// child can still read their own history there. The survivor is the old
// leader in one case (it must notice it lost its quorum) and a follower in
// the other (its leader is gone).
func TestQuorumLossAnswers503(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	for _, tc := range []struct {
		name           string
		leaderSurvives bool
	}{
		{"leader survives", true},
		{"follower survives", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 3)
			leader, _ := c.waitLeader(c.nodes, 0)
			survivor := leader
			if !tc.leaderSurvives {
				survivor = c.others(leader)[0]
			}
			f := c.newFamily(leader, "", "")
			c.converge(c.nodes)
			acked := newAckLog()
			for i := 0; i < 3; i++ {
				r, err := c.chat(survivor, f, fmt.Sprintf("Hello Daisy, message %d before the outage.", i))
				if err != nil || r.Status != 200 {
					t.Fatalf("chat via %s: %v %s", survivor.id, err, r)
				}
				acked.add(t, turnOf(t, r))
			}

			// Writes through a follower are acknowledged before the follower
			// itself applied them (see TestReadYourWritesThroughFollower); let
			// the survivor apply them so this test checks only quorum loss.
			c.converge(c.nodes)
			for _, n := range c.others(survivor) {
				c.kill(n)
			}

			for i := 0; i < 2; i++ {
				r, err := c.chat(survivor, f, fmt.Sprintf("Daisy, are you there? Attempt %d.", i))
				if err != nil {
					t.Fatalf("write %d on %s without quorum: %v after %v", i, survivor.id, err, r.Elapsed)
				}
				t.Logf("write %d on %s without quorum: %s in %v (Retry-After %q)", i, survivor.id, r, r.Elapsed.Round(time.Millisecond), r.Header.Get("Retry-After"))
				if r.Status != 503 {
					t.Fatalf("write %d on %s without quorum answered %s, want 503", i, survivor.id, r)
				}
				if r.Elapsed > maxUnavailableAnswer {
					t.Errorf("write %d on %s took %v to be refused, want < %v", i, survivor.id, r.Elapsed, maxUnavailableAnswer)
				}
				if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
					t.Errorf("503 carries Retry-After %q, want a positive number of seconds", r.Header.Get("Retry-After"))
				}
				var e struct {
					Error struct {
						Code    string `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				r.decode(t, &e)
				if e.Error.Code != "unavailable" || e.Error.Message == "" {
					t.Errorf("503 body %s, want error code \"unavailable\" with a message", r)
				}
			}

			// Reads of the child's own history are local and keep working.
			r := c.api.must(200, "GET", survivor.url("/v1/chat?limit=100"), f.childToken, nil)
			if r.Elapsed > maxUnavailableAnswer {
				t.Errorf("history read took %v without quorum", r.Elapsed)
			}
			var h struct {
				Turns []turn `json:"turns"`
			}
			r.decode(t, &h)
			have := map[string]bool{}
			for _, tu := range h.Turns {
				have[tu.ID] = true
			}
			for id := range acked.seq {
				if !have[id] {
					t.Errorf("acknowledged turn %s missing from the survivor's history", id)
				}
			}

			// Without a leader the node reports not ready.
			waitFor(t, electionTimeout, survivor.id+" /readyz to answer 503 without a leader", func() (bool, string) {
				c.mustRun(survivor)
				r, err := c.api.get(survivor.url("/readyz"), "")
				if err != nil {
					return false, err.Error()
				}
				return r.Status == 503, r.String()
			})
		})
	}
}
