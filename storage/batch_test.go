package storage

import (
	"errors"
	"strings"
	"testing"
)

// A batch holding an entry this binary cannot decode, or a chat turn
// without a device, is refused whole: nothing of it is applied and the
// applied index does not move (the node must stop, not diverge).
func TestApplyBatchRefusedWhole(t *testing.T) {
	tests := []struct {
		name string
		bad  []byte
		want error
		msg  string
	}{
		{"unknown kind", []byte(`{"t":"teleport","v":1,"b":{}}`), ErrUnsupported, `unknown command kind "teleport"`},
		{"newer version", []byte(`{"t":"sign_up","v":9,"b":{}}`), ErrUnsupported, "version 9 not supported"},
		{"not JSON", []byte(`not json`), nil, "decode envelope"},
		{"body of the wrong shape", []byte(`{"t":"sign_up","v":1,"b":{"family":7}}`), nil, "decode sign_up"},
		{"chat turn without a device", nil, nil, "chat turn without a device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.signUp("fa_1", "pa_1", "p@example.test")
			f.createChild("fa_1", "pa_1", "ch_1", "Ann")
			before := f.appliedIndex()
			bad := tc.bad
			if bad == nil {
				turn := f.turnCmd("fa_1", "ch_1", "", "tu_1", "hi")
				var err error
				if bad, err = Encode(turn); err != nil {
					t.Fatal(err)
				}
			}
			entries := []Entry{f.entry(f.signUpCmd("fa_2", "pa_2", "q@example.test")), {Index: f.idx + 1, Data: bad}}
			res, err := f.db.ApplyBatch(f.ctx, entries)
			if err == nil || res != nil {
				t.Fatalf("batch applied: %+v", res)
			}
			if (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if n := f.count("SELECT COUNT(*) FROM families"); n != 1 {
				t.Fatalf("families = %d: the good entry of a refused batch was applied", n)
			}
			if got := f.appliedIndex(); got != before {
				t.Fatalf("applied index moved %d -> %d", before, got)
			}
		})
	}
}

// Entries without a command (Raft configuration changes, no-ops) only
// advance the applied index.
func TestApplyBatchEmptyEntriesAdvanceIndex(t *testing.T) {
	f := newFixture(t)
	res, err := f.db.ApplyBatch(f.ctx, []Entry{{Index: 3}, {Index: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0] != (Result{}) || res[1] != (Result{}) {
		t.Fatalf("results = %+v", res)
	}
	if got := f.appliedIndex(); got != 7 {
		t.Fatalf("applied index = %d, want 7", got)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log"); n != 0 {
		t.Fatalf("%d audit entries for empty entries", n)
	}
	// Apply (outside Raft) reports the command's own outcome.
	if _, err := f.db.Apply(f.ctx, 8, f.signUpCmd("fa_1", "pa_1", "p@example.test")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Apply(f.ctx, 9, f.signUpCmd("fa_2", "pa_2", "p@example.test")); !errors.Is(err, ErrConflict) {
		t.Fatalf("second sign-up with the same e-mail: %v, want ErrConflict", err)
	}
	if _, err := f.db.Apply(f.ctx, 9, f.signUpCmd("fa_3", "pa_3", "third@example.test")); err == nil || !strings.Contains(err.Error(), "already applied") {
		t.Fatalf("replayed index: %v", err)
	}
}

func TestRetireSigningKeys(t *testing.T) {
	f := newFixture(t)
	for i, kid := range []string{"kid-1", "kid-2", "kid-3"} {
		f.must(&PutSigningKey{Kid: kid, PublicKey: []byte{byte(i)}, PrivateSealed: []byte{9}, CreatedAt: int64(100 * (i + 1))})
	}
	kids := func() []string {
		t.Helper()
		keys, err := f.db.SigningKeys(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			out = append(out, k.Kid)
		}
		return out
	}
	if got := strings.Join(kids(), ","); got != "kid-3,kid-2,kid-1" {
		t.Fatalf("keys = %s, want newest first", got)
	}
	steps := []struct {
		before int64
		want   string
	}{
		{100, "kid-3,kid-2,kid-1"}, // nothing created before 100
		{250, "kid-3"},
		{10_000, "kid-3"}, // the newest key always stays
	}
	for _, s := range steps {
		f.must(&RetireSigningKeys{Before: s.before, Now: s.before})
		if got := strings.Join(kids(), ","); got != s.want {
			t.Fatalf("after retiring before %d: %s, want %s", s.before, got, s.want)
		}
	}
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tail[0].Action != "signing_keys_retired" || tail[0].Target != "created_before:10000" {
		t.Fatalf("audit = %+v", tail[0])
	}
}

func TestParentAccountScoped(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "p@example.test")
	p, err := f.db.Parent(f.ctx, Actor{Role: RoleParent, ID: "pa_1", FamilyID: "fa_1"})
	if err != nil || p.ID != "pa_1" || p.FamilyID != "fa_1" || p.EmailVerifiedAt != 0 || p.CreatedAt != baseTime {
		t.Fatalf("Parent = %+v, %v", p, err)
	}
	for _, tc := range []struct {
		actor Actor
		want  error
	}{
		{Actor{Role: RoleParent, ID: "pa_9"}, ErrNotFound},
		{Actor{Role: RoleChild, ID: "pa_1"}, ErrForbidden},
		{Actor{Role: RoleSystem}, ErrForbidden},
		{Actor{Role: RoleAdmin, ID: "pa_1"}, ErrForbidden},
	} {
		if _, err := f.db.Parent(f.ctx, tc.actor); !errors.Is(err, tc.want) {
			t.Errorf("Parent(%+v) = %v, want %v", tc.actor, err, tc.want)
		}
	}
}

func TestContentPacksListed(t *testing.T) {
	f := newFixture(t)
	for _, p := range []ContentPack{{ID: "space", Version: 2, Doc: []byte(`{"s":1}`), UpdatedAt: 5}, {ID: "animals", Version: 1, Doc: []byte(`{"a":1}`), UpdatedAt: 6}} {
		f.must(&PutContentPack{Pack: p, Actor: "admin:ad1"})
	}
	packs, err := f.db.ContentPacks(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(packs) != 2 || packs[0].ID != "animals" || packs[1].ID != "space" || packs[1].Version != 2 ||
		string(packs[1].Doc) != `{"s":1}` || packs[1].UpdatedAt != 5 {
		t.Fatalf("ContentPacks = %+v", packs)
	}
}

// After Close every read fails with an error naming the storage layer; none
// panics or returns stale data as if nothing happened.
func TestReadsAfterCloseFail(t *testing.T) {
	f := newFixture(t)
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	parent := Actor{Role: RoleParent, ID: "pa_1", FamilyID: "fa_1"}
	sys := Actor{Role: RoleSystem}
	reads := map[string]func() error{
		"ParentByEmailIndex": func() error { _, err := f.db.ParentByEmailIndex(f.ctx, sys, []byte("x")); return err },
		"Child":              func() error { _, err := f.db.Child(f.ctx, parent, "ch_1"); return err },
		"Children":           func() error { _, err := f.db.Children(f.ctx, parent); return err },
		"Turns":              func() error { _, err := f.db.Turns(f.ctx, parent, "ch_1", 0, 10); return err },
		"DeviceActive":       func() error { _, err := f.db.DeviceActive(f.ctx, "dv_1", "ch_1"); return err },
		"SigningKeys":        func() error { _, err := f.db.SigningKeys(f.ctx); return err },
		"SafetyEventCount":   func() error { _, err := f.db.SafetyEventCount(f.ctx, "escalation"); return err },
		"SessionActive":      func() error { _, err := f.db.SessionActive(f.ctx, "pa_1", "se_1"); return err },
		"LockedUntilMillis":  func() error { _, err := f.db.LockedUntilMillis(f.ctx, []byte("x")); return err },
		"Companion":          func() error { _, err := f.db.Companion(f.ctx, parent, "ch_1"); return err },
		"Devices":            func() error { _, err := f.db.Devices(f.ctx, parent, "ch_1"); return err },
		"AuditTail":          func() error { _, err := f.db.AuditTail(f.ctx, sys, 10); return err },
		"VerifyAudit":        func() error { _, err := f.db.VerifyAudit(f.ctx); return err },
		"PolicyKeys":         func() error { _, err := f.db.PolicyKeys(f.ctx); return err },
		"PolicyState":        func() error { _, err := f.db.PolicyState(f.ctx); return err },
		"PolicyBundle":       func() error { _, err := f.db.PolicyBundle(f.ctx, "p@1"); return err },
		"ShadowCounts":       func() error { _, err := f.db.ShadowCounts(f.ctx); return err },
		"CatalogRevision":    func() error { _, err := f.db.CatalogRevision(f.ctx); return err },
		"Catalog":            func() error { _, err := f.db.Catalog(f.ctx); return err },
		"ContentPacks":       func() error { _, err := f.db.ContentPacks(f.ctx); return err },
		"Parent":             func() error { _, err := f.db.Parent(f.ctx, parent); return err },
		"ParentPasswordHash": func() error { _, _, err := f.db.ParentPasswordHash(f.ctx, parent); return err },
		"ExportFamily":       func() error { _, err := f.db.ExportFamily(f.ctx, parent); return err },
		"EmailToken": func() error {
			_, err := f.db.EmailToken(f.ctx, sys, []byte("h"), PurposePasswordReset, baseTime)
			return err
		},
		"RateCount": func() error { _, err := f.db.RateCount(f.ctx, "signup", []byte("k"), 1000, baseTime); return err },
		"StaffByID": func() error { _, err := f.db.StaffByID(f.ctx, sys, "st_1"); return err },
		"StaffSessionActive": func() error {
			_, err := f.db.StaffSessionActive(f.ctx, Actor{Role: RoleAdmin, ID: "st_1"}, 1)
			return err
		},
		"StaffList":    func() error { _, err := f.db.StaffList(f.ctx, Actor{Role: RoleAdmin}); return err },
		"FlaggedTurns": func() error { _, err := f.db.FlaggedTurns(f.ctx, Actor{Role: RoleModerator}, 1<<62, 10); return err },
		"FlaggedOpen": func() error {
			_, err := f.db.FlaggedTurnsIn(f.ctx, Actor{Role: RoleModerator}, FlaggedFilter{Status: FlaggedOpen}, 1<<62, 10)
			return err
		},
		"ModerationSummary": func() error { _, err := f.db.ModerationSummary(f.ctx, Actor{Role: RoleModerator}, 0); return err },
		"OpenSafetyEvents":  func() error { _, _, err := f.db.OpenSafetyEvents(f.ctx); return err },
		"UsageTotals":       func() error { _, err := f.db.UsageTotals(f.ctx, Actor{Role: RoleAdmin}, 0); return err },
		"DueMail":           func() error { _, err := f.db.DueMail(f.ctx, baseTime, 10); return err },
		"MailPending":       func() error { _, _, err := f.db.MailPending(f.ctx); return err },
		"AlertOutboxState":  func() error { _, err := f.db.AlertOutboxState(f.ctx); return err },
		"AppliedIndex":      func() error { _, err := f.db.AppliedIndex(f.ctx); return err },
		"SchemaVersion":     func() error { _, err := f.db.SchemaVersion(f.ctx); return err },
		"ApplyBatch":        func() error { _, err := f.db.ApplyBatch(f.ctx, []Entry{{Index: 1}}); return err },
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			err := read()
			if err == nil {
				t.Fatal("succeeded on a closed database")
			}
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
				t.Fatalf("err = %v: a closed database reported as an ordinary outcome", err)
			}
		})
	}
}
