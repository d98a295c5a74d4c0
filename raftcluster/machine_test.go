package raftcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	_ "modernc.org/sqlite"
)

// sqlMachine is a small but honest StateMachine over a real SQLite file: each
// batch is one transaction that also records the applied index, replays of
// applied indexes are skipped, snapshots are VACUUM INTO copies and restore
// swaps the file.
type sqlMachine struct {
	path string
	// pragmas replace the default durability settings (rollback journal,
	// synchronous FULL) when set, e.g. the production storage's WAL and
	// synchronous NORMAL (BenchmarkReplicatedInsert).
	pragmas string

	mu sync.Mutex
	db *sql.DB

	replaced atomic.Int32 // ReplaceWith calls
	// fail, when set, is consulted before each batch; a non-nil error makes
	// ApplyBatch fail without writing anything.
	fail atomic.Pointer[func([]Entry) error]
}

func newSQLMachine(t testing.TB, path string) *sqlMachine {
	return newSQLMachineWith(t, path, "")
}

func newSQLMachineWith(t testing.TB, path, pragmas string) *sqlMachine {
	t.Helper()
	m := &sqlMachine{path: path, pragmas: pragmas}
	if err := m.open(); err != nil {
		t.Fatalf("open state machine: %v", err)
	}
	t.Cleanup(func() { m.close() })
	return m
}

func (m *sqlMachine) open() error {
	pragmas := m.pragmas
	if pragmas == "" {
		pragmas = "_pragma=synchronous(FULL)"
	}
	db, err := sql.Open("sqlite", "file:"+m.path+"?_pragma=busy_timeout(5000)&"+pragmas)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS meta (k INTEGER PRIMARY KEY CHECK (k = 0), applied INTEGER NOT NULL)`,
		`INSERT OR IGNORE INTO meta VALUES (0, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return err
		}
	}
	m.db = db
	return nil
}

func (m *sqlMachine) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
}

func (m *sqlMachine) ApplyBatch(ctx context.Context, entries []Entry) ([]Response, error) {
	if f := m.fail.Load(); f != nil {
		if err := (*f)(entries); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return nil, errors.New("state machine closed")
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var applied uint64
	if err := tx.QueryRowContext(ctx, `SELECT applied FROM meta`).Scan(&applied); err != nil {
		return nil, err
	}
	out := make([]Response, len(entries))
	for i, e := range entries {
		if e.Index <= applied {
			out[i] = Response{Code: "replayed"}
			continue
		}
		applied = e.Index
		if e.Data == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO entries (idx, data) VALUES (?, ?)`, e.Index, e.Data); err != nil {
			return nil, err
		}
		out[i] = Response{Data: append([]byte("ok:"), e.Data...)}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET applied = ?`, applied); err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

func (m *sqlMachine) AppliedIndex(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return 0, errors.New("state machine closed")
	}
	var applied uint64
	err := m.db.QueryRowContext(ctx, `SELECT applied FROM meta`).Scan(&applied)
	return applied, err
}

func (m *sqlMachine) SnapshotTo(ctx context.Context, path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.db.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

func (m *sqlMachine) ReplaceWith(ctx context.Context, path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	check, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	var ok string
	err = check.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok)
	check.Close()
	if err != nil || ok != "ok" {
		return fmt.Errorf("snapshot is not a sound database: %v %s", err, ok)
	}
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
	if err := os.Rename(path, m.path); err != nil {
		return err
	}
	os.Remove(m.path + "-journal")
	m.replaced.Add(1)
	return m.open()
}

// get returns the command stored at idx ("" if none).
func (m *sqlMachine) get(idx uint64) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s string
	if m.db != nil {
		_ = m.db.QueryRow(`SELECT data FROM entries WHERE idx = ?`, idx).Scan(&s)
	}
	return s
}

// count returns how many stored commands equal data.
func (m *sqlMachine) count(data string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int
	if m.db != nil {
		_ = m.db.QueryRow(`SELECT count(*) FROM entries WHERE data = ?`, []byte(data)).Scan(&n)
	}
	return n
}

func (m *sqlMachine) applied() uint64 {
	n, _ := m.AppliedIndex(context.Background())
	return n
}
