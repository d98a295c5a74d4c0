package storage

import (
	"errors"
	"reflect"
	"testing"
)

// staffFixture bootstraps an administrator "st_admin" (e-mail index "admin").
func staffFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.must(&CreateStaff{StaffID: "st_admin", Role: RoleAdmin, EmailIndex: []byte("admin"), EmailSealed: []byte("sealed"),
		PasswordHash: "$argon2id$a", Bootstrap: true, Now: baseTime})
	return f
}

func TestStaffCommandsRoundTrip(t *testing.T) {
	cmds := []Command{
		&CreateStaff{StaffID: "st_1", Role: RoleModerator, EmailIndex: []byte{1}, EmailSealed: []byte{2}, PasswordHash: "h",
			InviteHash: []byte{3}, Now: baseTime},
		&StaffTOTPSecret{StaffID: "st_1", Sealed: []byte{4}, Now: baseTime},
		&StaffLogin{StaffID: "st_1", Step: 7, RecoveryHash: []byte{5}, Confirm: true, RecoveryHashes: [][]byte{{6}, {7}},
			SessionID: "ss_1", EmailIndex: []byte{1}, Now: baseTime, ExpiresAt: baseTime + 1},
		&RevokeStaffSessions{StaffID: "st_1", SessionID: "ss_1", Now: baseTime},
		&CreateStaffInvite{AdminID: "st_admin", Role: RoleAdmin, Hash: []byte{8}, Now: baseTime, ExpiresAt: baseTime + 1},
		&RecordAccess{Actor: "moderator:st_1", What: "flagged_excerpts", Target: "events:ev_1", Reason: "review", Now: baseTime},
		&DeleteChild{ParentID: "pa_1", ChildID: "ch_1", Now: baseTime},
		&DeleteFamily{ParentID: "pa_1", FamilyID: "fa_1", Now: baseTime},
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		t.Run(c.Kind(), func(t *testing.T) {
			if seen[c.Kind()] {
				t.Fatalf("duplicate kind %q", c.Kind())
			}
			seen[c.Kind()] = true
			if c.Version() != 1 {
				t.Fatalf("version %d, want 1", c.Version())
			}
			data, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, c)
			}
		})
	}
	if newStaffCommand("no_such_kind") != nil || newPrivacyCommand("no_such_kind") != nil {
		t.Fatal("an unknown kind decoded to a command")
	}
}

func TestCreateStaff(t *testing.T) {
	mod := func(mut func(c *CreateStaff)) *CreateStaff {
		c := &CreateStaff{StaffID: "st_new", Role: RoleModerator, EmailIndex: []byte("new"), EmailSealed: []byte("s"),
			PasswordHash: "h", InviteHash: []byte("inv-mod"), Now: baseTime + 10}
		if mut != nil {
			mut(c)
		}
		return c
	}
	tests := []struct {
		name    string
		cmd     *CreateStaff
		want    error // nil: created
		anyErr  bool  // an error that is neither ErrConflict nor ErrNotFound
		invited string
	}{
		{name: "invited moderator", cmd: mod(nil), invited: "st_admin"},
		{name: "second bootstrap", cmd: mod(func(c *CreateStaff) { c.Bootstrap, c.Role, c.InviteHash = true, RoleAdmin, nil }), want: ErrConflict},
		{name: "unknown role", cmd: mod(func(c *CreateStaff) { c.Role = "owner" }), anyErr: true},
		{name: "no invitation", cmd: mod(func(c *CreateStaff) { c.InviteHash = []byte("nope") }), want: ErrNotFound},
		{name: "invitation for another role", cmd: mod(func(c *CreateStaff) { c.Role = RoleAdmin }), want: ErrNotFound},
		{name: "expired invitation", cmd: mod(func(c *CreateStaff) { c.Now = baseTime + 100 }), want: ErrNotFound},
		{name: "e-mail already staff", cmd: mod(func(c *CreateStaff) { c.EmailIndex = []byte("admin") }), want: ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := staffFixture(t)
			f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("inv-mod"), Now: baseTime, ExpiresAt: baseTime + 100})
			before := f.count("SELECT COUNT(*) FROM staff")
			r := f.apply(tc.cmd)[0]
			switch {
			case tc.anyErr:
				if r.Err == nil || errors.Is(r.Err, ErrConflict) || errors.Is(r.Err, ErrNotFound) {
					t.Fatalf("err = %v, want a validation error", r.Err)
				}
			default:
				wantErr(t, r.Err, tc.want)
			}
			after := f.count("SELECT COUNT(*) FROM staff")
			if r.Err != nil {
				if after != before {
					t.Fatalf("refused creation changed the staff count %d -> %d", before, after)
				}
				// A refusal must not consume the invitation.
				if n := f.count("SELECT COUNT(*) FROM staff_invites WHERE used_at IS NULL"); n != 1 {
					t.Fatalf("unused invitations after refusal = %d, want 1", n)
				}
				return
			}
			s, err := f.db.StaffByID(f.ctx, Actor{Role: RoleSystem}, tc.cmd.StaffID)
			if err != nil {
				t.Fatal(err)
			}
			if s.Role != tc.cmd.Role || s.PasswordHash != tc.cmd.PasswordHash || s.TOTPEnabled || s.TOTPSealed != nil {
				t.Fatalf("created staff = %+v", s)
			}
			list, err := f.db.StaffList(f.ctx, Actor{Role: RoleAdmin, ID: "st_admin"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[1].ID != tc.cmd.StaffID || list[1].InvitedBy != tc.invited || list[0].InvitedBy != "bootstrap" {
				t.Fatalf("StaffList = %+v", list)
			}
			// The invitation is single-use.
			again := *tc.cmd
			again.StaffID, again.EmailIndex = "st_other", []byte("other")
			if r := f.apply(&again)[0]; !errors.Is(r.Err, ErrNotFound) {
				t.Fatalf("second use of the invitation: %v", r.Err)
			}
		})
	}
}

func TestBootstrapOnlyAdmin(t *testing.T) {
	f := newFixture(t)
	r := f.apply(&CreateStaff{StaffID: "st_m", Role: RoleModerator, EmailIndex: []byte("m"), EmailSealed: []byte("s"),
		PasswordHash: "h", Bootstrap: true, Now: baseTime})[0]
	wantErr(t, r.Err, ErrConflict)
	if n := f.count("SELECT COUNT(*) FROM staff"); n != 0 {
		t.Fatalf("staff rows = %d after a refused moderator bootstrap", n)
	}
}

func TestCreateStaffInviteNeedsAdmin(t *testing.T) {
	f := staffFixture(t)
	f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("i1"), Now: baseTime, ExpiresAt: baseTime + 100})
	f.must(&CreateStaff{StaffID: "st_mod", Role: RoleModerator, EmailIndex: []byte("mod"), EmailSealed: []byte("s"),
		PasswordHash: "h", InviteHash: []byte("i1"), Now: baseTime + 1})
	for _, admin := range []string{"st_mod", "st_nobody"} {
		r := f.apply(&CreateStaffInvite{AdminID: admin, Role: RoleAdmin, Hash: []byte("i-" + admin), Now: baseTime, ExpiresAt: baseTime + 100})[0]
		wantErr(t, r.Err, ErrNotFound)
	}
	if n := f.count("SELECT COUNT(*) FROM staff_invites"); n != 1 {
		t.Fatalf("invites = %d, want 1", n)
	}
}

func TestStaffLoginFlow(t *testing.T) {
	f := staffFixture(t)
	sys := Actor{Role: RoleSystem}
	login := func(mut func(c *StaffLogin)) StaffLoginResult {
		t.Helper()
		c := &StaffLogin{StaffID: "st_admin", SessionID: "ss_" + string(rune('a'+f.idx)), EmailIndex: []byte("admin"),
			Now: baseTime, ExpiresAt: baseTime + 1000}
		mut(c)
		r := f.apply(c)[0]
		if r.Err != nil {
			t.Fatalf("StaffLogin: %v", r.Err)
		}
		res, ok := r.Value.(StaffLoginResult)
		if !ok {
			t.Fatalf("value %T, want StaffLoginResult", r.Value)
		}
		return res
	}
	steps := []struct {
		name    string
		mut     func(c *StaffLogin)
		refused string
	}{
		{"unknown account", func(c *StaffLogin) { c.StaffID = "st_ghost"; c.Step = 1 }, "no_account"},
		{"no secret yet", func(c *StaffLogin) { c.Step = 1; c.Confirm = true }, "not_enrolled"},
	}
	for _, s := range steps {
		if got := login(s.mut); got.Refused != s.refused {
			t.Fatalf("%s: refused %q, want %q", s.name, got.Refused, s.refused)
		}
	}

	f.must(&StaffTOTPSecret{StaffID: "st_admin", Sealed: []byte("secret-1"), Now: baseTime})
	// Re-sending a secret before confirmation replaces it.
	f.must(&StaffTOTPSecret{StaffID: "st_admin", Sealed: []byte("secret-2"), Now: baseTime})
	if s, err := f.db.StaffByEmailIndex(f.ctx, sys, []byte("admin")); err != nil || string(s.TOTPSealed) != "secret-2" || s.TOTPEnabled {
		t.Fatalf("after enrolment start: %+v, %v", s, err)
	}

	steps = []struct {
		name    string
		mut     func(c *StaffLogin)
		refused string
	}{
		{"code without confirming", func(c *StaffLogin) { c.Step = 10 }, "not_enrolled"},
		{"recovery code before enrolment", func(c *StaffLogin) { c.RecoveryHash = []byte("rc1") }, "not_enrolled"},
		{"confirm", func(c *StaffLogin) {
			c.Step, c.Confirm, c.RecoveryHashes = 10, true, [][]byte{[]byte("rc1"), []byte("rc2")}
		}, ""},
		{"same step again", func(c *StaffLogin) { c.Step = 10 }, "replayed"},
		{"older step", func(c *StaffLogin) { c.Step = 9 }, "replayed"},
		{"next step", func(c *StaffLogin) { c.Step = 11 }, ""},
		{"recovery code", func(c *StaffLogin) { c.RecoveryHash = []byte("rc1") }, ""},
		{"recovery code reused", func(c *StaffLogin) { c.RecoveryHash = []byte("rc1") }, "bad_recovery_code"},
		{"unknown recovery code", func(c *StaffLogin) { c.RecoveryHash = []byte("rc9") }, "bad_recovery_code"},
	}
	for _, s := range steps {
		sessions := f.count("SELECT COUNT(*) FROM staff_sessions")
		got := login(s.mut)
		if got.Refused != s.refused {
			t.Fatalf("%s: refused %q, want %q", s.name, got.Refused, s.refused)
		}
		grew := f.count("SELECT COUNT(*) FROM staff_sessions") - sessions
		if (s.refused == "" && grew != 1) || (s.refused != "" && grew != 0) {
			t.Fatalf("%s: sessions grew by %d", s.name, grew)
		}
	}
	if n := f.count("SELECT COUNT(*) FROM staff_recovery_codes WHERE staff_id='st_admin' AND used_at IS NULL"); n != 1 {
		t.Fatalf("unused recovery codes = %d, want 1", n)
	}
	// Once enabled, the secret cannot be replaced by a password holder.
	wantErr(t, f.apply(&StaffTOTPSecret{StaffID: "st_admin", Sealed: []byte("evil"), Now: baseTime})[0].Err, ErrConflict)
	wantErr(t, f.apply(&StaffTOTPSecret{StaffID: "st_ghost", Sealed: []byte("x"), Now: baseTime})[0].Err, ErrConflict)

	// A successful login clears the account's failed-login count.
	f.must(&LoginFailure{EmailIndex: []byte("admin"), Now: baseTime})
	if login(func(c *StaffLogin) { c.Step = 12 }).Refused != "" {
		t.Fatal("login at step 12 refused")
	}
	if n := f.count("SELECT COUNT(*) FROM login_failures WHERE email_bidx=?", []byte("admin")); n != 0 {
		t.Fatalf("login failures not cleared: %d rows", n)
	}

	wantActions := []string{"login_mfa", "login_failed", "login_recovery_code", "mfa_refused_bad_recovery_code"}
	tail, err := f.db.AuditTail(f.ctx, sys, 100)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, e := range tail {
		have[e.Action]++
	}
	for _, a := range append(wantActions, "mfa_enabled_login", "mfa_refused_replayed", "mfa_refused_no_account",
		"mfa_refused_not_enrolled", "mfa_enrolment_started", "staff_bootstrap_admin") {
		if have[a] == 0 {
			t.Errorf("no audit entry %q (have %v)", a, have)
		}
	}
	if have["mfa_refused_bad_recovery_code"] != 2 || have["mfa_refused_replayed"] != 2 {
		t.Errorf("refusal counts: %v", have)
	}
	if n, err := f.db.VerifyAudit(f.ctx); err != nil || n != len(tail) {
		t.Fatalf("VerifyAudit = %d, %v; tail has %d", n, err, len(tail))
	}
}

func TestStaffSessions(t *testing.T) {
	f := staffFixture(t)
	f.must(&StaffTOTPSecret{StaffID: "st_admin", Sealed: []byte("s"), Now: baseTime})
	for i, id := range []string{"ss_1", "ss_2", "ss_3"} {
		v := f.must(&StaffLogin{StaffID: "st_admin", Step: int64(10 + i), Confirm: i == 0, SessionID: id,
			EmailIndex: []byte("admin"), Now: baseTime, ExpiresAt: 5000})
		if v.(StaffLoginResult).Refused != "" {
			t.Fatalf("login %s refused: %v", id, v)
		}
	}
	active := func(a Actor, now int64) bool {
		t.Helper()
		ok, err := f.db.StaffSessionActive(f.ctx, a, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	admin := func(session string) Actor { return Actor{Role: RoleAdmin, ID: "st_admin", SessionID: session} }
	cases := []struct {
		name  string
		actor Actor
		now   int64
		want  bool
	}{
		{"live", admin("ss_1"), 4999, true},
		{"expired", admin("ss_1"), 5000, false},
		{"role the account does not have", Actor{Role: RoleModerator, ID: "st_admin", SessionID: "ss_1"}, 1, false},
		{"someone else's session", Actor{Role: RoleAdmin, ID: "st_other", SessionID: "ss_1"}, 1, false},
		{"unknown session", admin("ss_9"), 1, false},
	}
	for _, c := range cases {
		if got := active(c.actor, c.now); got != c.want {
			t.Errorf("%s: active = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := f.db.StaffSessionActive(f.ctx, Actor{Role: RoleParent, ID: "st_admin", SessionID: "ss_1"}, 1); !errors.Is(err, ErrForbidden) {
		t.Fatalf("parent actor: %v", err)
	}

	f.must(&RevokeStaffSessions{StaffID: "st_admin", SessionID: "ss_1", Now: baseTime})
	if active(admin("ss_1"), 1) || !active(admin("ss_2"), 1) {
		t.Fatal("revoking one session: wrong sessions ended")
	}
	// Revoking another staff member's session ID changes nothing.
	f.must(&RevokeStaffSessions{StaffID: "st_other", SessionID: "ss_2", Now: baseTime})
	if !active(admin("ss_2"), 1) {
		t.Fatal("a session was revoked through another staff ID")
	}
	f.must(&RevokeStaffSessions{StaffID: "st_admin", Now: baseTime})
	if active(admin("ss_2"), 1) || active(admin("ss_3"), 1) {
		t.Fatal("revoking all sessions left one live")
	}
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if tail[0].Action != "logout" || tail[0].Target != "all_sessions" || tail[2].Target != "session:ss_1" {
		t.Fatalf("logout audit entries: %+v", tail)
	}
}

func TestStaffReadsScoped(t *testing.T) {
	f := staffFixture(t)
	sys := Actor{Role: RoleSystem}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"by e-mail, system", func() error { _, err := f.db.StaffByEmailIndex(f.ctx, sys, []byte("admin")); return err }, nil},
		{"by e-mail, unknown", func() error { _, err := f.db.StaffByEmailIndex(f.ctx, sys, []byte("x")); return err }, ErrNotFound},
		{"by e-mail, admin actor", func() error {
			_, err := f.db.StaffByEmailIndex(f.ctx, Actor{Role: RoleAdmin, ID: "st_admin"}, []byte("admin"))
			return err
		}, ErrForbidden},
		{"by ID, unknown", func() error { _, err := f.db.StaffByID(f.ctx, sys, "st_x"); return err }, ErrNotFound},
		{"by ID, parent", func() error { _, err := f.db.StaffByID(f.ctx, Actor{Role: RoleParent}, "st_admin"); return err }, ErrForbidden},
		{"list, moderator", func() error { _, err := f.db.StaffList(f.ctx, Actor{Role: RoleModerator}); return err }, ErrForbidden},
		{"list, system", func() error { _, err := f.db.StaffList(f.ctx, sys); return err }, ErrForbidden},
		{"flagged, parent", func() error { _, err := f.db.FlaggedTurns(f.ctx, Actor{Role: RoleParent}, 1<<62, 10); return err }, ErrForbidden},
		{"flagged, child", func() error { _, err := f.db.FlaggedTurns(f.ctx, Actor{Role: RoleChild}, 1<<62, 10); return err }, ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.run(), tc.want) })
	}
	s, err := f.db.StaffByEmailIndex(f.ctx, sys, []byte("admin"))
	if err != nil || s.StaffID != "st_admin" || s.Role != RoleAdmin || string(s.EmailIndex) != "admin" {
		t.Fatalf("StaffByEmailIndex = %+v, %v", s, err)
	}
}

func TestFlaggedTurns(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "p@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Ann")
	f.linkDevice("pa_1", "ch_1", "dv_1")
	for i, ev := range []string{"", "ev_1", "", "ev_2", "ev_3"} {
		c := f.turnCmd("fa_1", "ch_1", "dv_1", "tu_"+string(rune('1'+i)), "message")
		c.CreatedAt = baseTime + int64(i)
		if ev != "" {
			c.EventID, c.Escalate, c.InCategories = ev, true, []string{"self_harm"}
			c.FailClosed = ev == "ev_3"
		}
		f.must(c)
	}
	mod := Actor{Role: RoleModerator, ID: "st_m"}
	got, err := f.db.FlaggedTurns(f.ctx, mod, 1<<62, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventID != "ev_3" || got[1].EventID != "ev_2" {
		t.Fatalf("first page = %+v", got)
	}
	if g := got[0]; g.Kind != "policy_failure" || g.TurnID != "tu_5" || g.FamilyID != "fa_1" || g.ChildID != "ch_1" ||
		g.Categories != "self_harm" || len(g.MessageSealed) == 0 {
		t.Fatalf("newest flagged turn = %+v", g)
	}
	if got[1].Kind != "escalation" {
		t.Fatalf("kind = %q, want escalation", got[1].Kind)
	}
	page2, err := f.db.FlaggedTurns(f.ctx, Actor{Role: RoleAdmin, ID: "st_a"}, got[1].CreatedAt, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2) != 1 || page2[0].EventID != "ev_1" || page2[0].TurnID != "tu_2" {
		t.Fatalf("second page = %+v", page2)
	}

	f.must(&RecordAccess{Actor: "moderator:st_m", What: "flagged_excerpts", Target: "events:ev_3,ev_2", Reason: "queue", Now: baseTime})
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := tail[0]; e.Actor != "moderator:st_m" || e.Action != "read_flagged_excerpts" || e.Target != "events:ev_3,ev_2 reason:queue" {
		t.Fatalf("access audit entry = %+v", e)
	}
}
