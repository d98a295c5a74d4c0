package storage

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// baseTime is the fixed "now" used by test commands (seconds since epoch).
const baseTime = int64(1_700_000_000)

// testKEK is a fixed cluster key for tests.
var testKEK = bytes.Repeat([]byte{0x42}, KeySize)

// fixture is a real SQLite database in a temp dir, plus the keys and the
// next Raft index to use, so tests can apply commands as the FSM would.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	dir  string
	db   *DB
	keys *Keyring
	idx  uint64
	deks map[string][]byte // family ID -> data key
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(context.Background(), filepath.Join(dir, "daisydog.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := NewKeyring(testKEK)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return &fixture{t: t, ctx: context.Background(), dir: dir, db: db, keys: keys, deks: map[string][]byte{}}
}

func (f *fixture) entry(c Command) Entry {
	f.t.Helper()
	data, err := Encode(c)
	if err != nil {
		f.t.Fatalf("Encode %s: %v", c.Kind(), err)
	}
	f.idx++
	return Entry{Index: f.idx, Data: data}
}

// apply applies cmds in one batch, each at the next index.
func (f *fixture) apply(cmds ...Command) []Result {
	f.t.Helper()
	entries := make([]Entry, len(cmds))
	for i, c := range cmds {
		entries[i] = f.entry(c)
	}
	res, err := f.db.ApplyBatch(f.ctx, entries)
	if err != nil {
		f.t.Fatalf("ApplyBatch: %v", err)
	}
	if len(res) != len(cmds) {
		f.t.Fatalf("ApplyBatch returned %d results for %d entries", len(res), len(cmds))
	}
	return res
}

// must applies one command and fails the test on any error.
func (f *fixture) must(c Command) any {
	f.t.Helper()
	r := f.apply(c)[0]
	if r.Err != nil {
		f.t.Fatalf("apply %s: %v", c.Kind(), r.Err)
	}
	return r.Value
}

func (f *fixture) seal(key []byte, plaintext, field, rowID string) []byte {
	f.t.Helper()
	b, err := Seal(key, []byte(plaintext), FieldAAD(field, rowID))
	if err != nil {
		f.t.Fatalf("Seal: %v", err)
	}
	return b
}

// twoFamilies signs up two families, fam-a (parent par-a; children ch-a
// "Rex" and ch-a2 "Sis") and fam-b (parent par-b; child ch-b "Bo"): the
// world of the tests that check one family's rows never touch another's.
func (f *fixture) twoFamilies() {
	f.signUp("fam-a", "par-a", "a@example.org")
	f.signUp("fam-b", "par-b", "b@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Rex")
	f.createChild("fam-a", "par-a", "ch-a2", "Sis")
	f.createChild("fam-b", "par-b", "ch-b", "Bo")
}

// signUpCmd builds a SignUp the way the node would: fresh data key wrapped by
// the cluster key, sealed e-mail, blind index.
func (f *fixture) signUpCmd(familyID, parentID, email string) *SignUp {
	f.t.Helper()
	dek, ok := f.deks[familyID]
	if !ok {
		var err error
		if dek, err = NewDataKey(); err != nil {
			f.t.Fatal(err)
		}
		f.deks[familyID] = dek
	}
	wrapped, err := f.keys.WrapDataKey(familyID, dek)
	if err != nil {
		f.t.Fatal(err)
	}
	return &SignUp{
		FamilyID:     familyID,
		WrappedKey:   wrapped,
		ParentID:     parentID,
		EmailIndex:   f.keys.EmailIndex(email),
		EmailSealed:  f.seal(dek, email, FieldEmail, parentID),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		CreatedAt:    baseTime,
	}
}

func (f *fixture) signUp(familyID, parentID, email string) {
	f.t.Helper()
	f.must(f.signUpCmd(familyID, parentID, email))
}

func (f *fixture) childCmd(familyID, parentID, childID, nickname string) *CreateChild {
	f.t.Helper()
	dek := f.deks[familyID]
	if dek == nil {
		dek = bytes.Repeat([]byte{1}, KeySize) // family unknown to the fixture: any key
	}
	return &CreateChild{
		ChildID:        childID,
		ParentID:       parentID,
		NicknameSealed: f.seal(dek, nickname, FieldNickname, childID),
		AgeTier:        "9-12",
		CreatedAt:      baseTime + int64(f.idx),
	}
}

func (f *fixture) createChild(familyID, parentID, childID, nickname string) {
	f.t.Helper()
	f.must(f.childCmd(familyID, parentID, childID, nickname))
}

func codeHash(code string) []byte {
	k, _ := NewKeyring(testKEK)
	return k.SecretIndex("link", code)
}

// linkDevice issues a link code and redeems it for deviceID.
func (f *fixture) linkDevice(parentID, childID, deviceID string) LinkedDevice {
	f.t.Helper()
	code := "code-" + deviceID
	f.must(&CreateLinkCode{ParentID: parentID, ChildID: childID, CodeHash: codeHash(code),
		CreatedAt: baseTime, ExpiresAt: baseTime + 600})
	v := f.must(&RedeemLinkCode{CodeHash: codeHash(code), DeviceID: deviceID, Now: baseTime + 1})
	ld, ok := v.(LinkedDevice)
	if !ok {
		f.t.Fatalf("RedeemLinkCode value = %T, want LinkedDevice", v)
	}
	return ld
}

// revokeDevice revokes a device through the RevokeDevice command, as a
// parent of its child's family.
func (f *fixture) revokeDevice(deviceID string) {
	f.t.Helper()
	var childID, parentID string
	if err := f.db.wr().QueryRowContext(f.ctx, `SELECT d.child_id, p.id FROM devices d JOIN children c ON c.id = d.child_id
		JOIN parents p ON p.family_id = c.family_id WHERE d.id=? LIMIT 1`, deviceID).Scan(&childID, &parentID); err != nil {
		f.t.Fatal(err)
	}
	if r := f.apply(&RevokeDevice{ParentID: parentID, ChildID: childID, DeviceID: deviceID, Now: baseTime + 5}); r[0].Err != nil {
		f.t.Fatal(r[0].Err)
	}
}

func (f *fixture) turnCmd(familyID, childID, deviceID, turnID, message string) *ChatTurn {
	f.t.Helper()
	dek := f.deks[familyID]
	if dek == nil {
		dek = bytes.Repeat([]byte{1}, KeySize)
	}
	return &ChatTurn{
		TurnID:        turnID,
		ChildID:       childID,
		DeviceID:      deviceID,
		CreatedAt:     baseTime + int64(f.idx),
		MessageSealed: f.seal(dek, message, FieldMessage, turnID),
		ReplySealed:   f.seal(dek, "Woof! "+message, FieldReply, turnID),
		Intent:        "chat",
		InAction:      "allow",
		InCategories:  []string{},
		OutAction:     "allow",
		OutCategories: []string{},
		PolicyVersion: "default@1.0.0",
	}
}

// count returns SELECT COUNT(*) FROM table [WHERE ...] through the writer.
func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.wr().QueryRowContext(f.ctx, query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (f *fixture) appliedIndex() uint64 {
	f.t.Helper()
	v, err := f.db.AppliedIndex(f.ctx)
	if err != nil {
		f.t.Fatalf("AppliedIndex: %v", err)
	}
	return v
}

func wantErr(t *testing.T, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("err = %v, want nil", got)
	case want != nil && !errors.Is(got, want):
		t.Fatalf("err = %v, want %v", got, want)
	}
}
