package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"daisydog/node/api"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// Retention job: the leader deletes what is past its retention (chat turns,
// safety events, ended parent sessions; Config.Retention) shortly after it
// becomes leader and then every Config.RetentionEvery. It computes the
// cutoffs once per run from its clock and proposes storage.ApplyRetention
// with them, in chunks of Config.RetentionChunk rows, until a command says
// nothing is left: every node deletes the same rows, and a large backlog is
// many short log entries rather than one that stalls the state machine.

const (
	defaultRetentionEvery = time.Hour
	defaultRetentionChunk = 5000
	// retentionFirstRun is how soon a new leader runs the job (the whole
	// period when that is shorter).
	retentionFirstRun = time.Minute
)

var errNotLeader = errors.New("not the cluster leader")

// errRetentionPostponed: some member cannot apply the retention command yet
// (a rolling upgrade is under way); the run is skipped, not failed.
var errRetentionPostponed = errors.New("retention postponed")

// proposeJob replicates a background job's command and decodes its result
// into out (if not nil). A command some member's older binary cannot apply
// yet is refused by raftcluster (upgrade.go) and reported as postponed.
func (n *Node) proposeJob(ctx context.Context, cmd storage.Command, postponed error, out any) (raftcluster.Response, error) {
	data, err := storage.Encode(cmd)
	if err != nil {
		return raftcluster.Response{}, err
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := n.cluster.Apply(actx, data)
	if errors.Is(err, raftcluster.ErrNotUpgraded) {
		return resp, fmt.Errorf("%w: %w", postponed, err)
	}
	if err != nil {
		return resp, err
	}
	if resp.Code != "" {
		return resp, fmt.Errorf("%s refused (%s)", cmd.Kind(), resp.Code)
	}
	if out != nil && len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return resp, fmt.Errorf("%s result: %w", cmd.Kind(), err)
		}
	}
	return resp, nil
}

// RetentionRun is what one run of the retention job deleted.
type RetentionRun struct {
	storage.RetentionResult
	// Commands is the number of commands proposed; Index the log index of
	// the last one (wait for it to see the run on another node).
	Commands int
	Index    uint64
}

// retentionCommand is the first command of a run at now (zero cutoffs for
// classes kept without a time limit).
func retentionCommand(r api.Retention, now time.Time, chunk int) *storage.ApplyRetention {
	cutoff := func(days int) int64 {
		if days <= 0 {
			return 0
		}
		return now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
	}
	return &storage.ApplyRetention{TurnsBefore: cutoff(r.TurnsDays), SafetyBefore: cutoff(r.SafetyDays),
		SessionsBefore: cutoff(r.SessionsDays), Credentials: true, Limit: chunk, Now: now.UnixMilli()}
}

// retention is the retention in force: the cluster's setting (made by an
// administrator, replicated) or, before one was made, this node's flags.
func (n *Node) retention(ctx context.Context) (api.Retention, error) {
	if n.db == nil {
		return n.cfg.Retention, nil
	}
	set, err := n.db.RetentionSetting(ctx)
	if err != nil {
		return api.Retention{}, err
	}
	return api.RetentionOf(set, n.cfg.Retention), nil
}

// RunRetention runs the retention job once (leader only): it deletes every
// row past its class's retention as of now, chunk by chunk, and returns the
// totals. Only counts are logged and audited.
func (n *Node) RunRetention(ctx context.Context) (RetentionRun, error) {
	var run RetentionRun
	ret, err := n.retention(ctx)
	if err != nil {
		return run, err
	}
	if ret.Forever() {
		return run, nil
	}
	start := time.Now()
	cmd := retentionCommand(ret, n.cfg.Now(), n.cfg.RetentionChunk)
	for {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		if !n.cluster.IsLeader() {
			return run, errNotLeader
		}
		var res storage.RetentionResult
		resp, err := n.proposeJob(ctx, cmd, errRetentionPostponed, &res)
		if err != nil {
			return run, fmt.Errorf("retention: %w", err)
		}
		run.RetentionResult = run.Add(res)
		run.Commands++
		run.Index = resp.Index
		if !res.More {
			break
		}
	}
	level := n.log.Debug
	if run.Total() > 0 {
		level = n.log.Info
	}
	level("retention applied", "turns", run.Turns, "safety_events", run.SafetyEvents, "refresh_tokens", run.RefreshTokens,
		"sessions", run.Sessions, "commands", run.Commands, "took", time.Since(start).Round(time.Millisecond))
	return run, nil
}

// retentionLoop runs the job on the leader: soon after this node becomes
// leader, then every RetentionEvery while it stays leader.
func (n *Node) retentionLoop(ctx context.Context) {
	every := n.cfg.RetentionEvery
	var due <-chan time.Time // nil while this node does not lead
	for {
		changed := n.cluster.LeaderChange() // taken before the check, so no change is missed
		switch {
		case !n.cluster.IsLeader():
			due = nil
		case due == nil:
			due = time.After(min(every, retentionFirstRun))
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-due:
			switch _, err := n.RunRetention(ctx); {
			case err == nil || ctx.Err() != nil:
			case errors.Is(err, errRetentionPostponed):
				n.log.Warn("retention postponed until every node runs this version; will retry", "err", err)
			default:
				n.log.Warn("retention run failed; will retry", "err", err)
			}
			due = time.After(every)
		}
	}
}
