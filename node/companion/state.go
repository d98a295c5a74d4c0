package companion

import "time"

// StateVersion is the current version of the State encoding.
const StateVersion = 1

// Daisy's needs. Both levels are integers from 0 to MaxLevel with ONE meaning
// everywhere (storage, API, UI):
//
//	Hunger: 0 = completely full … 5 = very hungry. It rises by 1 every
//	        HungerRiseEvery since the last meal (or the last rise).
//	Energy: 0 = worn out … 5 = full of energy. It recovers by 1 every
//	        EnergyRecoverEvery of rest; tricks and games spend it.
const (
	MaxLevel           = 5
	DefaultHunger      = 2
	DefaultEnergy      = 5
	HungerRiseEvery    = 2 * time.Hour
	EnergyRecoverEvery = 10 * time.Minute
	// ExcitedFor is how long Daisy stays excited after a treat or a game.
	ExcitedFor = 5 * time.Minute
	// ConcernFor is how long Daisy stays concerned after a child shared a
	// hard feeling: she keeps a calm mood instead of bouncing back to cheer.
	ConcernFor = 15 * time.Minute
	// maxRecent bounds State.Recent.
	maxRecent = 12
)

// State is Daisy's state for one child. It is a plain value: the server
// stores it (sealed) and passes it back in. Levels are only meaningful
// together with their clock anchors: call StateAt to see them at a given
// instant. No periodic job ever rewrites a State.
type State struct {
	V      int `json:"v"`
	Hunger int `json:"hunger"` // 0 full … 5 very hungry, as of HungerAt
	Energy int `json:"energy"` // 0 worn out … 5 full of energy, as of EnergyAt
	// HungerAt and EnergyAt anchor the drift: the level was exact at that
	// instant, and whole steps since then are added by StateAt.
	HungerAt    time.Time `json:"hunger_at"`
	EnergyAt    time.Time `json:"energy_at"`
	LastFed     time.Time `json:"fed_at,omitzero"`
	LastPlay    time.Time `json:"play_at,omitzero"`
	LastConcern time.Time `json:"concern_at,omitzero"`
	// Recent holds IDs of catalogue items (jokes, facts, stories, tricks)
	// used recently, oldest first, so they are not repeated soon.
	Recent []string `json:"recent,omitempty"`
}

// NewState is a fresh Daisy at now: a little peckish, full of energy.
func NewState(now time.Time) State {
	t := stamp(now)
	return State{V: StateVersion, Hunger: DefaultHunger, Energy: DefaultEnergy, HungerAt: t, EnergyAt: t}
}

// stamp is how instants are stored: UTC, whole seconds, no monotonic clock.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// IsZero reports whether s was never initialised (the zero value).
func (s State) IsZero() bool {
	return s.V == 0 && s.HungerAt.IsZero() && s.EnergyAt.IsZero()
}

// StateAt returns s as it is at now: hunger risen by one per whole
// HungerRiseEvery since HungerAt, energy recovered by one per whole
// EnergyRecoverEvery since EnergyAt, both capped at MaxLevel. The anchors
// advance by the whole steps taken, so StateAt(StateAt(s, a), b) ==
// StateAt(s, b) for a ≤ b: callers may store the result or not. A zero State
// becomes NewState(now); an instant before the anchors changes nothing
// (clock skew between nodes never makes Daisy less hungry).
func StateAt(s State, now time.Time) State {
	if s.IsZero() {
		return NewState(now)
	}
	s = s.clone()
	s.V = StateVersion
	s.Hunger, s.HungerAt = drift(clampLevel(s.Hunger), s.HungerAt, now, HungerRiseEvery)
	s.Energy, s.EnergyAt = drift(clampLevel(s.Energy), s.EnergyAt, now, EnergyRecoverEvery)
	return s
}

// drift adds one level per whole period since at, up to MaxLevel, and moves
// the anchor by exactly the steps taken.
func drift(level int, at, now time.Time, every time.Duration) (int, time.Time) {
	if level >= MaxLevel || !now.After(at) {
		return level, at
	}
	steps := int64(now.Sub(at) / every)
	if room := int64(MaxLevel - level); steps > room {
		steps = room
	}
	return level + int(steps), at.Add(time.Duration(steps) * every)
}

func clampLevel(n int) int { return min(max(n, 0), MaxLevel) }

func (s State) clone() State {
	s.Recent = append([]string(nil), s.Recent...)
	return s
}

// MoodAt derives Daisy's mood from her state at now. In order:
//
//	concerned  a child shared a hard feeling less than ConcernFor ago
//	hungry     hunger ≥ 4
//	sleepy     energy ≤ 1
//	excited    fed or played less than ExcitedFor ago (and energy ≥ 2)
//	playful    energy ≥ 4 and hunger ≤ 1
//	happy      otherwise
func MoodAt(s State, now time.Time) string {
	s = StateAt(s, now)
	switch {
	case within(s.LastConcern, now, ConcernFor):
		return MoodConcerned
	case s.Hunger >= 4:
		return MoodHungry
	case s.Energy <= 1:
		return MoodSleepy
	case (within(s.LastFed, now, ExcitedFor) || within(s.LastPlay, now, ExcitedFor)) && s.Energy >= 2:
		return MoodExcited
	case s.Energy >= 4 && s.Hunger <= 1:
		return MoodPlayful
	}
	return MoodHappy
}

func within(t, now time.Time, d time.Duration) bool {
	return !t.IsZero() && !now.Before(t) && now.Sub(t) < d
}

// fed is s after eating something worth fill hunger levels at now.
func (s State) fed(fill int, now time.Time) State {
	s = StateAt(s, now)
	s.Hunger = max(0, s.Hunger-fill)
	s.HungerAt = stamp(now)
	s.LastFed = stamp(now)
	return s
}

// spent is s after an activity costing cost energy at now; ok is false (and
// s unchanged) when Daisy has too little energy.
func (s State) spent(cost int, now time.Time) (State, bool) {
	s = StateAt(s, now)
	if s.Energy < cost {
		return s, false
	}
	if cost > 0 {
		s.Energy -= cost
		s.EnergyAt = stamp(now)
	}
	s.LastPlay = stamp(now)
	return s, true
}

// remember appends a catalogue item ID to Recent (bounded, no duplicates).
func (s State) remember(id string) State {
	if id == "" {
		return s
	}
	s = s.clone()
	out := s.Recent[:0]
	for _, r := range s.Recent {
		if r != id {
			out = append(out, r)
		}
	}
	out = append(out, id)
	if len(out) > maxRecent {
		out = out[len(out)-maxRecent:]
	}
	s.Recent = out
	return s
}

func (s State) recently(id string) bool {
	for _, r := range s.Recent {
		if r == id {
			return true
		}
	}
	return false
}

// Treat is one of the seven treats a child can give Daisy.
type Treat struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Words []string `json:"-"`    // whole words that name it in a message
	Fill  int      `json:"fill"` // hunger levels it removes
}

// Treats returns the seven treats, in menu order.
func Treats() []Treat {
	return []Treat{
		{ID: "bone", Name: "Bone", Words: []string{"bone", "bones"}, Fill: 1},
		{ID: "biscuit", Name: "Biscuit", Words: []string{"biscuit", "biscuits", "dogbiscuit"}, Fill: 1},
		{ID: "bacon", Name: "Bacon", Words: []string{"bacon"}, Fill: 1},
		{ID: "chicken", Name: "Chicken", Words: []string{"chicken"}, Fill: 2},
		{ID: "cheese", Name: "Cheese", Words: []string{"cheese"}, Fill: 1},
		{ID: "apple", Name: "Apple", Words: []string{"apple", "apples"}, Fill: 1},
		{ID: "carrot", Name: "Carrot", Words: []string{"carrot", "carrots"}, Fill: 1},
	}
}

func treatByID(id string) (Treat, bool) {
	for _, t := range Treats() {
		if t.ID == id {
			return t, true
		}
	}
	return Treat{}, false
}
