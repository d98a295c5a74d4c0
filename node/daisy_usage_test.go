package node

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type usageResp struct {
	Day               string `json:"day"`
	MinutesToday      int    `json:"minutes_today"`
	TurnsToday        int    `json:"turns_today"`
	GamesToday        int    `json:"games_today"`
	DailyLimitMinutes int    `json:"daily_limit_minutes"`
	MinutesLeft       int    `json:"minutes_left"`
	Available         bool   `json:"available"`
	Totals            struct {
		Chats  int `json:"chats"`
		Treats int `json:"treats"`
		Days   int `json:"days_visited"`
	} `json:"totals"`
	Achievements []achievementResp `json:"achievements"`
}

type achievementResp struct {
	ID       string `json:"id"`
	Earned   bool   `json:"earned"`
	EarnedAt string `json:"earned_at"`
}

func (tn *testNode) usage(t *testing.T, token, childID string) usageResp {
	t.Helper()
	var u usageResp
	if st, _ := tn.call(t, "GET", "/v1/children/"+childID+"/usage", token, nil, &u); st != 200 {
		t.Fatalf("GET usage: %d", st)
	}
	return u
}

func earned(list []achievementResp, id string) bool {
	for _, a := range list {
		if a.ID == id {
			return a.Earned && a.EarnedAt != ""
		}
	}
	return false
}

// TestConcurrentTurnsOfOneChildAllLand: turns of the same child sent at
// once through every node all succeed, and none loses another's update
// to Daisy's state (every turn is counted in the replicated usage and
// stats), because each turn is a compare-and-set on the state version that
// is re-planned when it lost the race.
func TestConcurrentTurnsOfOneChildAllLand(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, nil)
	fam := newFamily(t, nodes[0], "concurrent@example.test", "Kit", "9-12")
	const perNode = 4
	msgs := []string{"hello daisy", "here's a bone", "tell me a joke", "daisy, sit!"}
	var wg sync.WaitGroup
	statuses := make(chan error, perNode*len(nodes))
	start := make(chan struct{})
	for i, n := range nodes {
		for j := 0; j < perNode; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, tr := n.chat(t, fam.childToken, msgs[(i+j)%len(msgs)])
				if st != 200 || tr.Turn.Seq == 0 {
					statuses <- fmt.Errorf("node %d turn %d: status %d seq %d", i+1, j, st, tr.Turn.Seq)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(statuses)
	for err := range statuses {
		t.Error(err)
	}
	total := perNode * len(nodes)
	for i, n := range nodes {
		waitFor(t, 5*time.Second, fmt.Sprintf("every turn counted on node %d", i+1), func() error {
			u := n.usage(t, fam.parentToken, fam.childID)
			if u.TurnsToday != total || u.Totals.Chats != total {
				return fmt.Errorf("turns today %d, chats %d, want %d each", u.TurnsToday, u.Totals.Chats, total)
			}
			return nil
		})
	}
	if ids := allTurnIDs(t, nodes[0], fam.childID); len(ids) != total {
		t.Fatalf("%d turns stored, want %d", len(ids), total)
	}
}

// TestUsageAndAchievements: the parent sees today's minutes, turns, games
// and the limit; achievements show to the child and the parent; another
// family, an unknown ID and the child's own token are refused.
func TestUsageAndAchievements(t *testing.T) {
	t.Parallel()
	// Late evening, so that the next local day comes before the parent's
	// access token expires.
	clock := newTestClock(time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC))
	n := startCluster(t, 1, clock.config())[0]
	fam := newFamily(t, n, "usage@example.test", "Ada", "9-12")
	other := newFamily(t, n, "usage-other@example.test", "Bea", "9-12")

	u := n.usage(t, fam.parentToken, fam.childID)
	if u.TurnsToday != 0 || u.MinutesToday != 0 || u.MinutesLeft != -1 || !u.Available || earned(u.Achievements, "first_chat") {
		t.Fatalf("fresh usage = %+v", u)
	}
	if len(u.Achievements) < 10 {
		t.Fatalf("only %d achievements listed", len(u.Achievements))
	}
	settings := `{"daily_limit_minutes":30,"time_zone":"UTC","features":{"games":true,"jokes":true,"stories":true,"ai_mode":false},"strictness":"standard"}`
	if st, _, body := n.raw(t, "PUT", "/v1/children/"+fam.childID+"/settings", fam.parentToken, "application/json", []byte(settings)); st != 200 {
		t.Fatalf("PUT settings: %d %s", st, body)
	}
	n.say(t, fam.childToken, "hello daisy")
	clock.add(2 * time.Minute)
	n.say(t, fam.childToken, "daisy, roll over!")
	clock.add(2 * time.Minute)
	var g struct {
		Game *struct{ Kind string } `json:"game"`
	}
	if st, _ := n.call(t, "POST", "/v1/games", fam.childToken, map[string]string{"kind": "guess_number"}, &g); st != 200 || g.Game == nil {
		t.Fatalf("start game: %d %+v", st, g)
	}

	u = n.usage(t, fam.parentToken, fam.childID)
	// 30 s for the first message, then 2 + 2 minutes of session time.
	if u.TurnsToday != 3 || u.GamesToday != 1 || u.MinutesToday != 4 || u.DailyLimitMinutes != 30 || u.MinutesLeft != 26 || u.Day != "2026-03-10" {
		t.Fatalf("usage after three turns = %+v", u)
	}
	for _, id := range []string{"first_chat", "first_trick"} {
		if !earned(u.Achievements, id) {
			t.Errorf("parent view: %s not earned: %+v", id, u.Achievements)
		}
	}
	if earned(u.Achievements, "games_10") {
		t.Error("games_10 earned after one game")
	}
	var d struct {
		Achievements []achievementResp `json:"achievements"`
	}
	if st, _ := n.call(t, "GET", "/v1/chat/daisy", fam.childToken, nil, &d); st != 200 || !earned(d.Achievements, "first_trick") {
		t.Fatalf("child view: %d %+v", st, d.Achievements)
	}
	// The next local day starts from zero; totals stay.
	clock.add(7 * time.Minute)
	if u := n.usage(t, fam.parentToken, fam.childID); u.TurnsToday != 0 || u.GamesToday != 0 || u.MinutesToday != 0 || u.Totals.Chats != 3 {
		t.Fatalf("next day = %+v", u)
	}
	for _, tc := range []struct {
		name, token, id string
		want            int
	}{
		{"another family's parent", other.parentToken, fam.childID, 404},
		{"unknown child", fam.parentToken, "ch_" + fmt.Sprint(time.Now().UnixNano()), 404},
		{"the child itself", fam.childToken, fam.childID, 403},
		{"no token", "", fam.childID, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := n.call(t, "GET", "/v1/children/"+tc.id+"/usage", tc.token, nil, nil); st != tc.want {
				t.Fatalf("got %d, want %d", st, tc.want)
			}
		})
	}
}
