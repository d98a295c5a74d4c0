package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DayUsage is the service's use on one UTC day, in aggregate (charter §6:
// no identifiers): the turns stored, the children who chatted, and the
// safety events, also counted by category (an event with two categories
// counts under both; an event without one, a policy failure, only in
// SafetyEvents), and the turns by what the child did (chat, joke, trick,
// feed, a game…: the turn's intent).
type DayUsage struct {
	Day              string         `json:"day"` // YYYY-MM-DD
	Turns            int            `json:"turns"`
	ActiveChildren   int            `json:"active_children"`
	SafetyEvents     int            `json:"safety_events"`
	EventsByCategory map[string]int `json:"events_by_category"`
	TurnsByIntent    map[string]int `json:"turns_by_intent"`
}

// MaxUsageDays bounds one DailyUsage call.
const MaxUsageDays = 366

const (
	dayMillis = int64(24 * time.Hour / time.Millisecond)
	// Both read a range of the created_at index (turns_created,
	// safety_events_created), never the whole table.
	qDailyTurns   = "SELECT created_at / 86400000, COUNT(*), COUNT(DISTINCT child_id) FROM turns WHERE created_at >= ? AND created_at < ? GROUP BY 1"
	qDailyEvents  = "SELECT created_at / 86400000, categories, COUNT(*) FROM safety_events WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2"
	qDailyIntents = "SELECT created_at / 86400000, intent, COUNT(*) FROM turns WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2"
)

// DailyUsage counts the UTC days [fromDay, toDay), each a number of days
// since the Unix epoch: one entry per day, oldest first, days without
// use included (zeros). Moderators and administrators only; it reads no
// personal data.
func (db *DB) DailyUsage(ctx context.Context, actor Actor, fromDay, toDay int64) ([]DayUsage, error) {
	if actor.Role != RoleModerator && actor.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	if fromDay < 0 || toDay <= fromDay || toDay-fromDay > MaxUsageDays {
		return nil, fmt.Errorf("storage: daily usage: days [%d, %d) is not a range of 1 to %d days", fromDay, toDay, MaxUsageDays)
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	wrap := func(err error) error { return fmt.Errorf("storage: daily usage: %w", err) }
	days := make([]DayUsage, toDay-fromDay)
	for i := range days {
		days[i] = DayUsage{Day: time.UnixMilli((fromDay + int64(i)) * dayMillis).UTC().Format(time.DateOnly), EventsByCategory: map[string]int{}, TurnsByIntent: map[string]int{}}
	}
	at := func(d int64) *DayUsage {
		if d < fromDay || d >= toDay {
			return nil
		}
		return &days[d-fromDay]
	}
	from, to := fromDay*dayMillis, toDay*dayMillis
	rows, err := db.query(ctx, qDailyTurns, from, to)
	if err != nil {
		return nil, wrap(err)
	}
	for rows.Next() {
		var d int64
		var turns, children int
		if err := rows.Scan(&d, &turns, &children); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		if u := at(d); u != nil {
			u.Turns, u.ActiveChildren = turns, children
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	rows, err = db.query(ctx, qDailyIntents, from, to)
	if err != nil {
		return nil, wrap(err)
	}
	for rows.Next() {
		var d int64
		var intent string
		var n int
		if err := rows.Scan(&d, &intent, &n); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		if u := at(d); u != nil {
			u.TurnsByIntent[intent] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	rows, err = db.query(ctx, qDailyEvents, from, to)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d int64
		var cats string
		var n int
		if err := rows.Scan(&d, &cats, &n); err != nil {
			return nil, wrap(err)
		}
		u := at(d)
		if u == nil {
			continue
		}
		u.SafetyEvents += n
		for _, c := range strings.Split(cats, ",") {
			if c = strings.TrimSpace(c); c != "" {
				u.EventsByCategory[c] += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return days, nil
}
