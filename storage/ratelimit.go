package storage

import (
	"context"
	"errors"
	"fmt"
)

// RateHit counts one event of a rate class (e.g. "signup", "login_failed")
// for a key (a keyed hash of the client's network, never a raw IP) in the
// fixed window of length Period containing Now. Counting is replicated, so
// every node sees the same counts: attempts spread over the cluster count
// together.
//
// With Limit > 0 the hit is only counted while the sliding-window estimate
// (see RateAllows) is under Limit; otherwise nothing changes and the result
// says how long to wait. Limit 0 always counts (recording a failure that
// already happened). Every hit prunes the rows whose windows can no longer
// matter, so the table holds at most two windows per active key.
type RateHit struct {
	Class  string `json:"class"`
	Key    []byte `json:"key"`
	Period int64  `json:"period"` // milliseconds
	Limit  int64  `json:"limit,omitempty"`
	Now    int64  `json:"at"`
}

func (RateHit) Kind() string { return KindRateHit }
func (RateHit) Version() int { return 1 }

// RateResult is RateHit's result.
type RateResult struct {
	Allowed          bool
	RetryAfterMillis int64
}

// RateWindow is the replicated count for one class and key around a moment.
type RateWindow struct {
	Current  int64 // hits in the window containing now
	Previous int64 // hits in the window before
	Elapsed  int64 // milliseconds since the current window started
	Period   int64
}

// Allows reports whether one more hit fits under limit, estimating the rate
// over the last Period as Current + Previous × (share of the previous window
// still inside it) — a sliding window without per-hit rows. Integer maths
// only: every replica decides the same. When refused, wait is how long until
// a hit would fit (if nothing else arrives).
func (w RateWindow) Allows(limit int64) (ok bool, waitMillis int64) {
	p, e := w.Period, w.Elapsed
	if limit <= 0 || p <= 0 {
		return true, 0
	}
	if w.Current*p+w.Previous*(p-e) < limit*p {
		return true, 0
	}
	// Still in this window: the previous window's share shrinks with time.
	if w.Current < limit && w.Previous > 0 {
		t := (w.Current*p+w.Previous*(p-e)-limit*p)/w.Previous + 1
		if e+t < p {
			return false, t
		}
	}
	// In the next window this one becomes "previous": Current × (p − e′) < limit × p.
	var next int64
	if w.Current >= limit {
		next = p - limit*p/w.Current + 1
	}
	return false, p - e + next
}

const (
	qPruneRateHits = "DELETE FROM rate_hits WHERE expires_at <= ?"
	qRateHits      = "SELECT window_start, hits FROM rate_hits WHERE class=? AND key=? AND window_start IN (?,?)"
	qBumpRateHit   = `INSERT INTO rate_hits(class, key, window_start, hits, expires_at) VALUES (?,?,?,1,?)
		ON CONFLICT(class, key, window_start) DO UPDATE SET hits = hits + 1`
)

func windowOf(now, period int64) (start, elapsed int64) {
	elapsed = now % period
	return now - elapsed, elapsed
}

func readRateWindow(scan func(q string, args ...any) (rowIter, error), class string, key []byte, period, now int64) (RateWindow, error) {
	start, elapsed := windowOf(now, period)
	w := RateWindow{Elapsed: elapsed, Period: period}
	rows, err := scan(qRateHits, class, key, start, start-period)
	if err != nil {
		return w, err
	}
	defer rows.Close()
	for rows.Next() {
		var ws, hits int64
		if err := rows.Scan(&ws, &hits); err != nil {
			return w, err
		}
		if ws == start {
			w.Current = hits
		} else {
			w.Previous = hits
		}
	}
	return w, rows.Err()
}

func applyRateHit(a *txApplier, c *RateHit) (any, error) {
	if c.Class == "" || len(c.Key) == 0 || c.Period <= 0 || c.Limit < 0 {
		return nil, outcome(errors.New("storage: malformed rate hit"))
	}
	if _, err := a.exec(qPruneRateHits, c.Now); err != nil {
		return nil, err
	}
	w, err := readRateWindow(func(q string, args ...any) (rowIter, error) {
		return a.tx.QueryContext(a.ctx, q, args...)
	}, c.Class, c.Key, c.Period, c.Now)
	if err != nil {
		return nil, err
	}
	if ok, wait := w.Allows(c.Limit); !ok {
		return RateResult{RetryAfterMillis: wait}, nil
	}
	start, _ := windowOf(c.Now, c.Period)
	// A window matters while it is the current or the previous one.
	if _, err := a.exec(qBumpRateHit, c.Class, c.Key, start, start+2*c.Period); err != nil {
		return nil, err
	}
	return RateResult{Allowed: true}, nil
}

// RateCount reads the replicated count for class and key at now (a local
// read: SyncRead first to include hits recorded through other nodes).
// Counters hold only keyed hashes, no personal data, so no actor applies.
func (db *DB) RateCount(ctx context.Context, class string, key []byte, period, now int64) (RateWindow, error) {
	if period <= 0 {
		return RateWindow{}, fmt.Errorf("storage: rate period must be positive")
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	w, err := readRateWindow(func(q string, args ...any) (rowIter, error) { return db.query(ctx, q, args...) }, class, key, period, now)
	if err != nil {
		return w, fmt.Errorf("storage: rate count: %w", err)
	}
	return w, nil
}

// rowIter is what readRateWindow needs of a result set (*sql.Rows or the
// timed rows of a read).
type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}
