package storage

import (
	"testing"
)

func TestEmailVerificationTokens(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.signUp("fa_2", "pa_2", "two@example.test")
	h := func(s string) []byte { return f.keys.SecretIndex("email-token", s) }
	verified := func(id string) int64 {
		p, err := f.db.Parent(f.ctx, Actor{Role: RoleParent, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return p.EmailVerifiedAt
	}
	issue := func(parent, tok string, now int64) EmailTokenIssued {
		t.Helper()
		return f.must(&IssueEmailToken{ParentID: parent, Purpose: PurposeVerifyEmail, TokenHash: h(tok), Now: now, ExpiresAt: now + 1000}).(EmailTokenIssued)
	}
	if r := issue("pa_1", "v1", 100); !r.Issued || r.ParentID != "pa_1" || r.FamilyID != "fa_1" {
		t.Fatalf("issue: %+v", r)
	}
	issue("pa_1", "v2", 200) // voids v1
	issue("pa_2", "w1", 200)

	tests := []struct {
		name    string
		tok     string
		now     int64
		wantErr error
		status  string
		parent  string
	}{
		{"replaced token is unknown", "v1", 300, ErrNotFound, "", ""},
		{"never issued", "nope", 300, ErrNotFound, "", ""},
		{"expired", "w1", 1200, nil, TokenExpired, "pa_2"},
		{"live token verifies", "v2", 300, nil, TokenOK, "pa_1"},
		{"second use refused", "v2", 301, nil, TokenUsed, "pa_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.apply(&VerifyEmail{TokenHash: h(tc.tok), Now: tc.now})[0]
			wantErr(t, r.Err, tc.wantErr)
			if tc.wantErr != nil {
				return
			}
			if res := r.Value.(EmailTokenResult); res.Status != tc.status || res.ParentID != tc.parent {
				t.Fatalf("result %+v", res)
			}
		})
	}
	if verified("pa_1") != 300 || verified("pa_2") != 0 {
		t.Fatalf("verified at: %d, %d", verified("pa_1"), verified("pa_2"))
	}
	// A verified parent gets no new verification token.
	if r := issue("pa_1", "v3", 400); r.Issued || !r.AlreadyVerified {
		t.Fatalf("issue to verified: %+v", r)
	}
	// A reset token is not a verification token and vice versa.
	f.must(&IssueEmailToken{EmailIndex: f.keys.EmailIndex("two@example.test"), Purpose: PurposePasswordReset, TokenHash: h("r1"), Now: 500, ExpiresAt: 2000})
	wantErr(t, f.apply(&VerifyEmail{TokenHash: h("r1"), Now: 600})[0].Err, ErrNotFound)
	wantErr(t, f.apply(&ResetPassword{TokenHash: h("v2"), PasswordHash: "$argon2id$x", Now: 600})[0].Err, ErrNotFound)
}

func TestPasswordReset(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.signUp("fa_2", "pa_2", "two@example.test")
	h := func(s string) []byte { return f.keys.SecretIndex("email-token", s) }
	bidx := f.keys.EmailIndex("one@example.test")
	for i, s := range []struct{ id, parent string }{{"se_a", "pa_1"}, {"se_b", "pa_1"}, {"se_c", "pa_2"}} {
		f.must(&StartSession{SessionID: s.id, ParentID: s.parent, RefreshHash: []byte{byte(i)}, EmailIndex: []byte("x"), Now: 1, ExpiresAt: 1e9})
	}
	for i := 0; i < LockoutFreeFailures+1; i++ {
		f.must(&LoginFailure{EmailIndex: bidx, Now: 10})
	}
	if until, _ := f.db.LockedUntilMillis(f.ctx, bidx); until == 0 {
		t.Fatal("not locked before the reset")
	}

	// An unknown address: the same command, nothing issued, nothing stored.
	r := f.must(&IssueEmailToken{EmailIndex: f.keys.EmailIndex("nobody@example.test"), Purpose: PurposePasswordReset, TokenHash: h("x"), Now: 100, ExpiresAt: 1900}).(EmailTokenIssued)
	if r.Issued || r.ParentID != "" {
		t.Fatalf("unknown address: %+v", r)
	}
	if n := f.count("SELECT COUNT(*) FROM email_tokens"); n != 0 {
		t.Fatalf("%d tokens stored for an unknown address", n)
	}
	r = f.must(&IssueEmailToken{EmailIndex: bidx, Purpose: PurposePasswordReset, TokenHash: h("r1"), Now: 100, ExpiresAt: 1900}).(EmailTokenIssued)
	if !r.Issued || r.ParentID != "pa_1" {
		t.Fatalf("issue: %+v", r)
	}
	info, err := f.db.EmailToken(f.ctx, Actor{Role: RoleSystem}, h("r1"), PurposePasswordReset, 200)
	if err != nil || info.ParentID != "pa_1" || info.FamilyID != "fa_1" || info.Status != TokenOK || len(info.EmailSealed) == 0 {
		t.Fatalf("EmailToken: %+v %v", info, err)
	}
	if _, err := f.db.EmailToken(f.ctx, Actor{Role: RoleParent, ID: "pa_1"}, h("r1"), PurposePasswordReset, 200); err != ErrForbidden {
		t.Fatalf("parent actor: %v", err)
	}

	res := f.must(&ResetPassword{TokenHash: h("r1"), PasswordHash: "$argon2id$new", Now: 300}).(EmailTokenResult)
	if res.Status != TokenOK || res.ParentID != "pa_1" {
		t.Fatalf("reset: %+v", res)
	}
	var pw string
	if err := f.db.rd().QueryRow("SELECT password_hash FROM parents WHERE id='pa_1'").Scan(&pw); err != nil || pw != "$argon2id$new" {
		t.Fatalf("password hash %q %v", pw, err)
	}
	for _, s := range []struct {
		parent, id string
		active     bool
	}{{"pa_1", "se_a", false}, {"pa_1", "se_b", false}, {"pa_2", "se_c", true}} {
		if ok, _ := f.db.SessionActive(f.ctx, s.parent, s.id); ok != s.active {
			t.Fatalf("session %s active=%v, want %v", s.id, ok, s.active)
		}
	}
	if until, _ := f.db.LockedUntilMillis(f.ctx, bidx); until != 0 {
		t.Fatal("lockout not cleared by the reset")
	}
	if p, _ := f.db.Parent(f.ctx, Actor{Role: RoleParent, ID: "pa_1"}); p.EmailVerifiedAt != 300 {
		t.Fatalf("reset did not verify the address: %+v", p)
	}
	// Spent: a second use changes nothing.
	res = f.must(&ResetPassword{TokenHash: h("r1"), PasswordHash: "$argon2id$again", Now: 400}).(EmailTokenResult)
	if res.Status != TokenUsed {
		t.Fatalf("second use: %+v", res)
	}
	f.db.rd().QueryRow("SELECT password_hash FROM parents WHERE id='pa_1'").Scan(&pw)
	if pw != "$argon2id$new" {
		t.Fatal("a spent token changed the password")
	}
	// Expired.
	f.must(&IssueEmailToken{EmailIndex: bidx, Purpose: PurposePasswordReset, TokenHash: h("r2"), Now: 500, ExpiresAt: 600})
	if res := f.must(&ResetPassword{TokenHash: h("r2"), PasswordHash: "$argon2id$late", Now: 600}).(EmailTokenResult); res.Status != TokenExpired {
		t.Fatalf("expired: %+v", res)
	}
	// Audited: request and reset, not the refusals.
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 20)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range tail {
		got[e.Action]++
	}
	if got["password_reset_requested"] != 2 || got["password_reset_sessions_revoked"] != 1 {
		t.Fatalf("audit actions %v", got)
	}
	if _, err := f.db.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
	// Old rows are pruned by later issues.
	f.must(&IssueEmailToken{ParentID: "pa_2", Purpose: PurposeVerifyEmail, TokenHash: h("v9"), Now: 1900 + emailTokenRetentionMillis, ExpiresAt: 1e12})
	if n := f.count("SELECT COUNT(*) FROM email_tokens"); n != 1 {
		t.Fatalf("%d token rows after pruning, want 1", n)
	}
}

// AlertRecipients: only a child actor, only its own family's parents, only
// verified addresses.
func TestAlertRecipients(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.signUp("fa_2", "pa_2", "two@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Juniper")
	f.createChild("fa_2", "pa_2", "ch_2", "Rowan")
	h := func(s string) []byte { return f.keys.SecretIndex("email-token", s) }
	for _, p := range []string{"pa_1", "pa_2"} {
		f.must(&IssueEmailToken{ParentID: p, Purpose: PurposeVerifyEmail, TokenHash: h("v-" + p), Now: 100, ExpiresAt: 1000})
	}
	f.must(&VerifyEmail{TokenHash: h("v-pa_1"), Now: 200}) // pa_2 stays unverified

	got, err := f.db.AlertRecipients(f.ctx, Actor{Role: RoleChild, ID: "ch_1", FamilyID: "fa_1"})
	if err != nil || len(got) != 1 || got[0].ParentID != "pa_1" {
		t.Fatalf("ch_1: %+v %v", got, err)
	}
	if email, err := Unseal(f.deks["fa_1"], got[0].EmailSealed, FieldAAD(FieldEmail, "pa_1")); err != nil || string(email) != "one@example.test" {
		t.Fatalf("sealed address opens to %q, %v", email, err)
	}
	if got, err := f.db.AlertRecipients(f.ctx, Actor{Role: RoleChild, ID: "ch_2", FamilyID: "fa_2"}); err != nil || len(got) != 0 {
		t.Fatalf("ch_2 (unverified parent): %+v %v", got, err)
	}
	for _, a := range []Actor{{Role: RoleParent, ID: "pa_1"}, {Role: RoleSystem}, {Role: RoleAdmin, ID: "ad_1"}, {Role: RoleChild}} {
		if _, err := f.db.AlertRecipients(f.ctx, a); err != ErrForbidden {
			t.Errorf("%+v: %v, want ErrForbidden", a, err)
		}
	}
}
