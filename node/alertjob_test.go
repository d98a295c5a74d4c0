package node

import (
	"context"
	"daisydog/storage"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/node/mail"
)

// alertsTo counts the safety alerts to an address in every node's outbox
// file (a stopped node's too).
func alertsTo(t *testing.T, nodes []*testNode, to string) (n int, bodies []string) {
	t.Helper()
	for _, tn := range nodes {
		for _, e := range tn.outbox(t) {
			if e.To == to && e.Kind == "safety_alert" {
				n++
				bodies = append(bodies, e.Body)
			}
		}
	}
	return n, bodies
}

// Parent alerts through the replicated outbox: before it starts, the node
// that took an escalated turn sends the alert (the older way); once it has
// started, escalations are sent by the leader from replicated state — one
// committed while the leader is lost is sent by the next leader — with the
// throttle kept cluster-wide, none for an abuse disclosure, and never
// twice for one escalation.
func TestAlertOutboxAcrossNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	clock := newTestClock(time.Now())
	// AlertEvery -1: runs by hand. An outbox file per node: the test tells
	// which node sent each alert.
	nodes := startCluster(t, 3, func(c *Config) {
		clock.config()(c)
		c.MailOutbox = filepath.Join(c.DataDir, "outbox", "mail.jsonl")
	})
	leader, followers := leaderOf(t, nodes)
	const email = "alerts@example.test"
	// Verified parent, consent (the leader sends the confirmation e-mails:
	// they land in its file).
	fam := newFamily(t, leader, email, "Clover", "9-12")
	escalate := func(via *testNode, msg string) {
		t.Helper()
		if st, tr := via.chat(t, fam.childToken, msg); st != 200 || !tr.Turn.Safety.Escalated {
			t.Fatalf("chat %q via %s: %d, escalated %v", msg, via.nf.NodeID, st, tr.Turn.Safety.Escalated)
		}
	}

	// Before the outbox: the node that took the turn sends it.
	escalate(followers[0], "I want to kill myself")
	waitFor(t, 10*time.Second, "the alert from the node that took the turn", func() error {
		if n, _ := alertsTo(t, []*testNode{followers[0]}, email); n != 1 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	run, err := leader.DeliverAlerts(ctx)
	if err != nil || !run.Started || run.Sent != 0 {
		t.Fatalf("first run (starts the outbox): %+v %v", run, err)
	}
	if n, _ := alertsTo(t, nodes, email); n != 1 {
		t.Fatalf("%d alerts after the outbox started, want still 1 (the earlier turn is not the outbox's)", n)
	}

	// After it: nobody sends at once; the leader is lost before it runs;
	// the next leader sends it.
	clock.add(16 * time.Minute)
	escalate(followers[1], "a man in a car asked me to come with him")
	// Whichever follower leads next must have heard from the old leader that
	// it applies the outbox's commands (the upgrade gate holds them back on
	// a member it never heard from: raftcluster/upgrade.go).
	for _, f := range followers {
		if err := f.Cluster().MembersApply(ctx, storage.KindMarkAlerts, 1); err != nil {
			t.Fatal(err)
		}
	}
	leader.stop(t)
	var next *testNode
	waitFor(t, 15*time.Second, "a new leader", func() error {
		for _, f := range followers {
			if f.Cluster().IsLeader() {
				next = f
				return nil
			}
		}
		return errors.New("no leader yet")
	})
	if n, _ := alertsTo(t, nodes, email); n != 1 {
		t.Fatalf("%d alerts before the outbox ran, want 1 (no node sent it at once)", n)
	}
	run, err = next.DeliverAlerts(ctx)
	if err != nil || run.Sent != 1 || run.Alerted != 1 {
		t.Fatalf("the new leader's run: %+v %v", run, err)
	}
	n, bodies := alertsTo(t, nodes, email)
	if n != 2 || !strings.Contains(bodies[len(bodies)-1], "secrets, gifts, photos or a meeting") || strings.Contains(strings.Join(bodies, ""), "car") {
		t.Fatalf("%d alerts %q", n, bodies)
	}
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 0 {
		t.Fatalf("a second run sent again: %+v %v", run, err)
	}
	if s := next.metrics.Snapshot(nil).Alerts; s["sent"] != 1 || s["failed"] != 0 {
		t.Fatalf("the new leader's alert counters %v", s)
	}

	// The throttle is the cluster's: an escalation through the other node
	// within 15 minutes is not sent; an abuse disclosure never; after 15
	// minutes again.
	other := followers[0]
	if other == next {
		other = followers[1]
	}
	escalate(other, "I cut myself")
	escalate(other, "my dad hits me")
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 0 || run.Skipped != 2 {
		t.Fatalf("throttled and disclosure run: %+v %v", run, err)
	}
	clock.add(16 * time.Minute)
	escalate(other, "i wanna die")
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 1 {
		t.Fatalf("run after 16 minutes: %+v %v", run, err)
	}
	if n, _ := alertsTo(t, nodes, email); n != 3 {
		t.Fatalf("%d alerts in all, want 3", n)
	}
	if run, _ := other.DeliverAlerts(ctx); run != (AlertRun{}) {
		t.Fatalf("a follower's run did something: %+v", run)
	}
	// A family whose parent never verified the address: nobody to tell.
	teen := newFamily(t, other, "unverified@example.test", "Ash", "13-17")
	if st, tr := other.chat(t, teen.childToken, "I want to kill myself"); st != 200 || !tr.Turn.Safety.Escalated {
		t.Fatalf("teen chat: %d", st)
	}
	if run, err = next.DeliverAlerts(ctx); err != nil || run.Sent != 0 || run.Skipped != 1 {
		t.Fatalf("run for an unverified family: %+v %v", run, err)
	}
}

// The background loop starts the outbox on its own and sends an
// escalation's alert from it, retrying after a failed run.
func TestAlertLoop(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, func(c *Config) { c.AlertEvery = 50 * time.Millisecond })[0]
	waitFor(t, 10*time.Second, "the outbox started by the loop", func() error {
		o, err := n.DB().AlertOutboxState(context.Background())
		if err != nil || !o.Started {
			return fmt.Errorf("%+v %v", o, err)
		}
		return nil
	})
	const email = "loop-alert@example.test"
	fam := newFamily(t, n, email, "Sorrel", "9-12")
	if st, tr := n.chat(t, fam.childToken, "he says it's our little secret and mom can't know"); st != 200 || !tr.Turn.Safety.Escalated {
		t.Fatalf("chat: %d %+v", st, tr.Turn.Safety)
	}
	waitFor(t, 10*time.Second, "the alert from the loop", func() error {
		if c, _ := alertsTo(t, []*testNode{n}, email); c != 1 {
			return fmt.Errorf("%d alerts", c)
		}
		return nil
	})
	o, err := n.DB().AlertOutboxState(context.Background())
	if err != nil || o.Done == 0 {
		t.Fatalf("cursor after the loop's run: %+v %v", o, err)
	}
}

// flakySender fails while down is set, and records what it sent.
type flakySender struct {
	down atomic.Bool
	mu   sync.Mutex
	sent []mail.Message
}

func (f *flakySender) Send(_ context.Context, m mail.Message) error {
	if f.down.Load() {
		return errors.New("relay refused the connection")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

func (f *flakySender) alerts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.sent {
		if m.Kind == "safety_alert" {
			n++
		}
	}
	return n
}

// A send that fails leaves the escalation in the outbox (the cursor stays
// before it) and counts as a failure; the next run sends it.
func TestAlertSendFailureIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	relay := &flakySender{}
	n := startCluster(t, 1, func(c *Config) { c.Mail = relay; c.MailOutbox = "" })[0]
	if run, err := n.DeliverAlerts(ctx); err != nil || !run.Started {
		t.Fatalf("start: %+v %v", run, err)
	}
	fam := newFamilyVerifiedBy(t, n, relay, "relay@example.test", "Basil")
	if st, tr := n.chat(t, fam.childToken, "I want to kill myself"); st != 200 || !tr.Turn.Safety.Escalated {
		t.Fatalf("chat: %d", st)
	}
	before, _ := n.DB().AlertOutboxState(ctx)
	relay.down.Store(true)
	if _, err := n.DeliverAlerts(ctx); err == nil || !strings.Contains(err.Error(), "relay refused") {
		t.Fatalf("run with the relay down: %v", err)
	}
	if o, _ := n.DB().AlertOutboxState(ctx); o.Done != before.Done {
		t.Fatalf("the cursor moved past an alert that was not sent: %d → %d", before.Done, o.Done)
	}
	if f := n.metrics.AlertsFailed.Load(); f != 1 {
		t.Fatalf("failed sends counted %d, want 1", f)
	}
	relay.down.Store(false)
	if run, err := n.DeliverAlerts(ctx); err != nil || run.Sent != 1 || relay.alerts() != 1 {
		t.Fatalf("run with the relay back: %+v %v, %d alerts", run, err, relay.alerts())
	}
}

// newFamilyVerifiedBy is newFamily for a node whose mail goes to a sender
// in this process: the verification token is read from what it sent.
func newFamilyVerifiedBy(t *testing.T, tn *testNode, relay *flakySender, email, nickname string) family {
	t.Helper()
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	if st, _ := tn.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	var tok string
	waitFor(t, 10*time.Second, "the verification e-mail", func() error {
		relay.mu.Lock()
		defer relay.mu.Unlock()
		for _, m := range relay.sent {
			if m.To == email && m.Kind == "verify_email" {
				tok = tokenRe.FindString(m.Body)
				return nil
			}
		}
		return errors.New("not sent yet")
	})
	if st, _ := tn.call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil); st != 200 {
		t.Fatalf("verify: %d", st)
	}
	return newFamilyAfterSignUp(t, tn, email, nickname, "13-17")
}

// The background loop retries a failed send with a growing wait and sends
// once the relay works again.
func TestAlertLoopRetries(t *testing.T) {
	t.Parallel()
	relay := &flakySender{}
	relay.down.Store(true)
	n := startCluster(t, 1, func(c *Config) { c.Mail = relay; c.MailOutbox = ""; c.AlertEvery = 20 * time.Millisecond })[0]
	waitFor(t, 10*time.Second, "the outbox started", func() error {
		if o, _ := n.DB().AlertOutboxState(context.Background()); !o.Started {
			return errors.New("not yet")
		}
		return nil
	})
	relay.down.Store(false) // for the verification e-mail
	fam := newFamilyVerifiedBy(t, n, relay, "retry@example.test", "Fennel")
	relay.down.Store(true)
	if st, _ := n.chat(t, fam.childToken, "my online friend wants a photo of me in my pajamas"); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	waitFor(t, 10*time.Second, "a failed send", func() error {
		if n.metrics.AlertsFailed.Load() == 0 {
			return errors.New("none failed yet")
		}
		return nil
	})
	relay.down.Store(false)
	waitFor(t, 70*time.Second, "the alert after the relay came back", func() error {
		if c := relay.alerts(); c != 1 {
			return fmt.Errorf("%d alerts", c)
		}
		return nil
	})
}

// A safety hold placed to reach the family (parent_contact_pending) is
// e-mailed to the child's verified parents from the outbox, once, without
// any of the child's words, and it neither waits for nor delays the
// escalation alerts' throttle; a hold "under review" (it may follow a
// disclosure about someone at home) and the lift of a hold send nothing.
func TestSafetyHoldEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, n)
	const email = "hold-mail@example.test"
	fam := newFamily(t, n, email, "Clover", "9-12")
	if run, err := n.DeliverAlerts(ctx); err != nil || !run.Started {
		t.Fatalf("starting the outbox: %+v %v", run, err)
	}
	holdMails := func() (count int, bodies []string) {
		for _, e := range n.outbox(t) {
			if e.To == email && e.Kind == "safety_hold" {
				count++
				bodies = append(bodies, e.Subject+"\n"+e.Body)
			}
		}
		return count, bodies
	}
	hold := func(method, reason string) {
		t.Helper()
		var body any
		if reason != "" {
			body = map[string]string{"reason": reason}
		}
		if st, _ := n.call(t, method, "/v1/moderation/children/"+fam.childID+"/hold", admin.token, body, nil); st != 200 {
			t.Fatalf("%s hold %q: %d", method, reason, st)
		}
	}

	hold("PUT", storage.HoldUnderReview)
	hold("DELETE", "")
	if run, err := n.DeliverAlerts(ctx); err != nil || run.Sent != 0 {
		t.Fatalf("a hold under review and its lift: %+v %v", run, err)
	}

	hold("PUT", storage.HoldParentContactPending)
	if run, err := n.DeliverAlerts(ctx); err != nil || run.Sent != 1 || run.Alerted != 1 {
		t.Fatalf("the hold's run: %+v %v", run, err)
	}
	count, bodies := holdMails()
	if count != 1 || !strings.Contains(bodies[0], "please get in touch about Clover") || !strings.Contains(bodies[0], "paused Clover's chat") {
		t.Fatalf("hold e-mails %d: %q", count, bodies)
	}
	if run, err := n.DeliverAlerts(ctx); err != nil || run.Sent != 0 {
		t.Fatalf("a second run sent again: %+v %v", run, err)
	}
	hold("DELETE", "")
	// The hold did not start the alerts' throttle: an escalation right
	// after it is alerted.
	if st, tr := n.chat(t, fam.childToken, "I want to kill myself"); st != 200 || !tr.Turn.Safety.Escalated {
		t.Fatalf("chat after the lift: %d", st)
	}
	if run, err := n.DeliverAlerts(ctx); err != nil || run.Sent != 1 {
		t.Fatalf("the escalation after the hold: %+v %v", run, err)
	}
	if c, _ := alertsTo(t, []*testNode{n}, email); c != 1 {
		t.Fatalf("%d safety alerts, want 1", c)
	}
	if count, _ := holdMails(); count != 1 {
		t.Fatalf("%d hold e-mails in all, want 1", count)
	}
}
