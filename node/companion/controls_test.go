package companion

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, even where the system has no zoneinfo
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestControlsValidate(t *testing.T) {
	ok := DefaultControls()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	mod := func(f func(*Controls)) Controls { c := DefaultControls(); f(&c); return c }
	bad := map[string]Controls{
		"negative limit":  mod(func(c *Controls) { c.DailyMinutes = -1 }),
		"limit too large": mod(func(c *Controls) { c.DailyMinutes = 24*60 + 1 }),
		"half bedtime":    mod(func(c *Controls) { c.Bedtime = Window{Start: "20:00"} }),
		"bad clock":       mod(func(c *Controls) { c.Bedtime = Window{Start: "24:00", End: "07:00"} }),
		"bad minutes":     mod(func(c *Controls) { c.Bedtime = Window{Start: "20:60", End: "07:00"} }),
		"not a clock":     mod(func(c *Controls) { c.Bedtime = Window{Start: "8pm", End: "7am"} }),
		"strictness":      mod(func(c *Controls) { c.Strictness = "moderate" }),
		"pack id":         mod(func(c *Controls) { c.Packs = []string{"../etc"} }),
	}
	for name, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good := mod(func(c *Controls) {
		c.DailyMinutes, c.Bedtime, c.Strictness, c.Packs = 45, Window{"19:30", "06:45"}, StrictStrict, []string{"bible-stories"}
	})
	if err := good.Validate(); err != nil {
		t.Errorf("good controls rejected: %v", err)
	}
	if (Controls{}).PolicyStrictness() != StrictStandard || good.PolicyStrictness() != StrictStrict {
		t.Errorf("PolicyStrictness")
	}
	// The zero value is fail-safe: optional features off.
	var zero Controls
	for _, f := range []Feature{FeatureGames, FeatureJokes, FeatureStories, FeatureAI, FeaturePacks, PackFeature("x")} {
		if zero.Allows(f) {
			t.Errorf("zero Controls allows %s", f)
		}
	}
	if !zero.Allows(FeatureChat) || !good.Allows(PackFeature("bible-stories")) || good.Allows(PackFeature("other")) ||
		ok.Allows(FeatureAI) || !good.Allows(FeaturePacks) || good.Allows("made-up") {
		t.Errorf("Allows wrong")
	}
}

func TestBedtimeAcrossMidnight(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := DefaultControls()
	c.Bedtime = Window{Start: "20:00", End: "07:00"}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	tests := []struct {
		now   time.Time
		in    bool
		until time.Time
	}{
		{at(2025, 6, 10, 19, 59), false, time.Time{}},
		{at(2025, 6, 10, 20, 0), true, at(2025, 6, 11, 7, 0)},
		{at(2025, 6, 10, 23, 59), true, at(2025, 6, 11, 7, 0)},
		{at(2025, 6, 11, 0, 0), true, at(2025, 6, 11, 7, 0)},
		{at(2025, 6, 11, 6, 59), true, at(2025, 6, 11, 7, 0)},
		{at(2025, 6, 11, 7, 0), false, time.Time{}},
		{at(2025, 6, 11, 12, 0), false, time.Time{}},
		// month and year ends
		{at(2025, 12, 31, 22, 0), true, at(2026, 1, 1, 7, 0)},
		// DST: spring forward (2025-03-09 02:00 → 03:00), fall back (2025-11-02 02:00 → 01:00)
		{at(2025, 3, 9, 1, 30), true, at(2025, 3, 9, 7, 0)},
		{at(2025, 3, 9, 6, 30), true, at(2025, 3, 9, 7, 0)},
		{at(2025, 11, 1, 21, 0), true, at(2025, 11, 2, 7, 0)},
		{at(2025, 11, 2, 7, 0), false, time.Time{}},
	}
	for _, tt := range tests {
		// The same instant expressed in UTC gives the same answer: only
		// the child's zone matters.
		for _, now := range []time.Time{tt.now, tt.now.UTC()} {
			d := Check(c, Usage{}, now, ny, FeatureChat)
			if d.OK == tt.in || (tt.in && (d.Reason != ReasonBedtime || !d.Until.Equal(tt.until))) {
				t.Errorf("%v: %+v, want in=%v until %v", tt.now, d, tt.in, tt.until)
			}
		}
	}
	// Real time to the end of a DST night is an hour shorter (spring) or longer (fall).
	spring := Check(c, Usage{}, at(2025, 3, 8, 23, 0), ny, FeatureChat)
	fall := Check(c, Usage{}, at(2025, 11, 1, 23, 0), ny, FeatureChat)
	if got := spring.Until.Sub(at(2025, 3, 8, 23, 0)); got != 7*time.Hour {
		t.Errorf("spring night lasts %v", got)
	}
	if got := fall.Until.Sub(at(2025, 11, 1, 23, 0)); got != 9*time.Hour {
		t.Errorf("fall night lasts %v", got)
	}
	// A window inside one day, and none at all.
	c.Bedtime = Window{Start: "13:00", End: "14:30"}
	if Check(c, Usage{}, at(2025, 6, 10, 12, 59), ny, FeatureChat).OK != true ||
		Check(c, Usage{}, at(2025, 6, 10, 14, 29), ny, FeatureChat).Until != at(2025, 6, 10, 14, 30) {
		t.Errorf("daytime window")
	}
	c.Bedtime = Window{Start: "07:00", End: "07:00"}
	if !Check(c, Usage{}, at(2025, 6, 10, 7, 0), ny, FeatureChat).OK {
		t.Errorf("empty window blocks")
	}
	// Tokyo (no DST, UTC+9): 21:00 local is 12:00 UTC.
	tokyo := mustLoc(t, "Asia/Tokyo")
	c.Bedtime = Window{Start: "21:00", End: "06:00"}
	if Check(c, Usage{}, time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC), tokyo, FeatureChat).OK {
		t.Errorf("Tokyo bedtime not applied")
	}
	if !Check(c, Usage{}, time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC), nil, FeatureChat).OK {
		t.Errorf("nil location is UTC")
	}
}

func TestDailyLimitDSTSafe(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := DefaultControls()
	c.DailyMinutes = 30
	at := func(d, h, m, s int) time.Time { return time.Date(2025, 3, d, h, m, s, 0, ny) }
	// A session from 23:58 on the 8th to 00:02 on the 9th: only the two
	// minutes after local midnight count for the 9th.
	var u Usage
	for _, now := range []time.Time{at(8, 23, 58, 0), at(8, 23, 59, 0), at(9, 0, 0, 30), at(9, 0, 2, 0)} {
		u = Track(u, now, ny)
	}
	if u.Day != "2025-03-09" || u.Seconds != 120 {
		t.Fatalf("across midnight: %+v", u)
	}
	// Use the day up to the limit (the 9th is only 23 hours long).
	now := at(9, 0, 2, 0)
	for u.Seconds < 30*60 {
		now = now.Add(time.Minute)
		if d := Check(c, u, now, ny, FeatureChat); !d.OK || d.MinutesLeft != 30-u.Seconds/60 {
			t.Fatalf("blocked early at %d s: %+v", u.Seconds, d)
		}
		u = Track(u, now, ny)
	}
	d := Check(c, u, now, ny, FeatureChat)
	if d.OK || d.Reason != ReasonDailyLimit || d.MinutesLeft != 0 || !d.Until.Equal(time.Date(2025, 3, 10, 0, 0, 0, 0, ny)) {
		t.Fatalf("limit: %+v", d)
	}
	if got := d.Until.Sub(time.Date(2025, 3, 9, 0, 0, 0, 0, ny)); got != 23*time.Hour {
		t.Errorf("the spring-forward day lasted %v", got)
	}
	// Still blocked at 23:59 local; free again at local midnight, which is
	// not 24 hours after the previous midnight.
	if Check(c, u, at(9, 23, 59, 59), ny, FeatureChat).OK {
		t.Errorf("limit lifted before midnight")
	}
	if !Check(c, u, time.Date(2025, 3, 10, 0, 0, 0, 0, ny), ny, FeatureChat).OK {
		t.Errorf("limit not lifted at local midnight")
	}
	// The fall-back day is 25 hours long and still one day.
	berlin := mustLoc(t, "Europe/Berlin")
	late := time.Date(2025, 10, 26, 23, 30, 0, 0, berlin)
	if LocalDay(late, berlin) != "2025-10-26" || !nextDay(late, berlin).Equal(time.Date(2025, 10, 27, 0, 0, 0, 0, berlin)) ||
		nextDay(late, berlin).Sub(startOfDay(late, berlin)) != 25*time.Hour {
		t.Errorf("fall-back day boundaries wrong")
	}
}

func TestTrack(t *testing.T) {
	utc := time.UTC
	u := Track(Usage{}, t0, utc)
	if u.Seconds != int(TurnCredit/time.Second) || !u.Last.Equal(t0) || u.V != UsageVersion {
		t.Fatalf("first message: %+v", u)
	}
	u = Track(u, t0.Add(2*time.Minute), utc)
	if u.Seconds != 30+120 {
		t.Errorf("within a session: %d", u.Seconds)
	}
	u = Track(u, t0.Add(2*time.Minute+SessionGap), utc) // a break: new session
	if u.Seconds != 30+120+30 {
		t.Errorf("after a break: %d", u.Seconds)
	}
	// A message with an older timestamp (another node's clock) never
	// subtracts and never moves Last back.
	last := u.Last
	u = Track(u, last.Add(-time.Minute), utc)
	if u.Seconds != 30+120+60 || !u.Last.Equal(last) {
		t.Errorf("out of order: %+v", u)
	}
	// A new day starts from zero.
	if got := UsageAt(u, t0.Add(24*time.Hour), utc); got.Seconds != 0 || got.Day != "2025-06-02" {
		t.Errorf("new day: %+v", got)
	}
}

func TestCheckPrecedenceAndAllowed(t *testing.T) {
	e := New()
	ny := mustLoc(t, "America/New_York")
	c := DefaultControls()
	c.DailyMinutes, c.Bedtime, c.Games = 10, Window{"21:00", "07:00"}, false
	used := Usage{Day: "2025-06-10", Seconds: 600}
	night := time.Date(2025, 6, 10, 22, 0, 0, 0, ny)
	day := time.Date(2025, 6, 10, 15, 0, 0, 0, ny)
	if d := Check(c, used, night, ny, FeatureGames); d.Reason != ReasonBedtime {
		t.Errorf("bedtime should win: %+v", d)
	}
	if d := Check(c, used, day, ny, FeatureGames); d.Reason != ReasonDailyLimit {
		t.Errorf("limit should win over feature: %+v", d)
	}
	if d := Check(c, Usage{}, day, ny, FeatureGames); d.Reason != ReasonFeatureOff || d.MinutesLeft != 10 {
		t.Errorf("feature off: %+v", d)
	}
	if d := Check(c, Usage{}, day, ny, FeatureJokes); !d.OK {
		t.Errorf("jokes allowed: %+v", d)
	}
	for _, tier := range Tiers() {
		for _, tc := range []struct {
			u      Usage
			now    time.Time
			f      Feature
			intent string
		}{
			{used, night, FeatureChat, IntentRest},
			{used, day, FeatureChat, IntentRest},
			{Usage{}, day, FeatureGames, IntentFeatureOff},
			{Usage{}, day, PackFeature("lessons"), IntentFeatureOff},
			{Usage{}, day, FeatureAI, IntentFeatureOff},
		} {
			ok, r := e.Allowed(c, tc.u, tier, tc.now, ny, tc.f)
			if ok || r.Intent != tc.intent || r.Text == "" || len(r.Suggestions) < 2 {
				t.Errorf("%s %s: %v %+v", tier, tc.f, ok, r)
			}
			if tc.intent == IntentRest && (r.Mood != MoodSleepy || !strings.Contains(strings.ToLower(r.Text), "tomorrow")) {
				t.Errorf("%s: rest reply should be kind and sleepy: %+v", tier, r)
			}
		}
		if ok, r := e.Allowed(c, Usage{}, tier, day, ny, FeatureChat); !ok || r.Text != "" {
			t.Errorf("allowed: %v %+v", ok, r)
		}
	}
}

// TestUsageCounters: turns, games and AI calls count per local day and
// start from zero on the next one (in the child's zone, not UTC).
func TestUsageCounters(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	morning := time.Date(2026, 3, 10, 9, 0, 0, 0, ny)
	steps := []struct {
		name                  string
		do                    func(Usage) Usage
		turns, games, aiCalls int
	}{
		{"message", func(u Usage) Usage { return Track(u, morning, ny) }, 1, 0, 0},
		{"game", func(u Usage) Usage { return TrackGame(u, morning.Add(time.Minute), ny) }, 1, 1, 0},
		{"ai call", func(u Usage) Usage { return TrackAI(u, morning.Add(time.Minute), ny) }, 1, 1, 1},
		{"another message", func(u Usage) Usage { return Track(u, morning.Add(2*time.Minute), ny) }, 2, 1, 1},
		// 23:30 local is after midnight UTC: still the same local day.
		{"late evening", func(u Usage) Usage { return Track(u, time.Date(2026, 3, 10, 23, 30, 0, 0, ny), ny) }, 3, 1, 1},
		{"next local day", func(u Usage) Usage { return TrackGame(u, time.Date(2026, 3, 11, 0, 5, 0, 0, ny), ny) }, 0, 1, 0},
		{"ai the next day", func(u Usage) Usage { return TrackAI(u, time.Date(2026, 3, 11, 0, 6, 0, 0, ny), ny) }, 0, 1, 1},
	}
	var u Usage
	for _, st := range steps {
		u = st.do(u)
		if u.Turns != st.turns || u.Games != st.games || u.AICalls != st.aiCalls {
			t.Fatalf("%s: %+v, want turns %d games %d ai %d", st.name, u, st.turns, st.games, st.aiCalls)
		}
	}
	if u.Day != "2026-03-11" {
		t.Fatalf("day %q", u.Day)
	}
}
