package companion

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestNewStateAndZero(t *testing.T) {
	s := NewState(t0.Add(500 * time.Millisecond))
	if s.V != StateVersion || s.Hunger != DefaultHunger || s.Energy != DefaultEnergy || !s.HungerAt.Equal(t0) || !s.EnergyAt.Equal(t0) {
		t.Fatalf("NewState = %+v", s)
	}
	if s.HungerAt.Location() != time.UTC {
		t.Errorf("anchors must be UTC")
	}
	// A zero State (new child) is a fresh Daisy, not a starving one.
	if got := StateAt(State{}, t0); !reflect.DeepEqual(got, NewState(t0)) {
		t.Errorf("StateAt(zero) = %+v", got)
	}
	if !(State{}).IsZero() || s.IsZero() {
		t.Errorf("IsZero wrong")
	}
}

func TestHungerDriftBoundaries(t *testing.T) {
	base := State{V: 1, Hunger: 1, Energy: 3, HungerAt: t0, EnergyAt: t0}
	tests := []struct {
		after      time.Duration
		hunger     int
		hungerAt   time.Duration
		energy     int
		energyAtAt time.Duration
	}{
		{0, 1, 0, 3, 0},
		{-time.Hour, 1, 0, 3, 0}, // clock before the anchor: no change
		{EnergyRecoverEvery - time.Second, 1, 0, 3, 0},
		{EnergyRecoverEvery, 1, 0, 4, EnergyRecoverEvery},
		{2*EnergyRecoverEvery - time.Nanosecond, 1, 0, 4, EnergyRecoverEvery},
		{2 * EnergyRecoverEvery, 1, 0, 5, 2 * EnergyRecoverEvery},
		{HungerRiseEvery - time.Second, 1, 0, 5, 2 * EnergyRecoverEvery},
		{HungerRiseEvery, 2, HungerRiseEvery, 5, 2 * EnergyRecoverEvery},
		{4*HungerRiseEvery + 59*time.Minute, 5, 4 * HungerRiseEvery, 5, 2 * EnergyRecoverEvery},
		{100 * HungerRiseEvery, 5, 4 * HungerRiseEvery, 5, 2 * EnergyRecoverEvery}, // capped
	}
	for _, tt := range tests {
		got := StateAt(base, t0.Add(tt.after))
		if got.Hunger != tt.hunger || got.Energy != tt.energy ||
			!got.HungerAt.Equal(t0.Add(tt.hungerAt)) || !got.EnergyAt.Equal(t0.Add(tt.energyAtAt)) {
			t.Errorf("after %v: hunger %d@%v energy %d@%v; want %d@%v %d@%v", tt.after,
				got.Hunger, got.HungerAt.Sub(t0), got.Energy, got.EnergyAt.Sub(t0),
				tt.hunger, tt.hungerAt, tt.energy, tt.energyAtAt)
		}
	}
}

// StateAt composes: storing an intermediate result never changes the future.
func TestStateAtComposes(t *testing.T) {
	starts := []State{
		{V: 1, Hunger: 0, Energy: 0, HungerAt: t0, EnergyAt: t0},
		{V: 1, Hunger: 3, Energy: 4, HungerAt: t0.Add(-37 * time.Minute), EnergyAt: t0.Add(-3 * time.Minute)},
		{V: 1, Hunger: 5, Energy: 5, HungerAt: t0, EnergyAt: t0},
		{V: 1, Hunger: -3, Energy: 9, HungerAt: t0, EnergyAt: t0}, // corrupt levels are clamped
	}
	steps := []time.Duration{0, time.Second, 9 * time.Minute, 10 * time.Minute, 61 * time.Minute, 2 * time.Hour, 7*time.Hour + 13*time.Second, 30 * time.Hour}
	for _, s := range starts {
		for _, a := range steps {
			for _, b := range steps {
				if b < a {
					continue
				}
				direct := StateAt(s, t0.Add(b))
				twice := StateAt(StateAt(s, t0.Add(a)), t0.Add(b))
				if !reflect.DeepEqual(direct, twice) {
					t.Fatalf("%+v: StateAt(%v) = %+v, via %v = %+v", s, b, direct, a, twice)
				}
				if direct.Hunger < 0 || direct.Hunger > MaxLevel || direct.Energy < 0 || direct.Energy > MaxLevel {
					t.Fatalf("out of range: %+v", direct)
				}
			}
		}
	}
}

func TestMoodAt(t *testing.T) {
	st := func(h, e int) State { return State{V: 1, Hunger: h, Energy: e, HungerAt: t0, EnergyAt: t0} }
	with := func(s State, f func(*State)) State { f(&s); return s }
	tests := []struct {
		name string
		s    State
		at   time.Duration
		want string
	}{
		{"default", NewState(t0), 0, MoodHappy},
		{"playful", st(1, 4), 0, MoodPlayful},
		{"hungry", st(4, 5), 0, MoodHungry},
		{"hungry beats sleepy", st(5, 0), 0, MoodHungry},
		{"sleepy", st(2, 1), 0, MoodSleepy},
		{"recovers from sleepy", st(2, 1), EnergyRecoverEvery, MoodHappy},
		{"gets hungry with time", st(3, 5), HungerRiseEvery, MoodHungry},
		{"excited after a treat", with(st(2, 3), func(s *State) { s.LastFed = t0 }), ExcitedFor - time.Second, MoodExcited},
		{"excitement fades", with(st(2, 3), func(s *State) { s.LastFed = t0 }), ExcitedFor, MoodHappy},
		{"excited after a game", with(st(2, 2), func(s *State) { s.LastPlay = t0 }), time.Minute, MoodExcited},
		{"concerned beats all", with(st(5, 0), func(s *State) { s.LastConcern = t0 }), ConcernFor - time.Second, MoodConcerned},
		{"concern fades", with(st(2, 3), func(s *State) { s.LastConcern = t0 }), ConcernFor, MoodHappy},
	}
	for _, tt := range tests {
		if got := MoodAt(tt.s, t0.Add(tt.at)); got != tt.want {
			t.Errorf("%s: MoodAt = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFedAndSpent(t *testing.T) {
	s := State{V: 1, Hunger: 3, Energy: 2, HungerAt: t0.Add(-time.Hour), EnergyAt: t0.Add(-5 * time.Minute)}
	f := s.fed(2, t0)
	if f.Hunger != 1 || !f.HungerAt.Equal(t0) || !f.LastFed.Equal(t0) {
		t.Errorf("fed: %+v", f)
	}
	if f := s.fed(9, t0); f.Hunger != 0 {
		t.Errorf("fed below zero: %d", f.Hunger)
	}
	// The next hunger point comes a full period after the meal.
	if got := StateAt(f, t0.Add(HungerRiseEvery-time.Second)).Hunger; got != 1 {
		t.Errorf("hunger rose early: %d", got)
	}
	sp, ok := s.spent(2, t0)
	if !ok || sp.Energy != 0 || !sp.EnergyAt.Equal(t0) || !sp.LastPlay.Equal(t0) {
		t.Errorf("spent: %+v %v", sp, ok)
	}
	if _, ok := s.spent(3, t0); ok {
		t.Errorf("spent more energy than Daisy has")
	}
	// Rest recovers from the moment of the activity.
	if got := StateAt(sp, t0.Add(EnergyRecoverEvery)).Energy; got != 1 {
		t.Errorf("energy after rest = %d", got)
	}
}

func TestRemember(t *testing.T) {
	var s State
	for i := 0; i < 20; i++ {
		s = s.remember(string(rune('a' + i)))
	}
	s = s.remember("t") // already there: moves to the end
	if len(s.Recent) != maxRecent || s.Recent[len(s.Recent)-1] != "t" || s.recently("a") || !s.recently("q") {
		t.Errorf("Recent = %v", s.Recent)
	}
	orig := State{Recent: []string{"x"}}
	_ = orig.remember("y")
	if len(orig.Recent) != 1 {
		t.Errorf("remember mutated its receiver")
	}
}

func TestStateJSON(t *testing.T) {
	s := NewState(t0).fed(1, t0.Add(time.Minute)).remember("fact-001")
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 200 || strings.Contains(string(b), "concern_at") || strings.Contains(string(b), "play_at") {
		t.Errorf("not compact: %s", b)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip: %+v vs %+v (%v)", back, s, err)
	}
}
