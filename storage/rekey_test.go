package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// rekeyWorld writes, through the commands as a node would, every kind of
// row the cluster key protects or keys, and returns the fixture (closed)
// and the database file.
func rekeyWorld(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.signUp("fam-b", "par-b", "b@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	f.createChild("fam-b", "par-b", "ch-b", "Bo")
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.linkDevice("par-b", "ch-b", "dev-b")
	for i := range 3 {
		c := f.turnCmd("fam-a", "ch-a", "dev-a", "turn-a"+string(rune('0'+i)), "hello number "+string(rune('0'+i)))
		c.Companion = f.seal(f.deks["fam-a"], `{"hunger":`+string(rune('0'+i))+`}`, FieldCompanion, "ch-a")
		f.must(c)
	}
	// A long message lives in overflow pages, which an update frees, not
	// overwrites: the old sealed value would stay in the file's free pages.
	f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "turn-long", strings.Repeat("a long story about a dog. ", 600)))
	for i := range rekeyPage + 7 { // two pages of family B's turns
		f.must(f.turnCmd("fam-b", "ch-b", "dev-b", "turn-b"+strings.Repeat("x", i/26)+string(rune('a'+i%26)), "bo says hi"))
	}
	staffEmail, err := f.keys.SealSecret("staff-email:st_admin", []byte("boss@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	totp, err := f.keys.SealSecret("totp:st_admin", []byte("JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	f.must(&CreateStaff{StaffID: "st_admin", Role: RoleAdmin, EmailIndex: f.keys.EmailIndex("boss@example.org"), EmailSealed: staffEmail,
		PasswordHash: "$argon2id$a", Bootstrap: true, Now: baseTime})
	f.must(&StaffTOTPSecret{StaffID: "st_admin", Sealed: totp, Now: baseTime})
	f.must(&StaffLogin{StaffID: "st_admin", Step: 1, Confirm: true, RecoveryHashes: [][]byte{{1}, {2}}, SessionID: "ss_1",
		EmailIndex: f.keys.EmailIndex("boss@example.org"), Now: baseTime, ExpiresAt: baseTime + 1000})
	f.must(&StartSession{SessionID: "se_a", ParentID: "par-a", RefreshHash: f.keys.SecretIndex("refresh", "r"),
		EmailIndex: f.keys.EmailIndex("a@example.org"), Now: baseTime, ExpiresAt: baseTime + 1000})
	f.must(&PutSigningKey{Kid: "k1", PublicKey: []byte("pub"), PrivateSealed: []byte("priv"), CreatedAt: baseTime})
	for _, e := range []string{"b@example.org", "b@example.org", "nobody@example.org"} {
		f.must(&LoginFailure{EmailIndex: f.keys.EmailIndex(e), Now: baseTime})
	}
	f.must(&RateHit{Class: "login", Key: f.keys.SecretIndex("client-net", "10.0.0.1"), Period: 60000, Now: baseTime})
	// Two e-mails waiting: a consent confirmation (resealed) and an
	// address verification (its token's hash is dropped, so is it).
	for _, m := range []struct{ id, kind string }{{"ml_1", "consent_confirmation"}, {"ml_2", "verify_email"}} {
		sealed, err := f.keys.SealSecret(MailLabel(m.id), []byte("to: b@example.org; "+m.kind))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.wr().ExecContext(f.ctx, qMailInsert, m.id, "par-b", m.kind, sealed, baseTime, baseTime); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	return f, filepath.Join(f.dir, "daisydog.db")
}

func newTestKeyring(t *testing.T, b byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRekey: after Rekey every protected value opens under the new key and
// reads the same; nothing opens under the old one; what only the old key
// could use is gone; the file holds no value sealed under the old keys
// (checked by scanning its bytes for the old sealed values, which the
// same scan finds before); the audit chain verifies with the rotation as
// its last entry.
func TestRekey(t *testing.T) {
	f, path := rekeyWorld(t)
	ctx := context.Background()
	db0, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var oldSealed [][]byte // values sealed under the old keys, as stored
	for _, q := range []string{"SELECT wrapped_key FROM families", "SELECT message_sealed FROM turns WHERE id IN ('turn-a0', 'turn-long')",
		"SELECT nickname_sealed FROM children", "SELECT email_sealed FROM staff", "SELECT email_bidx FROM parents"} {
		rows, err := db0.wr().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			oldSealed = append(oldSealed, b)
		}
		rows.Close()
	}
	db0.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A value may be split across pages: look for 32-byte pieces of it.
	inFile := func(file, v []byte) bool {
		for _, at := range []int{0, len(v) / 2, len(v) - 32} {
			if at >= 0 && at+32 <= len(v) && bytes.Contains(file, v[at:at+32]) {
				return true
			}
		}
		return false
	}
	for i, b := range oldSealed {
		if !inFile(before, b) {
			t.Fatalf("control: the scan does not find stored value %d in the file before the rotation", i)
		}
	}

	to := newTestKeyring(t, 9)
	info, err := Rekey(ctx, path, f.keys, to, baseTime+5000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", info)
	want := RekeyInfo{Families: 2, Parents: 2, Children: 2, Turns: 4 + rekeyPage + 7, Companions: 1, Staff: 1, Mail: 1,
		LoginFailures: 1, DevicesRevoked: 2, StaffMFAReset: 1}
	got := info
	got.Dropped = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	for table, n := range map[string]int{"login_failures": 1, "mail_outbox": 1, "sessions": 1, "refresh_tokens": 1, "link_codes": 2,
		"rate_hits": 1, "staff_sessions": 1, "staff_recovery_codes": 2, "signing_keys": 1} {
		if info.Dropped[table] != n {
			t.Errorf("dropped %s: %d, want %d (%v)", table, info.Dropped[table], n, info.Dropped)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range oldSealed {
		if inFile(after, b) {
			t.Errorf("old value %d is still in the file after the rotation", i)
		}
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + side); err == nil {
			if b, _ := os.ReadFile(path + side); len(b) > 0 && side == "-wal" {
				t.Errorf("%s left with %d bytes", side, len(b))
			}
		}
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f.db = db
	sys := Actor{Role: RoleSystem}
	// Parents are found by the new blind index and their e-mails open with
	// the family's new data key, which the new key unwraps.
	for fam, email := range map[string]string{"fam-a": "a@example.org", "fam-b": "b@example.org"} {
		p, err := db.ParentByEmailIndex(ctx, sys, to.EmailIndex(email))
		if err != nil {
			t.Fatalf("%s by the new index: %v", email, err)
		}
		if _, err := db.ParentByEmailIndex(ctx, sys, f.keys.EmailIndex(email)); err == nil {
			t.Fatalf("%s still found by the old index", email)
		}
		var wrapped []byte
		if err := db.wr().QueryRowContext(ctx, "SELECT wrapped_key FROM families WHERE id=?", fam).Scan(&wrapped); err != nil {
			t.Fatal(err)
		}
		if _, err := f.keys.UnwrapDataKey(fam, wrapped); err == nil {
			t.Fatalf("%s: the data key still opens with the old key", fam)
		}
		dek, err := to.UnwrapDataKey(fam, wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(dek, f.deks[fam]) {
			t.Fatalf("%s kept its data key", fam)
		}
		var sealed []byte
		if err := db.wr().QueryRowContext(ctx, "SELECT email_sealed FROM parents WHERE id=?", p.ParentID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		plain, err := Unseal(dek, sealed, FieldAAD(FieldEmail, p.ParentID))
		if err != nil || string(plain) != email {
			t.Fatalf("%s: e-mail %q, %v", fam, plain, err)
		}
		f.deks[fam] = dek
	}
	row, err := db.Child(ctx, sys, "ch-a")
	if err != nil {
		t.Fatal(err)
	}
	if nick, err := Unseal(f.deks["fam-a"], row.NicknameSealed, FieldAAD(FieldNickname, "ch-a")); err != nil || string(nick) != "Rex" {
		t.Fatalf("nickname %q, %v", nick, err)
	}
	var msg, reply []byte
	if err := db.wr().QueryRowContext(ctx, "SELECT message_sealed, reply_sealed FROM turns WHERE id='turn-a2'").Scan(&msg, &reply); err != nil {
		t.Fatal(err)
	}
	if m, err := Unseal(f.deks["fam-a"], msg, FieldAAD(FieldMessage, "turn-a2")); err != nil || string(m) != "hello number 2" {
		t.Fatalf("message %q, %v", m, err)
	}
	if m, err := Unseal(f.deks["fam-a"], reply, FieldAAD(FieldReply, "turn-a2")); err != nil || string(m) != "Woof! hello number 2" {
		t.Fatalf("reply %q, %v", m, err)
	}
	if n := f.count("SELECT COUNT(*) FROM turns t JOIN children c ON c.id=t.child_id WHERE c.family_id='fam-b'"); n != rekeyPage+7 {
		t.Fatalf("family B has %d turns", n)
	}
	comp, err := db.Companion(ctx, sys, "ch-a")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Unseal(f.deks["fam-a"], comp.StateSealed, FieldAAD(FieldCompanion, "ch-a")); err != nil || string(s) != `{"hunger":2}` {
		t.Fatalf("Daisy's state %q, %v", s, err)
	}
	// Staff: found by the new index, e-mail resealed, second factor reset.
	st, err := db.StaffByEmailIndex(ctx, sys, to.EmailIndex("boss@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if st.TOTPEnabled || st.TOTPSealed != nil {
		t.Fatalf("staff second factor kept: %+v", st)
	}
	var staffEmail []byte
	if err := db.wr().QueryRowContext(ctx, "SELECT email_sealed FROM staff WHERE id='st_admin'").Scan(&staffEmail); err != nil {
		t.Fatal(err)
	}
	if e, err := to.OpenSecret("staff-email:st_admin", staffEmail); err != nil || string(e) != "boss@example.org" {
		t.Fatalf("staff e-mail %q, %v", e, err)
	}
	// The lockout counter followed the parent; the e-mail was resealed.
	if until, err := db.LockedUntilMillis(ctx, to.EmailIndex("b@example.org")); err != nil {
		t.Fatal(err)
	} else if n := f.count("SELECT failures FROM login_failures WHERE email_bidx=?", to.EmailIndex("b@example.org")); n != 2 {
		t.Fatalf("parent B's failures: %d (locked until %d)", n, until)
	}
	var mail []byte
	if err := db.wr().QueryRowContext(ctx, "SELECT sealed FROM mail_outbox WHERE id='ml_1'").Scan(&mail); err != nil {
		t.Fatal(err)
	}
	if m, err := to.OpenSecret(MailLabel("ml_1"), mail); err != nil || !strings.HasSuffix(string(m), "consent_confirmation") {
		t.Fatalf("queued e-mail %q, %v", m, err)
	}
	if n := f.count("SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL"); n != 0 {
		t.Fatalf("%d devices not revoked", n)
	}
	if n, err := db.VerifyAudit(ctx); err != nil || n == 0 {
		t.Fatalf("audit chain: %d, %v", n, err)
	}
	var action string
	if err := db.wr().QueryRowContext(ctx, "SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&action); err != nil || action != ActionClusterKeyRotated {
		t.Fatalf("last audit action %q, %v", action, err)
	}
}

// TestRekeyWithTheWrongKey changes nothing: the transaction is rolled back
// at the first value that does not open.
func TestRekeyWithTheWrongKey(t *testing.T) {
	f, path := rekeyWorld(t)
	ctx := context.Background()
	if _, err := Rekey(ctx, path, newTestKeyring(t, 7), newTestKeyring(t, 9), baseTime); err == nil ||
		!strings.Contains(err.Error(), "does not open with the old cluster key") {
		t.Fatalf("rekey with the wrong key: %v", err)
	}
	if _, err := Rekey(ctx, path, nil, f.keys, baseTime); err == nil {
		t.Fatal("rekey without a keyring")
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ParentByEmailIndex(ctx, Actor{Role: RoleSystem}, f.keys.EmailIndex("a@example.org")); err != nil {
		t.Fatalf("the old index no longer finds the parent: %v", err)
	}
	var n int
	if err := db.wr().QueryRowContext(ctx, "SELECT COUNT(*) FROM signing_keys").Scan(&n); err != nil || n != 1 {
		t.Fatalf("signing keys: %d, %v", n, err)
	}
}

// TestRekeyRefusesAValueThatDoesNotOpen: one damaged sealed value anywhere
// stops the rotation with an error naming it, and changes nothing.
func TestRekeyRefusesAValueThatDoesNotOpen(t *testing.T) {
	for _, tc := range []struct{ name, damage, want string }{
		{"a family key", "UPDATE families SET wrapped_key=x'00' WHERE id='fam-b'", "family fam-b"},
		{"a parent's e-mail", "UPDATE parents SET email_sealed=zeroblob(64) WHERE id='par-b'", "parent par-b"},
		{"a nickname", "UPDATE children SET nickname_sealed=zeroblob(64) WHERE id='ch-b'", "children.nickname:ch-b"},
		{"a turn", "UPDATE turns SET reply_sealed=zeroblob(64) WHERE id='turn-a1'", "turns.reply:turn-a1"},
		{"Daisy's state", "UPDATE companions SET state_sealed=zeroblob(64) WHERE child_id='ch-a'", "companions.state:ch-a"},
		{"a staff e-mail", "UPDATE staff SET email_sealed=zeroblob(64)", "staff st_admin"},
		{"a queued e-mail", "UPDATE mail_outbox SET sealed=zeroblob(64) WHERE id='ml_1'", "e-mail ml_1"},
		{"a turn of no family", "UPDATE children SET family_id='fam-gone' WHERE id='ch-b'", "no data key for family fam-gone"},
		{"a parent of no family", "UPDATE parents SET family_id='fam-gone' WHERE id='par-b'", "no data key for family fam-gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, path := rekeyWorld(t)
			ctx := context.Background()
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.wr().ExecContext(ctx, "PRAGMA foreign_keys=OFF; "+tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := Rekey(ctx, path, f.keys, newTestKeyring(t, 9), baseTime); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("rekey: %v, want an error mentioning %q", err, tc.want)
			}
			db, err = Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ParentByEmailIndex(ctx, Actor{Role: RoleSystem}, f.keys.EmailIndex("a@example.org")); err != nil {
				t.Fatalf("the refused rotation changed the parent's index: %v", err)
			}
		})
	}
}

// TestRekeyOfAnOlderSchema: a backup from before the staff, e-mail and
// rate tables (they are created by later migrations) rotates too.
func TestRekeyOfAnOlderSchema(t *testing.T) {
	f, path := rekeyWorld(t)
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"staff_recovery_codes", "staff_sessions", "staff_invites", "staff", "mail_outbox", "email_tokens", "rate_hits"} {
		if _, err := db.wr().ExecContext(ctx, "DROP TABLE "+table); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	info, err := Rekey(ctx, path, f.keys, newTestKeyring(t, 9), baseTime)
	if err != nil {
		t.Fatal(err)
	}
	if info.Families != 2 || info.Staff != 0 || info.Mail != 0 || info.Dropped["rate_hits"] != 0 {
		t.Fatalf("%+v", info)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Rekey(cancelled, path, f.keys, newTestKeyring(t, 9), baseTime); err == nil {
		t.Fatal("rekey with a cancelled context")
	}
}

// TestRekeyStopsAtAFailingStatement: a write that fails at any step (a
// trigger stands in for a full disk or a damaged page) fails the rotation
// with the step's name, and changes nothing.
func TestRekeyStopsAtAFailingStatement(t *testing.T) {
	for _, tc := range []struct{ on, step string }{
		{"BEFORE UPDATE ON families", "family keys"},
		{"BEFORE UPDATE ON parents", "parents"},
		{"BEFORE UPDATE ON children", "children"},
		{"BEFORE UPDATE ON turns", "turns"},
		{"BEFORE UPDATE ON companions", "Daisy's state"},
		{"BEFORE UPDATE ON staff", "staff"},
		{"BEFORE DELETE ON mail_outbox", "e-mail outbox"},
		{"BEFORE UPDATE ON mail_outbox", "e-mail outbox"},
		{"BEFORE DELETE ON login_failures", "failed logins"},
		{"BEFORE INSERT ON login_failures", "failed logins"},
		{"BEFORE DELETE ON refresh_tokens", "what only the old key can use"},
		{"BEFORE UPDATE ON devices", "what only the old key can use"},
		{"BEFORE INSERT ON audit_log", "audit log"},
	} {
		t.Run(tc.on, func(t *testing.T) {
			f, path := rekeyWorld(t)
			ctx := context.Background()
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.wr().ExecContext(ctx, "CREATE TRIGGER fail_here "+tc.on+" BEGIN SELECT RAISE(ABORT, 'injected failure'); END"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = Rekey(ctx, path, f.keys, newTestKeyring(t, 9), baseTime)
			if err == nil || !strings.Contains(err.Error(), "rekey: "+tc.step+":") || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("rekey: %v, want the %q step's injected failure", err, tc.step)
			}
			db, err = Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ParentByEmailIndex(ctx, Actor{Role: RoleSystem}, f.keys.EmailIndex("a@example.org")); err != nil {
				t.Fatalf("the failed rotation changed the parent's index: %v", err)
			}
		})
	}
}
