package raftcluster

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeLeader is a leader view whose changes the test drives.
type fakeLeader struct {
	mu      sync.Mutex
	addr    string
	changed chan struct{}
	gen     int // announcements made
	seen    int // the newest announcement a watcher has looked up
}

func (f *fakeLeader) current() (string, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = f.gen
	return f.addr, f.changed
}

// caughtUp reports whether the watcher has looked at the latest announcement.
func (f *fakeLeader) caughtUp() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen == f.gen
}

// set moves (or re-announces) the leader and wakes the watchers.
func (f *fakeLeader) set(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr = addr
	f.gen++
	close(f.changed)
	f.changed = make(chan struct{})
}

func TestCancelOnLeaderMove(t *testing.T) {
	tests := []struct {
		name   string
		moves  []string // leader addresses announced in turn
		cancel bool     // the forward is abandoned
	}{
		{"no change", nil, false},
		{"same leader announced again", []string{"a:1", "a:1"}, false},
		{"another leader", []string{"b:1"}, true},
		{"no leader (an election started)", []string{""}, true},
		{"same, then another", []string{"a:1", "c:1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLeader{addr: "a:1", changed: make(chan struct{})}
			_, changed := f.current()
			ctx, stop := cancelOnLeaderMove(context.Background(), "a:1", changed, f.current)
			defer stop()
			for _, m := range tc.moves {
				f.set(m)
			}
			if tc.cancel {
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("the forward was not abandoned after the leader moved")
				}
				return
			}
			// Wait until the watcher has looked at the last announcement
			// (it looks the leader up after each change it sees).
			deadline := time.Now().Add(5 * time.Second)
			for !f.caughtUp() {
				if time.Now().After(deadline) {
					t.Fatal("the watcher never looked at the leader change")
				}
				time.Sleep(time.Millisecond)
			}
			if err := ctx.Err(); err != nil {
				t.Fatalf("forward abandoned although the leader did not move: %v", err)
			}
		})
	}
}

// A change that happened between reading the channel and looking up the
// leader is not missed: the channel is already closed, the watcher looks
// again and sees the new leader.
func TestCancelOnLeaderMoveSeesEarlierChange(t *testing.T) {
	f := &fakeLeader{addr: "a:1", changed: make(chan struct{})}
	_, changed := f.current()
	f.set("b:1")
	ctx, stop := cancelOnLeaderMove(context.Background(), "a:1", changed, f.current)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a leader change before the watch started was missed")
	}
}

// stop ends the watch and its context; calling it twice is harmless.
func TestCancelOnLeaderMoveStop(t *testing.T) {
	f := &fakeLeader{addr: "a:1", changed: make(chan struct{})}
	_, changed := f.current()
	ctx, stop := cancelOnLeaderMove(context.Background(), "a:1", changed, f.current)
	stop()
	stop()
	if ctx.Err() == nil {
		t.Fatal("context still live after stop")
	}
}
