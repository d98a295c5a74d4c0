package storage

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	day = int64(24 * 3600 * 1000)
	t0  = int64(1_700_000_000_000) // milliseconds, as the node writes them
)

// retentionTurn is a chat turn created at a given time (and, with event,
// raising a safety event at the same time).
func (f *fixture) retentionTurn(fam, child, device, id string, at int64, event string) {
	f.t.Helper()
	c := f.turnCmd(fam, child, device, id, "msg "+id)
	c.CreatedAt = at
	if event != "" {
		c.EventID, c.Escalate, c.InAction, c.InCategories = event, true, "block", []string{"grooming"}
	}
	f.must(c)
}

// retentionWorld: two families, turns and safety events of various ages,
// parent sessions whose refresh tokens expired long ago or are live.
//
//	turns:   a-old1 T0 (event ev-old), a-old2 T0+1d, a-new T0+10d (ch-a);
//	         a2-old T0+2d (ch-a2, its only turn);
//	         b-old T0+1d, b-mid T0+3d (event ev-mid), b-new T0+20d (event ev-new) (ch-b)
//	sessions: s-old (T0; tokens r-old exp T0+1d, r-old2 exp T0+2d),
//	          s-live (T0; r-l1 exp T0+1d, r-l2 exp T0+40d), s-new (T0+9d; r-new exp T0+39d)
func retentionWorld(t *testing.T) *fixture {
	f := newFixture(t)
	f.twoFamilies()
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.linkDevice("par-a", "ch-a2", "dev-a2")
	f.linkDevice("par-b", "ch-b", "dev-b")
	f.retentionTurn("fam-a", "ch-a", "dev-a", "a-old1", t0, "ev-old")
	f.retentionTurn("fam-a", "ch-a", "dev-a", "a-old2", t0+day, "")
	f.retentionTurn("fam-a", "ch-a", "dev-a", "a-new", t0+10*day, "")
	f.retentionTurn("fam-a", "ch-a2", "dev-a2", "a2-old", t0+2*day, "")
	f.retentionTurn("fam-b", "ch-b", "dev-b", "b-old", t0+day, "")
	f.retentionTurn("fam-b", "ch-b", "dev-b", "b-mid", t0+3*day, "ev-mid")
	f.retentionTurn("fam-b", "ch-b", "dev-b", "b-new", t0+20*day, "ev-new")
	bidx := f.keys.EmailIndex("a@example.org")
	f.must(&StartSession{SessionID: "s-old", ParentID: "par-a", RefreshHash: []byte("r-old"), EmailIndex: bidx, Now: t0, ExpiresAt: t0 + day})
	f.must(&RotateRefresh{OldHash: []byte("r-old"), NewHash: []byte("r-old2"), Now: t0 + day/2, ExpiresAt: t0 + 2*day})
	f.must(&StartSession{SessionID: "s-live", ParentID: "par-a", RefreshHash: []byte("r-l1"), EmailIndex: bidx, Now: t0, ExpiresAt: t0 + day})
	f.must(&RotateRefresh{OldHash: []byte("r-l1"), NewHash: []byte("r-l2"), Now: t0 + day/2, ExpiresAt: t0 + 40*day})
	f.must(&StartSession{SessionID: "s-new", ParentID: "par-b", RefreshHash: []byte("r-new"), EmailIndex: f.keys.EmailIndex("b@example.org"),
		Now: t0 + 9*day, ExpiresAt: t0 + 39*day})
	return f
}

// ids returns the sorted first column of a query.
func (f *fixture) ids(query string) []string {
	f.t.Helper()
	rows, err := f.db.wr().QueryContext(f.ctx, query)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// retentionState is every row the retention command may delete, by class.
type retentionState struct {
	Turns, Events, Refresh, Sessions []string
}

func (f *fixture) retentionState() retentionState {
	return retentionState{
		Turns:    f.ids("SELECT id FROM turns"),
		Events:   f.ids("SELECT id FROM safety_events"),
		Refresh:  f.ids("SELECT CAST(hash AS TEXT) FROM refresh_tokens"),
		Sessions: f.ids("SELECT id FROM sessions"),
	}
}

func without(all []string, gone ...string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(gone, s) })
}

func TestApplyRetentionDeletesExactlyWhatIsPastItsClass(t *testing.T) {
	before := retentionWorld(t).retentionState()
	cases := []struct {
		name string
		cmd  ApplyRetention
		want RetentionResult
		gone []string // IDs (any class) that must be gone; everything else stays
	}{
		{"nothing configured", ApplyRetention{}, RetentionResult{}, nil},
		{"turns only", ApplyRetention{TurnsBefore: t0 + 5*day},
			RetentionResult{Turns: 5}, []string{"a-old1", "a-old2", "a2-old", "b-old", "b-mid"}},
		{"the cutoff is exclusive", ApplyRetention{TurnsBefore: t0 + day},
			RetentionResult{Turns: 1}, []string{"a-old1"}},
		{"safety events only (they outlive no turn of their own)", ApplyRetention{SafetyBefore: t0 + 5*day},
			RetentionResult{SafetyEvents: 2}, []string{"ev-old", "ev-mid"}},
		{"ended sessions only", ApplyRetention{SessionsBefore: t0 + 5*day},
			RetentionResult{RefreshTokens: 3, Sessions: 1}, []string{"r-old", "r-old2", "r-l1", "s-old"}},
		{"every class", ApplyRetention{TurnsBefore: t0 + 5*day, SafetyBefore: t0 + 2*day, SessionsBefore: t0 + 5*day},
			RetentionResult{Turns: 5, SafetyEvents: 1, RefreshTokens: 3, Sessions: 1},
			[]string{"a-old1", "a-old2", "a2-old", "b-old", "b-mid", "ev-old", "r-old", "r-old2", "r-l1", "s-old"}},
		{"a cutoff before everything", ApplyRetention{TurnsBefore: t0, SafetyBefore: t0, SessionsBefore: t0}, RetentionResult{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := retentionWorld(t)
			audits := f.count("SELECT COUNT(*) FROM audit_log")
			tc.cmd.Limit, tc.cmd.Now = 5000, t0+50*day
			got := f.must(&tc.cmd).(RetentionResult)
			if got != tc.want {
				t.Fatalf("result %+v, want %+v", got, tc.want)
			}
			want := retentionState{
				Turns: without(before.Turns, tc.gone...), Events: without(before.Events, tc.gone...),
				Refresh: without(before.Refresh, tc.gone...), Sessions: without(before.Sessions, tc.gone...),
			}
			if st := f.retentionState(); !reflect.DeepEqual(st, want) {
				t.Fatalf("rows left:\n%+v\nwant\n%+v", st, want)
			}
			// One audit entry, counts only: no ID of anything deleted.
			if n := f.count("SELECT COUNT(*) FROM audit_log"); n != audits+1 {
				t.Fatalf("%d audit entries added, want 1", n-audits)
			}
			var actor, action, target string
			if err := f.db.wr().QueryRowContext(f.ctx, "SELECT actor, action, target FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&actor, &action, &target); err != nil {
				t.Fatal(err)
			}
			wantTarget := fmt.Sprintf("turns=%d safety_events=%d refresh_tokens=%d sessions=%d more=false",
				tc.want.Turns, tc.want.SafetyEvents, tc.want.RefreshTokens, tc.want.Sessions)
			if actor != "system" || action != "retention_applied" || target != wantTarget {
				t.Fatalf("audit %q %q %q, want system retention_applied %q", actor, action, target, wantTarget)
			}
			if _, err := f.db.VerifyAudit(f.ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Deleting every turn of a child does not restart its turn numbers, and
// what the child and its parent read afterwards is only what is left.
func TestRetentionKeepsTurnNumbersAndReadsCurrent(t *testing.T) {
	f := retentionWorld(t)
	child := Actor{Role: RoleChild, ID: "ch-a2", FamilyID: "fam-a", DeviceID: "dev-a2"}
	parent := Actor{Role: RoleParent, ID: "par-a", FamilyID: "fam-a"}
	other := Actor{Role: RoleChild, ID: "ch-b", FamilyID: "fam-b", DeviceID: "dev-b"}
	// A child with recent turns only.
	f.createChild("fam-b", "par-b", "ch-c", "Cy")
	f.linkDevice("par-b", "ch-c", "dev-c")
	f.retentionTurn("fam-b", "ch-c", "dev-c", "c-new", t0+30*day, "")
	fresh := Actor{Role: RoleChild, ID: "ch-c", FamilyID: "fam-b", DeviceID: "dev-c"}
	// Cache the recent turns of the children first.
	for _, a := range []Actor{child, other, fresh} {
		if rows, err := f.db.Turns(f.ctx, a, a.ID, 0, 4); err != nil || len(rows) == 0 {
			t.Fatalf("turns of %s: %d, %v", a.ID, len(rows), err)
		}
	}
	f.must(&ApplyRetention{TurnsBefore: t0 + 5*day, Limit: 100, Now: t0 + 50*day})
	for _, a := range []Actor{child, parent} {
		if rows, err := f.db.Turns(f.ctx, a, "ch-a2", 0, 4); err != nil || len(rows) != 0 {
			t.Fatalf("turns of ch-a2 read by %s after retention: %+v, %v", a.Role, rows, err)
		}
	}
	// The other family's child reads only its newer turn.
	rows, err := f.db.Turns(f.ctx, other, "ch-b", 0, 4)
	if err != nil || len(rows) != 1 || rows[0].ID != "b-new" {
		t.Fatalf("turns of ch-b: %+v, %v", rows, err)
	}
	// Retention invalidated only the children whose turns it deleted: a
	// child with none still reads from the cache.
	misses := f.db.CacheStats().Misses
	if rows, err := f.db.Turns(f.ctx, fresh, "ch-c", 0, 4); err != nil || len(rows) != 1 {
		t.Fatalf("turns of ch-c: %+v, %v", rows, err)
	}
	if f.db.CacheStats().Misses != misses {
		t.Fatal("the recent turns of a child retention did not touch were dropped from the cache")
	}
	res := f.must(f.turnCmd("fam-a", "ch-a2", "dev-a2", "a2-next", "hello again")).(TurnResult)
	if res.Seq != 2 {
		t.Fatalf("the next turn of a child whose only turn was deleted got seq %d, want 2", res.Seq)
	}
	rows, err = f.db.Turns(f.ctx, child, "ch-a2", 0, 4)
	if err != nil || len(rows) != 1 || rows[0].ID != "a2-next" || rows[0].Seq != 2 {
		t.Fatalf("turns of ch-a2: %+v, %v", rows, err)
	}
}

// A retention command between two turns of the same child in one batch:
// the recent turns the cache serves afterwards are exactly the database's.
func TestRetentionInABatchWithTurnsKeepsTheCacheExact(t *testing.T) {
	f := retentionWorld(t)
	child := Actor{Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-a"}
	check := func(step string) {
		t.Helper()
		for limit := 1; limit <= recentTurnsCap+1; limit++ {
			got, err := f.db.Turns(f.ctx, child, "ch-a", 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			want, err := f.db.turns(f.ctx, Actor{Role: RoleSystem}, "ch-a", 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: limit %d: served %+v, database %+v", step, limit, got, want)
			}
		}
	}
	check("before")
	first := f.turnCmd("fam-a", "ch-a", "dev-a", "a-x1", "one")
	first.CreatedAt = t0 + 30*day
	second := f.turnCmd("fam-a", "ch-a", "dev-a", "a-x2", "two")
	second.CreatedAt = t0 + 31*day
	res := f.apply(first, &ApplyRetention{TurnsBefore: t0 + 5*day, Limit: 100, Now: t0 + 31*day}, second)
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	check("after a batch of turn, retention, turn")
	got, _ := f.db.Turns(f.ctx, child, "ch-a", 0, 10)
	if len(got) != 3 || got[0].ID != "a-x2" || got[2].ID != "a-new" {
		t.Fatalf("turns %+v", got)
	}
}

func TestApplyRetentionInBoundedChunks(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	f.linkDevice("par-a", "ch-a", "dev-a")
	// 23 old turns, many sharing a timestamp (ties go by ID), 5 old
	// events, 2 new turns.
	for i := range 23 {
		ev := ""
		if i%5 == 0 {
			ev = fmt.Sprintf("ev-%02d", i)
		}
		f.retentionTurn("fam-a", "ch-a", "dev-a", fmt.Sprintf("old-%02d", 22-i), t0+int64(i/4)*1000, ev)
	}
	f.retentionTurn("fam-a", "ch-a", "dev-a", "new-1", t0+10*day, "")
	f.retentionTurn("fam-a", "ch-a", "dev-a", "new-2", t0+10*day, "")
	// The order the turns must go in: by time, then ID.
	order := f.ids("SELECT printf('%020d/%s', created_at, id) FROM turns WHERE created_at < " + fmt.Sprint(t0+day))
	cmd := ApplyRetention{TurnsBefore: t0 + day, SafetyBefore: t0 + day, Limit: 10, Now: t0 + 20*day}
	var got []RetentionResult
	deleted := 0
	for range 10 {
		r := f.must(&cmd).(RetentionResult)
		got = append(got, r)
		// Exactly the oldest turns are gone so far.
		deleted += r.Turns
		left := f.ids("SELECT printf('%020d/%s', created_at, id) FROM turns WHERE created_at < " + fmt.Sprint(t0+day))
		if !reflect.DeepEqual(left, order[deleted:]) && !(len(left) == 0 && deleted == len(order)) {
			t.Fatalf("after %d commands %v left, want %v", len(got), left, order[deleted:])
		}
		if !r.More {
			break
		}
	}
	want := []RetentionResult{
		{Turns: 10, More: true},
		{Turns: 10, More: true},
		{Turns: 3, SafetyEvents: 5, More: false}, // the limit is shared by the classes
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks %+v, want %+v", got, want)
	}
	if n := f.count("SELECT COUNT(*) FROM turns"); n != 2 {
		t.Fatalf("%d turns left, want the 2 new ones", n)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action='retention_applied'"); n != 3 {
		t.Fatalf("%d retention audit entries, want one per command", n)
	}

	// A command that stops exactly at its limit says so; the next finds nothing.
	g := newFixture(t)
	g.signUp("fam-a", "par-a", "a@example.org")
	g.createChild("fam-a", "par-a", "ch-a", "Rex")
	g.linkDevice("par-a", "ch-a", "dev-a")
	for i := range 4 {
		g.retentionTurn("fam-a", "ch-a", "dev-a", fmt.Sprintf("t%d", i), t0, "")
	}
	cmd = ApplyRetention{TurnsBefore: t0 + 1, Limit: 4, Now: t0 + day}
	if r := g.must(&cmd).(RetentionResult); r != (RetentionResult{Turns: 4, More: true}) {
		t.Fatalf("first %+v", r)
	}
	if r := g.must(&cmd).(RetentionResult); r != (RetentionResult{}) {
		t.Fatalf("second %+v", r)
	}
	if tot := (RetentionResult{Turns: 1, SafetyEvents: 2}).Add(RetentionResult{RefreshTokens: 3, Sessions: 4, More: true}); tot.Total() != 10 || !tot.More {
		t.Fatalf("Add/Total %+v", tot)
	}
}

// Replaying the entry that applied a retention command changes nothing, and
// the same command at a later index deletes nothing more.
func TestApplyRetentionReplayIsHarmless(t *testing.T) {
	f := retentionWorld(t)
	e := f.entry(&ApplyRetention{TurnsBefore: t0 + 5*day, SafetyBefore: t0 + 5*day, SessionsBefore: t0 + 5*day, Limit: 5000, Now: t0 + 50*day})
	res, err := f.db.ApplyBatch(f.ctx, []Entry{e})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	after := f.retentionState()
	audits := f.count("SELECT COUNT(*) FROM audit_log")
	res, err = f.db.ApplyBatch(f.ctx, []Entry{e})
	if err != nil || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "already applied") {
		t.Fatalf("replay: %v, %+v", err, res)
	}
	again := f.must(&ApplyRetention{TurnsBefore: t0 + 5*day, SafetyBefore: t0 + 5*day, SessionsBefore: t0 + 5*day, Limit: 5000, Now: t0 + 50*day})
	if again != (RetentionResult{}) {
		t.Fatalf("the same command again deleted %+v", again)
	}
	if st := f.retentionState(); !reflect.DeepEqual(st, after) {
		t.Fatalf("state changed: %+v, want %+v", st, after)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log"); n != audits+1 {
		t.Fatalf("%d audit entries added, want 1 (the second command's)", n-audits)
	}
}

func TestApplyRetentionRefusesBadCommands(t *testing.T) {
	for _, c := range []ApplyRetention{
		{TurnsBefore: t0, Limit: 0},
		{TurnsBefore: t0, Limit: MaxRetentionLimit + 1},
		{TurnsBefore: -1, Limit: 10},
		{SafetyBefore: -1, Limit: 10},
		{SessionsBefore: -1, Limit: 10},
	} {
		f := retentionWorld(t)
		before := f.retentionState()
		audits := f.count("SELECT COUNT(*) FROM audit_log")
		r := f.apply(&c)[0]
		if r.Err == nil || !isDeterministic(r.Err) {
			t.Fatalf("%+v: err %v, want a deterministic refusal", c, r.Err)
		}
		if st := f.retentionState(); !reflect.DeepEqual(st, before) || f.count("SELECT COUNT(*) FROM audit_log") != audits {
			t.Fatalf("%+v: a refused command changed something", c)
		}
	}
}

// Version 2 (Credentials) also deletes the leftovers of signing in and
// linking past the sessions cutoff — expired or revoked staff sessions,
// expired staff invites and link codes, unlinked devices — and nothing
// live; a version-1 entry deletes none of them and audits as before.
func TestRetentionOfCredentials(t *testing.T) {
	f := staffFixture(t)
	f.signUp("fa_1", "pa_1", "p@example.test")
	f.createChild("fa_1", "pa_1", "ch_1", "Ann")
	f.linkDevice("pa_1", "ch_1", "dv_gone")
	f.linkDevice("pa_1", "ch_1", "dv_live")
	f.revokeDevice("dv_gone") // revoked at baseTime+5
	f.must(&CreateLinkCode{ParentID: "pa_1", ChildID: "ch_1", CodeHash: codeHash("unused"), CreatedAt: baseTime, ExpiresAt: baseTime + 1e9})
	f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("old"), Now: baseTime, ExpiresAt: baseTime + 1})
	f.must(&CreateStaffInvite{AdminID: "st_admin", Role: RoleModerator, Hash: []byte("new"), Now: baseTime, ExpiresAt: baseTime + 1e9})
	for _, s := range []struct {
		id      string
		expires int64
		revoked any
	}{{"ss_expired", baseTime + 100, nil}, {"ss_revoked", baseTime + 1e9, baseTime + 50}, {"ss_live", baseTime + 1e9, nil}} {
		if _, err := f.db.wr().ExecContext(f.ctx, "INSERT INTO staff_sessions(id, staff_id, created_at, expires_at, revoked_at) VALUES (?,?,?,?,?)",
			s.id, "st_admin", baseTime, s.expires, s.revoked); err != nil {
			t.Fatal(err)
		}
	}
	left := func() [4]int {
		return [4]int{f.count("SELECT COUNT(*) FROM staff_sessions"), f.count("SELECT COUNT(*) FROM staff_invites"),
			f.count("SELECT COUNT(*) FROM link_codes"), f.count("SELECT COUNT(*) FROM devices")}
	}
	before := left()
	if before != [4]int{3, 2, 3, 2} {
		t.Fatalf("fixture: %v", before)
	}
	cutoff := baseTime + 1000

	r := f.must(&ApplyRetention{SessionsBefore: cutoff, Limit: 100, Now: baseTime}).(RetentionResult)
	if left() != before || r.StaffSessions+r.StaffInvites+r.LinkCodes+r.Devices != 0 {
		t.Fatalf("a version-1 command deleted credentials: %v, %+v", left(), r)
	}
	tail, _ := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 1)
	if strings.Contains(tail[0].Target, "staff_sessions") {
		t.Fatalf("a version-1 command audits %q (older binaries write the short form)", tail[0].Target)
	}

	var total RetentionResult
	for i := 0; ; i++ {
		r := f.must(&ApplyRetention{SessionsBefore: cutoff, Credentials: true, Limit: 2, Now: baseTime}).(RetentionResult)
		total = total.Add(r)
		if !r.More {
			break
		}
		if i > 10 {
			t.Fatal("retention does not finish")
		}
	}
	if total.StaffSessions != 2 || total.StaffInvites != 1 || total.LinkCodes != 2 || total.Devices != 1 {
		t.Fatalf("deleted %+v, want 2 staff sessions, 1 invite, 2 link codes, 1 device", total)
	}
	if got := left(); got != [4]int{1, 1, 1, 1} {
		t.Fatalf("left %v, want the live one of each", got)
	}
	if ok, err := f.db.DeviceActive(f.ctx, "dv_live", "ch_1"); err != nil || !ok {
		t.Fatalf("the live device after retention: %v %v", ok, err)
	}
	if ok, _ := f.db.DeviceActive(f.ctx, "dv_gone", "ch_1"); ok {
		t.Fatal("the unlinked device is active again")
	}
	tail, _ = f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 1)
	if !strings.Contains(tail[0].Target, "staff_sessions=0 staff_invites=0 link_codes=0 devices=0 more=false") {
		t.Fatalf("last retention audit %q", tail[0].Target)
	}

	// Log entries of version 1 still decode; a version 3 does not.
	for v, ok := range map[string]bool{"1": true, "2": true, "3": false} {
		_, err := Decode([]byte(`{"t":"apply_retention","v":` + v + `,"b":{"sessions":1,"limit":5,"at":1}}`))
		if (err == nil) != ok {
			t.Errorf("version %s: %v", v, err)
		}
	}
}
