package companion

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Feature is something a parent can switch on or off.
type Feature string

// Features. Chat itself is always on (within time limits); a content pack
// is the feature PackFeature(id).
const (
	FeatureChat    Feature = "chat"
	FeatureGames   Feature = "games"
	FeatureJokes   Feature = "jokes"
	FeatureStories Feature = "stories"
	FeatureAI      Feature = "ai_mode"
	FeaturePacks   Feature = "content_packs"
)

// PackFeature is the feature of one content pack.
func PackFeature(id string) Feature { return Feature("pack:" + id) }

// Strictness levels (passed to the safety policy as is).
const (
	StrictRelaxed  = "relaxed"
	StrictStandard = "standard"
	StrictStrict   = "strict"
)

// ControlsVersion is the current version of the Controls encoding.
const ControlsVersion = 1

// Controls are a parent's settings for one child. The zero value switches
// every optional feature off (fail-safe); start from DefaultControls.
type Controls struct {
	V int `json:"v"`
	// DailyMinutes is the daily time limit in the child's time zone; 0
	// means no limit.
	DailyMinutes int `json:"daily_minutes"`
	// Bedtime is when Daisy is unavailable, in the child's local time; it
	// may span midnight ("20:00"–"07:00"). Empty: no bedtime.
	Bedtime Window `json:"bedtime"`
	Games   bool   `json:"games"`
	Jokes   bool   `json:"jokes"`
	Stories bool   `json:"stories"`
	// AIMode allows the optional model provider (a separate consent flag
	// for third-party providers is checked by the caller).
	AIMode bool `json:"ai_mode"`
	// Packs are the content packs this child may see.
	Packs      []string `json:"packs,omitempty"`
	Strictness string   `json:"strictness"`
}

// Window is a daily span of local wall-clock time, "HH:MM" to "HH:MM"
// (end excluded). Start after End spans midnight; Start == End (or both
// empty) is no window.
type Window struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// DefaultControls: games, jokes and stories on, AI mode off, no limits,
// standard strictness.
func DefaultControls() Controls {
	return Controls{V: ControlsVersion, Games: true, Jokes: true, Stories: true, Strictness: StrictStandard}
}

// MaxDailyMinutes bounds DailyMinutes (a whole day).
const MaxDailyMinutes = 24 * 60

// Validate checks c as a parent submitted it.
func (c Controls) Validate() error {
	var errs []error
	if c.DailyMinutes < 0 || c.DailyMinutes > MaxDailyMinutes {
		errs = append(errs, fmt.Errorf("daily_minutes %d not in 0..%d", c.DailyMinutes, MaxDailyMinutes))
	}
	if (c.Bedtime.Start == "") != (c.Bedtime.End == "") {
		errs = append(errs, errors.New("bedtime needs both start and end"))
	}
	for _, t := range []string{c.Bedtime.Start, c.Bedtime.End} {
		if _, ok := clockMinutes(t); t != "" && !ok {
			errs = append(errs, fmt.Errorf("bedtime %q: want HH:MM, 00:00 to 23:59", t))
		}
	}
	switch c.Strictness {
	case StrictRelaxed, StrictStandard, StrictStrict:
	default:
		errs = append(errs, fmt.Errorf("strictness %q: want relaxed, standard or strict", c.Strictness))
	}
	for _, p := range c.Packs {
		if len(p) > maxIDLen || !idRe.MatchString(p) {
			errs = append(errs, fmt.Errorf("content pack id %q is not valid", p))
		}
	}
	return errors.Join(errs...)
}

// PolicyStrictness is the strictness to pass to the safety policy:
// Strictness if valid, "standard" otherwise.
func (c Controls) PolicyStrictness() string {
	switch c.Strictness {
	case StrictRelaxed, StrictStrict:
		return c.Strictness
	}
	return StrictStandard
}

// Allows reports whether feature f is switched on (ignoring time).
func (c Controls) Allows(f Feature) bool {
	switch f {
	case FeatureChat:
		return true
	case FeatureGames:
		return c.Games
	case FeatureJokes:
		return c.Jokes
	case FeatureStories:
		return c.Stories
	case FeatureAI:
		return c.AIMode
	case FeaturePacks:
		return len(c.Packs) > 0
	}
	if id, ok := strings.CutPrefix(string(f), "pack:"); ok {
		return contains(c.Packs, id)
	}
	return false
}

// clockMinutes parses "HH:MM" into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, m := 0, 0
	for i, ch := range []byte(s) {
		if i == 2 {
			continue
		}
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// UsageVersion is the current version of the Usage encoding.
const UsageVersion = 1

// Usage counting.
const (
	// SessionGap: two messages closer than this count the time between
	// them as use; a longer gap starts a new session.
	SessionGap = 5 * time.Minute
	// TurnCredit is counted for a message that starts a session.
	TurnCredit = 30 * time.Second
)

// Usage is one child's time with Daisy today, in the child's time zone.
type Usage struct {
	V       int       `json:"v"`
	Day     string    `json:"day"`     // local date "2006-01-02" Seconds belongs to
	Seconds int       `json:"seconds"` // time used on Day
	Last    time.Time `json:"last,omitzero"`
	// Counters for Day: messages (Track), games started (TrackGame) and
	// calls to the optional AI provider (TrackAI, its daily budget).
	Turns   int `json:"turns,omitempty"`
	Games   int `json:"games,omitempty"`
	AICalls int `json:"ai_calls,omitempty"`
}

// LocalDay is the calendar date of now in loc (nil loc: UTC).
func LocalDay(now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return now.In(loc).Format(time.DateOnly)
}

// startOfDay is local midnight of now's date in loc (or the first instant
// of that date where midnight does not exist).
func startOfDay(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// nextDay is local midnight after now in loc, DST-safe: calendar arithmetic,
// never now+24h.
func nextDay(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// UsageAt is u as of now: a new local day starts from zero.
func UsageAt(u Usage, now time.Time, loc *time.Location) Usage {
	if loc == nil {
		loc = time.UTC
	}
	u.V = UsageVersion
	if day := LocalDay(now, loc); u.Day != day {
		u.Day, u.Seconds, u.Turns, u.Games, u.AICalls = day, 0, 0, 0, 0
	}
	return u
}

// TrackGame counts a game started at now (on the child's local day).
func TrackGame(u Usage, now time.Time, loc *time.Location) Usage {
	u = UsageAt(u, now, loc)
	u.Games++
	return u
}

// TrackAI counts a call to the optional AI provider at now.
func TrackAI(u Usage, now time.Time, loc *time.Location) Usage {
	u = UsageAt(u, now, loc)
	u.AICalls++
	return u
}

// Track records a message at now: the time since the previous message
// counts when it is under SessionGap (only the part after local midnight
// counts for a new day), otherwise TurnCredit.
func Track(u Usage, now time.Time, loc *time.Location) Usage {
	if loc == nil {
		loc = time.UTC
	}
	prevLast := u.Last
	u = UsageAt(u, now, loc)
	credit := TurnCredit
	if !prevLast.IsZero() && now.After(prevLast) && now.Sub(prevLast) < SessionGap {
		from := prevLast
		if sod := startOfDay(now, loc); from.Before(sod) {
			from = sod
		}
		credit = now.Sub(from)
	}
	u.Seconds += int(credit / time.Second)
	u.Turns++
	if now.After(prevLast) {
		u.Last = stamp(now)
	} else {
		u.Last = stamp(prevLast)
	}
	return u
}

// Denial reasons.
const (
	ReasonBedtime    = "bedtime"
	ReasonDailyLimit = "daily_limit"
	ReasonFeatureOff = "feature_off"
)

// Decision is the result of Check.
type Decision struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// Until is when the limit lifts (bedtime end, next local midnight);
	// zero for a feature that is switched off.
	Until time.Time `json:"until,omitzero"`
	// MinutesLeft today under the daily limit (-1: no limit).
	MinutesLeft int `json:"minutes_left"`
}

// Check evaluates parental controls for feature at now in the child's time
// zone loc (nil: UTC). Bedtime wins over the daily limit, which wins over a
// switched-off feature.
func Check(c Controls, u Usage, now time.Time, loc *time.Location, f Feature) Decision {
	if loc == nil {
		loc = time.UTC
	}
	u = UsageAt(u, now, loc)
	left := -1
	if c.DailyMinutes > 0 {
		left = max(0, c.DailyMinutes-u.Seconds/60)
	}
	if in, until := inWindow(c.Bedtime, now, loc); in {
		return Decision{Reason: ReasonBedtime, Until: until, MinutesLeft: left}
	}
	if c.DailyMinutes > 0 && u.Seconds >= c.DailyMinutes*60 {
		return Decision{Reason: ReasonDailyLimit, Until: nextDay(now, loc), MinutesLeft: 0}
	}
	if !c.Allows(f) {
		return Decision{Reason: ReasonFeatureOff, MinutesLeft: left}
	}
	return Decision{OK: true, MinutesLeft: left}
}

// inWindow reports whether now's local wall-clock time is inside w, and
// when the window next ends.
func inWindow(w Window, now time.Time, loc *time.Location) (bool, time.Time) {
	s, ok1 := clockMinutes(w.Start)
	e, ok2 := clockMinutes(w.End)
	if !ok1 || !ok2 || s == e {
		return false, time.Time{}
	}
	t := now.In(loc)
	m := t.Hour()*60 + t.Minute()
	in := s <= m && m < e
	if s > e { // spans midnight
		in = m >= s || m < e
	}
	if !in {
		return false, time.Time{}
	}
	day := t.Day()
	if m >= e { // the end is tomorrow
		day++
	}
	return true, time.Date(t.Year(), t.Month(), day, e/60, e%60, 0, 0, loc)
}

// Allowed is Check with Daisy's words: when the child may not use feature
// now, ok is false and reply is a kind "time to rest" (bedtime, daily
// limit) or "let's do something else" (feature off) for tier.
func (e *Engine) Allowed(c Controls, u Usage, tier string, now time.Time, loc *time.Location, f Feature) (bool, Reply) {
	d := Check(c, u, now, loc, f)
	if d.OK {
		return true, Reply{}
	}
	tier = normTier(tier)
	var key, intent string
	switch d.Reason {
	case ReasonBedtime:
		key, intent = poolRestBed, IntentRest
	case ReasonDailyLimit:
		key, intent = poolRestLimit, IntentRest
	default:
		key, intent = featureKey(f), IntentFeatureOff
		if strings.HasPrefix(string(f), "pack:") {
			key = featureKey(FeaturePacks)
		}
		if _, ok := e.pools[key]; !ok {
			key = featureKey(FeaturePacks)
		}
	}
	// The line depends on the day, not on randomness: no pick needed, and
	// consecutive rest replies the same day are identical by design.
	lines := e.pools[key][tier]
	l := lines[int(now.In(locOrUTC(loc)).YearDay())%len(lines)]
	return false, Reply{Intent: intent, Text: l.text, Mood: l.mood, Suggestions: e.suggestionsFor(intent, tier)}
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
