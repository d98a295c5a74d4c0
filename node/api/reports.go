package api

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// The usage report: the analytics export for an operator's reporting
// tools (GET /v1/admin/reports/usage, or usage.csv). Per UTC day, cluster-wide: turns,
// children who chatted, safety events by category, turns by what the
// child did (chat, joke, trick, feed, games). It is aggregate only, and
// small counts are withheld so that no row points at a child:
//
//   - a day on which fewer than reportMinCount children chatted shows no
//     counts at all (a school's quiet Sunday with two children must not
//     say that one of them raised a self-harm event);
//   - any other count from 1 to reportMinCount-1 is withheld (null in
//     JSON, "<5" in CSV), and a day's safety-event total is withheld when
//     one of its categories is, so it cannot be recovered by subtraction.
//
// Administrators only; every export is audit-logged (read_usage_report).

// reportMinCount is the smallest count a report shows (k = 5).
const reportMinCount = 5

// reportDefaultDays is the range when none is given: the last 30 days.
const reportDefaultDays = 30

type usageReport struct {
	From     string           `json:"from"` // first day, YYYY-MM-DD (UTC)
	To       string           `json:"to"`   // last day, included
	MinCount int              `json:"min_count"`
	Days     []usageReportDay `json:"days"`
}

// usageReportDay is one day; a nil count is withheld (1 to MinCount-1),
// nil maps mean the whole day is withheld.
type usageReportDay struct {
	Day              string          `json:"day"`
	Withheld         bool            `json:"withheld"` // fewer than MinCount children chatted
	Turns            *int            `json:"turns"`
	ActiveChildren   *int            `json:"active_children"`
	SafetyEvents     *int            `json:"safety_events"`
	EventsByCategory map[string]*int `json:"events_by_category"`
	TurnsByIntent    map[string]*int `json:"turns_by_intent"`
}

// withholdSmall turns the daily counts into report rows with small
// counts withheld (see above).
func withholdSmall(days []storage.DayUsage, k int) []usageReportDay {
	small := func(n int) bool { return n > 0 && n < k }
	show := func(n int) *int {
		if small(n) {
			return nil
		}
		return &n
	}
	out := make([]usageReportDay, len(days))
	for i, d := range days {
		r := usageReportDay{Day: d.Day}
		if small(d.ActiveChildren) {
			r.Withheld = true
			out[i] = r
			continue
		}
		r.Turns, r.ActiveChildren, r.SafetyEvents = show(d.Turns), show(d.ActiveChildren), show(d.SafetyEvents)
		r.EventsByCategory = make(map[string]*int, len(d.EventsByCategory))
		for c, n := range d.EventsByCategory {
			r.EventsByCategory[c] = show(n)
			if small(n) {
				r.SafetyEvents = nil
			}
		}
		r.TurnsByIntent = make(map[string]*int, len(d.TurnsByIntent))
		for in, n := range d.TurnsByIntent {
			r.TurnsByIntent[in] = show(n)
		}
		out[i] = r
	}
	return out
}

// reportRange reads from and to (YYYY-MM-DD, both included; by default the
// last reportDefaultDays days up to today) as UTC day numbers [from, to).
func reportRange(r *http.Request, now time.Time) (fromDay, toDay int64, err error) {
	day := func(name string, def int64) (int64, error) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return def, nil
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return 0, errInvalid(name + " must be a date, YYYY-MM-DD")
		}
		return t.Unix() / 86400, nil
	}
	today := now.UTC().Unix() / 86400
	last, err := day("to", today)
	if err != nil {
		return 0, 0, err
	}
	first, err := day("from", last-reportDefaultDays+1)
	if err != nil {
		return 0, 0, err
	}
	if first < 0 || first > last || last-first+1 > storage.MaxUsageDays {
		return 0, 0, errInvalid(fmt.Sprintf("from must not be after to, and a report covers at most %d days", storage.MaxUsageDays))
	}
	return first, last + 1, nil
}

// usageReport answers GET /v1/admin/reports/usage (JSON) and, with csv,
// GET /v1/admin/reports/usage.csv.
func (s *Server) usageReport(asCSV bool) authed {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
		return s.writeUsageReport(w, r, a, asCSV)
	}
}

func (s *Server) writeUsageReport(w http.ResponseWriter, r *http.Request, a storage.Actor, asCSV bool) error {
	fromDay, toDay, err := reportRange(r, s.Now())
	if err != nil {
		return err
	}
	ctx := r.Context()
	days, err := s.DB.DailyUsage(ctx, a, fromDay, toDay)
	if err != nil {
		return err
	}
	rep := usageReport{From: days[0].Day, To: days[len(days)-1].Day, MinCount: reportMinCount, Days: withholdSmall(days, reportMinCount)}
	if _, err := s.replicate(ctx, &storage.RecordAccess{Actor: string(a.Role) + ":" + a.ID, What: "usage_report",
		Target: "days:" + rep.From + ".." + rep.To, Reason: "export", Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="daisydog-usage-%s-%s.csv"`, rep.From, rep.To))
	w.WriteHeader(http.StatusOK)
	return writeUsageCSV(w, rep)
}

// writeUsageCSV writes one row per day: day, turns, active children,
// safety events, then one column per category ("events:…") and per intent
// ("turns:…") seen in the range; "<5" is a withheld count.
func writeUsageCSV(w io.Writer, rep usageReport) error {
	var cats, intents []string
	for _, d := range rep.Days {
		for c := range d.EventsByCategory {
			cats = append(cats, c)
		}
		for in := range d.TurnsByIntent {
			intents = append(intents, in)
		}
	}
	slices.Sort(cats)
	slices.Sort(intents)
	cats, intents = slices.Compact(cats), slices.Compact(intents)
	head := []string{"day", "turns", "active_children", "safety_events"}
	for _, c := range cats {
		head = append(head, "events:"+c)
	}
	for _, in := range intents {
		head = append(head, "turns:"+in)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	withheld := "<" + strconv.Itoa(rep.MinCount)
	cell := func(n *int) string {
		if n == nil {
			return withheld
		}
		return strconv.Itoa(*n)
	}
	for _, d := range rep.Days {
		row := []string{d.Day}
		if d.Withheld {
			for range len(head) - 1 {
				row = append(row, withheld)
			}
		} else {
			row = append(row, cell(d.Turns), cell(d.ActiveChildren), cell(d.SafetyEvents))
			zero := 0
			for _, c := range cats {
				n, ok := d.EventsByCategory[c]
				if !ok {
					n = &zero
				}
				row = append(row, cell(n))
			}
			for _, in := range intents {
				n, ok := d.TurnsByIntent[in]
				if !ok {
					n = &zero
				}
				row = append(row, cell(n))
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
