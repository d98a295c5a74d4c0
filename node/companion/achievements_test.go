package companion

import (
	"slices"
	"testing"
	"time"
)

func ids(as []Achievement) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestAwardMilestones(t *testing.T) {
	var s Stats
	award := func(ev Event) []string {
		t.Helper()
		if ev.At.IsZero() {
			ev.At = t0
		}
		var got []Achievement
		s, got = Award(s, ev)
		for _, a := range got {
			if a.Name == "" || a.Description == "" || !a.At.Equal(stamp(ev.At)) {
				t.Errorf("incomplete achievement %+v", a)
			}
		}
		return ids(got)
	}
	if got := award(Event{Kind: EventChat}); !slices.Equal(got, []string{"first_chat"}) {
		t.Errorf("first chat: %v", got)
	}
	if got := award(Event{Kind: EventChat}); got != nil {
		t.Errorf("awarded twice: %v", got)
	}
	if got := award(Event{Kind: EventTrick, ID: "sit"}); !slices.Equal(got, []string{"first_trick"}) {
		t.Errorf("first trick: %v", got)
	}
	for _, tr := range []string{"sit", "sit", "stay", "spin", "bow", "dance", "play-dead", "roll-over"} {
		if got := award(Event{Kind: EventTrick, ID: tr}); got != nil {
			t.Errorf("trick %s: %v", tr, got)
		}
	}
	if got := award(Event{Kind: EventTrick, ID: "high-five"}); !slices.Equal(got, []string{"trick_master"}) {
		t.Errorf("eighth distinct trick: %v (%v)", got, s.TrickIDs)
	}
	if got := award(Event{Kind: EventGameOver, ID: GameFetch}); !slices.Equal(got, []string{"first_game"}) {
		t.Errorf("first game (lost): %v", got)
	}
	if got := award(Event{Kind: EventGameOver, ID: GameTug, Won: true}); !slices.Equal(got, []string{"first_win"}) {
		t.Errorf("first win: %v", got)
	}
	award(Event{Kind: EventGameOver, ID: GameHide})
	award(Event{Kind: EventGameOver, ID: GameGuess})
	if got := award(Event{Kind: EventGameOver, ID: GameScramble}); !slices.Equal(got, []string{"every_game"}) {
		t.Errorf("every game: %v", got)
	}
	for i := 6; i <= 9; i++ {
		award(Event{Kind: EventGameOver, ID: GameFetch})
	}
	if got := award(Event{Kind: EventGameOver, ID: GameFetch}); !slices.Equal(got, []string{"games_10"}) || s.Games != 10 || s.Wins != 1 {
		t.Errorf("ten games: %v %+v", got, s)
	}
	for _, tr := range Treats() {
		got := award(Event{Kind: EventFed, ID: tr.ID})
		switch tr.ID {
		case "bone":
			if !slices.Equal(got, []string{"first_treat"}) {
				t.Errorf("first treat: %v", got)
			}
		case "carrot":
			if !slices.Equal(got, []string{"treat_taster"}) {
				t.Errorf("all treats: %v", got)
			}
		}
	}
	for i := 1; i <= 25; i++ {
		j, st, f := award(Event{Kind: EventJoke, ID: "j"}), award(Event{Kind: EventStory, ID: "s"}), award(Event{Kind: EventFact, ID: "f"})
		if (i == 10) != slices.Equal(j, []string{"jokes_10"}) || (i == 5) != slices.Equal(st, []string{"stories_5"}) ||
			(i == 25) != slices.Equal(f, []string{"facts_25"}) {
			t.Errorf("count %d: %v %v %v", i, j, st, f)
		}
	}
	if len(s.Earned) != 12 {
		t.Errorf("earned %d: %+v", len(s.Earned), s.Earned)
	}
}

func TestAwardWeekOfVisits(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	var s Stats
	visit := func(now time.Time) []string {
		var got []Achievement
		s, got = Award(s, Visit(now, ny))
		return ids(got)
	}
	start := time.Date(2025, 3, 3, 18, 0, 0, 0, ny)
	days := []int{0, 0, 1, 3, 4, 10, 11} // repeats and gaps: distinct days, not a streak
	for i, d := range days {
		if got := visit(start.AddDate(0, 0, d)); got != nil {
			t.Errorf("visit %d: %v", i, got)
		}
	}
	if s.Days != 6 {
		t.Fatalf("days = %d", s.Days)
	}
	// A late event for an earlier day does not count twice.
	if visit(start.AddDate(0, 0, 2)); s.Days != 6 {
		t.Errorf("old day counted: %d", s.Days)
	}
	// 02:30 UTC on the 17th is still the 16th in New York: a new day.
	if got := visit(time.Date(2025, 3, 17, 2, 30, 0, 0, time.UTC)); !slices.Equal(got, []string{"week_of_visits"}) || s.LastDay != "2025-03-16" {
		t.Errorf("seventh day: %v %s", got, s.LastDay)
	}
	for d := 20; s.Days < 29; d++ {
		visit(start.AddDate(0, 0, d))
	}
	if got := visit(start.AddDate(0, 0, 200)); !slices.Equal(got, []string{"month_of_visits"}) {
		t.Errorf("thirtieth day: %v", got)
	}
}

func TestAwardIsPure(t *testing.T) {
	s := Stats{TrickIDs: []string{"sit"}, Earned: []Earned{{ID: "first_chat", At: t0}}}
	out, _ := Award(s, Event{Kind: EventTrick, ID: "bow", At: t0})
	if len(s.TrickIDs) != 1 || len(s.Earned) != 1 || len(out.TrickIDs) != 2 || out.V != StatsVersion {
		t.Errorf("Award mutated its input: %+v / %+v", s, out)
	}
	// Unknown events change nothing but the version.
	out, got := Award(Stats{}, Event{Kind: "mystery"})
	if got != nil || out.Chats != 0 {
		t.Errorf("unknown event: %+v %v", out, got)
	}
	seen := map[string]bool{}
	for _, a := range Achievements() {
		if seen[a.ID] || a.Name == "" || a.Description == "" {
			t.Errorf("bad achievement %+v", a)
		}
		seen[a.ID] = true
	}
}

// Respond's events drive Award end to end.
func TestEventsFromRespond(t *testing.T) {
	e := New()
	var s Stats
	var d State
	var all []string
	for i, m := range []string{"hi", "sit", "give daisy a carrot", "tell me a joke"} {
		tr := e.Respond(Input{Text: m, Tier: Tier9to12, Now: t0.Add(time.Duration(i) * time.Minute), Daisy: d}, nil)
		d = tr.Daisy
		for _, ev := range tr.Events {
			var got []Achievement
			s, got = Award(s, ev)
			all = append(all, ids(got)...)
		}
	}
	if !slices.Equal(all, []string{"first_chat", "first_trick", "first_treat"}) || s.Chats != 4 || s.Jokes != 1 {
		t.Errorf("achievements %v stats %+v", all, s)
	}
}
