package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"daisydog/storage"
)

// pendingMail reads the outbox of a node's replica.
func pendingMail(t *testing.T, tn *testNode) []storage.DueMail {
	t.Helper()
	d, err := tn.DB().DueMail(context.Background(), 1<<62, 100)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// E-mails through the replicated outbox: the verification e-mail of a
// sign-up taken by a follower is replicated (sealed) with the token, sent
// by nobody at once, and — the leader lost before its run — sent by the
// next leader, once; after that the outbox is empty on every node.
func TestMailOutboxAcrossNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	ctx := context.Background()
	nodes := startCluster(t, 3, func(c *Config) { c.MailEvery = -1 }) // runs by hand
	leader, followers := leaderOf(t, nodes)
	for _, f := range followers { // see TestAlertOutboxAcrossNodes
		if err := f.Cluster().MembersApply(ctx, storage.KindMarkMail, 1); err != nil {
			t.Fatal(err)
		}
	}
	const email = "outbox@example.test"
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	if st, _ := followers[0].call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, "the e-mail replicated to "+n.nf.NodeID, func() error {
			if d := pendingMail(t, n); len(d) != 1 || d[0].Kind != "verify_email" {
				return fmt.Errorf("pending %+v", d)
			}
			return nil
		})
		d := pendingMail(t, n)[0]
		if strings.Contains(string(d.Sealed), email) || strings.Contains(string(d.Sealed), "ev_") {
			t.Fatalf("the outbox row on %s holds the address or the token in clear", n.nf.NodeID)
		}
	}
	if got := mailCount(t, leader, email, "verify_email"); got != 0 {
		t.Fatalf("%d e-mails sent before the outbox ran", got)
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
	run, err := next.DeliverMail(ctx, true)
	if err != nil || run.Sent != 1 {
		t.Fatalf("the new leader's run: %+v %v", run, err)
	}
	tok := next.mailedToken(t, email, "verify_email", 1)
	for _, f := range followers {
		if f != next {
			if run, err := f.DeliverMail(ctx, true); err != nil || run != (MailRun{}) {
				t.Fatalf("a follower's run: %+v %v", run, err)
			}
		}
	}
	if run, err := next.DeliverMail(ctx, false); err != nil || run.Sent != 0 {
		t.Fatalf("a second run sent again: %+v %v", run, err)
	}
	for _, f := range followers {
		waitFor(t, 5*time.Second, "the outbox emptied on "+f.nf.NodeID, func() error {
			if d := pendingMail(t, f); len(d) != 0 {
				return fmt.Errorf("pending %d", len(d))
			}
			return nil
		})
	}
	if st, _ := followers[1].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil); st != 200 {
		t.Fatalf("the token from the outbox's e-mail: %d", st)
	}
	if got := mailCount(t, next, email, "verify_email"); got != 1 {
		t.Fatalf("%d verification e-mails, want 1", got)
	}
	if m := next.metrics.Snapshot(next.DB()).Mail; m.Sent != 1 || m.Pending != 0 {
		t.Fatalf("the new leader's mail metrics %+v", m)
	}
}

func mailCount(t *testing.T, tn *testNode, to, kind string) int {
	t.Helper()
	n := 0
	for _, e := range tn.outbox(t) {
		if e.To == to && e.Kind == kind {
			n++
		}
	}
	return n
}

// A failed send stays in the outbox and is retried later, backing off; an
// e-mail not sent within a day is dropped; the counters and gauges say so.
func TestMailSendFailureIsRetriedThenDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newTestClock(time.Now())
	relay := &flakySender{}
	n := startCluster(t, 1, func(c *Config) {
		clock.config()(c)
		c.Mail, c.MailOutbox, c.MailEvery = relay, "", -1
	})[0]
	relay.down.Store(true)
	creds := map[string]string{"email": "retry@example.test", "password": "correct horse battery staple"}
	if st, _ := n.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	if _, err := n.DeliverMail(ctx, true); err == nil || !strings.Contains(err.Error(), "relay refused") {
		t.Fatalf("run with the relay down: %v", err)
	}
	d := pendingMail(t, n)
	if len(d) != 1 || d[0].Attempts != 1 {
		t.Fatalf("after a failed send: %+v", d)
	}
	if due, _ := n.DB().DueMail(ctx, clock.now().UnixMilli(), 10); len(due) != 0 {
		t.Fatal("a failed e-mail is due again at once")
	}
	clock.add(mailRetryAfter(0) + time.Second)
	if _, err := n.DeliverMail(ctx, false); err == nil {
		t.Fatal("second run with the relay down succeeded")
	}
	if d := pendingMail(t, n); len(d) != 1 || d[0].Attempts != 2 {
		t.Fatalf("after two failed sends: %+v", d)
	}
	relay.down.Store(false)
	if run, err := n.DeliverMail(ctx, false); err != nil || run.Sent != 0 {
		t.Fatalf("a run before the retry is due: %+v %v", run, err)
	}
	clock.add(mailRetryAfter(1) + time.Second)
	if run, err := n.DeliverMail(ctx, false); err != nil || run.Sent != 1 || relay.count("verify_email") != 1 {
		t.Fatalf("run with the relay back: %+v %v", run, err)
	}

	// A reset e-mail that cannot be sent for a day is dropped.
	relay.down.Store(true)
	if st, _ := n.call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": "retry@example.test"}, nil); st != 202 {
		t.Fatalf("reset: %d", st)
	}
	clock.add(time.Duration(storage.MailMaxAgeMillis+1) * time.Millisecond)
	if run, err := n.DeliverMail(ctx, false); err != nil || run.Dropped != 1 {
		t.Fatalf("a day later: %+v %v", run, err)
	}
	if d := pendingMail(t, n); len(d) != 0 {
		t.Fatalf("left after the drop: %+v", d)
	}
	// A queued e-mail that cannot be opened (sealed under another cluster
	// key, as after a restore from elsewhere) is dropped, never sent.
	relay.down.Store(false)
	bad, err := storage.Encode(&storage.MailAfter{
		Cmd: &storage.IssueEmailToken{EmailIndex: n.keyring.EmailIndex("retry@example.test"), Purpose: storage.PurposePasswordReset,
			TokenHash: []byte("h-foreign"), Now: clock.now().UnixMilli(), ExpiresAt: clock.now().Add(time.Hour).UnixMilli()},
		Mail: storage.QueuedMail{ID: "ml_foreign", Kind: "password_reset", Sealed: []byte("sealed elsewhere"), At: clock.now().UnixMilli()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.cluster.Apply(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if run, err := n.DeliverMail(ctx, false); err != nil || run.Dropped != 1 || run.Sent != 0 {
		t.Fatalf("an e-mail that does not open: %+v %v", run, err)
	}
	if c := relay.count("password_reset"); c != 0 {
		t.Fatalf("%d reset e-mails sent", c)
	}
	m := n.metrics.Snapshot(n.DB()).Mail
	if m.Sent != 1 || m.Failed != 2 || m.Dropped != 2 {
		t.Fatalf("counters %+v, want 1 sent, 2 failed, 2 dropped", m)
	}
}

func TestMailRetryAfterGrowsAndIsBounded(t *testing.T) {
	t.Parallel()
	prev := time.Duration(0)
	for a := 0; a < 20; a++ {
		d := mailRetryAfter(a)
		if d < prev || d > mailMaxRetry || d < mailFirstRetry {
			t.Fatalf("attempt %d: %v after %v", a, d, prev)
		}
		prev = d
	}
	if mailRetryAfter(0) != mailFirstRetry || mailRetryAfter(19) != mailMaxRetry {
		t.Fatalf("first %v, last %v", mailRetryAfter(0), mailRetryAfter(19))
	}
}

func (f *flakySender) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.sent {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// The background loop sends what the outbox holds, keeps a failed e-mail
// for its retry while the relay refuses, and delivers it when the relay
// is back; it runs only on the leader.
func TestMailLoopRetries(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	relay := &flakySender{}
	relay.down.Store(true)
	n := startCluster(t, 1, func(c *Config) {
		clock.config()(c)
		c.Mail, c.MailOutbox, c.MailEvery = relay, "", 10*time.Millisecond
	})[0]
	creds := map[string]string{"email": "loop@example.test", "password": "correct horse battery staple"}
	if st, _ := n.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	waitFor(t, 10*time.Second, "a failed send", func() error {
		if n.metrics.MailFailed.Load() == 0 {
			return errors.New("none failed yet")
		}
		return nil
	})
	relay.down.Store(false)
	if c := relay.count("verify_email"); c != 0 {
		t.Fatalf("%d sent while the relay refused", c)
	}
	clock.add(mailMaxRetry) // past any retry time the failures set
	waitFor(t, 30*time.Second, "the e-mail after the relay came back", func() error {
		if c := relay.count("verify_email"); c != 1 {
			return fmt.Errorf("%d sent", c)
		}
		return nil
	})
	waitFor(t, 10*time.Second, "the outbox empty", func() error {
		if d := pendingMail(t, n); len(d) != 0 {
			return fmt.Errorf("%d pending", len(d))
		}
		return nil
	})
}
