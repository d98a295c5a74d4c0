package storage

import (
	"context"
	"testing"
)

// The outbox starts once, at one log index, past every escalation already
// in the audit log; pending escalations are those after the cursor (not
// policy failures, not other audit entries, not deleted children); a mark
// moves the cursor forward only and records the throttle; a restore resets
// the start index for the new log.
func TestAlertOutbox(t *testing.T) {
	f := scopeWorld(t)
	ctx := context.Background()
	escalate := func(id, child, dev, fam string, failClosed bool) {
		t.Helper()
		c := f.turnCmd(fam, child, dev, id, "help")
		c.EventID, c.InCategories, c.Escalate, c.FailClosed = "ev-"+id, []string{"self_harm"}, true, failClosed
		c.InAction = "support"
		f.must(c)
	}
	escalate("before", "ch-a", "dev-a", "fam-a", false)
	if o, err := f.db.AlertOutboxState(ctx); err != nil || o.Started {
		t.Fatalf("before the start: %+v %v", o, err)
	}
	v := f.must(&StartAlertOutbox{Now: baseTime})
	started, ok := v.(AlertOutbox)
	if !ok || !started.Started || !started.New || started.StartIndex != f.idx {
		t.Fatalf("start result %#v (entry index %d)", v, f.idx)
	}
	started.New = false
	if again := f.must(&StartAlertOutbox{Now: baseTime + 1}).(AlertOutbox); again != started {
		t.Fatalf("a second start changed the outbox: %+v, was %+v", again, started)
	}
	if p, _, err := f.db.PendingAlerts(ctx, started.Done, 100); err != nil || len(p) != 0 {
		t.Fatalf("an escalation from before the start is pending: %+v %v", p, err)
	}

	escalate("e1", "ch-a", "dev-a", "fam-a", false)
	escalate("failed", "ch-a", "dev-a", "fam-a", true) // a policy failure: not for the parents
	f.must(f.turnCmd("fam-b", "ch-b", "dev-b", "plain", "hi"))
	escalate("e2", "ch-b", "dev-b", "fam-b", false)
	escalate("e3", "ch-a2", "dev-a2", "fam-a", false)
	pending, end, err := f.db.PendingAlerts(ctx, started.Done, 100)
	if err != nil {
		t.Fatal(err)
	}
	var turns []string
	for _, p := range pending {
		turns = append(turns, p.TurnID)
		if p.Seq <= started.Done || p.Seq > end || len(p.Categories) != 1 || p.Categories[0] != "self_harm" || p.FamilyID == "" || len(p.NicknameSealed) == 0 {
			t.Errorf("pending %+v (end %d)", p, end)
		}
	}
	if len(turns) != 3 || turns[0] != "e1" || turns[1] != "e2" || turns[2] != "e3" {
		t.Fatalf("pending turns %v, want e1 e2 e3", turns)
	}
	if p, e, _ := f.db.PendingAlerts(ctx, started.Done, pending[0].Seq-started.Done); len(p) != 1 || e != pending[0].Seq {
		t.Fatalf("a window ending at the first escalation holds %d, ends at %d", len(p), e)
	}
	if _, e, _ := f.db.PendingAlerts(ctx, end, 100); e != end {
		t.Fatalf("a window past the last entry ends at %d, want %d", e, end)
	}

	f.must(&MarkAlertsDelivered{UpTo: pending[1].Seq, Sent: []AlertSent{{ChildID: "ch-a", At: 500}, {ChildID: "ch-nope", At: 1}}, Now: baseTime})
	o, _ := f.db.AlertOutboxState(ctx)
	if o.Done != pending[1].Seq || o.StartIndex != started.StartIndex {
		t.Fatalf("after the mark: %+v", o)
	}
	f.must(&MarkAlertsDelivered{UpTo: pending[0].Seq, Now: baseTime}) // an older leader's mark: no step back
	if o2, _ := f.db.AlertOutboxState(ctx); o2.Done != o.Done {
		t.Fatalf("the cursor moved back to %d", o2.Done)
	}
	left, _, _ := f.db.PendingAlerts(ctx, o.Done, 100)
	if len(left) != 1 || left[0].TurnID != "e3" {
		t.Fatalf("left %+v", left)
	}
	escalate("e4", "ch-a", "dev-a", "fam-a", false)
	left, _, _ = f.db.PendingAlerts(ctx, o.Done, 100)
	if len(left) != 2 || left[1].LastAlertAt != 500 || left[0].LastAlertAt != 0 {
		t.Fatalf("throttle carried: %+v", left)
	}
	f.must(&MarkAlertsDelivered{UpTo: left[1].Seq, Sent: []AlertSent{{ChildID: "ch-a", At: 400}}, Now: baseTime})
	if n := f.count("SELECT COUNT(*) FROM alert_throttle WHERE child_id='ch-a' AND last_at=500"); n != 1 {
		t.Fatal("an older alert time replaced a newer one")
	}
	if n := f.count("SELECT COUNT(*) FROM alert_throttle WHERE child_id='ch-nope'"); n != 0 {
		t.Fatal("a throttle row for an unknown child")
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('alert_outbox_started','safety_alerts_sent')"); n != 3 {
		t.Fatalf("%d outbox audit entries, want 3 (the start, two marks with children)", n)
	}

	// A deleted child's escalation is no longer pending.
	escalate("e5", "ch-b", "dev-b", "fam-b", false)
	f.must(&DeleteChild{ParentID: "par-b", ChildID: "ch-b", Now: baseTime})
	o, _ = f.db.AlertOutboxState(ctx)
	if p, _, _ := f.db.PendingAlerts(ctx, o.Done, 100); len(p) != 0 {
		t.Fatalf("pending after the child was deleted: %+v", p)
	}
	if n := f.count("SELECT COUNT(*) FROM alert_throttle WHERE child_id='ch-b'"); n != 0 {
		t.Fatal("the deleted child's throttle row is left")
	}
	if r, err := f.db.ChildAlertRecipients(ctx, " "); err == nil || r != nil {
		t.Fatal("recipients of no child")
	}
}
