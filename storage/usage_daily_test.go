package storage

import (
	"errors"
	"maps"
	"testing"
)

// TestDailyUsage: per UTC day, turns, children who chatted and safety
// events by category; the range's edges are exact (a turn at the first
// millisecond of a day counts there, one at the first millisecond after
// the range does not); days without use are zeros; staff only; a range
// that is empty, reversed, negative or over MaxUsageDays is refused.
func TestDailyUsage(t *testing.T) {
	f := newFixture(t)
	f.twoFamilies()
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.linkDevice("par-b", "ch-b", "dev-b")
	const day0 = int64(20_000) // 2024-10-04
	turn := func(fam, child, dev, id string, at int64, mod func(c *ChatTurn)) {
		t.Helper()
		c := f.turnCmd(fam, child, dev, id, "hello")
		c.CreatedAt = at
		if mod != nil {
			mod(c)
		}
		f.must(c)
	}
	turn("fam-a", "ch-a", "dev-a", "t1", day0*dayMillis, nil) // first millisecond of day0
	turn("fam-a", "ch-a", "dev-a", "t2", day0*dayMillis+5, func(c *ChatTurn) { c.Intent = "feed" })
	turn("fam-b", "ch-b", "dev-b", "t3", (day0+1)*dayMillis-1, nil) // last millisecond of day0
	turn("fam-a", "ch-a", "dev-a", "t4", (day0+2)*dayMillis+100, func(c *ChatTurn) {
		c.EventID, c.Escalate, c.InAction, c.InCategories = "ev1", true, "redirect", []string{"grooming", "pii_solicitation"}
	})
	turn("fam-a", "ch-a", "dev-a", "t5", (day0+2)*dayMillis+200, func(c *ChatTurn) {
		c.EventID, c.FailClosed, c.Escalate = "ev2", true, true // a policy failure: no category
	})
	turn("fam-b", "ch-b", "dev-b", "t6", (day0+2)*dayMillis+300, func(c *ChatTurn) {
		c.EventID, c.Escalate, c.InAction, c.InCategories = "ev3", true, "redirect", []string{"grooming"}
	})
	turn("fam-b", "ch-b", "dev-b", "t7", (day0+3)*dayMillis, nil) // the first millisecond after the range
	turn("fam-b", "ch-b", "dev-b", "t8", day0*dayMillis-1, nil)   // the last one before it

	days, err := f.db.DailyUsage(f.ctx, Actor{Role: RoleModerator, ID: "st_m"}, day0, day0+3)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		day                     string
		turns, children, events int
		cats, intents           map[string]int
	}{
		{"2024-10-04", 3, 2, 0, map[string]int{}, map[string]int{"chat": 2, "feed": 1}},
		{"2024-10-05", 0, 0, 0, map[string]int{}, map[string]int{}},
		{"2024-10-06", 3, 2, 3, map[string]int{"grooming": 2, "pii_solicitation": 1}, map[string]int{"chat": 3}},
	}
	if len(days) != len(want) {
		t.Fatalf("%d days, want %d: %+v", len(days), len(want), days)
	}
	for i, w := range want {
		d := days[i]
		if d.Day != w.day || d.Turns != w.turns || d.ActiveChildren != w.children || d.SafetyEvents != w.events || len(d.EventsByCategory) != len(w.cats) {
			t.Errorf("day %d: %+v, want %+v", i, d, w)
		}
		for c, n := range w.cats {
			if d.EventsByCategory[c] != n {
				t.Errorf("day %s: %s = %d, want %d", d.Day, c, d.EventsByCategory[c], n)
			}
		}
		if !maps.Equal(d.TurnsByIntent, w.intents) {
			t.Errorf("day %s: turns by intent %v, want %v", d.Day, d.TurnsByIntent, w.intents)
		}
	}
	if _, err := f.db.DailyUsage(f.ctx, Actor{Role: RoleAdmin, ID: "st_a"}, day0, day0+MaxUsageDays); err != nil {
		t.Errorf("a range of MaxUsageDays: %v", err)
	}
	for _, role := range []Role{RoleParent, RoleChild, RoleSystem} {
		if _, err := f.db.DailyUsage(f.ctx, Actor{Role: role, ID: "x", FamilyID: "fam-a"}, day0, day0+1); !errors.Is(err, ErrForbidden) {
			t.Errorf("as %s: %v, want ErrForbidden", role, err)
		}
	}
	for _, r := range [][2]int64{{day0, day0}, {day0 + 1, day0}, {-1, 3}, {day0, day0 + MaxUsageDays + 1}} {
		if _, err := f.db.DailyUsage(f.ctx, Actor{Role: RoleAdmin, ID: "st_a"}, r[0], r[1]); err == nil {
			t.Errorf("days [%d, %d) accepted", r[0], r[1])
		}
	}
}
