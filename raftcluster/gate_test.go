package raftcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeLogs fails StoreLogs with err.
type fakeLogs struct {
	raft.LogStore
	err error
}

func (f *fakeLogs) StoreLog(*raft.Log) error    { return f.err }
func (f *fakeLogs) StoreLogs([]*raft.Log) error { return f.err }

func TestFullLogStoreWithholdsVotes(t *testing.T) {
	noSpace := &fs.PathError{Op: "write", Path: "raft.db", Err: syscall.ENOSPC}
	steps := []struct {
		name     string
		err      error
		single   bool
		withheld bool
	}{
		{"healthy append", nil, false, false},
		{"append fails: disk full", noSpace, false, true},
		{"other failures leave it as it was", errors.New("i/o error"), false, true},
		{"appends work again", nil, true, false},
		{"quota exceeded counts as full", fmt.Errorf("store: %w", syscall.EDQUOT), true, true},
		{"message only (wrapped as text)", errors.New(`write raft.db: no space left on device`), false, true},
		{"recovered", nil, false, false},
		{"unrelated failure on a healthy node", errors.New("i/o error"), false, false},
	}
	tr := &gatedTransport{}
	fl := &fakeLogs{}
	s := &spaceWatchedLogs{LogStore: fl, trans: tr}
	for _, st := range steps {
		fl.err = st.err
		var got error
		if st.single {
			got = s.StoreLog(&raft.Log{})
		} else {
			got = s.StoreLogs([]*raft.Log{{}})
		}
		if !errors.Is(got, st.err) {
			t.Errorf("%s: error %v, want the store's %v", st.name, got, st.err)
		}
		if w := tr.withheld(); w != st.withheld {
			t.Errorf("%s: withheld = %v, want %v", st.name, w, st.withheld)
		}
		if st.withheld {
			if err := tr.RequestVote("x", "127.0.0.1:1", &raft.RequestVoteRequest{}, &raft.RequestVoteResponse{}); !errors.Is(err, errNoCampaign) {
				t.Errorf("%s: RequestVote = %v, want errNoCampaign", st.name, err)
			}
			if err := tr.RequestPreVote("x", "127.0.0.1:1", &raft.RequestPreVoteRequest{}, &raft.RequestPreVoteResponse{}); !errors.Is(err, errNoCampaign) {
				t.Errorf("%s: RequestPreVote = %v, want errNoCampaign", st.name, err)
			}
		}
	}
	// SetCandidacy's switch holds on its own, whatever the store says.
	tr.noCampaign.Store(true)
	if !tr.withheld() {
		t.Error("noCampaign set but votes not withheld")
	}
}

func TestStoreRefusalRetryWait(t *testing.T) {
	tr := &gatedTransport{}
	want := []time.Duration{10, 20, 40, 80, 160, 250, 250, 250}
	for i, w := range want {
		if got := tr.noteAppend("f1", false); got != w*time.Millisecond {
			t.Errorf("refusal %d: wait %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := tr.noteAppend("f2", false); got != 10*time.Millisecond {
		t.Errorf("another follower's first refusal waits %v, want 10ms (counts are per follower)", got)
	}
	if got := tr.noteAppend("f1", true); got != 0 {
		t.Errorf("a stored append waits %v", got)
	}
	if got := tr.noteAppend("f1", false); got != 10*time.Millisecond {
		t.Errorf("after a success the wait starts again at 10ms, got %v", got)
	}
}

// fakePipeline behaves like raft's netPipeline: a bounded queue of
// in-flight requests, a responder that hands answers to Consumer() and
// blocks when nobody reads them, and sends that block when the queue is
// full. Requests with Term 0 are refused by the "follower".
type fakePipeline struct {
	inflight chan *fakeFuture
	done     chan raft.AppendFuture
	shut     chan struct{}
	once     sync.Once
}

type fakeFuture struct {
	req  *raft.AppendEntriesRequest
	resp *raft.AppendEntriesResponse
}

func (f *fakeFuture) Error() error                          { return nil }
func (f *fakeFuture) Start() time.Time                      { return time.Time{} }
func (f *fakeFuture) Request() *raft.AppendEntriesRequest   { return f.req }
func (f *fakeFuture) Response() *raft.AppendEntriesResponse { return f.resp }

func newFakePipeline() *fakePipeline {
	p := &fakePipeline{inflight: make(chan *fakeFuture, 4), done: make(chan raft.AppendFuture, 4), shut: make(chan struct{})}
	go func() {
		for {
			select {
			case f := <-p.inflight:
				f.resp.Success = f.req.Term != 0
				select {
				case p.done <- f:
				case <-p.shut:
					return
				}
			case <-p.shut:
				return
			}
		}
	}()
	return p
}

func (p *fakePipeline) AppendEntries(req *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	f := &fakeFuture{req: req, resp: resp}
	select {
	case p.inflight <- f:
		return f, nil
	case <-p.shut:
		return nil, raft.ErrPipelineShutdown
	}
}
func (p *fakePipeline) Consumer() <-chan raft.AppendFuture { return p.done }
func (p *fakePipeline) Close() error                       { p.once.Do(func() { close(p.shut) }); return nil }

// replicateLikeRaft runs raft's pipeline pattern: a decoder that stops at
// the first refusal, and a sender that keeps sending until a send fails.
// It reports whether the sender stopped within the time limit.
func replicateLikeRaft(p raft.AppendPipeline, within time.Duration) bool {
	go func() {
		for f := range p.Consumer() {
			if !f.Response().Success {
				return
			}
		}
	}()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := range 100 {
			term := uint64(1)
			if i == 2 {
				term = 0 // the follower refuses this one
			}
			if _, err := p.AppendEntries(&raft.AppendEntriesRequest{Term: term, Entries: []*raft.Log{{}}}, &raft.AppendEntriesResponse{}); err != nil {
				return
			}
		}
	}()
	select {
	case <-stopped:
		return true
	case <-time.After(within):
		return false
	}
}

func TestGuardedPipelineReleasesSenderAfterRefusal(t *testing.T) {
	// The unguarded pipeline hangs (this is the bug being guarded against).
	bare := newFakePipeline()
	if replicateLikeRaft(bare, 500*time.Millisecond) {
		t.Fatal("the fake pipeline did not reproduce the hang; the test proves nothing")
	}
	bare.Close()
	g := newGuardedPipeline(newFakePipeline())
	if !replicateLikeRaft(g, 5*time.Second) {
		t.Fatal("sender still blocked after the follower refused an append")
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
