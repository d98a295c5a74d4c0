package storage

import (
	"errors"
	"reflect"
	"testing"
)

func TestSignUp(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-1", "par-1", "first@example.org")
	system := Actor{Role: RoleSystem}

	creds, err := f.db.ParentByEmailIndex(f.ctx, system, f.keys.EmailIndex("  FIRST@example.ORG "))
	if err != nil {
		t.Fatalf("ParentByEmailIndex: %v", err)
	}
	if creds.ParentID != "par-1" || creds.FamilyID != "fam-1" || creds.PasswordHash == "" {
		t.Fatalf("credentials = %+v", creds)
	}

	// One batch: a duplicate e-mail (other case), a fresh sign-up, a signing
	// key, and a duplicate inside the same batch. The conflicts are results;
	// the other commands still apply.
	res := f.apply(
		f.signUpCmd("fam-2", "par-2", "First@Example.org"),
		f.signUpCmd("fam-3", "par-3", "third@example.org"),
		&PutSigningKey{Kid: "k1", PublicKey: []byte("pub"), PrivateSealed: []byte("priv"), CreatedAt: baseTime},
		f.signUpCmd("fam-4", "par-4", "third@example.org"),
	)
	wantErrs := []error{ErrConflict, nil, nil, ErrConflict}
	for i, w := range wantErrs {
		if w == nil && res[i].Err != nil || w != nil && !errors.Is(res[i].Err, w) {
			t.Errorf("result %d: err = %v, want %v", i, res[i].Err, w)
		}
	}
	for fam, want := range map[string]int{"fam-1": 1, "fam-2": 0, "fam-3": 1, "fam-4": 0} {
		if n := f.count("SELECT COUNT(*) FROM families WHERE id=?", fam); n != want {
			t.Errorf("families %s: %d rows, want %d", fam, n, want)
		}
	}
	if n := f.count("SELECT COUNT(*) FROM parents"); n != 2 {
		t.Errorf("parents: %d rows, want 2", n)
	}
	if keys, _ := f.db.SigningKeys(f.ctx); len(keys) != 1 {
		t.Errorf("signing keys = %d, want 1", len(keys))
	}
	if got := f.appliedIndex(); got != f.idx {
		t.Errorf("AppliedIndex = %d, want %d", got, f.idx)
	}

	// Same family ID, new e-mail: refused by the primary key, and no orphan parent row.
	r := f.apply(f.signUpCmd("fam-1", "par-9", "nine@example.org"))[0]
	if r.Err == nil {
		t.Fatal("SignUp reusing a family ID succeeded")
	}
	if n := f.count("SELECT COUNT(*) FROM parents WHERE id='par-9'"); n != 0 {
		t.Fatal("failed SignUp left a parent row")
	}

	t.Run("lookup scoping", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			actor Actor
			email string
			want  error
		}{
			{"system finds", system, "third@example.org", nil},
			{"system unknown", system, "nobody@example.org", ErrNotFound},
			{"parent forbidden", Actor{Role: RoleParent, ID: "par-1", FamilyID: "fam-1"}, "third@example.org", ErrForbidden},
			{"child forbidden", Actor{Role: RoleChild, ID: "x"}, "third@example.org", ErrForbidden},
			{"no role forbidden", Actor{}, "third@example.org", ErrForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.db.ParentByEmailIndex(f.ctx, tc.actor, f.keys.EmailIndex(tc.email))
				wantErr(t, err, tc.want)
			})
		}
	})
}

func TestCreateChild(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.signUp("fam-b", "par-b", "b@example.org")
	badTier := f.childCmd("fam-a", "par-a", "ch-tier", "Tiny")
	badTier.AgeTier = "3-4"
	for _, tc := range []struct {
		name       string
		cmd        *CreateChild
		wantErr    error // nil: success; errAny: any error
		wantFamily string
	}{
		{"parent adds child", f.childCmd("fam-a", "par-a", "ch-1", "Rex"), nil, "fam-a"},
		{"other parent adds child to own family", f.childCmd("fam-b", "par-b", "ch-2", "Bo"), nil, "fam-b"},
		{"unknown parent", f.childCmd("fam-a", "par-nope", "ch-3", "Ghost"), ErrNotFound, ""},
		{"empty parent", f.childCmd("fam-a", "", "ch-4", "Ghost"), ErrNotFound, ""},
		{"duplicate child id", f.childCmd("fam-b", "par-b", "ch-1", "Again"), errAny, ""},
		{"invalid age tier", badTier, errAny, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count("SELECT COUNT(*) FROM children")
			r := f.apply(tc.cmd)[0]
			switch {
			case tc.wantErr == nil:
				if r.Err != nil {
					t.Fatalf("err = %v", r.Err)
				}
				var fam string
				f.db.wr().QueryRowContext(f.ctx, "SELECT family_id FROM children WHERE id=?", tc.cmd.ChildID).Scan(&fam)
				if fam != tc.wantFamily {
					t.Fatalf("child family = %q, want %q", fam, tc.wantFamily)
				}
			case tc.wantErr == errAny:
				if r.Err == nil {
					t.Fatal("succeeded, want an error")
				}
				if n := f.count("SELECT COUNT(*) FROM children"); n != before {
					t.Fatalf("children %d -> %d after a failed command", before, n)
				}
			default:
				if !errors.Is(r.Err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", r.Err, tc.wantErr)
				}
				if n := f.count("SELECT COUNT(*) FROM children"); n != before {
					t.Fatalf("children %d -> %d after a failed command", before, n)
				}
			}
		})
	}
	if got := f.appliedIndex(); got != f.idx {
		t.Errorf("AppliedIndex = %d, want %d (failed commands still advance it)", got, f.idx)
	}
}

var errAny = errors.New("any error")

func TestCreateLinkCode(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.signUp("fam-b", "par-b", "b@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	f.createChild("fam-b", "par-b", "ch-b", "Bo")
	lc := func(parent, child, code string) *CreateLinkCode {
		return &CreateLinkCode{ParentID: parent, ChildID: child, CodeHash: codeHash(code), CreatedAt: baseTime, ExpiresAt: baseTime + 600}
	}
	for _, tc := range []struct {
		name string
		cmd  *CreateLinkCode
		want error
	}{
		{"own child", lc("par-a", "ch-a", "A1"), nil},
		{"other family's child", lc("par-a", "ch-b", "A2"), ErrNotFound},
		{"other family's parent", lc("par-b", "ch-a", "B1"), ErrNotFound},
		{"unknown child", lc("par-a", "ch-nope", "A3"), ErrNotFound},
		{"unknown parent", lc("par-nope", "ch-a", "A4"), ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.apply(tc.cmd)[0]
			wantErr(t, r.Err, tc.want)
			n := f.count("SELECT COUNT(*) FROM link_codes WHERE code_hash=?", tc.cmd.CodeHash)
			if (tc.want == nil) != (n == 1) {
				t.Fatalf("link_codes rows for code = %d", n)
			}
		})
	}

	t.Run("new code invalidates the previous unused one", func(t *testing.T) {
		f.must(lc("par-a", "ch-a", "FIRST"))
		f.must(lc("par-a", "ch-a", "SECOND"))
		r := f.apply(&RedeemLinkCode{CodeHash: codeHash("FIRST"), DeviceID: "dev-first", Now: baseTime + 1})[0]
		wantErr(t, r.Err, ErrNotFound)
		v := f.must(&RedeemLinkCode{CodeHash: codeHash("SECOND"), DeviceID: "dev-second", Now: baseTime + 1})
		if ld := v.(LinkedDevice); ld.Child.ID != "ch-a" {
			t.Fatalf("redeemed for %+v", ld)
		}
		// A used code is kept (it is history), and a new code does not delete it.
		f.must(lc("par-a", "ch-a", "THIRD"))
		if n := f.count("SELECT COUNT(*) FROM link_codes WHERE code_hash=? AND used_at IS NOT NULL", codeHash("SECOND")); n != 1 {
			t.Fatalf("used code rows = %d, want 1", n)
		}
		// Codes of other children are untouched.
		f.must(lc("par-b", "ch-b", "B-ONLY"))
		f.must(lc("par-a", "ch-a", "FOURTH"))
		f.must(&RedeemLinkCode{CodeHash: codeHash("B-ONLY"), DeviceID: "dev-b", Now: baseTime + 1})
	})
}

func TestRedeemLinkCode(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	issue := func(code string, exp int64) {
		f.must(&CreateLinkCode{ParentID: "par-a", ChildID: "ch-a", CodeHash: codeHash(code), CreatedAt: baseTime, ExpiresAt: exp})
	}

	issue("GOOD", baseTime+600)
	v := f.must(&RedeemLinkCode{CodeHash: codeHash("GOOD"), DeviceID: "dev-1", Now: baseTime + 599})
	ld, ok := v.(LinkedDevice)
	if !ok {
		t.Fatalf("RedeemLinkCode value = %T, want LinkedDevice", v)
	}
	stored, err := f.db.Child(f.ctx, Actor{Role: RoleSystem}, "ch-a")
	if err != nil {
		t.Fatal(err)
	}
	if want := (LinkedDevice{DeviceID: "dev-1", Child: stored}); !reflect.DeepEqual(ld, want) {
		t.Fatalf("RedeemLinkCode = %+v, want %+v", ld, want)
	}
	if ld.Child.FamilyID != "fam-a" {
		t.Fatalf("linked child family = %q, want fam-a", ld.Child.FamilyID)
	}
	if ok, err := f.db.DeviceActive(f.ctx, "dev-1", "ch-a"); !ok || err != nil {
		t.Fatalf("DeviceActive = %v, %v", ok, err)
	}

	var errs []error
	for _, tc := range []struct {
		name  string
		setup func()
		code  string
		now   int64
	}{
		{"reused", nil, "GOOD", baseTime + 2},
		{"expired", func() { issue("OLD", baseTime+100) }, "OLD", baseTime + 101},
		{"expires exactly now", func() { issue("EDGE", baseTime+100) }, "EDGE", baseTime + 100},
		{"unknown", nil, "NEVER-ISSUED", baseTime + 2},
		{"empty", nil, "", baseTime + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			devBefore := f.count("SELECT COUNT(*) FROM devices")
			r := f.apply(&RedeemLinkCode{CodeHash: codeHash(tc.code), DeviceID: "dev-" + tc.name, Now: tc.now})[0]
			wantErr(t, r.Err, ErrNotFound)
			if r.Value != nil {
				t.Fatalf("value %v on failure", r.Value)
			}
			if n := f.count("SELECT COUNT(*) FROM devices"); n != devBefore {
				t.Fatal("failed redeem created a device")
			}
			errs = append(errs, r.Err)
		})
	}
	// The same error, so a caller cannot tell an expired code from a used or unknown one.
	for i := 1; i < len(errs); i++ {
		if errs[i].Error() != errs[0].Error() {
			t.Errorf("error %d %q differs from %q", i, errs[i], errs[0])
		}
	}

	// Savepoint per command: a redeem that fails on a constraint (device ID
	// already taken) must not consume the code.
	issue("RETRY", baseTime+600)
	r := f.apply(&RedeemLinkCode{CodeHash: codeHash("RETRY"), DeviceID: "dev-1", Now: baseTime + 3})[0]
	if r.Err == nil {
		t.Fatal("redeem with an existing device ID succeeded")
	}
	if n := f.count("SELECT COUNT(*) FROM link_codes WHERE code_hash=? AND used_at IS NULL", codeHash("RETRY")); n != 1 {
		t.Fatal("failed redeem consumed the code (savepoint not rolled back)")
	}
	f.must(&RedeemLinkCode{CodeHash: codeHash("RETRY"), DeviceID: "dev-2", Now: baseTime + 4})
}

func TestChatTurn(t *testing.T) {
	f := newFixture(t)
	f.twoFamilies()
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.linkDevice("par-a", "ch-a2", "dev-a2")
	f.linkDevice("par-b", "ch-b", "dev-b")
	f.linkDevice("par-a", "ch-a", "dev-a-old")
	f.revokeDevice("dev-a-old")

	seqOf := func(r Result) int64 {
		t.Helper()
		if r.Err != nil {
			t.Fatalf("ChatTurn: %v", r.Err)
		}
		tr, ok := r.Value.(TurnResult)
		if !ok {
			t.Fatalf("value %T, want TurnResult", r.Value)
		}
		return tr.Seq
	}

	t.Run("seq increments per child", func(t *testing.T) {
		for i, want := range []int64{1, 2, 3} {
			id := "turn-a-" + string(rune('1'+i))
			if got := seqOf(f.apply(f.turnCmd("fam-a", "ch-a", "dev-a", id, "hello"))[0]); got != want {
				t.Fatalf("turn %d seq = %d, want %d", i+1, got, want)
			}
		}
		if got := seqOf(f.apply(f.turnCmd("fam-b", "ch-b", "dev-b", "turn-b-1", "hi"))[0]); got != 1 {
			t.Fatalf("other child's first seq = %d, want 1", got)
		}
		// Within one batch, interleaved children.
		res := f.apply(
			f.turnCmd("fam-a", "ch-a", "dev-a", "turn-a-4", "x"),
			f.turnCmd("fam-a", "ch-a2", "dev-a2", "turn-a2-1", "x"),
			f.turnCmd("fam-a", "ch-a", "dev-a", "turn-a-5", "x"),
			f.turnCmd("fam-b", "ch-b", "dev-b", "turn-b-2", "x"),
		)
		got := []int64{seqOf(res[0]), seqOf(res[1]), seqOf(res[2]), seqOf(res[3])}
		if want := []int64{4, 1, 5, 2}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch seqs = %v, want %v", got, want)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			cmd      *ChatTurn
			want     error
			sentinel bool // want is a sentinel to match with errors.Is
		}{
			{"unknown child", f.turnCmd("fam-a", "ch-nope", "dev-a", "t-x1", "x"), ErrNotFound, true},
			{"revoked device", f.turnCmd("fam-a", "ch-a", "dev-a-old", "t-x2", "x"), ErrNotFound, true},
			{"unknown device", f.turnCmd("fam-a", "ch-a", "dev-nope", "t-x3", "x"), ErrNotFound, true},
			{"sibling's device", f.turnCmd("fam-a", "ch-a", "dev-a2", "t-x4", "x"), ErrNotFound, true},
			{"other family's device", f.turnCmd("fam-a", "ch-a", "dev-b", "t-x5", "x"), ErrNotFound, true},
			{"duplicate turn id", f.turnCmd("fam-a", "ch-a", "dev-a", "turn-a-1", "x"), errAny, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := f.count("SELECT COUNT(*) FROM turns")
				r := f.apply(tc.cmd)[0]
				if tc.sentinel {
					wantErr(t, r.Err, tc.want)
				} else if r.Err == nil {
					t.Fatal("succeeded, want an error")
				}
				if n := f.count("SELECT COUNT(*) FROM turns"); n != before {
					t.Fatalf("turns %d -> %d after a refused turn", before, n)
				}
			})
		}
		// Refusals did not consume sequence numbers.
		if got := seqOf(f.apply(f.turnCmd("fam-a", "ch-a", "dev-a", "turn-a-6", "x"))[0]); got != 6 {
			t.Fatalf("seq after refusals = %d, want 6", got)
		}
	})

	t.Run("safety events", func(t *testing.T) {
		esc := f.turnCmd("fam-a", "ch-a", "dev-a", "turn-esc", "x")
		esc.Escalate, esc.EventID = true, "ev-esc"
		esc.InCategories, esc.OutCategories = []string{"grooming", "pii_solicitation"}, []string{"redirect"}
		fail := f.turnCmd("fam-a", "ch-a", "dev-a", "turn-fail", "x")
		fail.FailClosed, fail.EventID = true, "ev-fail"
		quiet := f.turnCmd("fam-a", "ch-a", "dev-a", "turn-quiet", "x")
		quiet.Escalate = true // no EventID: no event row
		for _, r := range f.apply(esc, fail, quiet) {
			seqOf(r)
		}
		for kind, want := range map[string]int{"escalation": 1, "policy_failure": 1} {
			if n, err := f.db.SafetyEventCount(f.ctx, kind); err != nil || n != want {
				t.Errorf("SafetyEventCount(%s) = %d, %v; want %d", kind, n, err, want)
			}
		}
		var childID, turnID, cats, pv string
		err := f.db.wr().QueryRowContext(f.ctx, "SELECT child_id, turn_id, categories, policy_version FROM safety_events WHERE id='ev-esc'").
			Scan(&childID, &turnID, &cats, &pv)
		if err != nil {
			t.Fatal(err)
		}
		if childID != "ch-a" || turnID != "turn-esc" || cats != "grooming,pii_solicitation,redirect" || pv != "default@1.0.0" {
			t.Fatalf("event = %s %s %q %s", childID, turnID, cats, pv)
		}
		// An event ID reused by a later turn fails the whole command: no turn without its event.
		dup := f.turnCmd("fam-a", "ch-a", "dev-a", "turn-dup-ev", "x")
		dup.EventID = "ev-esc"
		if r := f.apply(dup)[0]; r.Err == nil {
			t.Fatal("turn with a duplicate event ID succeeded")
		}
		if n := f.count("SELECT COUNT(*) FROM turns WHERE id='turn-dup-ev'"); n != 0 {
			t.Fatal("turn row kept although its safety event failed")
		}
	})

	t.Run("stored fields read back", func(t *testing.T) {
		c := f.turnCmd("fam-b", "ch-b", "dev-b", "turn-fields", "what is your address")
		c.Intent, c.InAction, c.InCategories = "question", "redact", []string{"pii_solicitation"}
		c.OutAction, c.OutCategories, c.PolicyVersion = "allow", []string{}, "default@2.0.0"
		f.must(c)
		rows, err := f.db.Turns(f.ctx, Actor{Role: RoleSystem}, "ch-b", 0, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("Turns = %v, %v", rows, err)
		}
		got := rows[0]
		want := TurnRow{ID: "turn-fields", ChildID: "ch-b", Seq: 3, CreatedAt: c.CreatedAt, MessageSealed: c.MessageSealed,
			ReplySealed: c.ReplySealed, Intent: "question", InAction: "redact", InCategories: []string{"pii_solicitation"},
			OutAction: "allow", OutCategories: []string{}, PolicyVersion: "default@2.0.0"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("turn row:\n got %+v\nwant %+v", got, want)
		}
		msg, err := Unseal(f.deks["fam-b"], got.MessageSealed, FieldAAD(FieldMessage, got.ID))
		if err != nil || string(msg) != "what is your address" {
			t.Fatalf("message = %q, %v", msg, err)
		}
	})
}

func TestApplyBatchAppliedIndex(t *testing.T) {
	f := newFixture(t)
	if got := f.appliedIndex(); got != 0 {
		t.Fatalf("fresh AppliedIndex = %d", got)
	}
	signUp := f.entry(f.signUpCmd("fam-a", "par-a", "a@example.org"))
	child := f.entry(f.childCmd("fam-a", "par-a", "ch-a", "Rex"))
	key := f.entry(&PutSigningKey{Kid: "k1", PublicKey: []byte("p"), PrivateSealed: []byte("s"), CreatedAt: baseTime})
	batch := []Entry{signUp, child, key}
	res, err := f.db.ApplyBatch(f.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("entry %d: %v", i, r.Err)
		}
	}
	if got := f.appliedIndex(); got != 3 {
		t.Fatalf("AppliedIndex = %d, want 3", got)
	}
	counts := func() [4]int {
		return [4]int{f.count("SELECT COUNT(*) FROM families"), f.count("SELECT COUNT(*) FROM parents"),
			f.count("SELECT COUNT(*) FROM children"), f.count("SELECT COUNT(*) FROM signing_keys")}
	}
	want := [4]int{1, 1, 1, 1}
	if got := counts(); got != want {
		t.Fatalf("rows = %v, want %v", got, want)
	}

	// Replaying the whole batch (as after a crash) is a no-op.
	res, err = f.db.ApplyBatch(f.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err == nil || r.Value != nil {
			t.Errorf("replayed entry %d: result %+v, want an 'already applied' error", i, r)
		}
		if errors.Is(r.Err, ErrConflict) {
			t.Errorf("replayed entry %d was executed (got %v) instead of skipped", i, r.Err)
		}
	}
	if got := counts(); got != want {
		t.Fatalf("rows after replay = %v, want %v", got, want)
	}
	if got := f.appliedIndex(); got != 3 {
		t.Fatalf("AppliedIndex after replay = %d, want 3", got)
	}

	// Mixed batch: the old entry is skipped, the new one applied.
	f.idx = 3
	turnChild := f.entry(f.childCmd("fam-a", "par-a", "ch-b", "Bo"))
	res, err = f.db.ApplyBatch(f.ctx, []Entry{child, turnChild})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || res[1].Err != nil {
		t.Fatalf("mixed batch results = %+v", res)
	}
	if n := f.count("SELECT COUNT(*) FROM children"); n != 2 {
		t.Fatalf("children = %d, want 2", n)
	}
	if got := f.appliedIndex(); got != 4 {
		t.Fatalf("AppliedIndex = %d, want 4", got)
	}

	// A non-command entry (nil data) only advances the index.
	if _, err := f.db.ApplyBatch(f.ctx, []Entry{{Index: 5}}); err != nil {
		t.Fatal(err)
	}
	if got := f.appliedIndex(); got != 5 {
		t.Fatalf("AppliedIndex after a no-op entry = %d, want 5", got)
	}
	// A deterministic failure also advances it (every replica reaches the same failure).
	f.idx = 5
	r := f.apply(f.childCmd("fam-a", "par-nope", "ch-x", "X"))[0]
	wantErr(t, r.Err, ErrNotFound)
	if got := f.appliedIndex(); got != 6 {
		t.Fatalf("AppliedIndex after a failed command = %d, want 6", got)
	}
	// Index 0 (Apply outside Raft) applies without moving the index.
	if _, err := f.db.Apply(f.ctx, 0, &PutSigningKey{Kid: "k0", PublicKey: []byte("p"), PrivateSealed: []byte("s"), CreatedAt: baseTime}); err != nil {
		t.Fatal(err)
	}
	if got := f.appliedIndex(); got != 6 {
		t.Fatalf("AppliedIndex after an index-0 apply = %d, want 6", got)
	}
	// The index survives a reopen.
	path := f.db.Path()
	f.db.Close()
	db, err := Open(f.ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	if got := f.appliedIndex(); got != 6 {
		t.Fatalf("AppliedIndex after reopen = %d, want 6", got)
	}
	// An empty batch is fine and changes nothing.
	if res, err := f.db.ApplyBatch(f.ctx, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch = %v, %v", res, err)
	}
}

// A storage error in the middle of a batch (not a deterministic outcome)
// aborts the whole batch: no command of it and no applied index are recorded.
func TestApplyBatchStorageErrorIsAtomic(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	before := f.appliedIndex()
	if _, err := f.db.wr().ExecContext(f.ctx, "DROP TABLE safety_events"); err != nil {
		t.Fatal(err)
	}
	turn := f.turnCmd("fam-a", "ch-a", "", "turn-1", "x")
	turn.EventID = "ev-1"
	entries := []Entry{
		f.entry(f.signUpCmd("fam-b", "par-b", "b@example.org")),
		f.entry(turn),
	}
	res, err := f.db.ApplyBatch(f.ctx, entries)
	if err == nil {
		t.Fatalf("ApplyBatch succeeded (%+v) although a command hit a storage error", res)
	}
	if got := f.appliedIndex(); got != before {
		t.Fatalf("AppliedIndex = %d, want %d (unchanged)", got, before)
	}
	if n := f.count("SELECT COUNT(*) FROM families WHERE id='fam-b'"); n != 0 {
		t.Fatal("an earlier command of the failed batch was committed")
	}
	if n := f.count("SELECT COUNT(*) FROM turns"); n != 0 {
		t.Fatal("the failing command was committed")
	}
	// The writer is still usable afterwards.
	f.idx = before
	f.signUp("fam-c", "par-c", "c@example.org")
}

// commands.go: "an FSM that meets a kind or version it does not know refuses
// it (and the node stops rather than diverge)". During a rolling upgrade an
// old node must therefore not record such an entry as applied: if it did, the
// entry would be skipped forever (also after the binary is upgraded and the
// log replayed), and this replica would silently diverge from the others.
func TestApplyBatchRefusesUnsupportedCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"unknown kind", `{"t":"drop_everything","v":1,"b":{"family":"fam-a"}}`},
		{"newer version", `{"t":"create_child","v":2,"b":{"child":"ch-z","parent":"par-a","nick":"AA==","tier":"5-8","at":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.signUp("fam-a", "par-a", "a@example.org")
			before := f.appliedIndex()
			f.idx++
			res, err := f.db.ApplyBatch(f.ctx, []Entry{{Index: f.idx, Data: []byte(tc.data)}})
			if err == nil {
				t.Errorf("ApplyBatch returned no error for an unsupported command (result %+v); the FSM cannot stop", res)
			}
			if got := f.appliedIndex(); got != before {
				t.Errorf("AppliedIndex advanced %d -> %d past an unsupported command: after an upgrade the entry would never be applied", before, got)
			}
		})
	}
}

func TestPutSigningKey(t *testing.T) {
	f := newFixture(t)
	f.must(&PutSigningKey{Kid: "old", PublicKey: []byte("p1"), PrivateSealed: []byte("s1"), CreatedAt: baseTime})
	f.must(&PutSigningKey{Kid: "new", PublicKey: []byte("p2"), PrivateSealed: []byte("s2"), CreatedAt: baseTime + 10})
	// Re-putting the same kid is ignored (idempotent), not an error, and does not overwrite.
	f.must(&PutSigningKey{Kid: "old", PublicKey: []byte("other"), PrivateSealed: []byte("other"), CreatedAt: baseTime + 20})
	keys, err := f.db.SigningKeys(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []SigningKey{
		{Kid: "new", PublicKey: []byte("p2"), PrivateSealed: []byte("s2"), CreatedAt: baseTime + 10},
		{Kid: "old", PublicKey: []byte("p1"), PrivateSealed: []byte("s1"), CreatedAt: baseTime},
	}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("SigningKeys = %+v, want %+v", keys, want)
	}
}
