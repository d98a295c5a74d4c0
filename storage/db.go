package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is DaisyDog's SQLite database: one writer connection, a read pool.
type DB struct {
	path string
	cur  atomic.Pointer[pools]
	// swap is held shared by every query and exclusively by ReplaceWith, so a
	// snapshot install never pulls a connection pool from under a reader.
	swap sync.RWMutex

	in    atomic.Pointer[instr] // timeouts, slow-query log, observer (see Instrument)
	names statementNames        // SQL text → statement name for timing and the slow log
	cache *Cache                // hot reads, invalidated by ApplyBatch (see cache.go)
}

type pools struct {
	w *sql.DB // exactly one connection: the only writer
	r *sql.DB // read-only pool

	stmts map[string]*sql.Stmt // applyStatements prepared on w; read-only after open

	rmu    sync.Mutex
	rstmts map[string]*sql.Stmt // read queries prepared on r, on first use
}

// reader returns q prepared on the read pool (database/sql re-prepares it
// per connection as needed and caches it).
func (p *pools) reader(ctx context.Context, q string) (*sql.Stmt, error) {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if st, ok := p.rstmts[q]; ok {
		return st, nil
	}
	st, err := p.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if p.rstmts == nil {
		p.rstmts = make(map[string]*sql.Stmt)
	}
	p.rstmts[q] = st
	return st, nil
}

// queryRow runs a read query through a prepared statement, bounded by the
// query timeout and timed (see slowlog.go) until its Scan.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *timedRow {
	in := db.instr()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	r := &timedRow{db: db, name: db.names.name(q), start: start, done: cancel}
	p := db.cur.Load()
	st, err := p.reader(ctx, q)
	if err != nil {
		r.r = p.r.QueryRowContext(ctx, q, args...) // reports the error through Scan
		return r
	}
	r.r = st.QueryRowContext(ctx, args...)
	return r
}

// query runs a read query through a prepared statement, bounded by the
// query timeout and timed until the rows are closed.
func (db *DB) query(ctx context.Context, q string, args ...any) (*timedRows, error) {
	in := db.instr()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	p := db.cur.Load()
	st, err := p.reader(ctx, q)
	if err != nil {
		cancel()
		return nil, err
	}
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		cancel()
		in.record("read", db.names.name(q), time.Since(start))
		return nil, err
	}
	return &timedRows{Rows: rs, db: db, name: db.names.name(q), start: start, done: cancel}, nil
}

func (p *pools) close() error {
	for _, st := range p.stmts {
		st.Close()
	}
	p.rmu.Lock()
	for _, st := range p.rstmts {
		st.Close()
	}
	p.rmu.Unlock()
	return errors.Join(p.r.Close(), p.w.Close())
}

func (db *DB) wr() *sql.DB { return db.cur.Load().w }
func (db *DB) rd() *sql.DB { return db.cur.Load().r }

// walCheckpointPages is the writer's wal_autocheckpoint (see dsn).
const walCheckpointPages = 1000

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	// The Raft log is the durable record; after an OS crash the FSM replays
	// from the last applied index recorded in the database, so NORMAL is safe.
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// SQLite's default wal_autocheckpoint (1,000 pages) is kept on
		// purpose: 4,000 pages cut the apply work per batch by about 12%
		// (BenchmarkChatTurnIDOrder: hot pages are copied once per
		// checkpoint) and raised closed-loop throughput, but the longer
		// checkpoint runs inside a commit and stalls the state machine:
		// the 10,000-child open loop served 1,150-1,195 turns/s with p99
		// 0.96-1.02 s against 1,244-1,305 and 0.57-0.62 s with 1,000
		// (storage/DESIGN.md "Pages written per batch").
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages))
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and runs migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage: create dir: %w", err)
	}
	// Create the file 0600 before SQLite does: its -wal and -shm files take
	// the database file's mode.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if p == path {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("storage: create %s: %w", filepath.Base(p), err)
			}
			f.Close()
		}
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("storage: chmod: %w", err)
		}
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("storage: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", filepath.Base(path), err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open readers: %w", err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	p := &pools{w: w, r: r, stmts: make(map[string]*sql.Stmt, len(applyStatements))}
	for _, q := range applyStatements {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("storage: prepare: %w", err)
		}
		p.stmts[q] = st
	}
	db := &DB{path: path, cache: newCache()}
	db.in.Store(Instrumentation{}.resolve())
	db.cur.Store(p)
	return db, nil
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	return db.cur.Load().close()
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var one int
	return db.queryRow(ctx, "SELECT 1").Scan(&one)
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var v int
	err := db.queryRow(ctx, "SELECT COALESCE(MAX(version),0) FROM schema_migrations").Scan(&v)
	return v, err
}

// AppliedIndex returns the last Raft index whose command was applied.
func (db *DB) AppliedIndex(ctx context.Context) (uint64, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	var v int64
	err := db.wr().QueryRowContext(ctx, "SELECT v FROM meta WHERE k='applied_index'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: applied index: %w", err)
	}
	return uint64(v), nil
}

// SnapshotTo writes a consistent copy of the database to dst (a new file).
// Callers must not apply commands concurrently (the FSM guarantees this).
func (db *DB) SnapshotTo(ctx context.Context, dst string) error {
	db.swap.RLock()
	defer db.swap.RUnlock()
	if _, err := db.wr().ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("storage: snapshot: %w", err)
	}
	return nil
}

// ReplaceWith atomically replaces the database contents with the SQLite file
// at src (as produced by SnapshotTo) and reopens it. src is consumed. A file
// that is not a DaisyDog database this binary can read is refused and the
// current database stays in service; if reopening fails the old file is put back.
func (db *DB) ReplaceWith(ctx context.Context, src string) error {
	if err := checkSnapshotFile(ctx, src); err != nil {
		return err
	}
	db.swap.Lock()
	defer db.swap.Unlock()
	if err := db.cur.Load().close(); err != nil {
		return fmt.Errorf("storage: restore: close: %w", err)
	}
	backup := db.path + ".replaced"
	if err := os.Rename(db.path, backup); err != nil {
		return db.reopen(ctx, fmt.Errorf("storage: restore: %w", err))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return db.reopen(ctx, fmt.Errorf("storage: restore: %w", err))
		}
	}
	if err := os.Rename(src, db.path); err != nil {
		_ = os.Rename(backup, db.path)
		return db.reopen(ctx, fmt.Errorf("storage: restore: %w", err))
	}
	ndb, err := Open(ctx, db.path)
	if err != nil {
		_ = os.Rename(backup, db.path)
		return db.reopen(ctx, fmt.Errorf("storage: restore: %w", err))
	}
	os.Remove(backup)
	db.cache.begin(nil, true)
	db.cur.Store(ndb.cur.Load())
	db.cache.end(nil, true)
	return nil
}

// reopen puts the database at db.path back in service after a failed swap.
func (db *DB) reopen(ctx context.Context, cause error) error {
	ndb, err := Open(ctx, db.path)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("storage: reopen after failed restore: %w", err))
	}
	db.cache.begin(nil, true)
	db.cur.Store(ndb.cur.Load())
	db.cache.end(nil, true)
	return cause
}

// checkSnapshotFile verifies src is an intact DaisyDog database with a schema
// this binary knows.
func checkSnapshotFile(ctx context.Context, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if st.Size() == 0 {
		return errors.New("storage: restore: snapshot database is empty")
	}
	check, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	defer check.Close()
	var res string
	if err := check.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("storage: restore: snapshot database failed integrity check: %v %s", err, res)
	}
	var version, metaTables int
	if err := check.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(version) FROM schema_migrations),0),
		(SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='meta')`).Scan(&version, &metaTables); err != nil {
		return fmt.Errorf("storage: restore: not a DaisyDog database: %w", err)
	}
	if version < 1 || version > len(migrations) || metaTables != 1 {
		return fmt.Errorf("storage: restore: snapshot schema version %d is not one this binary can use (1..%d)", version, len(migrations))
	}
	return nil
}

// BackupTo writes a consistent copy of the database file at path to dst (a
// new file) and returns the applied index the copy holds. The node may be
// running: the copy is taken on a read-only connection of its own, in one
// read transaction (WAL readers never block the writer), so it is the
// state after some whole batch.
func BackupTo(ctx context.Context, path, dst string) (uint64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("storage: backup: %w", err)
	}
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("storage: backup: %w", err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return 0, fmt.Errorf("storage: backup: %w", err)
	}
	idx, err := fileAppliedIndex(ctx, dst)
	if err != nil {
		os.Remove(dst)
		return 0, fmt.Errorf("storage: backup: %w", err)
	}
	return idx, nil
}

// PrepareRestore readies a copy of a database (from BackupTo, or a Raft
// snapshot) to be the state of a new cluster: it checks the file as
// ReplaceWith does and sets its applied index to 0, because the new
// cluster's Raft log starts again at index 1 — an index left in place
// would make the state machine skip the new cluster's first entries as
// already applied. It returns the applied index the copy had.
func PrepareRestore(ctx context.Context, path string) (uint64, error) {
	idx, err := CheckFile(ctx, path)
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("storage: restore: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DELETE FROM meta WHERE k='applied_index'"); err != nil {
		return 0, fmt.Errorf("storage: restore: reset the applied index: %w", err)
	}
	// The alert outbox switched over at a log index of the old cluster;
	// in the new one (whose log starts again at 1) every escalation is the
	// outbox's (alert_outbox.go). A backup from before the outbox has no
	// such table.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='alert_outbox'").Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: restore: %w", err)
	}
	if n > 0 {
		if _, err := db.ExecContext(ctx, "UPDATE alert_outbox SET start_index=0"); err != nil {
			return 0, fmt.Errorf("storage: restore: reset the alert outbox: %w", err)
		}
	}
	// The restored cluster gets a CA of its own (node.Init): the old
	// cluster's CA rotations must not install the old CA on it
	// (carotation.go). A backup from before rotations has no such table.
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='ca_rotations'").Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: restore: %w", err)
	}
	if n > 0 {
		if _, err := db.ExecContext(ctx, "DELETE FROM ca_rotations"); err != nil {
			return 0, fmt.Errorf("storage: restore: forget the old cluster's CA rotations: %w", err)
		}
	}
	return idx, nil
}

// CheckFile checks a copy of a database (a backup's, opened) as a restore
// would — integrity, a DaisyDog schema this binary can use — without
// changing it, and returns the applied index it holds.
func CheckFile(ctx context.Context, path string) (uint64, error) {
	if err := checkSnapshotFile(ctx, path); err != nil {
		return 0, err
	}
	idx, err := fileAppliedIndex(ctx, path)
	if err != nil {
		return 0, fmt.Errorf("storage: check: %w", err)
	}
	return idx, nil
}

// fileAppliedIndex reads the applied index of the database file at path.
func fileAppliedIndex(ctx context.Context, path string) (uint64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v int64
	if err := db.QueryRowContext(ctx, qAppliedIndex).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the applied index: %w", err)
	}
	return uint64(v), nil
}
