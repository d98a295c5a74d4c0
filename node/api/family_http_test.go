package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type childResp struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	AgeTier   string `json:"age_tier"`
	CreatedAt string `json:"created_at"`
}

func TestChildrenAndLinkCodes(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "5-8")
	other := n.newFamily(t, "13-17")
	n.runErrCases(t, []errCase{
		{"nickname with digits", "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Ann 555", "age_tier": "5-8"}, 422, "invalid"},
		{"rude nickname", "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Shithead", "age_tier": "5-8"}, 422, "invalid"},
		{"a full name as nickname", "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Anna Kowalski", "age_tier": "5-8"}, 422, "invalid"},
		{"nickname too long", "POST", "/v1/children", f.token, "", map[string]string{"nickname": strings.Repeat("a", 25), "age_tier": "5-8"}, 422, "invalid"},
		{"unknown tier", "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Ann", "age_tier": "3-4"}, 422, "invalid"},
		{"unknown field", "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Ann", "age_tier": "5-8", "birthday": "x"}, 400, "bad_request"},
		{"child token", "POST", "/v1/children", f.childToken, "", map[string]string{"nickname": "Ann", "age_tier": "5-8"}, 403, "forbidden"},
		{"another family's child", "GET", "/v1/children/" + other.childID, f.token, "", nil, 404, "not_found"},
		{"unknown child", "GET", "/v1/children/ch_00000000000000000000000000000000", f.token, "", nil, 404, "not_found"},
		{"link code for another family's child", "POST", "/v1/children/" + other.childID + "/link-codes", f.token, "", nil, 404, "not_found"},
		{"link code with a body field", "POST", "/v1/children/" + f.childID + "/link-codes", f.token, "", `{"ttl":5}`, 400, "bad_request"},
		{"link code too short", "POST", "/v1/devices/link", "", "", map[string]string{"code": "ABCDE"}, 401, "invalid_code"},
		{"link code outside the alphabet", "POST", "/v1/devices/link", "", "", map[string]string{"code": "ABCDE-FGHJU"}, 401, "invalid_code"},
		{"unknown link code", "POST", "/v1/devices/link", "", "", map[string]string{"code": "00000-00000"}, 401, "invalid_code"},
	})

	second := n.newChild(t, f.token, " Zoë ", "9-12")
	var list struct{ Children []childResp }
	n.must(t, http.StatusOK, "GET", "/v1/children", f.token, nil, &list)
	got := map[string]childResp{}
	for _, c := range list.Children {
		got[c.ID] = c
	}
	if len(got) != 2 || got[f.childID].Nickname != "Milo" || got[second].Nickname != "Zoë" || got[second].AgeTier != "9-12" {
		t.Fatalf("children %+v", list.Children)
	}
	// A first name is what a nickname is for, though the policy redacts a
	// lone first name in a young child's chat.
	n.newChild(t, f.token, "Anna", "5-8")
	var one childResp
	n.must(t, http.StatusOK, "GET", "/v1/children/"+second, f.token, nil, &one)
	if one != got[second] {
		t.Fatalf("GET one child %+v, in the list %+v", one, got[second])
	}

	// A code works once, in any case and with Crockford confusions.
	var code struct {
		Code      string `json:"code"`
		ExpiresAt string `json:"expires_at"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/children/"+second+"/link-codes", f.token, nil, &code)
	exp, err := time.Parse(time.RFC3339, code.ExpiresAt)
	if err != nil || exp.Sub(n.clock.now()) > 10*time.Minute || exp.Sub(n.clock.now()) < 9*time.Minute {
		t.Fatalf("code expires at %q (%v), want in 10 minutes", code.ExpiresAt, err)
	}
	typed := strings.ToLower(strings.NewReplacer("0", "o", "1", "l", "-", " ").Replace(code.Code))
	var dev struct {
		AccessToken string     `json:"access_token"`
		TokenType   string     `json:"token_type"`
		Child       *childResp `json:"child"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/devices/link", "", map[string]string{"code": typed}, &dev)
	if dev.AccessToken == "" || dev.TokenType != "Bearer" || dev.Child == nil || dev.Child.ID != second || dev.Child.Nickname != "Zoë" {
		t.Fatalf("link answer %+v", dev)
	}
	if res := n.do(t, "POST", "/v1/devices/link", "", "", map[string]string{"code": code.Code}); res.status != 401 || res.code() != "invalid_code" {
		t.Fatalf("used code: %d %s", res.status, res.body)
	}
	n.must(t, http.StatusCreated, "POST", "/v1/children/"+second+"/link-codes", f.token, nil, &code)
	n.clock.add(11 * time.Minute)
	if res := n.do(t, "POST", "/v1/devices/link", "", "", map[string]string{"code": code.Code}); res.status != 401 || res.code() != "invalid_code" {
		t.Fatalf("expired code: %d %s", res.status, res.body)
	}
}

func TestDevicesListAndRevoke(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	other := n.newFamily(t, "9-12")
	spare := n.linkDevice(t, f.token, f.childID)
	n.runErrCases(t, []errCase{
		{"another family's devices", "GET", "/v1/children/" + other.childID + "/devices", f.token, "", nil, 404, "not_found"},
		{"revoke another family's device", "DELETE", "/v1/children/" + other.childID + "/devices/" + other.deviceID, f.token, "", nil, 404, "not_found"},
		{"revoke a device under the wrong child", "DELETE", "/v1/children/" + other.childID + "/devices/" + f.deviceID, f.token, "", nil, 404, "not_found"},
		{"child lists devices", "GET", "/v1/children/" + f.childID + "/devices", f.childToken, "", nil, 403, "forbidden"},
	})
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", other.childToken, nil, nil) // untouched

	n.must(t, http.StatusNoContent, "DELETE", "/v1/children/"+f.childID+"/devices/"+f.deviceID, f.token, nil, nil)
	if res := n.do(t, "GET", "/v1/chat/daisy", f.childToken, "", nil); res.status != 401 || res.code() != "unauthorized" {
		t.Fatalf("revoked device: %d %s, want 401", res.status, res.body)
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", spare, nil, nil)
	if res := n.do(t, "DELETE", "/v1/children/"+f.childID+"/devices/"+f.deviceID, f.token, "", nil); res.status != 404 {
		t.Fatalf("revoking twice: %d, want 404", res.status)
	}
	var devs struct {
		Devices []struct {
			ID        string `json:"id"`
			LinkedAt  string `json:"linked_at"`
			RevokedAt string `json:"revoked_at"`
		}
	}
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/devices", f.token, nil, &devs)
	revoked := 0
	for _, d := range devs.Devices {
		if d.LinkedAt == "" {
			t.Errorf("device %s without linked_at", d.ID)
		}
		if d.RevokedAt != "" {
			revoked++
			if d.ID != f.deviceID {
				t.Errorf("device %s shown revoked", d.ID)
			}
		}
	}
	if len(devs.Devices) != 2 || revoked != 1 {
		t.Fatalf("devices %+v: want 2, one revoked", devs.Devices)
	}
}

type turnResp struct {
	Turn struct {
		ID          string   `json:"id"`
		Seq         int64    `json:"seq"`
		Message     string   `json:"message"`
		Reply       string   `json:"reply"`
		Intent      string   `json:"intent"`
		Mood        string   `json:"mood"`
		Suggestions []string `json:"suggestions"`
		Safety      *struct {
			Action        string   `json:"action"`
			Categories    []string `json:"categories"`
			Escalated     bool     `json:"escalated"`
			FailClosed    bool     `json:"fail_closed"`
			PolicyVersion string   `json:"policy_version"`
		} `json:"safety"`
	} `json:"turn"`
	Game *struct {
		Kind   string `json:"kind"`
		Phase  string `json:"phase"`
		Active bool   `json:"active"`
	} `json:"game"`
}

type historyResp struct {
	Turns []struct {
		ID      string `json:"id"`
		Seq     int64  `json:"seq"`
		Message string `json:"message"`
		Reply   string `json:"reply"`
		Safety  *struct {
			Action        string `json:"action"`
			ReplyAction   string `json:"reply_action"`
			PolicyVersion string `json:"policy_version"`
		} `json:"safety"`
	} `json:"turns"`
}

func TestChatTurnsAndHistory(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	other := n.newFamily(t, "9-12")
	n.runErrCases(t, []errCase{
		{"no token", "POST", "/v1/chat", "", "", map[string]string{"message": "hi"}, 401, "unauthorized"},
		{"garbage token", "POST", "/v1/chat", "not.a.token", "", map[string]string{"message": "hi"}, 401, "unauthorized"},
		{"parent token", "POST", "/v1/chat", f.token, "", map[string]string{"message": "hi"}, 403, "forbidden"},
		{"oversized", "POST", "/v1/chat", f.childToken, "", `{"message":"` + strings.Repeat("a", 9000) + `"}`, 413, "too_large"},
		{"blank", "POST", "/v1/chat", f.childToken, "", map[string]string{"message": " \n\t "}, 422, "invalid"},
		{"too long", "POST", "/v1/chat", f.childToken, "", map[string]string{"message": strings.Repeat("ä", 1001)}, 422, "invalid"},
		{"control character", "POST", "/v1/chat", f.childToken, "", map[string]string{"message": "hi\u0007"}, 422, "invalid"},
		{"wrong type", "POST", "/v1/chat", f.childToken, "", `{"message":42}`, 400, "bad_request"},
		{"limit 0", "GET", "/v1/chat?limit=0", f.childToken, "", nil, 422, "invalid"},
		{"limit 101", "GET", "/v1/chat?limit=101", f.childToken, "", nil, 422, "invalid"},
		{"limit not a number", "GET", "/v1/chat?limit=ten", f.childToken, "", nil, 422, "invalid"},
		{"before 0", "GET", "/v1/chat?before=0", f.childToken, "", nil, 422, "invalid"},
		{"before not a number", "GET", "/v1/chat?before=x", f.childToken, "", nil, 422, "invalid"},
		{"another family's turns", "GET", "/v1/children/" + other.childID + "/turns", f.token, "", nil, 404, "not_found"},
		{"child reads turns as parent", "GET", "/v1/children/" + f.childID + "/turns", f.childToken, "", nil, 403, "forbidden"},
	})

	var empty historyResp
	n.must(t, http.StatusOK, "GET", "/v1/chat", f.childToken, nil, &empty)
	if empty.Turns == nil || len(empty.Turns) != 0 {
		t.Fatalf("history before any turn: %+v", empty.Turns)
	}
	msgs := []string{"hello daisy", "tell me a joke", "what do dogs eat?"}
	for i, m := range msgs {
		var tr turnResp
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "  " + m + "\r\n"}, &tr)
		if tr.Turn.Seq != int64(i+1) || tr.Turn.Message != m || tr.Turn.Reply == "" || tr.Turn.Safety == nil ||
			tr.Turn.Safety.Action != "allow" || tr.Turn.Safety.FailClosed || tr.Turn.Safety.PolicyVersion == "" {
			t.Fatalf("turn %d: %+v", i+1, tr.Turn)
		}
		if tr.Game != nil {
			t.Fatalf("chat turn carries a game: %+v", tr.Game)
		}
	}
	// The child sees its own words and Daisy's, newest first, without verdicts.
	var h historyResp
	n.must(t, http.StatusOK, "GET", "/v1/chat", f.childToken, nil, &h)
	if len(h.Turns) != 3 || h.Turns[0].Seq != 3 || h.Turns[0].Message != msgs[2] || h.Turns[2].Message != msgs[0] {
		t.Fatalf("history %+v", h.Turns)
	}
	for _, tr := range h.Turns {
		if tr.Safety != nil {
			t.Fatalf("the child's history shows safety verdicts: %+v", tr)
		}
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat?limit=1&before=3", f.childToken, nil, &h)
	if len(h.Turns) != 1 || h.Turns[0].Seq != 2 {
		t.Fatalf("limit=1 before=3: %+v", h.Turns)
	}
	// The parent sees the verdicts too.
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/turns?limit=2", f.token, nil, &h)
	if len(h.Turns) != 2 || h.Turns[0].Safety == nil || h.Turns[0].Safety.Action != "allow" || h.Turns[0].Safety.ReplyAction != "allow" ||
		h.Turns[0].Safety.PolicyVersion == "" {
		t.Fatalf("parent's history %+v", h.Turns)
	}
	// The other family's child saw none of it.
	n.must(t, http.StatusOK, "GET", "/v1/chat", other.childToken, nil, &h)
	if len(h.Turns) != 0 {
		t.Fatalf("another child's history has %d turns", len(h.Turns))
	}
}

func TestGames(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	n.runErrCases(t, []errCase{
		{"unknown kind", "POST", "/v1/games", f.childToken, "", map[string]string{"kind": "chess"}, 422, "invalid"},
		{"no kind", "POST", "/v1/games", f.childToken, "", `{}`, 422, "invalid"},
		{"parent starts a game", "POST", "/v1/games", f.token, "", map[string]string{"kind": "fetch"}, 403, "forbidden"},
		{"blank move", "POST", "/v1/games/current/moves", f.childToken, "", map[string]string{"move": "  "}, 422, "invalid"},
		{"move with unknown field", "POST", "/v1/games/current/moves", f.childToken, "", map[string]string{"move": "left", "x": "y"}, 400, "bad_request"},
	})
	var start turnResp
	n.must(t, http.StatusOK, "POST", "/v1/games", f.childToken, map[string]string{"kind": "guess_number"}, &start)
	if start.Turn.Message != "let's play guess number" || start.Game == nil || !start.Game.Active || start.Game.Kind != "guess_number" {
		t.Fatalf("game start: %+v game %+v", start.Turn, start.Game)
	}
	var daisy struct {
		Mood      string `json:"mood"`
		Available bool   `json:"available"`
		Game      *struct {
			Kind   string `json:"kind"`
			Active bool   `json:"active"`
		} `json:"game"`
		Achievements []struct {
			ID     string `json:"id"`
			Earned bool   `json:"earned"`
		} `json:"achievements"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", f.childToken, nil, &daisy)
	if daisy.Game == nil || daisy.Game.Kind != "guess_number" || !daisy.Available || daisy.Mood == "" || len(daisy.Achievements) == 0 {
		t.Fatalf("daisy during a game: %+v", daisy)
	}
	var move turnResp
	n.must(t, http.StatusOK, "POST", "/v1/games/current/moves", f.childToken, map[string]string{"move": "5"}, &move)
	if move.Turn.Message != "5" || move.Turn.Seq != 2 || move.Game == nil || move.Game.Kind != "guess_number" {
		t.Fatalf("move: %+v game %+v", move.Turn, move.Game)
	}

	// With games switched off, a new game is not started.
	g := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+g.childID+"/settings", g.token,
		map[string]any{"time_zone": "UTC", "strictness": "standard", "features": map[string]bool{"games": false, "jokes": true, "stories": true}}, nil)
	var off turnResp
	n.must(t, http.StatusOK, "POST", "/v1/games", g.childToken, map[string]string{"kind": "fetch"}, &off)
	if off.Game != nil || off.Turn.Reply == "" {
		t.Fatalf("game started although games are off: %+v %+v", off.Turn, off.Game)
	}
}

type settingsResp struct {
	V                 int `json:"v"`
	DailyLimitMinutes int `json:"daily_limit_minutes"`
	Bedtime           struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"bedtime"`
	TimeZone string `json:"time_zone"`
	Features struct {
		Games, Jokes, Stories bool
		AIMode                bool `json:"ai_mode"`
		ContentPacks          bool `json:"content_packs"`
	} `json:"features"`
	Strictness   string   `json:"strictness"`
	AIConsent    bool     `json:"ai_third_party_consent"`
	ContentPacks []string `json:"content_packs"`
}

func TestChildSettings(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "13-17")
	other := n.newFamily(t, "13-17")
	var def settingsResp
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/settings", f.token, nil, &def)
	if def.V != 1 || def.TimeZone != "UTC" || !def.Features.Games || !def.Features.Jokes || def.Features.AIMode || def.Strictness != "standard" ||
		def.ContentPacks == nil || def.DailyLimitMinutes != 0 {
		t.Fatalf("default settings %+v", def)
	}
	feats := map[string]bool{"games": true, "jokes": true, "stories": true}
	put := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"time_zone": "Europe/Berlin", "strictness": "strict", "daily_limit_minutes": 45, "features": feats}
		mod(m)
		return m
	}
	path := "/v1/children/" + f.childID + "/settings"
	n.runErrCases(t, []errCase{
		{"no features", "PUT", path, f.token, "", put(func(m map[string]any) { delete(m, "features") }), 422, "invalid"},
		{"no time zone", "PUT", path, f.token, "", put(func(m map[string]any) { delete(m, "time_zone") }), 422, "invalid"},
		{"unknown time zone", "PUT", path, f.token, "", put(func(m map[string]any) { m["time_zone"] = "Mars/Olympus" }), 422, "invalid"},
		{"Local", "PUT", path, f.token, "", put(func(m map[string]any) { m["time_zone"] = "Local" }), 422, "invalid"},
		{"long time zone", "PUT", path, f.token, "", put(func(m map[string]any) { m["time_zone"] = strings.Repeat("A", 65) }), 422, "invalid"},
		{"bad strictness", "PUT", path, f.token, "", put(func(m map[string]any) { m["strictness"] = "lax" }), 422, "invalid"},
		{"negative limit", "PUT", path, f.token, "", put(func(m map[string]any) { m["daily_limit_minutes"] = -1 }), 422, "invalid"},
		{"half a bedtime", "PUT", path, f.token, "", put(func(m map[string]any) { m["bedtime"] = map[string]string{"start": "20:00"} }), 422, "invalid"},
		{"bad bedtime", "PUT", path, f.token, "", put(func(m map[string]any) { m["bedtime"] = map[string]string{"start": "25:00", "end": "07:00"} }), 422, "invalid"},
		{"too many packs", "PUT", path, f.token, "", put(func(m map[string]any) { m["content_packs"] = make([]string, 21) }), 422, "invalid"},
		{"malformed pack id", "PUT", path, f.token, "", put(func(m map[string]any) { m["content_packs"] = []string{"Bad Pack"} }), 422, "invalid"},
		{"pack not loaded", "PUT", path, f.token, "", put(func(m map[string]any) { m["content_packs"] = []string{"no-such-pack"} }), 422, "invalid"},
		{"unknown field", "PUT", path, f.token, "", put(func(m map[string]any) { m["bedtime_strict"] = true }), 400, "bad_request"},
		{"another family's child", "PUT", "/v1/children/" + other.childID + "/settings", f.token, "", put(func(map[string]any) {}), 404, "not_found"},
		{"another family's settings", "GET", "/v1/children/" + other.childID + "/settings", f.token, "", nil, 404, "not_found"},
	})
	var saved, back settingsResp
	n.must(t, http.StatusOK, "PUT", path, f.token, put(func(m map[string]any) {
		m["bedtime"] = map[string]string{"start": "20:30", "end": "07:00"}
		m["ai_third_party_consent"] = true
	}), &saved)
	n.must(t, http.StatusOK, "GET", path, f.token, nil, &back)
	if saved.TimeZone != "Europe/Berlin" || saved.Strictness != "strict" || saved.DailyLimitMinutes != 45 || saved.Bedtime.Start != "20:30" ||
		!saved.AIConsent || saved.Features.AIMode {
		t.Fatalf("saved %+v", saved)
	}
	if back.TimeZone != saved.TimeZone || back.Bedtime != saved.Bedtime || back.DailyLimitMinutes != 45 || back.Strictness != "strict" || !back.AIConsent {
		t.Fatalf("read back %+v, saved %+v", back, saved)
	}
	var still settingsResp
	n.must(t, http.StatusOK, "GET", "/v1/children/"+other.childID+"/settings", other.token, nil, &still)
	if still.TimeZone != "UTC" {
		t.Fatalf("another child's settings changed: %+v", still)
	}
}

type usageResp struct {
	Day               string `json:"day"`
	TimeZone          string `json:"time_zone"`
	TurnsToday        int    `json:"turns_today"`
	GamesToday        int    `json:"games_today"`
	DailyLimitMinutes int    `json:"daily_limit_minutes"`
	MinutesLeft       int    `json:"minutes_left"`
	Available         bool   `json:"available"`
	Reason            string `json:"reason"`
	Totals            struct {
		Chats int `json:"chats"`
		Days  int `json:"days_visited"`
		Jokes int `json:"jokes"`
	} `json:"totals"`
	Achievements []struct {
		ID     string `json:"id"`
		Earned bool   `json:"earned"`
	} `json:"achievements"`
}

func TestUsageAndBedtime(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "5-8")
	other := n.newFamily(t, "5-8")
	if res := n.do(t, "GET", "/v1/children/"+other.childID+"/usage", f.token, "", nil); res.status != 404 {
		t.Fatalf("another family's usage: %d, want 404", res.status)
	}
	var u usageResp
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/usage", f.token, nil, &u)
	if u.TurnsToday != 0 || u.MinutesLeft != -1 || !u.Available || u.TimeZone != "UTC" || len(u.Achievements) == 0 {
		t.Fatalf("usage before any turn: %+v", u)
	}
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello daisy"}, nil)
	n.must(t, http.StatusOK, "POST", "/v1/games", f.childToken, map[string]string{"kind": "fetch"}, nil)
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token,
		map[string]any{"time_zone": "UTC", "strictness": "standard", "daily_limit_minutes": 30, "features": map[string]bool{"games": true, "jokes": true, "stories": true}}, nil)
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/usage", f.token, nil, &u)
	if u.TurnsToday != 2 || u.GamesToday != 1 || u.DailyLimitMinutes != 30 || u.MinutesLeft < 0 || u.MinutesLeft > 30 || u.Totals.Chats < 1 ||
		u.Totals.Days != 1 || u.Day != n.clock.now().UTC().Format("2006-01-02") {
		t.Fatalf("usage after two turns: %+v", u)
	}
	earned := 0
	for _, a := range u.Achievements {
		if a.Earned {
			earned++
		}
	}
	if earned == 0 {
		t.Fatal("no achievement after the first visit")
	}

	// Bedtime around the (test) clock: Daisy rests, and says so.
	now := n.clock.now().UTC()
	bed := map[string]string{"start": now.Add(-time.Hour).Format("15:04"), "end": now.Add(time.Hour).Format("15:04")}
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token,
		map[string]any{"time_zone": "UTC", "strictness": "standard", "bedtime": bed, "features": map[string]bool{"games": true, "jokes": true, "stories": true}}, nil)
	var d struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", f.childToken, nil, &d)
	if d.Available || d.Reason == "" {
		t.Fatalf("daisy at bedtime: %+v", d)
	}
	n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/usage", f.token, nil, &u)
	if u.Available || u.Reason != d.Reason {
		t.Fatalf("usage at bedtime: %+v", u)
	}
	var tr turnResp
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "tell me a joke"}, &tr)
	if tr.Turn.Intent == "jokes" || tr.Turn.Reply == "" {
		t.Fatalf("turn at bedtime answered as usual: %+v", tr.Turn)
	}
}

type exportResp struct {
	FamilyID string `json:"family_id"`
	Parents  []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"parents"`
	Children []struct {
		ID       string         `json:"id"`
		Nickname string         `json:"nickname"`
		Settings map[string]any `json:"settings"`
		Devices  []struct {
			ID string `json:"id"`
		} `json:"devices"`
		Turns []struct {
			Message string `json:"message"`
			Reply   string `json:"reply"`
			Safety  struct {
				Action string `json:"action"`
			} `json:"safety"`
		} `json:"turns"`
	} `json:"children"`
}

func TestExportAndDeletion(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello daisy"}, nil)
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token,
		map[string]any{"time_zone": "UTC", "strictness": "standard", "features": map[string]bool{"games": true}}, nil)
	second := n.newChild(t, f.token, "Ada", "5-8")

	var ex exportResp
	res := n.must(t, http.StatusOK, "GET", "/v1/family/export", f.token, nil, &ex)
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if len(ex.Parents) != 1 || ex.Parents[0].Email != f.email || len(ex.Children) != 2 || ex.FamilyID == "" {
		t.Fatalf("export %+v", ex)
	}
	for _, c := range ex.Children {
		switch c.ID {
		case f.childID:
			if c.Nickname != "Milo" || len(c.Devices) != 1 || len(c.Turns) != 1 || c.Turns[0].Message != "hello daisy" ||
				c.Turns[0].Safety.Action != "allow" || c.Settings["time_zone"] != "UTC" {
				t.Fatalf("exported child %+v", c)
			}
		case second:
			if len(c.Devices) != 0 || len(c.Turns) != 0 || c.Settings != nil {
				t.Fatalf("exported new child %+v", c)
			}
		default:
			t.Fatalf("exported a child of another family: %s", c.ID)
		}
	}
	if res := n.do(t, "GET", "/v1/family/export", f.childToken, "", nil); res.status != 403 {
		t.Fatalf("child exports: %d, want 403", res.status)
	}

	// Deleting a child removes it and its devices.
	if res := n.do(t, "DELETE", "/v1/children/"+f.childID, f.token, "", `{"really":true}`); res.status != 400 {
		t.Fatalf("delete with an unknown field: %d, want 400", res.status)
	}
	n.must(t, http.StatusNoContent, "DELETE", "/v1/children/"+f.childID, f.token, nil, nil)
	if res := n.do(t, "GET", "/v1/children/"+f.childID, f.token, "", nil); res.status != 404 {
		t.Fatalf("deleted child: %d, want 404", res.status)
	}
	if res := n.do(t, "GET", "/v1/chat/daisy", f.childToken, "", nil); res.status != 401 {
		t.Fatalf("deleted child's device: %d, want 401", res.status)
	}
	if res := n.do(t, "DELETE", "/v1/children/"+f.childID, f.token, "", nil); res.status != 404 {
		t.Fatalf("deleting twice: %d, want 404", res.status)
	}

	// Deleting the family needs the password again.
	n.runErrCases(t, []errCase{
		{"wrong password", "DELETE", "/v1/family", f.token, "", map[string]string{"password": "wrong horse battery staple"}, 401, "invalid_credentials"},
		{"no body", "DELETE", "/v1/family", f.token, "", nil, 415, "unsupported_media_type"},
	})
	n.must(t, http.StatusNoContent, "DELETE", "/v1/family", f.token, map[string]string{"password": goodPassword}, nil)
	if res := n.do(t, "GET", "/v1/children", f.token, "", nil); res.status != 401 {
		t.Fatalf("deleted family's token: %d, want 401", res.status)
	}
	if res := n.do(t, "POST", "/v1/auth/login", "", "", map[string]string{"email": f.email, "password": goodPassword}); res.status != 401 {
		t.Fatalf("deleted family's login: %d, want 401", res.status)
	}
}
