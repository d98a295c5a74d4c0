package api

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"daisydog/storage"
)

func intp(n int) *int { return &n }

// TestWithholdSmall: a day with fewer than k children shows nothing; other
// counts from 1 to k-1 are withheld, and with one of its categories the
// day's safety-event total; zeros and counts of k or more are shown.
func TestWithholdSmall(t *testing.T) {
	days := []storage.DayUsage{
		{Day: "2026-11-01", Turns: 40, ActiveChildren: 3, SafetyEvents: 9, EventsByCategory: map[string]int{"self_harm": 9},
			TurnsByIntent: map[string]int{"chat": 40}},
		{Day: "2026-11-02", Turns: 0, ActiveChildren: 0, EventsByCategory: map[string]int{}, TurnsByIntent: map[string]int{}},
		{Day: "2026-11-03", Turns: 120, ActiveChildren: 12, SafetyEvents: 8, EventsByCategory: map[string]int{"profanity": 6, "self_harm": 2},
			TurnsByIntent: map[string]int{"chat": 100, "feed": 16, "game_move": 4}},
		{Day: "2026-11-04", Turns: 60, ActiveChildren: 5, SafetyEvents: 5, EventsByCategory: map[string]int{"profanity": 5},
			TurnsByIntent: map[string]int{"chat": 60}},
	}
	got := withholdSmall(days, 5)
	want := []usageReportDay{
		{Day: "2026-11-01", Withheld: true},
		{Day: "2026-11-02", Turns: intp(0), ActiveChildren: intp(0), SafetyEvents: intp(0), EventsByCategory: map[string]*int{}, TurnsByIntent: map[string]*int{}},
		{Day: "2026-11-03", Turns: intp(120), ActiveChildren: intp(12), SafetyEvents: nil,
			EventsByCategory: map[string]*int{"profanity": intp(6), "self_harm": nil},
			TurnsByIntent:    map[string]*int{"chat": intp(100), "feed": intp(16), "game_move": nil}},
		{Day: "2026-11-04", Turns: intp(60), ActiveChildren: intp(5), SafetyEvents: intp(5),
			EventsByCategory: map[string]*int{"profanity": intp(5)}, TurnsByIntent: map[string]*int{"chat": intp(60)}},
	}
	show := func(d usageReportDay) string {
		n := func(p *int) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprint(*p)
		}
		m := func(mm map[string]*int) string {
			if mm == nil {
				return "nil"
			}
			var parts []string
			for _, k := range []string{"chat", "feed", "game_move", "profanity", "self_harm"} {
				if v, ok := mm[k]; ok {
					parts = append(parts, k+"="+n(v))
				}
			}
			return fmt.Sprintf("%d{%s}", len(mm), strings.Join(parts, " "))
		}
		return fmt.Sprintf("%s %v %s %s %s %s %s", d.Day, d.Withheld, n(d.Turns), n(d.ActiveChildren), n(d.SafetyEvents), m(d.EventsByCategory), m(d.TurnsByIntent))
	}
	for i := range want {
		if show(got[i]) != show(want[i]) {
			t.Errorf("day %d:\n got %s\nwant %s", i, show(got[i]), show(want[i]))
		}
	}

	var buf bytes.Buffer
	if err := writeUsageCSV(&buf, usageReport{From: "2026-11-01", To: "2026-11-04", MinCount: 5, Days: got}); err != nil {
		t.Fatal(err)
	}
	wantCSV := `day,turns,active_children,safety_events,events:profanity,events:self_harm,turns:chat,turns:feed,turns:game_move
2026-11-01,<5,<5,<5,<5,<5,<5,<5,<5
2026-11-02,0,0,0,0,0,0,0,0
2026-11-03,120,12,<5,6,<5,100,16,<5
2026-11-04,60,5,5,5,0,60,0,0
`
	if buf.String() != wantCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), wantCSV)
	}
}
