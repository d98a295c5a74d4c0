package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"daisydog/node/api"
	"daisydog/storage"
)

// E-mails through the replicated outbox (storage/mail_outbox.go). The
// leader reads the due e-mails, sends them, and proposes MarkMail with
// what happened: sent rows are deleted, a failed send is retried later
// (backing off, the batch stops there: the mail server is likely down),
// an e-mail past storage.MailMaxAgeMillis or mailMaxAttempts is dropped
// (its token has expired; the parent asks again). It sends before it
// marks, so a leader lost in between leaves the e-mails to the next one:
// at least once, never lost to a node's crash.

const (
	// defaultMailEvery is how often the leader looks for due e-mails: a
	// parent is waiting for the code.
	defaultMailEvery = 250 * time.Millisecond
	// mailBatch bounds the e-mails one run sends.
	mailBatch = 50
	// mailMaxAttempts: after this many failed sends an e-mail is dropped.
	mailMaxAttempts = 12
	// mailFirstRetry, doubled per attempt up to mailMaxRetry.
	mailFirstRetry = 5 * time.Second
	mailMaxRetry   = 10 * time.Minute
)

// errMailPostponed: the outbox's commands wait until every member runs a
// binary that applies them.
var errMailPostponed = errors.New("mail outbox postponed")

// MailRun is what one DeliverMail did.
type MailRun struct {
	Sent, Failed, Dropped int
}

// mailRetryAfter is the wait before attempt number attempts+1.
func mailRetryAfter(attempts int) time.Duration {
	d := mailFirstRetry
	for i := 0; i < attempts && d < mailMaxRetry; i++ {
		d *= 2
	}
	return min(d, mailMaxRetry)
}

// DeliverMail runs the outbox once on the leader (elsewhere it does
// nothing). With barrier, it first waits until this node has applied
// every entry committed before its leadership (a new leader would
// otherwise miss e-mails for a tick, or resend ones just marked).
func (n *Node) DeliverMail(ctx context.Context, barrier bool) (MailRun, error) {
	var run MailRun
	if !n.cluster.IsLeader() {
		return run, nil
	}
	if barrier {
		if err := n.leaderBarrier(ctx); err != nil {
			return run, fmt.Errorf("mail outbox: %w", err)
		}
	}
	now := n.cfg.Now()
	due, err := n.db.DueMail(ctx, now.UnixMilli(), mailBatch)
	if err != nil || len(due) == 0 {
		return run, err
	}
	mark := &storage.MarkMail{Now: now.UnixMilli()}
	var sendErr error
	for _, d := range due {
		if now.UnixMilli()-d.CreatedAt > storage.MailMaxAgeMillis || d.Attempts >= mailMaxAttempts {
			mark.Dropped = append(mark.Dropped, d.ID)
			n.log.Warn("e-mail dropped from the outbox: not sent in time", "kind", d.Kind, "attempts", d.Attempts)
			continue
		}
		if n.alertSender == nil {
			continue // no sender on this node: it waits for one, or expires
		}
		m, err := api.OpenOutboxMessage(n.keyring, d.ID, d.Sealed)
		if err != nil {
			// Sealed under another cluster key (a restore from elsewhere): it
			// can never be opened.
			mark.Dropped = append(mark.Dropped, d.ID)
			n.log.Warn("e-mail dropped from the outbox: it does not open", "kind", d.Kind, "err", err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = n.alertSender.Send(sctx, m)
		cancel()
		if err != nil {
			// The error may name the server, never the recipient or body.
			mark.Retry = append(mark.Retry, storage.MailRetry{ID: d.ID, NextAt: now.Add(mailRetryAfter(d.Attempts)).UnixMilli()})
			sendErr = fmt.Errorf("%s e-mail: %w", d.Kind, err)
			break
		}
		mark.Sent = append(mark.Sent, d.ID)
	}
	if len(mark.Sent)+len(mark.Dropped)+len(mark.Retry) == 0 {
		return run, nil
	}
	// Counted once the mark is proposed: the counters say what the cluster
	// recorded, not what a leader that lost its office tried.
	if _, err := n.proposeJob(ctx, mark, errMailPostponed, nil); err != nil {
		return run, fmt.Errorf("mail outbox: %w", err)
	}
	run = MailRun{Sent: len(mark.Sent), Failed: len(mark.Retry), Dropped: len(mark.Dropped)}
	n.metrics.MailSent.Add(uint64(run.Sent))
	n.metrics.MailFailed.Add(uint64(run.Failed))
	n.metrics.MailDropped.Add(uint64(run.Dropped))
	if sendErr != nil {
		return run, sendErr
	}
	return run, nil
}

// mailLoop runs the outbox every period while this node leads (a barrier
// at the start of each leadership); after a failure it waits longer each
// time, up to 30 s. The failed e-mail itself waits longer each time (its
// row's next attempt); the loop only slows down a little.
func (n *Node) mailLoop(ctx context.Context, every time.Duration) {
	n.runWhileLeader(ctx, leaderJob{
		every: every, maxWait: 30 * time.Second,
		postponed: errMailPostponed, postponedMsg: "mail outbox waits until every node runs this version",
		failMsg: "e-mail delivery failed; will retry",
		run: func(ctx context.Context, fresh bool) error {
			_, err := n.DeliverMail(ctx, fresh)
			return err
		},
	})
}
