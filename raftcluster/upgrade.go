package raftcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Rolling upgrades and new command kinds. A node refuses a log entry whose
// kind or version it does not know and stops applying (storage.ErrUnsupported):
// guessing would let replicas diverge. So during a rolling upgrade, while
// some members still run the older binary, a leader running the newer one
// must not propose a kind the older one lacks. Each binary advertises the
// kinds it applies that are newer than the baseline (Config.Commands, in
// Status on the cluster port); a member that advertises nothing is an older
// binary and applies only the baseline. Before proposing such a kind the
// proposer asks every member of the configuration (MembersApply). A member
// that cannot be asked (it is down) is judged by what it last advertised to
// this node, so a member that is merely restarting does not hold a job back
// once it has been seen; one this node never heard from holds it back until
// it answers or is removed from the cluster (`daisydog cluster remove`).

// ErrNotUpgraded means some member of the cluster cannot apply a command
// kind yet (it runs an older binary, or could not be asked).
var ErrNotUpgraded = errors.New("raftcluster: not every node can apply this command yet")

// MembersApply returns nil when every member of the current configuration
// (voters and non-voters, this node included) advertises kind at version v
// or later, and an error wrapping ErrNotUpgraded naming the first that does
// not. A member that cannot be asked counts with what it last advertised to
// this node, and as not upgraded if it never answered.
func (c *Cluster) MembersApply(ctx context.Context, kind string, v int) error {
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raftcluster: configuration: %w", err)
	}
	for _, srv := range f.Configuration().Servers {
		var cmds map[string]int
		if string(srv.ID) == c.cfg.NodeID {
			cmds = c.cfg.Commands
		} else {
			st, err := c.peerStatus(ctx, srv)
			if err != nil {
				last, ok := c.lastAdvertised(srv.ID)
				if !ok {
					return fmt.Errorf("%w: node %s could not be asked (%v)", ErrNotUpgraded, srv.ID, err)
				}
				cmds = last
			} else {
				cmds = st.Commands
				c.noteAdvertised(srv.ID, cmds)
			}
		}
		if cmds[kind] < v {
			return fmt.Errorf("%w: node %s does not apply %s v%d (an older binary); upgrade every node first", ErrNotUpgraded, srv.ID, kind, v)
		}
	}
	return nil
}

// peerStatus asks a member for its Status over the cluster port.
func (c *Cluster) peerStatus(ctx context.Context, srv raft.Server) (Status, error) {
	code, body, err := c.call(ctx, string(srv.Address), pathStatus, nil)
	if err != nil {
		return Status{}, err
	}
	if code != http.StatusOK {
		return Status{}, fmt.Errorf("status answered %d", code)
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	if st.NodeID != string(srv.ID) {
		return Status{}, fmt.Errorf("address %s is node %q", srv.Address, st.NodeID)
	}
	return st, nil
}

// MemberStatuses asks every member of the configuration for its Status
// over the cluster port, at once, each within timeout; this node answers
// for itself. In configuration order.
func (c *Cluster) MemberStatuses(ctx context.Context, timeout time.Duration) []MemberAnswer {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	servers := f.Configuration().Servers
	out := make([]MemberAnswer, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		out[i] = MemberAnswer{ID: string(srv.ID), Address: string(srv.Address)}
		if string(srv.ID) == c.cfg.NodeID {
			out[i].Status = c.Status()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out[i].Status, out[i].Err = c.peerStatus(pctx, srv)
		}()
	}
	wg.Wait()
	return out
}

// advertised remembers what each member last advertised to this node.
type advertised struct {
	mu      sync.Mutex
	m       map[raft.ServerID]map[string]int
	answers map[string]gateAnswer // membersApplyCached
}

func (c *Cluster) noteAdvertised(id raft.ServerID, cmds map[string]int) {
	c.adv.mu.Lock()
	defer c.adv.mu.Unlock()
	if c.adv.m == nil {
		c.adv.m = map[raft.ServerID]map[string]int{}
	}
	c.adv.m[id] = cmds
}

func (c *Cluster) lastAdvertised(id raft.ServerID) (map[string]int, bool) {
	c.adv.mu.Lock()
	defer c.adv.mu.Unlock()
	cmds, ok := c.adv.m[id]
	return cmds, ok
}

// gateTTL is how long MembersApply's answer for a kind is reused by Apply:
// a gated kind proposed often costs one round of questions per period, and
// a member upgraded meanwhile is noticed within it.
const gateTTL = 5 * time.Second

type gateAnswer struct {
	err error
	at  time.Time
}

// membersApplyCached is MembersApply with answers reused for gateTTL.
func (c *Cluster) membersApplyCached(ctx context.Context, kind string, v int) error {
	key := fmt.Sprintf("%s@%d", kind, v)
	c.adv.mu.Lock()
	a, ok := c.adv.answers[key]
	c.adv.mu.Unlock()
	if ok && time.Since(a.at) < gateTTL {
		return a.err
	}
	err := c.MembersApply(ctx, kind, v)
	if ctx.Err() != nil {
		return err // not an answer about the members
	}
	c.adv.mu.Lock()
	if c.adv.answers == nil {
		c.adv.answers = map[string]gateAnswer{}
	}
	c.adv.answers[key] = gateAnswer{err: err, at: time.Now()}
	c.adv.mu.Unlock()
	return err
}
