package storage

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

// scopeWorld is two families:
//
//	fam-a: parent par-a; children ch-a (devices dev-a active, dev-a-old revoked; 3 turns)
//	       and ch-a2 (device dev-a2; 1 turn)
//	fam-b: parent par-b; child ch-b (device dev-b; 2 turns)
func scopeWorld(t *testing.T) *fixture {
	f := newFixture(t)
	f.twoFamilies()
	f.linkDevice("par-a", "ch-a", "dev-a-old")
	f.revokeDevice("dev-a-old")
	f.linkDevice("par-a", "ch-a", "dev-a")
	f.linkDevice("par-a", "ch-a2", "dev-a2")
	f.linkDevice("par-b", "ch-b", "dev-b")
	for i := 1; i <= 3; i++ {
		f.must(f.turnCmd("fam-a", "ch-a", "dev-a", fmt.Sprintf("ta%d", i), "a"))
	}
	f.must(f.turnCmd("fam-a", "ch-a2", "dev-a2", "ta2-1", "a2"))
	f.must(f.turnCmd("fam-b", "ch-b", "dev-b", "tb1", "b"))
	f.must(f.turnCmd("fam-b", "ch-b", "dev-b", "tb2", "b"))
	return f
}

var scopeActors = map[string]Actor{
	"parent A":                    {Role: RoleParent, ID: "par-a", FamilyID: "fam-a"},
	"parent B":                    {Role: RoleParent, ID: "par-b", FamilyID: "fam-b"},
	"parent B claiming family A":  {Role: RoleParent, ID: "par-b", FamilyID: "fam-a"},
	"unknown parent":              {Role: RoleParent, ID: "par-nope", FamilyID: "fam-a"},
	"child A (own device)":        {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-a"},
	"child A (revoked device)":    {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-a-old"},
	"child A (sibling's device)":  {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-a2"},
	"child A (other fam. device)": {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-b"},
	"child A (unknown device)":    {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-nope"},
	"child A (no device)":         {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a"},
	"sibling A2":                  {Role: RoleChild, ID: "ch-a2", FamilyID: "fam-a", DeviceID: "dev-a2"},
	"child B":                     {Role: RoleChild, ID: "ch-b", FamilyID: "fam-b", DeviceID: "dev-b"},
	"system":                      {Role: RoleSystem},
	"moderator (unknown role)":    {Role: "moderator", ID: "par-a"},
	"zero actor":                  {},
}

type scopeCase struct {
	actor  string
	target string // ch-a (family A's child), ch-b (family B's child), ch-nope
	want   error  // nil: visible
}

// scopeMatrix is the expected visibility of one child (and its turns).
var scopeMatrix = []scopeCase{
	{"parent A", "ch-a", nil},
	{"parent A", "ch-b", ErrNotFound},
	{"parent A", "ch-nope", ErrNotFound},
	{"parent B", "ch-a", ErrNotFound},
	{"parent B", "ch-b", nil},
	{"parent B", "ch-nope", ErrNotFound},
	{"parent B claiming family A", "ch-a", ErrNotFound},
	{"parent B claiming family A", "ch-b", nil},
	{"unknown parent", "ch-a", ErrNotFound},
	{"unknown parent", "ch-nope", ErrNotFound},
	{"child A (own device)", "ch-a", nil},
	{"child A (own device)", "ch-a2", ErrNotFound},
	{"child A (own device)", "ch-b", ErrNotFound},
	{"child A (own device)", "ch-nope", ErrNotFound},
	{"child A (revoked device)", "ch-a", ErrNotFound},
	{"child A (revoked device)", "ch-b", ErrNotFound},
	{"child A (sibling's device)", "ch-a", ErrNotFound},
	{"child A (sibling's device)", "ch-a2", ErrNotFound},
	{"child A (other fam. device)", "ch-a", ErrNotFound},
	{"child A (other fam. device)", "ch-b", ErrNotFound},
	{"child A (unknown device)", "ch-a", ErrNotFound},
	{"child A (no device)", "ch-a", ErrNotFound},
	{"sibling A2", "ch-a", ErrNotFound},
	{"sibling A2", "ch-a2", nil},
	{"sibling A2", "ch-nope", ErrNotFound},
	{"child B", "ch-a", ErrNotFound},
	{"child B", "ch-b", nil},
	{"child B", "ch-nope", ErrNotFound},
	{"system", "ch-a", nil},
	{"system", "ch-b", nil},
	{"system", "ch-nope", ErrNotFound},
	{"moderator (unknown role)", "ch-a", ErrForbidden},
	{"moderator (unknown role)", "ch-nope", ErrForbidden},
	{"zero actor", "ch-a", ErrForbidden},
}

var childFamily = map[string]string{"ch-a": "fam-a", "ch-a2": "fam-a", "ch-b": "fam-b"}
var childTurns = map[string][]string{"ch-a": {"ta3", "ta2", "ta1"}, "ch-a2": {"ta2-1"}, "ch-b": {"tb2", "tb1"}}

func TestChildScoping(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range scopeMatrix {
		t.Run(tc.actor+"→"+tc.target, func(t *testing.T) {
			actor, ok := scopeActors[tc.actor]
			if !ok {
				t.Fatalf("no actor %q", tc.actor)
			}
			c, err := f.db.Child(f.ctx, actor, tc.target)
			wantErr(t, err, tc.want)
			if tc.want != nil {
				if c.ID != "" || c.NicknameSealed != nil {
					t.Fatalf("row leaked with error: %+v", c)
				}
				return
			}
			if c.ID != tc.target || c.FamilyID != childFamily[tc.target] || c.AgeTier != "9-12" {
				t.Fatalf("child = %+v", c)
			}
			nick, err := Unseal(f.deks[c.FamilyID], c.NicknameSealed, FieldAAD(FieldNickname, c.ID))
			if err != nil || len(nick) == 0 {
				t.Fatalf("nickname: %q, %v", nick, err)
			}
		})
	}
}

func TestTurnsScoping(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range scopeMatrix {
		t.Run(tc.actor+"→"+tc.target, func(t *testing.T) {
			rows, err := f.db.Turns(f.ctx, scopeActors[tc.actor], tc.target, 0, 50)
			wantErr(t, err, tc.want)
			if tc.want != nil {
				if len(rows) != 0 {
					t.Fatalf("rows leaked with error: %d", len(rows))
				}
				return
			}
			var ids []string
			for _, r := range rows {
				if r.ChildID != tc.target {
					t.Fatalf("turn %s of child %s returned for %s", r.ID, r.ChildID, tc.target)
				}
				ids = append(ids, r.ID)
			}
			if want := childTurns[tc.target]; !reflect.DeepEqual(ids, want) {
				t.Fatalf("turns = %v, want %v (newest first)", ids, want)
			}
		})
	}
}

func TestChildrenScoping(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range []struct {
		actor string
		want  []string
		err   error
	}{
		{"parent A", []string{"ch-a", "ch-a2"}, nil},
		{"parent B", []string{"ch-b"}, nil},
		{"parent B claiming family A", []string{"ch-b"}, nil},
		{"unknown parent", nil, nil},
		{"child A (own device)", nil, ErrForbidden},
		{"child A (revoked device)", nil, ErrForbidden},
		{"sibling A2", nil, ErrForbidden},
		{"child B", nil, ErrForbidden},
		{"system", nil, ErrForbidden},
		{"moderator (unknown role)", nil, ErrForbidden},
		{"zero actor", nil, ErrForbidden},
	} {
		t.Run(tc.actor, func(t *testing.T) {
			rows, err := f.db.Children(f.ctx, scopeActors[tc.actor])
			wantErr(t, err, tc.err)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Fatalf("children = %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestTurnsPagination(t *testing.T) {
	f := scopeWorld(t)
	for i := 4; i <= 10; i++ {
		f.must(f.turnCmd("fam-a", "ch-a", "dev-a", fmt.Sprintf("ta%d", i), "a"))
	}
	parent := scopeActors["parent A"]
	seqs := func(rows []TurnRow) []int64 {
		out := []int64{}
		for _, r := range rows {
			out = append(out, r.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		before int64
		limit  int
		want   []int64
	}{
		{0, 3, []int64{10, 9, 8}},
		{8, 3, []int64{7, 6, 5}},
		{3, 10, []int64{2, 1}},
		{1, 10, []int64{}},
		{-5, 2, []int64{10, 9}},
		{0, 100, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
	} {
		t.Run(fmt.Sprintf("before=%d,limit=%d", tc.before, tc.limit), func(t *testing.T) {
			rows, err := f.db.Turns(f.ctx, parent, "ch-a", tc.before, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(rows); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("seqs = %v, want %v", got, tc.want)
			}
		})
	}
}

// A device revoked after linking loses read access immediately.
func TestRevokedDeviceLosesAccess(t *testing.T) {
	f := scopeWorld(t)
	child := scopeActors["child A (own device)"]
	if _, err := f.db.Turns(f.ctx, child, "ch-a", 0, 10); err != nil {
		t.Fatal(err)
	}
	f.revokeDevice("dev-a")
	if _, err := f.db.Child(f.ctx, child, "ch-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Child after revoke: %v, want ErrNotFound", err)
	}
	if _, err := f.db.Turns(f.ctx, child, "ch-a", 0, 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Turns after revoke: %v, want ErrNotFound", err)
	}
	if ok, err := f.db.DeviceActive(f.ctx, "dev-a", "ch-a"); ok || err != nil {
		t.Fatalf("DeviceActive after revoke = %v, %v", ok, err)
	}
}

func TestDeviceActive(t *testing.T) {
	f := scopeWorld(t)
	for _, tc := range []struct {
		dev, child string
		want       bool
	}{
		{"dev-a", "ch-a", true},
		{"dev-a-old", "ch-a", false},
		{"dev-a2", "ch-a", false},
		{"dev-b", "ch-a", false},
		{"dev-b", "ch-b", true},
		{"dev-nope", "ch-a", false},
		{"", "ch-a", false},
	} {
		got, err := f.db.DeviceActive(f.ctx, tc.dev, tc.child)
		if err != nil || got != tc.want {
			t.Errorf("DeviceActive(%s,%s) = %v, %v; want %v", tc.dev, tc.child, got, err, tc.want)
		}
	}
}

func TestVaultFamilyKey(t *testing.T) {
	f := newFixture(t)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.signUp("fam-b", "par-b", "b@example.org")
	v := NewVault(f.keys, f.db)
	if v.Keyring() != f.keys {
		t.Fatal("Keyring() is not the vault's keyring")
	}

	for _, fam := range []string{"fam-a", "fam-b"} {
		k, err := v.FamilyKey(f.ctx, fam)
		if err != nil {
			t.Fatalf("FamilyKey(%s): %v", fam, err)
		}
		if !bytes.Equal(k, f.deks[fam]) {
			t.Fatalf("FamilyKey(%s) = %x, want %x", fam, k, f.deks[fam])
		}
	}
	if _, err := v.FamilyKey(f.ctx, "fam-nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown family: %v, want ErrNotFound", err)
	}

	// Cached: still served after the row disappears from the database.
	if _, err := f.db.wr().ExecContext(f.ctx, "DELETE FROM families WHERE id='fam-a'"); err != nil {
		t.Fatal(err)
	}
	if k, err := v.FamilyKey(f.ctx, "fam-a"); err != nil || !bytes.Equal(k, f.deks["fam-a"]) {
		t.Fatalf("cached FamilyKey = %x, %v", k, err)
	}
	// Forget drops it.
	v.Forget("fam-a")
	if _, err := v.FamilyKey(f.ctx, "fam-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Forget: %v, want ErrNotFound", err)
	}
	// Remember serves a just-created key without a database row.
	fresh := bytes.Repeat([]byte{3}, KeySize)
	v.Remember("fam-new", fresh)
	if k, err := v.FamilyKey(f.ctx, "fam-new"); err != nil || !bytes.Equal(k, fresh) {
		t.Fatalf("remembered key = %x, %v", k, err)
	}

	// A vault with the wrong cluster key cannot unwrap.
	otherKeys, _ := NewKeyring(bytes.Repeat([]byte{8}, KeySize))
	if _, err := NewVault(otherKeys, f.db).FamilyKey(f.ctx, "fam-b"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong cluster key: %v, want ErrDecrypt", err)
	}
	// A wrapped key moved to another family row fails too (AAD binds the family ID).
	var wrapped []byte
	f.db.wr().QueryRowContext(f.ctx, "SELECT wrapped_key FROM families WHERE id='fam-b'").Scan(&wrapped)
	f.must(&SignUp{FamilyID: "fam-c", WrappedKey: wrapped, ParentID: "par-c", EmailIndex: f.keys.EmailIndex("c@x"),
		EmailSealed: []byte("x"), PasswordHash: "h", CreatedAt: baseTime})
	if _, err := NewVault(f.keys, f.db).FamilyKey(f.ctx, "fam-c"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrapped key copied to another family: %v, want ErrDecrypt", err)
	}
}

func TestVaultConcurrent(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 8; i++ {
		f.signUp(fmt.Sprintf("fam-%d", i), fmt.Sprintf("par-%d", i), fmt.Sprintf("p%d@example.org", i))
	}
	v := NewVault(f.keys, f.db)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				fam := fmt.Sprintf("fam-%d", (g+i)%8)
				k, err := v.FamilyKey(f.ctx, fam)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(k, f.deks[fam]) {
					errs <- fmt.Errorf("%s: wrong key", fam)
					return
				}
				if g%4 == 0 {
					v.Forget(fam)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Readers use their own pool and are not blocked by, nor see half of, a
// batch the single writer is applying (WAL snapshot isolation).
func TestConcurrentReadsDuringWrites(t *testing.T) {
	f := scopeWorld(t)
	parent := scopeActors["parent A"]
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				rows, err := f.db.Turns(f.ctx, parent, "ch-a", 0, 1000)
				if err != nil {
					errs <- err
					return
				}
				// Batches below add turns 4 at a time: a reader sees whole batches only.
				if (len(rows)-3)%4 != 0 {
					errs <- fmt.Errorf("reader saw %d turns: a partial batch", len(rows))
					return
				}
				for i := 1; i < len(rows); i++ {
					if rows[i].Seq != rows[i-1].Seq-1 {
						errs <- fmt.Errorf("gap in seqs: %d then %d", rows[i-1].Seq, rows[i].Seq)
						return
					}
				}
			}
		}()
	}
	n := 0
	for b := 0; b < 25; b++ {
		var cmds []Command
		for i := 0; i < 4; i++ {
			n++
			cmds = append(cmds, f.turnCmd("fam-a", "ch-a", "dev-a", fmt.Sprintf("c%d", n), "x"))
		}
		for _, r := range f.apply(cmds...) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows, err := f.db.Turns(f.ctx, parent, "ch-a", 0, 1000)
	if err != nil || len(rows) != 103 {
		t.Fatalf("final turns = %d, %v; want 103", len(rows), err)
	}
}
