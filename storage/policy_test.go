package storage

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPolicyLifecycleCommands(t *testing.T) {
	f := newFixture(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := PolicyKeyID(pub)
	by := "admin:ad_1"
	stage := func(id string) *StagePolicy {
		return &StagePolicy{ID: id, Bundle: []byte("zstd…"), SHA256: "00", KeyID: kid, By: by, At: 1}
	}
	state := func() PolicyState {
		t.Helper()
		st, err := f.db.PolicyState(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	steps := []struct {
		name    string
		cmd     Command
		wantErr error
		active  string
		shadow  string
	}{
		{"stage before any key is trusted", stage("p@1"), ErrNotFound, "", ""},
		{"bad key id", &AddPolicyKey{KeyID: "nope", PublicKey: pub, By: by, At: 1}, nil, "", ""},
		{"trust key", &AddPolicyKey{KeyID: kid, PublicKey: pub, By: by, At: 1}, nil, "", ""},
		{"trust key twice", &AddPolicyKey{KeyID: kid, PublicKey: pub, By: by, At: 1}, ErrConflict, "", ""},
		{"stage p@1", stage("p@1"), nil, "", ""},
		{"stage p@1 again", stage("p@1"), ErrConflict, "", ""},
		{"stage p@2", stage("p@2"), nil, "", ""},
		{"activate unknown", &ActivatePolicy{ID: "p@9", By: by, At: 2}, ErrNotFound, "", ""},
		{"activate p@1", &ActivatePolicy{ID: "p@1", By: by, At: 2}, nil, "p@1", ""},
		{"activate p@1 again", &ActivatePolicy{ID: "p@1", By: by, At: 2}, ErrConflict, "p@1", ""},
		{"unstage the active one", &UnstagePolicy{ID: "p@1", By: by, At: 2}, ErrConflict, "p@1", ""},
		{"shadow p@2", &ShadowPolicy{ID: "p@2", By: by, At: 3}, nil, "p@1", "p@2"},
		{"activate p@2 ends its shadow", &ActivatePolicy{ID: "p@2", By: by, At: 4}, nil, "p@2", ""},
		{"rollback to p@1", &RollbackPolicy{By: by, At: 5}, nil, "p@1", ""},
		{"rollback to default", &RollbackPolicy{By: by, At: 6}, nil, "", ""},
		{"nothing left to roll back", &RollbackPolicy{By: by, At: 7}, ErrNotFound, "", ""},
		{"node report", &ReportPolicy{Node: "n2", ID: "p@2", OK: false, Error: "boom", At: 8}, nil, "", ""},
		{"node report again", &ReportPolicy{Node: "n2", ID: "p@2", OK: true, At: 9}, nil, "", ""},
		{"report on unknown", &ReportPolicy{Node: "n2", ID: "p@7", OK: true, At: 9}, ErrNotFound, "", ""},
		{"refusal is recorded", &RefusePolicy{ID: "p@3", Reason: "bad signature", By: by, At: 8}, nil, "", ""},
		{"unstage unused p@1", &UnstagePolicy{ID: "p@1", By: by, At: 9}, nil, "", ""},
		{"unstage it again", &UnstagePolicy{ID: "p@1", By: by, At: 9}, ErrNotFound, "", ""},
	}
	for _, s := range steps {
		r := f.apply(s.cmd)[0]
		if s.name == "bad key id" {
			if r.Err == nil {
				t.Fatalf("%s: accepted", s.name)
			}
		} else {
			wantErr(t, r.Err, s.wantErr)
		}
		st := state()
		if st.Active != s.active || st.Shadow != s.shadow {
			t.Fatalf("%s: active %q shadow %q, want %q %q", s.name, st.Active, st.Shadow, s.active, s.shadow)
		}
	}
	if st := state(); len(st.Staged) != 1 || len(st.Reports) != 1 || !st.Reports[0].OK || st.Reports[0].Node != "n2" {
		t.Fatalf("staged %+v reports %+v", st.Staged, st.Reports)
	}
	b, err := f.db.PolicyBundle(f.ctx, "p@2")
	if err != nil || string(b) != "zstd…" {
		t.Fatalf("bundle %q %v", b, err)
	}
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range tail {
		if strings.HasPrefix(e.Action, "policy_") {
			actions = append(actions, e.Action+" "+e.Target)
		}
	}
	slices.Reverse(actions)
	want := []string{
		"policy_key_added policy_key:" + kid, "policy_staged policy:p@1", "policy_staged policy:p@2",
		"policy_activated policy:p@1", "policy_shadow_started policy:p@2", "policy_activated policy:p@2",
		"policy_rolled_back policy:p@1", "policy_rolled_back policy:default", "policy_failed_on_node policy:p@2", "policy_refused policy:p@3 (bad signature)", "policy_unstaged policy:p@1",
	}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

// A revoked signing key: its bundles can no longer be staged, activated,
// shadowed or rolled back to; the version in force stays and is reported.
func TestRevokePolicyKey(t *testing.T) {
	f := newFixture(t)
	newKey := func() ([]byte, string) {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return pub, PolicyKeyID(pub)
	}
	oldPub, oldKid := newKey()
	newPub, newKid := newKey()
	by := "admin:ad_1"
	stage := func(id, kid string) *StagePolicy {
		return &StagePolicy{ID: id, Bundle: []byte("b"), SHA256: "00", KeyID: kid, By: by, At: 1}
	}
	for _, c := range []Command{
		&AddPolicyKey{KeyID: oldKid, PublicKey: oldPub, By: by, At: 1},
		&AddPolicyKey{KeyID: newKid, PublicKey: newPub, By: by, At: 1},
		stage("old@1", oldKid), stage("old@2", oldKid), stage("new@1", newKid),
		&ActivatePolicy{ID: "old@1", By: by, At: 2},
		&ActivatePolicy{ID: "new@1", By: by, At: 2},
	} {
		if r := f.apply(c)[0]; r.Err != nil {
			t.Fatalf("%s: %v", c.Kind(), r.Err)
		}
	}
	steps := []struct {
		name    string
		cmd     Command
		wantErr error
		value   any
		active  string
	}{
		{"revoke an unknown key", &RevokePolicyKey{KeyID: "0123456789abcdef", By: by, At: 3}, ErrNotFound, nil, "new@1"},
		{"revoke the old key (not in force)", &RevokePolicyKey{KeyID: oldKid, By: by, At: 3}, nil, KeyRevoked{}, "new@1"},
		{"revoke it again", &RevokePolicyKey{KeyID: oldKid, By: by, At: 3}, ErrNotFound, nil, "new@1"},
		{"stage with the revoked key", stage("old@3", oldKid), ErrNotFound, nil, "new@1"},
		{"activate a bundle it signed", &ActivatePolicy{ID: "old@2", By: by, At: 4}, ErrConflict, nil, "new@1"},
		{"shadow a bundle it signed", &ShadowPolicy{ID: "old@2", By: by, At: 4}, ErrConflict, nil, "new@1"},
		{"roll back to a version it signed", &RollbackPolicy{By: by, At: 4}, ErrConflict, nil, "new@1"},
		{"revoke the key in force", &RevokePolicyKey{KeyID: newKid, By: by, At: 5}, nil, KeyRevoked{ActiveSignedByKey: "new@1"}, "new@1"},
		{"trust the old key again", &AddPolicyKey{KeyID: oldKid, PublicKey: oldPub, By: by, At: 6}, nil, nil, "new@1"},
		{"roll back works again", &RollbackPolicy{By: by, At: 7}, nil, PolicyActivation{Active: "old@1"}, "old@1"},
	}
	for _, s := range steps {
		r := f.apply(s.cmd)[0]
		wantErr(t, r.Err, s.wantErr)
		if s.wantErr == nil && !reflect.DeepEqual(r.Value, s.value) {
			t.Errorf("%s: value %#v, want %#v", s.name, r.Value, s.value)
		}
		st, err := f.db.PolicyState(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Active != s.active {
			t.Fatalf("%s: active %q, want %q", s.name, st.Active, s.active)
		}
	}
	tail, err := f.db.AuditTail(f.ctx, Actor{Role: RoleSystem}, 50)
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, e := range tail {
		if e.Action == "policy_key_revoked" {
			revoked++
		}
	}
	if revoked != 2 {
		t.Errorf("%d policy_key_revoked audit events, want 2 (one per successful revocation)", revoked)
	}
}

// Shadow counts: each node's deltas add up per (node, candidate, active);
// a report for a candidate that is not the shadow changes nothing; a new
// shadow run, its end, or the candidate's activation starts from zero.
func TestReportShadowCounts(t *testing.T) {
	f := newFixture(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, by := PolicyKeyID(pub), "admin:ad_1"
	for _, c := range []Command{
		&AddPolicyKey{KeyID: kid, PublicKey: pub, By: by, At: 1},
		&StagePolicy{ID: "p@1", Bundle: []byte("b"), SHA256: "00", KeyID: kid, By: by, At: 1},
		&StagePolicy{ID: "p@2", Bundle: []byte("b"), SHA256: "00", KeyID: kid, By: by, At: 1},
		&ActivatePolicy{ID: "p@1", By: by, At: 2},
	} {
		if r := f.apply(c)[0]; r.Err != nil {
			t.Fatalf("%s: %v", c.Kind(), r.Err)
		}
	}
	report := func(node string, ev, dis uint64) *ReportShadow {
		return &ReportShadow{Node: node, ID: "p@2", Against: "p@1", Evaluated: ev, Disagreed: dis, Errors: 1, Skipped: 2, At: 9}
	}
	counts := func() string {
		t.Helper()
		cs, err := f.db.ShadowCounts(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%s %s/%s %d/%d/%d/%d", c.Node, c.ID, c.Against, c.Evaluated, c.Disagreed, c.Errors, c.Skipped))
		}
		return strings.Join(out, "; ")
	}
	steps := []struct {
		name string
		cmd  Command
		want string
	}{
		{"report before any shadow run: ignored", report("n1", 5, 1), ""},
		{"shadow p@2", &ShadowPolicy{ID: "p@2", By: by, At: 3}, ""},
		{"n1 reports", report("n1", 5, 1), "n1 p@2/p@1 5/1/1/2"},
		{"n1 reports more", report("n1", 3, 2), "n1 p@2/p@1 8/3/2/4"},
		{"n2 reports", report("n2", 4, 0), "n1 p@2/p@1 8/3/2/4; n2 p@2/p@1 4/0/1/2"},
		{"shadow restarted: from zero", &ShadowPolicy{ID: "p@2", By: by, At: 4}, ""},
		{"n2 reports again", report("n2", 1, 1), "n2 p@2/p@1 1/1/1/2"},
		{"activating the candidate ends its counts", &ActivatePolicy{ID: "p@2", By: by, At: 5}, ""},
		{"a late report for the ended run: ignored", report("n1", 7, 7), ""},
	}
	for _, s := range steps {
		if r := f.apply(s.cmd)[0]; r.Err != nil {
			t.Fatalf("%s: %v", s.name, r.Err)
		}
		if got := counts(); got != s.want {
			t.Fatalf("%s: counts %q, want %q", s.name, got, s.want)
		}
	}
}

func TestPolicyCommandsRoundTrip(t *testing.T) {
	for _, c := range []Command{
		&AddPolicyKey{KeyID: "k", PublicKey: []byte{1}, By: "admin:a", At: 1},
		&StagePolicy{ID: "p@1", Bundle: []byte{2}, SHA256: "s", KeyID: "k", By: "admin:a", At: 1},
		&ActivatePolicy{ID: "p@1", By: "admin:a", At: 1},
		&ShadowPolicy{ID: "p@1", By: "admin:a", At: 1},
		&RollbackPolicy{By: "admin:a", At: 1},
		&RefusePolicy{ID: "p@1", Reason: "r", By: "admin:a", At: 1},
		&ReportPolicy{Node: "n1", ID: "p@1", OK: false, Error: "e", At: 1},
		&UnstagePolicy{ID: "p@1", By: "admin:a", At: 1},
		&RevokePolicyKey{KeyID: "k", By: "admin:a", At: 1},
		&ReportShadow{Node: "n1", ID: "p@2", Against: "p@1", Evaluated: 5, Disagreed: 2, Errors: 1, Skipped: 3, At: 1},
	} {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Kind(), err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%s: got %+v, want %+v", c.Kind(), got, c)
		}
	}
}

func TestPolicyKeysListsTrusted(t *testing.T) {
	f := newFixture(t)
	var kids []string
	for i := range 3 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		kid := PolicyKeyID(pub)
		kids = append(kids, kid)
		f.must(&AddPolicyKey{KeyID: kid, PublicKey: pub, By: "admin:ad_1", At: int64(10 - i)})
	}
	f.must(&RevokePolicyKey{KeyID: kids[1], By: "admin:ad_1", At: 20})
	keys, err := f.db.PolicyKeys(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by the time they were added: kids[2] (at 8) before kids[0] (at 10).
	if len(keys) != 2 || keys[0].KeyID != kids[2] || keys[1].KeyID != kids[0] {
		t.Fatalf("PolicyKeys = %+v, want %s then %s", keys, kids[2], kids[0])
	}
	if keys[1].AddedAt != 10 || keys[1].AddedBy != "admin:ad_1" || PolicyKeyID(keys[1].PublicKey) != kids[0] {
		t.Fatalf("key row = %+v", keys[1])
	}
}
