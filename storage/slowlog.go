package storage

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Query time limits and the slow-query log.
const (
	// DefaultQueryTimeout bounds every read query whose context has no
	// earlier deadline: a stuck disk must not hold a request (and a pool
	// connection) forever.
	DefaultQueryTimeout = 5 * time.Second
	// DefaultSlowQuery is the slow-query log threshold.
	DefaultSlowQuery = 100 * time.Millisecond
)

// QueryObserver receives the duration of every storage call: kind is
// "read" (one read statement, name = its statement name) or "apply" (one
// whole ApplyBatch transaction, name = "apply_batch"). It must be cheap
// and safe for concurrent use.
type QueryObserver func(kind, name string, d time.Duration)

// Instrumentation configures query timing. The zero value means defaults and
// no observer.
type Instrumentation struct {
	QueryTimeout time.Duration // per read statement (0 = DefaultQueryTimeout)
	SlowQuery    time.Duration // log statements slower than this (0 = DefaultSlowQuery, <0 = off)
	Logger       *slog.Logger  // slow-query log (nil = no log)
	Observe      QueryObserver // nil = none
}

// instr is the resolved Instrumentation a DB uses.
type instr struct {
	timeout time.Duration
	slow    time.Duration
	log     *slog.Logger
	observe QueryObserver
}

func (in Instrumentation) resolve() *instr {
	r := &instr{timeout: in.QueryTimeout, slow: in.SlowQuery, log: in.Logger, observe: in.Observe}
	if r.timeout <= 0 {
		r.timeout = DefaultQueryTimeout
	}
	if r.slow == 0 {
		r.slow = DefaultSlowQuery
	}
	return r
}

// Instrument sets query timeouts, the slow-query log and the observer. Call
// it once after Open, before serving (it is not synchronised with queries
// that are already running, so later calls only affect later queries).
func (db *DB) Instrument(in Instrumentation) { db.in.Store(in.resolve()) }

func (db *DB) instr() *instr { return db.in.Load() }

// record times one storage call: the observer always, the slow-query log
// when over the threshold. Only the statement name is logged, never its
// parameters (they can be personal data).
func (in *instr) record(kind, name string, d time.Duration) {
	if in.observe != nil {
		in.observe(kind, name, d)
	}
	if in.log != nil && in.slow > 0 && d >= in.slow {
		in.log.Warn("slow query", "kind", kind, "statement", name, "ms", float64(d.Microseconds())/1000)
	}
}

// statementNames maps SQL text to a short name; filled lazily per DB.
type statementNames struct {
	mu sync.RWMutex
	m  map[string]string
}

// name is a stable, parameter-free label for q: the verb and the first table
// it reads or writes ("select children", "insert turns"). SQL text holds
// only placeholders, never values, so nothing personal can leak through it.
func (s *statementNames) name(q string) string {
	s.mu.RLock()
	n, ok := s.m[q]
	s.mu.RUnlock()
	if ok {
		return n
	}
	n = statementName(q)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]string)
	}
	s.m[q] = n
	s.mu.Unlock()
	return n
}

func statementName(q string) string {
	f := strings.Fields(strings.ToLower(q))
	if len(f) == 0 {
		return "empty"
	}
	verb := f[0]
	after := map[string]string{"select": "from", "insert": "into", "update": "update", "delete": "from"}[verb]
	if verb == "update" && len(f) > 1 {
		return "update " + clean(f[1])
	}
	for i, w := range f {
		if w == after && i+1 < len(f) && !strings.HasPrefix(f[i+1], "(") {
			name := verb + " " + clean(f[i+1])
			// Distinguish the joins of one table: "select children+devices".
			for j := i + 2; j+1 < len(f); j++ {
				if f[j] == "join" {
					name += "+" + clean(f[j+1])
				}
			}
			return name
		}
	}
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

func clean(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		w = w[:i]
	}
	return strings.Trim(w, "(),;")
}

// timedRow is a *sql.Row whose Scan releases the statement's deadline and
// records its duration (the query runs when the row is scanned).
type timedRow struct {
	r     *sql.Row
	db    *DB
	name  string
	start time.Time
	done  context.CancelFunc
}

// Scan copies the columns into dest (see sql.Row.Scan).
func (r *timedRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	r.done()
	r.db.instr().record("read", r.name, time.Since(r.start))
	return err
}

// timedRows is a *sql.Rows whose Close releases the deadline and records the
// statement's duration.
type timedRows struct {
	*sql.Rows
	db     *DB
	name   string
	start  time.Time
	done   context.CancelFunc
	closed bool
}

// Close closes the result set (see sql.Rows.Close).
func (r *timedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.done()
		r.db.instr().record("read", r.name, time.Since(r.start))
	}
	return err
}
