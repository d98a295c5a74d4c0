package storage

import (
	"testing"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	ctx := f.ctx
	h := func(s string) []byte { return f.keys.SecretIndex("refresh", s) }
	f.must(&StartSession{SessionID: "se_1", ParentID: "pa_1", RefreshHash: h("r1"), EmailIndex: f.keys.EmailIndex("one@example.test"), Now: 1000, ExpiresAt: 10_000})

	tests := []struct {
		name       string
		old, new   string
		now        int64
		wantErr    error
		wantReused bool
	}{
		{"first rotation", "r1", "r2", 2000, nil, false},
		{"rotate the new one", "r2", "r3", 3000, nil, false},
		{"unknown token", "nope", "x1", 3000, ErrNotFound, false},
		{"expired token", "r3", "r4", 20_000, ErrNotFound, false},
		{"reuse of a spent token revokes the session", "r1", "r5", 4000, nil, true},
		{"the live token of a revoked session is dead", "r3", "r6", 4100, ErrNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.apply(&RotateRefresh{OldHash: h(tc.old), NewHash: h(tc.new), Now: tc.now, ExpiresAt: tc.now + 5000})[0]
			wantErr(t, r.Err, tc.wantErr)
			if tc.wantErr != nil {
				return
			}
			res := r.Value.(RefreshResult)
			if res.Reused != tc.wantReused || res.SessionID != "se_1" || res.ParentID != "pa_1" || res.FamilyID != "fa_1" {
				t.Fatalf("result %+v", res)
			}
		})
	}
	if ok, err := f.db.SessionActive(ctx, "pa_1", "se_1"); err != nil || ok {
		t.Fatalf("session after reuse: active=%v err=%v", ok, err)
	}
}

func TestRevokeSessions(t *testing.T) {
	f := newFixture(t)
	f.signUp("fa_1", "pa_1", "one@example.test")
	f.signUp("fa_2", "pa_2", "two@example.test")
	for i, s := range []struct{ id, parent string }{{"se_a", "pa_1"}, {"se_b", "pa_1"}, {"se_c", "pa_2"}} {
		f.must(&StartSession{SessionID: s.id, ParentID: s.parent, RefreshHash: []byte{byte(i)}, EmailIndex: []byte("x"), Now: 1, ExpiresAt: 100})
	}
	active := func(parent, id string) bool {
		ok, err := f.db.SessionActive(f.ctx, parent, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Another parent cannot end someone else's session.
	f.must(&RevokeSessions{ParentID: "pa_2", SessionID: "se_a", Now: 2})
	if !active("pa_1", "se_a") {
		t.Fatal("another parent revoked se_a")
	}
	f.must(&RevokeSessions{ParentID: "pa_1", SessionID: "se_a", Now: 2})
	if active("pa_1", "se_a") || !active("pa_1", "se_b") || !active("pa_2", "se_c") {
		t.Fatal("single revoke touched the wrong sessions")
	}
	f.must(&RevokeSessions{ParentID: "pa_1", Now: 3})
	if active("pa_1", "se_b") || !active("pa_2", "se_c") {
		t.Fatal("revoke-all touched the wrong sessions")
	}
	if active("pa_2", "se_a") {
		t.Fatal("session checked against the wrong parent")
	}
}

func TestLoginFailureLockout(t *testing.T) {
	f := newFixture(t)
	bidx := f.keys.EmailIndex("someone@example.test")
	wantLocks := []int64{0, 0, 0, 0, 30_000, 60_000, 120_000, 240_000}
	for i, want := range wantLocks {
		now := int64(1_000_000 + i)
		got := f.must(&LoginFailure{EmailIndex: bidx, Now: now}).(LockedUntil)
		if want == 0 && got.Millis != 0 || want != 0 && got.Millis != now+want {
			t.Fatalf("failure %d: locked until %d, want now+%d", i+1, got.Millis, want)
		}
	}
	// The back-off is capped at an hour.
	var got LockedUntil
	for i := 0; i < 20; i++ {
		got = f.must(&LoginFailure{EmailIndex: bidx, Now: 5_000_000}).(LockedUntil)
	}
	if got.Millis != 5_000_000+LockoutMaxMillis {
		t.Fatalf("capped lock = %d", got.Millis)
	}
	if until, err := f.db.LockedUntilMillis(f.ctx, bidx); err != nil || until != got.Millis {
		t.Fatalf("LockedUntilMillis = %d, %v", until, err)
	}
	// A successful login clears the count.
	f.signUp("fa_1", "pa_1", "someone@example.test")
	f.must(&StartSession{SessionID: "se_1", ParentID: "pa_1", RefreshHash: []byte("r"), EmailIndex: bidx, Now: 6_000_000, ExpiresAt: 7_000_000})
	if until, err := f.db.LockedUntilMillis(f.ctx, bidx); err != nil || until != 0 {
		t.Fatalf("after a successful login: %d, %v", until, err)
	}
}
