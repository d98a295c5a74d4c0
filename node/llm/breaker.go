package llm

import (
	"sync"
	"time"
)

// Breaker states.
const (
	Closed   = "closed"
	Open     = "open"
	HalfOpen = "half_open"
)

// Breaker is a consecutive-failure circuit breaker: after threshold
// failures in a row it opens and refuses calls for cooldown; then it lets
// exactly one probe through (half-open): success closes it, failure opens
// it again. Safe for concurrent use; the clock is injected.
type Breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    string
	failures int
	openedAt time.Time
	probing  bool
}

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration, now func() time.Time) *Breaker {
	return &Breaker{threshold: max(threshold, 1), cooldown: cooldown, now: now, state: Closed}
}

// State is the current state (an open breaker whose cooldown passed reports
// half-open).
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && !b.now().Before(b.openedAt.Add(b.cooldown)) {
		return HalfOpen
	}
	return b.state
}

// Allow reports whether a call may go ahead; if so, done must be called
// with its outcome.
func (b *Breaker) Allow() (done func(ok bool), allowed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	probe := false
	switch b.state {
	case Open:
		if b.now().Before(b.openedAt.Add(b.cooldown)) {
			return nil, false
		}
		b.state = HalfOpen
		fallthrough
	case HalfOpen:
		if b.probing {
			return nil, false // one probe at a time
		}
		b.probing, probe = true, true
	}
	var once sync.Once
	return func(ok bool) { once.Do(func() { b.record(ok, probe) }) }, true
}

func (b *Breaker) record(ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	} else if b.state != Closed {
		return // a call from before the breaker opened: the probe decides
	}
	if ok {
		b.state, b.failures = Closed, 0
		return
	}
	b.failures++
	if probe || b.failures >= b.threshold {
		b.state, b.openedAt = Open, b.now()
	}
}
