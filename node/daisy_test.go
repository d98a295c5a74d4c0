package node

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/storage"
)

// testClock is an injectable Config.Now, safe for concurrent use.
type testClock struct{ ms atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) set(t time.Time)       { c.ms.Store(t.UnixMilli()) }
func (c *testClock) add(d time.Duration)   { c.ms.Add(d.Milliseconds()) }
func (c *testClock) now() time.Time        { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) config() func(*Config) { return func(cfg *Config) { cfg.Now = c.now } }

type daisyResp struct {
	Mood        string `json:"mood"`
	Hunger      int    `json:"hunger"`
	Energy      int    `json:"energy"`
	Available   bool   `json:"available"`
	Reason      string `json:"reason"`
	MinutesLeft int    `json:"minutes_left"`
	Game        *struct {
		Kind string `json:"kind"`
	} `json:"game"`
}

type chatResp struct {
	Turn struct {
		Seq         int64    `json:"seq"`
		Reply       string   `json:"reply"`
		Intent      string   `json:"intent"`
		Mood        string   `json:"mood"`
		Suggestions []string `json:"suggestions"`
		Safety      struct {
			Action     string   `json:"action"`
			Categories []string `json:"categories"`
			Escalated  bool     `json:"escalated"`
		} `json:"safety"`
	} `json:"turn"`
}

func (tn *testNode) say(t *testing.T, token, msg string) chatResp {
	t.Helper()
	var cr chatResp
	if st, _ := tn.call(t, "POST", "/v1/chat", token, map[string]string{"message": msg}, &cr); st != 200 {
		t.Fatalf("chat %q: %d", msg, st)
	}
	if cr.Turn.Mood == "" {
		t.Fatalf("chat %q: reply without a mood", msg)
	}
	return cr
}

func (tn *testNode) daisy(t *testing.T, token string) daisyResp {
	t.Helper()
	var d daisyResp
	if st, _ := tn.call(t, "GET", "/v1/chat/daisy", token, nil, &d); st != 200 {
		t.Fatalf("GET /v1/chat/daisy: %d", st)
	}
	return d
}

// TestDaisyStateAcrossTurnsAndNodes: feeding and tricks change Daisy's
// state through one node; every node serves the same state, and it drifts
// with the (injected) clock.
func TestDaisyStateAcrossTurnsAndNodes(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC))
	nodes := startCluster(t, 3, clock.config())
	fam := newFamily(t, nodes[0], "daisy-state@example.test", "Pip", "5-8")

	fresh := nodes[1].daisy(t, fam.childToken)
	if fresh.Hunger != 2 || fresh.Energy != 5 || !fresh.Available || fresh.MinutesLeft != -1 {
		t.Fatalf("a new child's Daisy = %+v, want hunger 2, energy 5, available, no limit", fresh)
	}
	// Her clock starts at the first visit; six hours later she is hungry.
	if cr := nodes[1].say(t, fam.childToken, "hello Daisy"); cr.Turn.Intent != "greeting" {
		t.Fatalf("greeting: %+v", cr.Turn)
	}
	clock.add(6 * time.Hour)
	waitFor(t, 5*time.Second, "hungry Daisy on node 3", func() error {
		if d := nodes[2].daisy(t, fam.childToken); d.Hunger != 5 || d.Mood != "hungry" {
			return fmt.Errorf("after 6h: %+v, want hunger 5, hungry", d)
		}
		return nil
	})
	steps := []struct {
		msg        string
		intent     string
		check      func(before, after daisyResp) bool
		what       string
		suggestion bool
	}{
		{"here's a bone", "food", func(b, a daisyResp) bool { return a.Hunger < b.Hunger }, "feeding lowers hunger", true},
		{"daisy, roll over!", "tricks", func(b, a daisyResp) bool { return a.Energy < b.Energy }, "a trick costs energy", true},
		{"tell me a joke", "jokes", func(b, a daisyResp) bool { return a.Hunger == b.Hunger && a.Energy == b.Energy }, "a joke changes no levels", true},
	}
	before := nodes[0].daisy(t, fam.childToken)
	for _, st := range steps {
		t.Run(st.msg, func(t *testing.T) {
			cr := nodes[0].say(t, fam.childToken, st.msg)
			if cr.Turn.Intent != st.intent || cr.Turn.Safety.Action != "allow" {
				t.Fatalf("%q: intent %q action %q, want %q allow", st.msg, cr.Turn.Intent, cr.Turn.Safety.Action, st.intent)
			}
			if st.suggestion && len(cr.Turn.Suggestions) == 0 {
				t.Fatalf("%q: no suggestions", st.msg)
			}
			// Every node converges on the same stored state.
			var after daisyResp
			for i, n := range nodes {
				waitFor(t, 5*time.Second, "replicated state", func() error {
					d := n.daisy(t, fam.childToken)
					if i == 0 {
						after = d
					}
					if d != after {
						return fmt.Errorf("node %d: %+v, node 1: %+v", i+1, d, after)
					}
					return nil
				})
			}
			if !st.check(before, after) {
				t.Fatalf("%s: before %+v after %+v", st.what, before, after)
			}
			if cr.Turn.Mood != after.Mood {
				t.Fatalf("reply mood %q, state mood %q", cr.Turn.Mood, after.Mood)
			}
			before = after
		})
	}
	// Determinism: the state was computed and sealed once, on the receiving
	// node; every FSM stored the command's bytes verbatim (a fresh nonce per
	// seal means any recomputation would differ).
	waitFor(t, 5*time.Second, "identical sealed state on every node", func() error {
		var first []byte
		for i, n := range nodes {
			row, err := n.DB().Companion(context.Background(), storage.Actor{Role: storage.RoleSystem}, fam.childID)
			if err != nil {
				return err
			}
			if row.StateSealed == nil {
				return fmt.Errorf("node %d has no state", i+1)
			}
			if i == 0 {
				first = row.StateSealed
			} else if !bytes.Equal(first, row.StateSealed) {
				return fmt.Errorf("node %d stored different state bytes", i+1)
			}
		}
		return nil
	})
}

type settingsDoc struct {
	DailyLimitMinutes int `json:"daily_limit_minutes"`
	Bedtime           struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	} `json:"bedtime"`
	TimeZone string `json:"time_zone"`
	Features struct {
		Games   bool `json:"games"`
		Jokes   bool `json:"jokes"`
		Stories bool `json:"stories"`
		AIMode  bool `json:"ai_mode"`
	} `json:"features"`
	Strictness string `json:"strictness"`
}

func TestChildSettingsValidationAndScope(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, nil)[0]
	fam := newFamily(t, n, "settings@example.test", "Ada", "9-12")
	other := newFamily(t, n, "settings-other@example.test", "Bea", "9-12")
	path := "/v1/children/" + fam.childID + "/settings"

	var def settingsDoc
	if st, _ := n.call(t, "GET", path, fam.parentToken, nil, &def); st != 200 {
		t.Fatalf("GET settings: %d", st)
	}
	if def.DailyLimitMinutes != 0 || def.Bedtime.Start != "" || def.TimeZone != "UTC" || !def.Features.Games ||
		!def.Features.Jokes || !def.Features.Stories || def.Features.AIMode || def.Strictness != "standard" {
		t.Fatalf("default settings = %+v", def)
	}
	good := `{"daily_limit_minutes":45,"bedtime":{"start":"20:30","end":"07:00"},"time_zone":"Europe/Berlin",
		"features":{"games":true,"jokes":false,"stories":true,"ai_mode":false},"strictness":"strict"}`
	for _, tc := range []struct {
		name, token, path, body string
		want                    int
	}{
		{"valid", fam.parentToken, path, good, 200},
		{"bad time zone", fam.parentToken, path, strings.Replace(good, "Europe/Berlin", "Mars/Olympus", 1), 422},
		{"Local is not a zone", fam.parentToken, path, strings.Replace(good, "Europe/Berlin", "Local", 1), 422},
		{"path-like zone", fam.parentToken, path, strings.Replace(good, "Europe/Berlin", "../../etc/passwd", 1), 422},
		{"missing time zone", fam.parentToken, path, strings.Replace(good, `"time_zone":"Europe/Berlin",`, "", 1), 422},
		{"bad HH:MM", fam.parentToken, path, strings.Replace(good, "20:30", "25:00", 1), 422},
		{"HH:MM not padded", fam.parentToken, path, strings.Replace(good, "20:30", "8pm", 1), 422},
		{"bedtime half set", fam.parentToken, path, strings.Replace(good, `"end":"07:00"`, `"end":""`, 1), 422},
		{"negative limit", fam.parentToken, path, strings.Replace(good, "45", "-5", 1), 422},
		{"limit over a day", fam.parentToken, path, strings.Replace(good, "45", "1441", 1), 422},
		{"unknown strictness", fam.parentToken, path, strings.Replace(good, `"strict"`, `"lenient"`, 1), 422},
		{"missing features", fam.parentToken, path, strings.Replace(good, `"features":{"games":true,"jokes":false,"stories":true,"ai_mode":false},`, "", 1), 422},
		{"unknown field", fam.parentToken, path, strings.Replace(good, `"strictness"`, `"bedtime_override":true,"strictness"`, 1), 400},
		{"unknown feature", fam.parentToken, path, strings.Replace(good, `"ai_mode":false`, `"ai_mode":false,"chat":false`, 1), 400},
		{"wrong type", fam.parentToken, path, strings.Replace(good, "45", `"45"`, 1), 400},
		{"another parent", other.parentToken, path, good, 404},
		{"the child itself", fam.childToken, path, good, 403},
		{"unknown child", fam.parentToken, "/v1/children/ch_nope/settings", good, 404},
		{"no token", "", path, good, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := n.raw(t, "PUT", tc.path, tc.token, "application/json", []byte(tc.body))
			if st != tc.want {
				t.Fatalf("PUT: %d %s, want %d", st, body, tc.want)
			}
		})
	}
	var got settingsDoc
	if st, _ := n.call(t, "GET", path, fam.parentToken, nil, &got); st != 200 {
		t.Fatalf("GET settings: %d", st)
	}
	if got.DailyLimitMinutes != 45 || got.Bedtime.Start != "20:30" || got.TimeZone != "Europe/Berlin" ||
		got.Features.Jokes || got.Strictness != "strict" {
		t.Fatalf("stored settings = %+v (only the valid PUT may have changed them)", got)
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"another parent", other.parentToken, 404},
		{"the child", fam.childToken, 403},
	} {
		if st, _ := n.call(t, "GET", path, tc.token, nil, nil); st != tc.want {
			t.Fatalf("GET by %s: %d, want %d", tc.name, st, tc.want)
		}
	}
	// Jokes switched off: Daisy declines kindly instead of telling one.
	if cr := n.say(t, fam.childToken, "tell me a joke"); cr.Turn.Intent == "jokes" {
		t.Fatalf("jokes are off, got %+v", cr.Turn)
	}
}

// TestBedtimeAndDailyLimit: controls are enforced in the child's time zone,
// after the safety check (a crisis message at bedtime still gets support).
func TestBedtimeAndDailyLimit(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	// 19:50 in New York is 00:50 UTC the next day: a UTC-based check would be wrong.
	clock := newTestClock(time.Date(2026, 1, 15, 19, 50, 0, 0, ny))
	n := startCluster(t, 1, clock.config())[0]
	fam := newFamily(t, n, "bedtime@example.test", "Kit", "5-8")
	set := map[string]any{"daily_limit_minutes": 0, "bedtime": map[string]string{"start": "20:00", "end": "07:00"},
		"time_zone": "America/New_York", "features": map[string]bool{"games": true, "jokes": true, "stories": true}, "strictness": "standard"}
	if st, _ := n.call(t, "PUT", "/v1/children/"+fam.childID+"/settings", fam.parentToken, set, nil); st != 200 {
		t.Fatalf("PUT settings: %d", st)
	}
	if cr := n.say(t, fam.childToken, "hi daisy"); cr.Turn.Intent != "greeting" {
		t.Fatalf("before bedtime: %+v", cr.Turn)
	}
	clock.add(15 * time.Minute) // 20:05 local
	if d := n.daisy(t, fam.childToken); d.Available || d.Reason != "bedtime" {
		t.Fatalf("at bedtime: %+v", d)
	}
	for _, tc := range []struct {
		msg, intent, action string
	}{
		{"tell me a joke", "rest", "allow"},
		{"I want to kill myself", "support", "support"},
		{"here's a bone", "rest", "allow"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			cr := n.say(t, fam.childToken, tc.msg)
			if cr.Turn.Intent != tc.intent || cr.Turn.Safety.Action != tc.action {
				t.Fatalf("%q at bedtime: intent %q action %q, want %q %q (%q)", tc.msg, cr.Turn.Intent, cr.Turn.Safety.Action, tc.intent, tc.action, cr.Turn.Reply)
			}
		})
	}
	// The rest turns are stored with their verdicts (the parent's token
	// expired meanwhile: log in again).
	parentLogin := func() string {
		var login struct {
			AccessToken string `json:"access_token"`
		}
		if st, _ := n.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": "bedtime@example.test", "password": "correct horse battery staple"}, &login); st != 200 {
			t.Fatalf("login: %d", st)
		}
		return login.AccessToken
	}
	var hist struct {
		Turns []struct {
			Intent string                  `json:"intent"`
			Safety struct{ Action string } `json:"safety"`
		} `json:"turns"`
	}
	if st, _ := n.call(t, "GET", "/v1/children/"+fam.childID+"/turns", parentLogin(), nil, &hist); st != 200 || len(hist.Turns) != 4 {
		t.Fatalf("history: %d, %d turns", st, len(hist.Turns))
	}
	if h := hist.Turns[1]; h.Intent != "support" || h.Safety.Action != "support" {
		t.Fatalf("stored crisis turn: %+v", h)
	}
	clock.add(11 * time.Hour) // 07:05 local: morning
	if d := n.daisy(t, fam.childToken); !d.Available {
		t.Fatalf("morning: %+v", d)
	}
	if cr := n.say(t, fam.childToken, "tell me a joke"); cr.Turn.Intent != "jokes" {
		t.Fatalf("morning joke: %+v", cr.Turn)
	}

	// Daily limit: 1 minute; two messages 40 s apart use it up.
	set["daily_limit_minutes"] = 1
	set["bedtime"] = map[string]string{}
	if st, _ := n.call(t, "PUT", "/v1/children/"+fam.childID+"/settings", parentLogin(), set, nil); st != 200 {
		t.Fatalf("PUT settings: %d", st)
	}
	clock.add(40 * time.Second)
	n.say(t, fam.childToken, "hello")
	if d := n.daisy(t, fam.childToken); d.Available || d.Reason != "daily_limit" || d.MinutesLeft != 0 {
		t.Fatalf("after a minute: %+v", d)
	}
	if cr := n.say(t, fam.childToken, "tell me a story"); cr.Turn.Intent != "rest" {
		t.Fatalf("over the limit: %+v", cr.Turn)
	}
	if cr := n.say(t, fam.childToken, "someone is hurting me at home"); cr.Turn.Intent != "support" {
		t.Fatalf("disclosure over the limit: %+v (%q)", cr.Turn, cr.Turn.Reply)
	}
	// A new local day starts a new allowance.
	clock.add(17 * time.Hour) // 00:05 local the next day
	if cr := n.say(t, fam.childToken, "tell me a story"); cr.Turn.Intent != "stories" {
		t.Fatalf("next day: %+v", cr.Turn)
	}
}

type gameResp struct {
	chatResp
	Game *struct {
		Kind   string `json:"kind"`
		Phase  string `json:"phase"`
		Active bool   `json:"active"`
		Turns  int    `json:"turns"`
		Tries  int    `json:"tries_left"`
	} `json:"game"`
	Outcome *struct {
		Moved bool `json:"moved"`
		Over  bool `json:"over"`
	} `json:"outcome"`
}

// TestGamesSafetyFirst: the policy sees every move before the game does.
func TestGamesSafetyFirst(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, nil)[0]
	fam := newFamily(t, n, "games@example.test", "Rio", "9-12")
	post := func(path string, body any) gameResp {
		t.Helper()
		var g gameResp
		if st, _ := n.call(t, "POST", path, fam.childToken, body, &g); st != 200 {
			t.Fatalf("POST %s %v: %d", path, body, st)
		}
		return g
	}
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"unknown game", `{"kind":"poker"}`, 422},
		{"unknown field", `{"kind":"fetch","cheat":true}`, 400},
		{"empty move", ``, 400},
	} {
		path := "/v1/games"
		if tc.name == "empty move" {
			path = "/v1/games/current/moves"
		}
		if st, _, b := n.raw(t, "POST", path, fam.childToken, "application/json", []byte(tc.body)); st != tc.want {
			t.Fatalf("%s: %d %s, want %d", tc.name, st, b, tc.want)
		}
	}
	if st, _ := n.call(t, "POST", "/v1/games", fam.parentToken, map[string]string{"kind": "fetch"}, nil); st != 403 {
		t.Fatalf("parent starting a game: %d", st)
	}

	g := post("/v1/games", map[string]string{"kind": "guess_number"})
	if g.Game == nil || !g.Game.Active || g.Game.Kind != "guess_number" || g.Turn.Intent != "game" {
		t.Fatalf("start: %+v game %+v", g.Turn, g.Game)
	}
	tries := g.Game.Tries
	steps := []struct {
		move   string
		intent string
		action string
		moved  bool
		check  func(gameResp) error
	}{
		{"I want to kill myself", "support", "support", false, func(g gameResp) error {
			if !g.Turn.Safety.Escalated || strings.Contains(strings.ToLower(g.Turn.Reply), "higher") || strings.Contains(strings.ToLower(g.Turn.Reply), "lower") {
				return fmt.Errorf("crisis mid-game: %+v", g.Turn)
			}
			if g.Outcome != nil {
				return fmt.Errorf("the game saw the crisis message: %+v", g.Outcome)
			}
			// The game waits, untouched.
			if g.Game == nil || !g.Game.Active || g.Game.Tries != tries || g.Game.Turns != 0 {
				return fmt.Errorf("game after the crisis turn: %+v", g.Game)
			}
			if d := n.daisy(t, fam.childToken); d.Game == nil || d.Game.Kind != "guess_number" {
				return fmt.Errorf("stored game after the crisis turn: %+v", d)
			}
			return nil
		}},
		{"5", "game", "allow", true, func(g gameResp) error {
			if g.Game == nil || (g.Game.Active && g.Game.Tries != tries-1) {
				return fmt.Errorf("after one guess: %+v", g.Game)
			}
			return nil
		}},
	}
	for _, st := range steps {
		t.Run(st.move, func(t *testing.T) {
			g := post("/v1/games/current/moves", map[string]string{"move": st.move})
			if g.Turn.Intent != st.intent || g.Turn.Safety.Action != st.action {
				t.Fatalf("%q: intent %q action %q, want %q %q (%q)", st.move, g.Turn.Intent, g.Turn.Safety.Action, st.intent, st.action, g.Turn.Reply)
			}
			if st.moved != (g.Outcome != nil && g.Outcome.Moved) {
				t.Fatalf("%q: outcome %+v", st.move, g.Outcome)
			}
			if err := st.check(g); err != nil {
				t.Fatal(err)
			}
		})
	}

	// Games switched off by the parent: a kind refusal, no game.
	other := newFamily(t, n, "games-off@example.test", "Sol", "9-12")
	set := map[string]any{"time_zone": "UTC", "features": map[string]bool{"games": false, "jokes": true, "stories": true}, "strictness": "standard"}
	if st, _ := n.call(t, "PUT", "/v1/children/"+other.childID+"/settings", other.parentToken, set, nil); st != 200 {
		t.Fatalf("PUT settings: %d", st)
	}
	var off gameResp
	if st, _ := n.call(t, "POST", "/v1/games", other.childToken, map[string]string{"kind": "fetch"}, &off); st != 200 || off.Game != nil || off.Turn.Intent == "game" {
		t.Fatalf("games off: %d %+v %+v", st, off.Turn, off.Game)
	}
}
