package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"daisydog/node/api"
	"daisydog/storage"
)

// Parent alerts through the replicated outbox (storage/alert_outbox.go).
// The leader reads the escalations after the cursor, e-mails each child's
// verified parents (at most one alert per child per api.AlertEvery,
// cluster-wide; none for an abuse disclosure), and proposes the cursor's
// new position with the children it alerted. A safety hold a moderator
// places to reach the family (reason parent_contact_pending) is e-mailed
// the same way, unthrottled; a hold "under review" is not (it may follow a
// disclosure about someone at home: the parent sees it in the console). It sends before it marks, so
// a leader lost in between leaves the batch to the next leader: an alert
// may go out twice, never not at all. A send that fails stops the batch
// there (marked up to the escalation before it) and is retried on the next
// tick.

const (
	// alertWindow bounds how many audit entries one run looks at.
	alertWindow = 5000
	// alertMarkGap: with no escalation to handle, the cursor is moved over
	// other audit entries only once this many have gone by (one command
	// per gap rather than one per tick).
	alertMarkGap = 1000
	// defaultAlertEvery is how often the leader looks for new escalations.
	defaultAlertEvery = time.Second
)

// errAlertsPostponed: the outbox cannot start until every member runs a
// binary that applies its commands; alerts go out the older way meanwhile.
var errAlertsPostponed = errors.New("alert outbox postponed")

// AlertRun is what one DeliverAlerts did.
type AlertRun struct {
	Started bool  // this run started the outbox
	Sent    int   // e-mails sent
	Alerted int   // children whose parents were alerted
	Skipped int   // escalations deliberately not sent (throttle, disclosure, no verified parent)
	Done    int64 // the cursor after the run
}

// DeliverAlerts runs the outbox once on the leader (elsewhere it does
// nothing), after a barrier.
func (n *Node) DeliverAlerts(ctx context.Context) (AlertRun, error) {
	return n.deliverAlerts(ctx, true)
}

// deliverAlerts is DeliverAlerts; with barrier, it first waits until this
// node has applied every entry committed before its leadership (a new
// leader would otherwise miss escalations for a tick). The loop asks for
// it once per leadership, not every tick: a barrier is a log entry.
func (n *Node) deliverAlerts(ctx context.Context, barrier bool) (AlertRun, error) {
	var run AlertRun
	if n.alertSender == nil || !n.cluster.IsLeader() {
		return run, nil
	}
	if barrier {
		if err := n.leaderBarrier(ctx); err != nil {
			return run, fmt.Errorf("alert outbox: %w", err)
		}
	}
	o, err := n.db.AlertOutboxState(ctx)
	if err != nil {
		return run, err
	}
	if !o.Started {
		var started storage.AlertOutbox
		if err := n.proposeAlerts(ctx, &storage.StartAlertOutbox{Now: n.cfg.Now().UnixMilli()}, &started); err != nil {
			return run, err
		}
		run.Started, o = true, started
	}
	pending, upTo, err := n.db.PendingAlerts(ctx, o.Done, alertWindow)
	if err != nil {
		return run, err
	}
	last := map[string]int64{}
	var sent []storage.AlertSent
	var sendErr error
	for _, p := range pending {
		if _, ok := last[p.ChildID]; !ok {
			last[p.ChildID] = p.LastAlertAt
		}
		n2, err := n.deliverAlert(ctx, p, last[p.ChildID])
		if err != nil {
			upTo, sendErr = p.Seq-1, err
			break
		}
		if n2 == 0 {
			run.Skipped++
			continue
		}
		run.Sent += n2
		run.Alerted++
		if p.HoldPlaced {
			continue // a hold's e-mail neither waits for nor delays the alerts
		}
		last[p.ChildID] = p.At
		sent = append(sent, storage.AlertSent{ChildID: p.ChildID, At: p.At})
	}
	handled := run.Skipped + run.Alerted
	if upTo > o.Done && (handled > 0 || upTo-o.Done >= alertMarkGap) {
		cmd := &storage.MarkAlertsDelivered{UpTo: upTo, Sent: sent, Now: n.cfg.Now().UnixMilli()}
		if err := n.proposeAlerts(ctx, cmd, nil); err != nil {
			return run, err
		}
		o.Done = upTo
	}
	run.Done = o.Done
	if run.Alerted > 0 {
		n.log.Info("safety alerts sent", "children", run.Alerted, "emails", run.Sent, "skipped", run.Skipped)
	}
	if sendErr != nil {
		return run, fmt.Errorf("safety alert: %w", sendErr)
	}
	return run, nil
}

// deliverAlert e-mails one escalation's verified parents, unless it must
// not go out (an abuse disclosure; the child's parents were alerted less
// than api.AlertEvery before it; no verified parent). It returns how many
// e-mails it sent. Only a failed send is an error: anything it cannot read
// any more (the child deleted meanwhile) is skipped.
func (n *Node) deliverAlert(ctx context.Context, p storage.PendingAlert, lastAt int64) (int, error) {
	topics := api.AlertTopics(p.Categories)
	switch {
	case p.HoldPlaced: // not throttled: a moderator asks to reach the family
	case len(topics) == 0:
		return 0, nil
	case lastAt != 0 && p.At >= lastAt && p.At-lastAt < api.AlertEvery.Milliseconds():
		return 0, nil
	}
	recipients, err := n.db.ChildAlertRecipients(ctx, p.ChildID)
	if err != nil || len(recipients) == 0 {
		return 0, nil
	}
	dek, err := n.vault.FamilyKey(ctx, p.FamilyID)
	if err != nil {
		return 0, nil
	}
	nick, err := storage.Unseal(dek, p.NicknameSealed, storage.FieldAAD(storage.FieldNickname, p.ChildID))
	if err != nil {
		n.log.Warn("safety alert: opening the nickname failed", "err", err)
		return 0, nil
	}
	m := api.AlertMessage(string(nick), topics, time.UnixMilli(p.At), n.cfg.MailLinkBase)
	if p.HoldPlaced {
		m = api.HoldMessage(string(nick), time.UnixMilli(p.At), n.cfg.MailLinkBase)
	}
	sent := 0
	for _, r := range recipients {
		email, err := storage.Unseal(dek, r.EmailSealed, storage.FieldAAD(storage.FieldEmail, r.ParentID))
		if err != nil {
			n.log.Warn("safety alert: opening an address failed", "err", err)
			continue
		}
		m.To = string(email)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = n.alertSender.Send(sctx, m)
		cancel()
		if err != nil {
			// The error may name the server, never the recipient or body.
			n.metrics.AlertsFailed.Add(1)
			return sent, err
		}
		n.metrics.AlertsSent.Add(1)
		sent++
	}
	return sent, nil
}

// proposeAlerts replicates an outbox command (out, if not nil, receives
// its result).
func (n *Node) proposeAlerts(ctx context.Context, cmd storage.Command, out any) error {
	if _, err := n.proposeJob(ctx, cmd, errAlertsPostponed, out); err != nil {
		return fmt.Errorf("alert outbox: %w", err)
	}
	return nil
}

// alertLoop runs the outbox every period while this node leads (a barrier
// at the start of each leadership); after a failure it waits longer each
// time, up to a minute.
func (n *Node) alertLoop(ctx context.Context, every time.Duration) {
	n.runWhileLeader(ctx, leaderJob{
		every: every, maxWait: time.Minute,
		postponed:    errAlertsPostponed,
		postponedMsg: "alert outbox waits until every node runs this version; alerts go out from the node that took the turn meanwhile",
		failMsg:      "safety alert delivery failed; will retry",
		run: func(ctx context.Context, fresh bool) error {
			_, err := n.deliverAlerts(ctx, fresh)
			return err
		},
	})
}
