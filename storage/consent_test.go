package storage

import (
	"context"
	"errors"
	"testing"
)

// verifyParent confirms a parent's address the way the e-mail link does.
func (f *fixture) verifyParent(parentID string) {
	f.t.Helper()
	hash := codeHash("verify-" + parentID)
	f.must(&IssueEmailToken{ParentID: parentID, Purpose: PurposeVerifyEmail, TokenHash: hash, Now: baseTime, ExpiresAt: baseTime + 3_600_000})
	f.must(&VerifyEmail{TokenHash: hash, Now: baseTime + 1})
}

func (f *fixture) childRow(a Actor, childID string) ChildRow {
	f.t.Helper()
	c, err := f.db.Child(context.Background(), a, childID)
	if err != nil {
		f.t.Fatalf("Child %s as %s: %v", childID, a.Role, err)
	}
	return c
}

// A consent is accepted only from a verified parent of the child's family;
// it is named on the child's row (what the child middleware reads, cached)
// and a withdrawal clears it at once, even for a cached device; a second
// grant supersedes the first; every step is kept and audited; the records
// go with the child.
func TestConsentRecords(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	device := scopeActors["child A (own device)"]
	parentA := scopeActors["parent A"]
	grant := func(parent, child, id, method, notice string) Result {
		return f.apply(&GrantConsent{ParentID: parent, ChildID: child, ConsentID: id, Method: method, NoticeVersion: notice, Now: baseTime + int64(f.idx)})[0]
	}
	if c := f.childRow(device, "ch-a"); !c.NeedsConsent() || c.ConsentID != "" {
		t.Fatalf("a 9-12 child without consent: %+v, NeedsConsent %v", c, c.NeedsConsent())
	}
	refused := []struct {
		name           string
		parent, child  string
		method, notice string
		want           error
	}{
		{"unverified parent", "par-a", "ch-a", ConsentEmailPlus, "2", ErrEmailUnverified},
		{"another family's parent", "par-b", "ch-a", ConsentEmailPlus, "2", ErrNotFound},
		{"unknown child", "par-a", "ch-nope", ConsentEmailPlus, "2", ErrNotFound},
	}
	for _, tc := range refused {
		if r := grant(tc.parent, tc.child, "cs-x", tc.method, tc.notice); !errors.Is(r.Err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
		}
	}
	f.verifyParent("par-a")
	f.verifyParent("par-b")
	for _, tc := range []struct{ name, method, notice, id string }{
		{"unknown method", "checkbox", "2", "cs-x"},
		{"no notice version", ConsentEmailPlus, "", "cs-x"},
		{"no ID", ConsentEmailPlus, "2", ""},
	} {
		if r := grant("par-a", "ch-a", tc.id, tc.method, tc.notice); r.Err == nil || !isDeterministic(r.Err) {
			t.Errorf("%s: %v, want a deterministic refusal", tc.name, r.Err)
		}
	}
	if r := grant("par-b", "ch-a", "cs-x", ConsentEmailPlus, "2"); !errors.Is(r.Err, ErrNotFound) {
		t.Errorf("verified parent of another family: %v", r.Err)
	}
	if n := f.count("SELECT COUNT(*) FROM consents"); n != 0 {
		t.Fatalf("%d consents after refusals only", n)
	}

	f.childRow(device, "ch-a") // cached: the grant must invalidate it
	v := f.must(&GrantConsent{ParentID: "par-a", ChildID: "ch-a", ConsentID: "cs-1", Method: ConsentEmailPlus, NoticeVersion: "2", Now: baseTime + 100})
	if ch, ok := v.(ConsentChange); !ok || ch.ConsentID != "cs-1" || ch.Superseded != "" {
		t.Fatalf("grant result %#v", v)
	}
	if c := f.childRow(device, "ch-a"); c.NeedsConsent() || c.ConsentID != "cs-1" {
		t.Fatalf("after the grant the device reads %+v", c)
	}
	if c := f.childRow(scopeActors["sibling A2"], "ch-a2"); !c.NeedsConsent() {
		t.Fatal("the sibling's profile got the consent too")
	}
	v = f.must(&GrantConsent{ParentID: "par-a", ChildID: "ch-a", ConsentID: "cs-2", Method: ConsentEmailPlus, NoticeVersion: "3", Now: baseTime + 200})
	if ch := v.(ConsentChange); ch.ConsentID != "cs-2" || ch.Superseded != "cs-1" {
		t.Fatalf("second grant %#v", ch)
	}
	f.childRow(device, "ch-a")
	v = f.must(&RevokeConsent{ParentID: "par-a", ChildID: "ch-a", Now: baseTime + 300})
	if ch := v.(ConsentChange); ch.ConsentID != "cs-2" {
		t.Fatalf("revoke result %#v", ch)
	}
	if c := f.childRow(device, "ch-a"); !c.NeedsConsent() {
		t.Fatalf("after the withdrawal the (cached) device still reads consent %q", c.ConsentID)
	}
	if ch := f.must(&RevokeConsent{ParentID: "par-a", ChildID: "ch-a", Now: baseTime + 301}).(ConsentChange); ch.ConsentID != "" {
		t.Fatalf("a second withdrawal revoked %q", ch.ConsentID)
	}
	if r := f.apply(&RevokeConsent{ParentID: "par-b", ChildID: "ch-a", Now: baseTime + 302})[0]; !errors.Is(r.Err, ErrNotFound) {
		t.Fatalf("another family's parent withdrew: %v", r.Err)
	}

	rows, err := f.db.Consents(ctx, parentA, "ch-a")
	if err != nil {
		t.Fatal(err)
	}
	want := []ConsentRow{
		{ID: "cs-1", ChildID: "ch-a", ParentID: "par-a", Method: ConsentEmailPlus, NoticeVersion: "2", GrantedAt: baseTime + 100, RevokedAt: baseTime + 200, RevokedBy: "par-a"},
		{ID: "cs-2", ChildID: "ch-a", ParentID: "par-a", Method: ConsentEmailPlus, NoticeVersion: "3", GrantedAt: baseTime + 200, RevokedAt: baseTime + 300, RevokedBy: "par-a"},
	}
	if len(rows) != len(want) {
		t.Fatalf("history %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("history[%d] = %+v, want %+v", i, rows[i], want[i])
		}
	}
	for _, a := range []string{"parent B", "child A (own device)", "system"} {
		if _, err := f.db.Consents(ctx, scopeActors[a], "ch-a"); err == nil {
			t.Errorf("%s read family A's consents", a)
		}
	}
	ex, err := f.db.ExportFamily(ctx, parentA)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Consents["ch-a"]) != 2 || len(ex.Consents["ch-a2"]) != 0 {
		t.Fatalf("export consents %+v", ex.Consents)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('grant_consent','revoke_consent')"); n != 3 {
		t.Fatalf("%d consent audit entries, want 3 (two grants, one withdrawal that withdrew something)", n)
	}
	f.must(&DeleteChild{ParentID: "par-a", ChildID: "ch-a", Now: baseTime + 400})
	if n := f.count("SELECT COUNT(*) FROM consents WHERE child_id='ch-a'"); n != 0 {
		t.Fatalf("%d consents left after the child was deleted", n)
	}
}

func TestUnderConsentAge(t *testing.T) {
	for tier, want := range map[string]bool{"5-8": true, "9-12": true, "13-17": false, "": false} {
		if got := UnderConsentAge(tier); got != want {
			t.Errorf("UnderConsentAge(%q) = %v", tier, got)
		}
	}
	if (ChildRow{AgeTier: "13-17"}).NeedsConsent() || (ChildRow{AgeTier: "5-8", ConsentID: "cs"}).NeedsConsent() || !(ChildRow{AgeTier: "5-8"}).NeedsConsent() {
		t.Fatal("NeedsConsent")
	}
}
