package companion

import (
	"sort"
	"time"
)

// Event kinds fed to Award.
const (
	EventChat      = "chat"       // any message to Daisy
	EventVisit     = "visit"      // a visit on a local day (Event.Day)
	EventFed       = "fed"        // Event.ID: treat
	EventTrick     = "trick"      // Event.ID: trick
	EventJoke      = "joke"       // Event.ID: joke
	EventStory     = "story"      // Event.ID: story
	EventFact      = "fact"       // Event.ID: fact
	EventGameStart = "game_start" // Event.ID: game kind
	EventGameOver  = "game_over"  // Event.ID: game kind, Event.Won
)

// Event is something that happened, for stats and achievements.
type Event struct {
	Kind string    `json:"kind"`
	ID   string    `json:"id,omitempty"`
	Won  bool      `json:"won,omitempty"`
	Day  string    `json:"day,omitempty"` // EventVisit: local date "2006-01-02"
	At   time.Time `json:"at"`
}

// Visit is the event for a child's visit at now in their time zone.
func Visit(now time.Time, loc *time.Location) Event {
	return Event{Kind: EventVisit, Day: LocalDay(now, loc), At: stamp(now)}
}

// StatsVersion is the current version of the Stats encoding.
const StatsVersion = 1

// Stats are one child's counters. Days counts distinct local days with a
// visit (not a streak: missing a day never takes anything away).
type Stats struct {
	V        int      `json:"v"`
	Chats    int      `json:"chats"`
	Treats   int      `json:"treats"`
	Tricks   int      `json:"tricks"`
	Jokes    int      `json:"jokes"`
	Stories  int      `json:"stories"`
	Facts    int      `json:"facts"`
	Games    int      `json:"games"` // finished
	Wins     int      `json:"wins"`
	Days     int      `json:"days"`
	LastDay  string   `json:"last_day,omitempty"`
	TreatIDs []string `json:"treat_ids,omitempty"` // distinct, sorted
	TrickIDs []string `json:"trick_ids,omitempty"`
	GameIDs  []string `json:"game_ids,omitempty"`
	Earned   []Earned `json:"earned,omitempty"`
}

// Earned records an achievement a child has.
type Earned struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// Achievement is a milestone. At is set on newly awarded ones.
type Achievement struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	At          time.Time `json:"at,omitzero"`
}

type achievementRule struct {
	Achievement
	done func(Stats) bool
}

// Number of tricks and game kinds the "all of them" achievements need.
const (
	allTricks = 8
	allTreats = 7
)

func achievementRules() []achievementRule {
	a := func(id, name, desc string, done func(Stats) bool) achievementRule {
		return achievementRule{Achievement{ID: id, Name: name, Description: desc}, done}
	}
	return []achievementRule{
		a("first_chat", "Hello, Daisy!", "Said hello to Daisy for the first time.", func(s Stats) bool { return s.Chats >= 1 }),
		a("first_treat", "Snack Time", "Gave Daisy her first treat.", func(s Stats) bool { return s.Treats >= 1 }),
		a("treat_taster", "Treat Taster", "Gave Daisy every kind of treat.", func(s Stats) bool { return len(s.TreatIDs) >= allTreats }),
		a("first_trick", "Trick Starter", "Saw Daisy do her first trick.", func(s Stats) bool { return s.Tricks >= 1 }),
		a("trick_master", "Trick Master", "Saw Daisy do eight different tricks.", func(s Stats) bool { return len(s.TrickIDs) >= allTricks }),
		a("first_game", "Game On", "Finished a first game with Daisy.", func(s Stats) bool { return s.Games >= 1 }),
		a("first_win", "Winner", "Won a game for the first time.", func(s Stats) bool { return s.Wins >= 1 }),
		a("games_10", "Ten Games", "Finished ten games with Daisy.", func(s Stats) bool { return s.Games >= 10 }),
		a("games_50", "Game Champion", "Finished fifty games with Daisy.", func(s Stats) bool { return s.Games >= 50 }),
		a("every_game", "Game Explorer", "Played every kind of game.", func(s Stats) bool { return len(s.GameIDs) >= len(GameKinds()) }),
		a("jokes_10", "Giggle Buddy", "Heard ten of Daisy's jokes.", func(s Stats) bool { return s.Jokes >= 10 }),
		a("stories_5", "Story Lover", "Listened to five stories.", func(s Stats) bool { return s.Stories >= 5 }),
		a("facts_25", "Dog Expert", "Learned twenty-five dog facts.", func(s Stats) bool { return s.Facts >= 25 }),
		a("week_of_visits", "A Week of Visits", "Visited Daisy on seven different days.", func(s Stats) bool { return s.Days >= 7 }),
		a("month_of_visits", "Best Friends", "Visited Daisy on thirty different days.", func(s Stats) bool { return s.Days >= 30 }),
	}
}

// Achievements lists every achievement, in display order.
func Achievements() []Achievement {
	rs := achievementRules()
	out := make([]Achievement, len(rs))
	for i, r := range rs {
		out[i] = r.Achievement
	}
	return out
}

// Award applies event to stats and returns the new stats and the
// achievements earned by this event (each is earned once, ever). It is a
// pure function; a visit for a day not after LastDay does not count again.
func Award(s Stats, ev Event) (Stats, []Achievement) {
	s = s.clone()
	s.V = StatsVersion
	switch ev.Kind {
	case EventChat:
		s.Chats++
	case EventVisit:
		if ev.Day != "" && ev.Day > s.LastDay {
			s.Days++
			s.LastDay = ev.Day
		}
	case EventFed:
		s.Treats++
		s.TreatIDs = addSorted(s.TreatIDs, ev.ID)
	case EventTrick:
		s.Tricks++
		s.TrickIDs = addSorted(s.TrickIDs, ev.ID)
	case EventJoke:
		s.Jokes++
	case EventStory:
		s.Stories++
	case EventFact:
		s.Facts++
	case EventGameOver:
		s.Games++
		if ev.Won {
			s.Wins++
		}
		s.GameIDs = addSorted(s.GameIDs, ev.ID)
	}
	var got []Achievement
	for _, r := range achievementRules() {
		if s.has(r.ID) || !r.done(s) {
			continue
		}
		s.Earned = append(s.Earned, Earned{ID: r.ID, At: stamp(ev.At)})
		a := r.Achievement
		a.At = stamp(ev.At)
		got = append(got, a)
	}
	return s, got
}

func (s Stats) has(id string) bool {
	for _, e := range s.Earned {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (s Stats) clone() Stats {
	s.TreatIDs = append([]string(nil), s.TreatIDs...)
	s.TrickIDs = append([]string(nil), s.TrickIDs...)
	s.GameIDs = append([]string(nil), s.GameIDs...)
	s.Earned = append([]Earned(nil), s.Earned...)
	return s
}

// addSorted inserts id into the sorted set xs (bounded at 64 entries).
func addSorted(xs []string, id string) []string {
	if id == "" || contains(xs, id) || len(xs) >= 64 {
		return xs
	}
	xs = append(xs, id)
	sort.Strings(xs)
	return xs
}
