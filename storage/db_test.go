package storage

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMigrateFromEmpty(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "daisydog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path = %q, want %q", db.Path(), path)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, want %d (number of migrations)", v, len(migrations))
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	idx, err := db.AppliedIndex(ctx)
	if err != nil || idx != 0 {
		t.Fatalf("AppliedIndex on a new database = %d, %v; want 0, nil", idx, err)
	}
	var tables []string
	rows, err := db.rd().QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, want := range []string{"meta", "families", "parents", "children", "link_codes", "devices",
		"turns", "safety_events", "signing_keys", "schema_migrations"} {
		if !slices.Contains(tables, want) {
			t.Errorf("table %q missing after migration (have %v)", want, tables)
		}
	}
	var mode string
	if err := db.wr().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.wr().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("writer foreign_keys = %d, %v; want 1", fk, err)
	}
	var ckpt int
	if err := db.wr().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil || ckpt != walCheckpointPages {
		t.Errorf("writer wal_autocheckpoint = %d, %v; want %d", ckpt, err, walCheckpointPages)
	}
}

func TestMigrateReopenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "daisydog.db")
	f := &fixture{t: t, ctx: ctx}
	for i := 0; i < 3; i++ {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != len(migrations) {
			t.Fatalf("Open #%d: SchemaVersion = %d, %v", i+1, v, err)
		}
		f.db = db
		if n := f.count("SELECT COUNT(*) FROM schema_migrations"); n != len(migrations) {
			t.Fatalf("Open #%d: %d rows in schema_migrations, want %d", i+1, n, len(migrations))
		}
		if i == 0 {
			// Data written before a reopen survives it.
			if _, err := db.Apply(ctx, 1, &PutSigningKey{Kid: "k1", PublicKey: []byte("pub"), PrivateSealed: []byte("sealed"), CreatedAt: baseTime}); err != nil {
				t.Fatal(err)
			}
		}
		keys, err := db.SigningKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Kid != "k1" {
			t.Fatalf("Open #%d: SigningKeys = %+v, %v", i+1, keys, err)
		}
		if idx, _ := db.AppliedIndex(ctx); idx != 1 {
			t.Fatalf("Open #%d: AppliedIndex = %d, want 1", i+1, idx)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "daisydog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	if _, err := db.wr().ExecContext(ctx, "INSERT INTO schema_migrations(version) VALUES (?)", newer); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db2, err := Open(ctx, path)
	if err == nil {
		db2.Close()
		t.Fatal("Open accepted a database with a newer schema version")
	}
	for _, want := range []string{"newer than this binary", "schema version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The refused database is left untouched.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || v != newer {
		t.Fatalf("schema version after refused open = %d, %v; want %d", v, err, newer)
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daisydog.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not sqlite ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a file that is not a SQLite database")
	}
}

// The database holds password hashes and wrapped keys: its files (including
// the -wal and -shm SQLite creates beside it) must be private to the service
// user whatever the process umask is.
func TestOpenFilePermissions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "daisydog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := &fixture{t: t, ctx: ctx, db: db, keys: mustKeyring(t), deks: map[string][]byte{}}
	f.signUp("fam-1", "par-1", "perm@example.org") // make sure the WAL has content
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("created data dir mode = %v, want no group/other access", st.Mode().Perm())
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Errorf("stat %s: %v", filepath.Base(name), err)
			continue
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode = %v, want no group/other access (0600)", filepath.Base(name), st.Mode().Perm())
		}
	}
}

func mustKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := NewKeyring(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReadPoolIsReadOnly(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.rd().ExecContext(f.ctx, "INSERT INTO meta(k,v) VALUES('x',1)"); err == nil {
		t.Fatal("read pool accepted a write")
	}
	if n := f.count("SELECT COUNT(*) FROM meta WHERE k='x'"); n != 0 {
		t.Fatalf("write through read pool landed: %d rows", n)
	}
	if got := f.db.wr().Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("writer MaxOpenConnections = %d, want 1", got)
	}
}

func TestOpenPathWithSpaces(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "Daisy Dog data", "daisy dog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the given path: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
