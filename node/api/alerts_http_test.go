package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"daisydog/node/mail"
)

// verifiedFamily is a family whose parent confirmed their e-mail address.
func (n *apiNode) verifiedFamily(t *testing.T, nick string) family {
	t.Helper()
	f := family{parent: n.newParent(t)}
	tok := n.mailedToken(t, f.email, "verify_email", 1)
	n.must(t, http.StatusOK, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil)
	f.childID = n.newChild(t, f.token, nick, "9-12")
	f.childToken = n.linkDevice(t, f.token, f.childID)
	return f
}

// alertsTo waits until the outbox holds at least want safety alerts to
// address and returns them all. The mail queue sends in order, so once the
// want-th is there, every message queued before it is too.
func (n *apiNode) alertsTo(t *testing.T, to string, want int) []mail.OutboxEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []mail.OutboxEntry
		for _, e := range n.outbox(t) {
			if e.To == to && e.Kind == "safety_alert" {
				got = append(got, e)
			}
		}
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An escalated turn e-mails the child's verified parents: the nickname,
// the time and what kind of thing Daisy noticed, never the message; at most
// one per child per 15 minutes; none for an abuse disclosure (the person
// may be at home) and none to an unverified address.
func TestEscalatedTurnsAlertVerifiedParents(t *testing.T) {
	n := testNode(t)
	chat := func(f family, msg string) {
		t.Helper()
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, nil)
	}
	a := n.verifiedFamily(t, "Juniper")
	chat(a, "hello daisy")
	chat(a, "a man in a car asked me to come with him")
	got := n.alertsTo(t, a.email, 1)
	if len(got) != 1 {
		t.Fatalf("%d alerts after one escalated turn, want 1", len(got))
	}
	m := got[0]
	if m.Subject != "DaisyDog: please check in with Juniper" || !strings.Contains(m.Body, "Juniper") ||
		!strings.Contains(m.Body, "secrets, gifts, photos or a meeting") || strings.Contains(m.Body, "car") {
		t.Fatalf("alert %q\n%s", m.Subject, m.Body)
	}

	chat(a, "I want to kill myself") // within 15 minutes: no second e-mail
	n.clock.add(16 * time.Minute)
	chat(a, "I want to kill myself")
	got = n.alertsTo(t, a.email, 2)
	if len(got) != 2 || !strings.Contains(got[1].Body, "hurting themselves") {
		t.Fatalf("alerts %+v, want the grooming one and one crisis one 16 minutes later", got)
	}

	b := n.newFamily(t, "13-17") // unverified address (a teen profile needs no consent)
	chat(b, "I want to kill myself")
	c := n.verifiedFamily(t, "Rowan")
	chat(c, "my dad hits me")
	d := n.verifiedFamily(t, "Sky")
	chat(d, "I want to kill myself")
	if got := n.alertsTo(t, d.email, 1); len(got) != 1 {
		t.Fatalf("%d alerts to the last family, want 1", len(got))
	}
	// Queued before d's alert, so they would be in the outbox by now.
	for _, e := range n.outbox(t) {
		if e.Kind == "safety_alert" && (e.To == b.email || e.To == c.email) {
			t.Errorf("alert sent to %s: %q", e.To, e.Subject)
		}
	}
	if got := n.alertsTo(t, a.email, 2); len(got) != 2 {
		t.Errorf("%d alerts to the first family, want still 2", len(got))
	}
}
