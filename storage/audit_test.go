package storage

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
)

func TestAuditChain(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "audit@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Zed")
	f.must(&LoginFailure{EmailIndex: f.keys.EmailIndex("audit@example.test"), Now: 5})
	f.must(&StartSession{SessionID: "se_1", ParentID: "pa_1", RefreshHash: []byte("r"), EmailIndex: []byte("x"), Now: 6, ExpiresAt: 100})
	f.must(&RevokeSessions{ParentID: "pa_1", Now: 7})
	// A refused command leaves no audit entry.
	if r := f.apply(f.signUpCmd("fa_2", "pa_2", "AUDIT@example.test"))[0]; !errors.Is(r.Err, ErrConflict) {
		t.Fatalf("duplicate sign-up: %v", r.Err)
	}

	n, err := f.db.VerifyAudit(f.ctx)
	if err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v; want 5 entries", n, err)
	}
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantActions := []string{"logout", "login", "login_failed", "create_child", "sign_up"}
	for i, e := range tail {
		if e.Action != wantActions[i] {
			t.Fatalf("entry %d action %q, want %q", i, e.Action, wantActions[i])
		}
		if strings.Contains(e.Actor+e.Target, "@") || strings.Contains(e.Actor+e.Target, "Zed") {
			t.Fatalf("personal data in the audit log: %+v", e)
		}
	}
	if _, err := f.db.AuditTail(f.ctx, Actor{Role: RoleParent, ID: "pa_1"}, 10); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a parent read the audit log: %v", err)
	}

	// Append-only: the database itself refuses edits.
	raw, err := sql.Open("sqlite", "file:"+f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE audit_log SET action='nothing' WHERE seq=2"); err == nil {
		t.Fatal("UPDATE of the audit log was allowed")
	}
	if _, err := raw.Exec("DELETE FROM audit_log WHERE seq=2"); err == nil {
		t.Fatal("DELETE from the audit log was allowed")
	}

	// Someone with file access drops the guard and edits history: verification catches it.
	tamper := []struct {
		name, sql string
		verified  int // entries verified before the damage
	}{
		{"edit an action", "UPDATE audit_log SET action='sign_up' WHERE seq=3", 2},
		{"delete an entry", "DELETE FROM audit_log WHERE seq=2", 1},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			g := newFixture(t)
			g.signUp("fa_1", "pa_1", "audit@example.test")
			g.createChild("fa_1", "pa_1", "ch_1", "Zed")
			g.must(&LoginFailure{EmailIndex: []byte("bidx"), Now: 5})
			if _, err := VerifyAuditFile(g.ctx, g.db.Path()); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			db, err := sql.Open("sqlite", "file:"+g.db.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete", tc.sql} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			n, err := VerifyAuditFile(g.ctx, g.db.Path())
			if !errors.Is(err, ErrAuditTampered) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if n != tc.verified {
				t.Fatalf("verified %d entries before the damage, want %d", n, tc.verified)
			}
		})
	}
}
