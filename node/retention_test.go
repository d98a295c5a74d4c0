package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/storage"
)

// history is what GET /v1/chat returns to a child on a node, oldest first.
func (tn *testNode) history(t *testing.T, token string) []string {
	t.Helper()
	var out struct {
		Turns []struct {
			Message string `json:"message"`
		} `json:"turns"`
	}
	if st, _ := tn.call(t, "GET", "/v1/chat?limit=50", token, nil, &out); st != 200 {
		t.Fatalf("history on %s: %d", tn.nf.NodeID, st)
	}
	var msgs []string
	for _, tr := range slices.Backward(out.Turns) {
		msgs = append(msgs, tr.Message)
	}
	return msgs
}

func safetyEvents(t *testing.T, n *testNode) int {
	t.Helper()
	c, err := n.DB().SafetyEventCount(context.Background(), "escalation")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRetentionJobOnACluster: turns older than the configured retention
// disappear from every node once the leader's job ran — in chunks, with one
// audit entry of counts per command — and nothing newer, of any family,
// goes with them; safety events follow their own, longer retention.
func TestRetentionJobOnACluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, func(c *Config) {
		c.Now = clock.now
		c.Retention = api.Retention{TurnsDays: 1, SafetyDays: 2}
		c.RetentionEvery = -1 // only when the test says so
		c.RetentionChunk = 3
	})
	leader, followers := leaderOf(t, nodes)
	a := newFamily(t, followers[0], "keep-a@example.test", "Juniper", "9-12")
	b := newFamily(t, followers[1], "keep-b@example.test", "Rowan", "9-12")
	for _, msg := range []string{"old one", "old two", "I want to kill myself"} {
		if st, _ := followers[0].chat(t, a.childToken, msg); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	followers[1].chat(t, b.childToken, "rowan old")

	// A day and an hour later: new turns, then the job.
	clock.add(25 * time.Hour)
	followers[1].chat(t, a.childToken, "new one")
	followers[0].chat(t, b.childToken, "rowan new")
	events := safetyEvents(t, leader)

	if _, err := followers[0].RunRetention(context.Background()); !errors.Is(err, errNotLeader) {
		t.Fatalf("a follower ran the job: %v", err)
	}
	run, err := leader.RunRetention(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Turns != 4 || run.SafetyEvents != 0 || run.Commands != 2 || run.More {
		t.Fatalf("run %+v, want 4 turns in 2 commands of at most 3", run)
	}
	want := map[string][]string{a.childToken: {"new one"}, b.childToken: {"rowan new"}}
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.Cluster().WaitApplied(ctx, run.Index); err != nil {
			t.Fatalf("%s: %v", n.nf.NodeID, err)
		}
		cancel()
		for tok, msgs := range want {
			if got := n.history(t, tok); !slices.Equal(got, msgs) {
				t.Fatalf("history on %s: %q, want %q", n.nf.NodeID, got, msgs)
			}
		}
		if got := slices.Collect(maps.Keys(allTurnIDs(t, n, a.childID))); len(got) != 1 {
			t.Fatalf("%s holds %d turns of the child, want 1", n.nf.NodeID, len(got))
		}
		// The escalated turn is gone, its safety event stays (2 days).
		if c := safetyEvents(t, n); c != events || c == 0 {
			t.Fatalf("%s: %d safety events, want %d", n.nf.NodeID, c, events)
		}
		if ev := lastAudit(t, n); ev.Action != "retention_applied" || ev.Actor != "system" ||
			ev.Target != "turns=1 safety_events=0 refresh_tokens=0 sessions=0 staff_sessions=0 staff_invites=0 link_codes=0 devices=0 more=false" {
			t.Fatalf("last audit on %s: %+v", n.nf.NodeID, ev)
		}
	}
	// Numbering goes on after the deleted turns.
	if st, tr := followers[0].chat(t, a.childToken, "newer"); st != 200 || tr.Turn.Seq != 5 {
		t.Fatalf("next turn: %d seq %d, want seq 5", st, tr.Turn.Seq)
	}

	// Another day: the safety event's retention has passed too, and so has
	// the turns' of the day before.
	clock.add(24*time.Hour + time.Minute)
	run, err = leader.RunRetention(context.Background())
	if err != nil || run.SafetyEvents != events || run.Turns != 3 {
		t.Fatalf("second run %+v, %v; want %d safety events and the 3 turns of the day before", run, err, events)
	}
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.Cluster().WaitApplied(ctx, run.Index); err != nil {
			t.Fatal(err)
		}
		cancel()
		if c := safetyEvents(t, n); c != 0 {
			t.Fatalf("%s: %d safety events left", n.nf.NodeID, c)
		}
		if got := n.history(t, a.childToken); len(got) != 0 {
			t.Fatalf("history on %s: %q", n.nf.NodeID, got)
		}
	}

	// A cancelled run proposes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := leader.RunRetention(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
}

// TestRetentionJobRunsOnItsOwn: the leader runs the job soon after it
// leads and then periodically, without being asked.
func TestRetentionJobRunsOnItsOwn(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, func(c *Config) {
		c.Now = clock.now
		c.Retention = api.Retention{TurnsDays: 1}
		c.RetentionEvery = 20 * time.Millisecond
	})[0]
	fam := newFamily(t, n, "loop@example.test", "Pip", "5-8")
	n.chat(t, fam.childToken, "an old message")
	if len(allTurnIDs(t, n, fam.childID)) != 1 {
		t.Fatal("the turn was not stored")
	}
	clock.add(25 * time.Hour)
	waitFor(t, 10*time.Second, "the background job to delete the old turn", func() error {
		if len(allTurnIDs(t, n, fam.childID)) != 0 {
			return errors.New("still there")
		}
		return nil
	})
}

// TestRetentionConfiguration: a node refuses a retention it cannot
// enforce, and one that keeps everything proposes nothing.
func TestRetentionConfiguration(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{Retention: api.Retention{TurnsDays: -1}},
		{Retention: api.Retention{SafetyDays: api.MaxRetentionDays + 1}},
		{RetentionChunk: storage.MaxRetentionLimit + 1},
		{RetentionChunk: -1},
	} {
		c.DataDir = t.TempDir()
		if _, err := Start(context.Background(), c); err == nil || !strings.Contains(err.Error(), "retention") {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	n := &Node{cfg: Config{}}
	if run, err := n.RunRetention(context.Background()); err != nil || run != (RetentionRun{}) {
		t.Fatalf("keep-everything run: %+v, %v", run, err)
	}
	now := time.UnixMilli(1_000 * 86_400_000)
	cmd := retentionCommand(api.Retention{TurnsDays: 180, SessionsDays: 30}, now, 5000)
	want := storage.ApplyRetention{TurnsBefore: 820 * 86_400_000, SessionsBefore: 970 * 86_400_000, Credentials: true, Limit: 5000, Now: now.UnixMilli()}
	if *cmd != want {
		t.Fatalf("command %+v, want %+v", *cmd, want)
	}
}

// TestRetentionWaitsForEveryNode: while one member runs a binary from before
// the retention command (it advertises no newer kinds), the leader postpones
// the job instead of proposing an entry that member would refuse — a
// refused entry stops its state machine. Nothing is deleted or audited.
func TestRetentionWaitsForEveryNode(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	clock := newTestClock(time.Now())
	started := 0
	nodes := startCluster(t, 3, func(c *Config) {
		c.Now = clock.now
		c.Retention = api.Retention{TurnsDays: 1}
		c.RetentionEvery = -1
		if started++; started == 3 {
			c.commands = map[string]int{} // n3: an older binary
		}
	})
	leader, followers := leaderOf(t, nodes)
	// A teen profile: consent is a kind newer than the baseline, which an
	// older member holds back too (it has its own test in raftcluster).
	fam := newFamily(t, followers[0], "upgrade@example.test", "Hazel", "13-17")
	followers[0].chat(t, fam.childToken, "an old message")
	clock.add(25 * time.Hour)
	before := lastAudit(t, leader)

	_, err := leader.RunRetention(context.Background())
	if !errors.Is(err, errRetentionPostponed) || !strings.Contains(err.Error(), "node n3") {
		t.Fatalf("RunRetention with n3 on an older binary: %v, want it postponed naming n3", err)
	}
	if got := lastAudit(t, leader); got != before {
		t.Fatalf("audit moved on: %+v after %+v", got, before)
	}
	applied := leader.Cluster().Status().AppliedIndex
	for _, n := range nodes {
		// A follower may not have applied the turn yet (it was acknowledged
		// by a majority): wait for everything the leader has applied.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := n.Cluster().WaitApplied(ctx, applied)
		cancel()
		if err != nil {
			t.Fatalf("%s did not apply index %d: %v", n.nf.NodeID, applied, err)
		}
		if got := len(allTurnIDs(t, n, fam.childID)); got != 1 {
			t.Fatalf("%s holds %d turns, want the old one kept", n.nf.NodeID, got)
		}
	}

	// Consent is a newer kind too: while n3 is older a parent is told to
	// retry after the upgrade, and nothing is recorded.
	var login struct {
		AccessToken string `json:"access_token"`
	}
	creds := map[string]string{"email": "upgrade@example.test", "password": "correct horse battery staple"}
	if st, _ := followers[0].call(t, "POST", "/v1/auth/login", "", creds, &login); st != 200 { // the clock moved a day
		t.Fatalf("login: %d", st)
	}
	parent := login.AccessToken
	var kid struct{ ID string }
	if st, _ := followers[0].call(t, "POST", "/v1/children", parent, map[string]string{"nickname": "Ivy", "age_tier": "9-12"}, &kid); st != 201 {
		t.Fatalf("create child: %d", st)
	}
	if st, _ := followers[0].call(t, "POST", "/v1/parents/me/verification-email", parent, nil, nil); st != 202 { // the first link expired
		t.Fatalf("resend verification: %d", st)
	}
	tok := followers[0].mailedToken(t, "upgrade@example.test", "verify_email", 2)
	if st, _ := followers[0].call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}, nil); st != 200 {
		t.Fatalf("verify e-mail: %d", st)
	}
	var e errResp
	body := map[string]string{"notice_version": api.PrivacyNoticeVersion}
	if st, _ := followers[0].call(t, "POST", "/v1/children/"+kid.ID+"/consent", parent, body, &e); st != 503 || e.Error.Code != "upgrade_in_progress" {
		t.Fatalf("consent while n3 is older: %d %q, want 503 upgrade_in_progress", st, e.Error.Code)
	}
	var cs struct {
		Active  any   `json:"active"`
		History []any `json:"history"`
	}
	if st, _ := leader.call(t, "GET", "/v1/children/"+kid.ID+"/consent", parent, nil, &cs); st != 200 || cs.Active != nil || len(cs.History) != 0 {
		t.Fatalf("consent status after the refusal: %d %+v", st, cs)
	}
	// The alert outbox waits too (alerts go out from the node that took
	// each turn meanwhile).
	if _, err := leader.DeliverAlerts(context.Background()); !errors.Is(err, errAlertsPostponed) {
		t.Fatalf("alert outbox with n3 older: %v, want it postponed", err)
	}
	if o, err := leader.DB().AlertOutboxState(context.Background()); err != nil || o.Started {
		t.Fatalf("alert outbox state %+v %v", o, err)
	}
}

// The cluster's retention setting: an administrator sets it through one
// node; every node's privacy notice publishes it (not its own flags), and
// the leader deletes by it.
func TestRetentionSettingOnACluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, func(c *Config) {
		c.Now = clock.now
		c.Retention = api.Retention{} // the flags: keep everything
		c.RetentionEvery = -1
	})
	leader, followers := leaderOf(t, nodes)
	admin := newAdmin(t, leader)
	fam := newFamily(t, followers[0], "setting@example.test", "Wren", "13-17")
	followers[0].chat(t, fam.childToken, "an old message")

	turnsDays := func(n *testNode) int {
		var doc struct {
			DataClasses []struct {
				Class         string `json:"class"`
				RetentionDays int    `json:"retention_days"`
			} `json:"data_classes"`
		}
		if st, _ := n.call(t, "GET", "/v1/privacy", "", nil, &doc); st != 200 {
			t.Fatalf("privacy on %s: %d", n.nf.NodeID, st)
		}
		for _, c := range doc.DataClasses {
			if c.Class == "chat_turns" {
				return c.RetentionDays
			}
		}
		return -1
	}
	if d := turnsDays(followers[1]); d != 0 {
		t.Fatalf("before the setting: %d days, want the flags' 0", d)
	}
	if run, err := leader.RunRetention(context.Background()); err != nil || run.Commands != 0 {
		t.Fatalf("with the flags keeping everything the job ran: %+v %v", run, err)
	}
	var set struct {
		TurnsDays int    `json:"turns_days"`
		Source    string `json:"source"`
		UpdatedBy string `json:"updated_by"`
	}
	body := map[string]int{"turns_days": 1, "safety_days": 30, "sessions_days": 7}
	if st, _ := followers[0].call(t, "PUT", "/v1/admin/retention", admin.token, body, &set); st != 200 || set.Source != "cluster" || set.TurnsDays != 1 || set.UpdatedBy != admin.id {
		t.Fatalf("set through a follower: %d %+v", st, set)
	}
	for _, n := range nodes {
		waitFor(t, 10*time.Second, n.nf.NodeID+" publishing the setting", func() error {
			if d := turnsDays(n); d != 1 {
				return fmt.Errorf("%d days", d)
			}
			return nil
		})
	}
	clock.add(25 * time.Hour)
	run, err := leader.RunRetention(context.Background())
	if err != nil || run.Turns != 1 {
		t.Fatalf("the leader's job under the setting: %+v %v, want the old turn deleted", run, err)
	}
	if last := lastAudit(t, leader); last.Action != "retention_applied" {
		t.Fatalf("last audit entry %+v", last)
	}
}
