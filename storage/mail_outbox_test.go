package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// An e-mail is queued in the same transaction as the command it is about,
// and only when that command did what the e-mail reports; a newer token
// e-mail replaces a pending one; marks delete or reschedule; the rows go
// with their parent; the wrapped command's result and audit entry are its
// own.
func TestMailOutbox(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	mail := func(id, kind string) QueuedMail {
		t.Helper()
		sealed, err := f.keys.SealSecret(MailLabel(id), []byte(`{"to":"a@example.org"}`))
		if err != nil {
			t.Fatal(err)
		}
		return QueuedMail{ID: id, Kind: kind, Sealed: sealed, At: baseTime + int64(f.idx)}
	}
	due := func(now int64) []string {
		t.Helper()
		d, err := f.db.DueMail(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range d {
			ids = append(ids, m.ID)
		}
		return ids
	}
	issue := func(parent string, emailIndex []byte, purpose string) *IssueEmailToken {
		return &IssueEmailToken{ParentID: parent, EmailIndex: emailIndex, Purpose: purpose,
			TokenHash: []byte(fmt.Sprint("h-", purpose, f.idx)), Now: baseTime, ExpiresAt: baseTime + 1e6}
	}
	auditCount := func(action string) int {
		return f.count("SELECT COUNT(*) FROM audit_log WHERE action=?", action)
	}

	// A verification e-mail: the command's result comes back unchanged.
	v := f.must(&MailAfter{Cmd: issue("par-a", nil, PurposeVerifyEmail), Mail: mail("m1", PurposeVerifyEmail)})
	if r, ok := v.(EmailTokenIssued); !ok || !r.Issued || r.ParentID != "par-a" {
		t.Fatalf("result %#v, want the token command's", v)
	}
	if got := due(baseTime + 1e6); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("due %v, want m1", got)
	}
	if n := auditCount("email_verification_sent"); n != 1 {
		t.Fatalf("%d audit entries for the wrapped command, want 1", n)
	}
	// A reset for an unknown address: no token, no e-mail (and no error:
	// the answer must not tell addresses apart).
	r := f.apply(&MailAfter{Cmd: issue("", f.keys.EmailIndex("nobody@example.org"), PurposePasswordReset), Mail: mail("m-nobody", PurposePasswordReset)})[0]
	if r.Err != nil || r.Value.(EmailTokenIssued).Issued {
		t.Fatalf("unknown address: %+v", r)
	}
	// A second verification e-mail replaces the pending first; a reset
	// e-mail is another kind and stays beside it.
	f.must(&MailAfter{Cmd: issue("", f.keys.EmailIndex("a@example.org"), PurposePasswordReset), Mail: mail("m2", PurposePasswordReset)})
	f.must(&MailAfter{Cmd: issue("par-a", nil, PurposeVerifyEmail), Mail: mail("m3", PurposeVerifyEmail)})
	if got := due(baseTime + 1e6); !slices.Equal(got, []string{"m2", "m3"}) {
		t.Fatalf("due %v, want m2 m3 (m1 replaced, m-nobody never queued)", got)
	}
	// A refused consent queues nothing and is refused as it would be bare.
	r = f.apply(&MailAfter{Cmd: &GrantConsent{ParentID: "par-a", ChildID: "ch-a", ConsentID: "cs1", Method: ConsentEmailPlus, NoticeVersion: "2", Now: baseTime}, Mail: mail("m-refused", "consent_confirmation")})[0]
	if !errors.Is(r.Err, ErrEmailUnverified) {
		t.Fatalf("consent of an unverified parent: %v", r.Err)
	}
	f.verifyParent("par-a")
	f.verifyParent("par-b")
	f.must(&MailAfter{Cmd: &GrantConsent{ParentID: "par-a", ChildID: "ch-a", ConsentID: "cs1", Method: ConsentEmailPlus, NoticeVersion: "2", Now: baseTime}, Mail: mail("m4", "consent_confirmation")})
	f.must(&MailAfter{Cmd: &GrantConsent{ParentID: "par-b", ChildID: "ch-b", ConsentID: "cs2", Method: ConsentEmailPlus, NoticeVersion: "2", Now: baseTime}, Mail: mail("m5", "consent_confirmation")})
	if n := auditCount("grant_consent"); n != 2 {
		t.Errorf("%d consent audit entries, want 2", n)
	}
	if got := due(baseTime + 1e6); !slices.Equal(got, []string{"m2", "m3", "m4", "m5"}) {
		t.Fatalf("due %v", got)
	}
	if got := due(0); len(got) != 0 {
		t.Fatalf("due before any was queued: %v", got)
	}
	if n, oldest, err := f.db.MailPending(ctx); err != nil || n != 4 || oldest == 0 {
		t.Fatalf("pending %d, oldest %d, %v", n, oldest, err)
	}

	// Sent and dropped rows go, a retry waits; an unknown id is ignored.
	f.must(&MarkMail{Sent: []string{"m2", "m-gone"}, Dropped: []string{"m3"}, Retry: []MailRetry{{ID: "m4", NextAt: baseTime + 2e6}}, Now: baseTime})
	if got := due(baseTime + 1e6); !slices.Equal(got, []string{"m5"}) {
		t.Fatalf("due after the mark %v, want m5", got)
	}
	if got := due(baseTime + 2e6); !slices.Equal(got, []string{"m5", "m4"}) {
		t.Fatalf("due later %v, want m5 then m4", got)
	}
	d, _ := f.db.DueMail(ctx, baseTime+2e6, 1)
	if len(d) != 1 || d[0].ID != "m5" || d[0].Kind != "consent_confirmation" || d[0].Attempts != 0 {
		t.Fatalf("limit 1: %+v", d)
	}
	if msg, err := f.keys.OpenSecret(MailLabel(d[0].ID), d[0].Sealed); err != nil || !strings.Contains(string(msg), "a@example.org") {
		t.Fatalf("the sealed message does not open: %q %v", msg, err)
	}
	if _, err := f.keys.OpenSecret(MailLabel("m4"), d[0].Sealed); err == nil {
		t.Fatal("a message opened under another row's label")
	}
	d, _ = f.db.DueMail(ctx, baseTime+2e6, 10)
	if d[1].Attempts != 1 {
		t.Fatalf("retried row: %+v", d[1])
	}

	// Deleting a family deletes its parents' pending e-mails.
	f.must(&DeleteFamily{ParentID: "par-b", FamilyID: "fam-b", Now: baseTime})
	if got := due(baseTime + 2e6); !slices.Equal(got, []string{"m4"}) {
		t.Fatalf("after deleting family B: %v, want m4", got)
	}
}

// Only commands that send a parent an e-mail can carry one: anything else
// is refused when encoded, and a log entry that wraps one anyway does not
// decode (so no node applies it).
func TestMailAfterWrapsOnlyMailCommands(t *testing.T) {
	m := QueuedMail{ID: "m", Kind: "x", Sealed: []byte{1}, At: 1}
	for _, c := range []Command{
		&ChatTurn{ChildID: "c"},
		&MailAfter{Cmd: &IssueEmailToken{Purpose: PurposeVerifyEmail}, Mail: m},
		&RevokeConsent{ParentID: "p", ChildID: "c"},
	} {
		if _, err := Encode(&MailAfter{Cmd: c, Mail: m}); err == nil {
			t.Errorf("%s wrapped", c.Kind())
		}
	}
	if _, err := Encode(&MailAfter{Mail: m}); err == nil {
		t.Error("nothing wrapped")
	}
	inner, _ := Encode(&RevokeConsent{ParentID: "p", ChildID: "c"})
	raw := `{"t":"mail_after","v":1,"b":{"cmd":` + string(inner) + `,"mail":{"id":"m"}}}`
	if _, err := Decode([]byte(raw)); err == nil {
		t.Error("a hand-made entry wrapping revoke_consent decoded")
	}
	ok, err := Encode(&MailAfter{Cmd: &GrantConsent{ParentID: "p", ChildID: "c"}, Mail: m})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(ok)
	if err != nil {
		t.Fatal(err)
	}
	if w, isMail := c.(*MailAfter); !isMail || w.Mail.ID != "m" {
		t.Fatalf("decoded %#v", c)
	} else if g, isGrant := w.Cmd.(*GrantConsent); !isGrant || g.ParentID != "p" {
		t.Fatalf("decoded inner %#v", w.Cmd)
	}
}

// A wrapped command that succeeds but whose e-mail has no ID or message is
// refused whole (the change is not made without its e-mail); malformed
// entries do not decode.
func TestMailAfterRefusesAnEmptyEmail(t *testing.T) {
	f := scopeWorld(t)
	cmd := &IssueEmailToken{ParentID: "par-a", Purpose: PurposeVerifyEmail, TokenHash: []byte("h-empty"), Now: baseTime, ExpiresAt: baseTime + 1e6}
	r := f.apply(&MailAfter{Cmd: cmd, Mail: QueuedMail{Kind: PurposeVerifyEmail, At: baseTime}})[0]
	if r.Err == nil {
		t.Fatal("an e-mail without ID or message was queued")
	}
	if n := f.count("SELECT COUNT(*) FROM email_tokens WHERE hash=?", []byte("h-empty")); n != 0 {
		t.Fatalf("the token was issued without its e-mail (%d rows)", n)
	}
	for _, raw := range []string{
		`{"t":"mail_after","v":1,"b":{"cmd":`,
		`{"t":"mail_after","v":1,"b":{"cmd":{"t":"nope","v":1,"b":{}},"mail":{}}}`,
		`{"t":"mail_after","v":1,"b":[]}`,
	} {
		if _, err := Decode([]byte(raw)); err == nil {
			t.Errorf("%s decoded", raw)
		}
	}
}
