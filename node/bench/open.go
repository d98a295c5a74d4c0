package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// unfinishedGrace: an open-loop request due this long before the window's
// end that has not been answered by then counts as "unfinished".
const unfinishedGrace = time.Second

// measureOpen runs the open loop: every child is its own client with its
// own schedule. A child's next request is due a random 3–10 s (ThinkMin..
// ThinkMax) after its previous one was due, regardless of how long that one
// took, and its latency is counted from when it was due: a slow cluster
// cannot slow the arrivals down and hide its queueing (no coordinated
// omission). A child never has two requests in flight (a real app waits
// for Daisy's reply), so a late reply delays the next send, and that delay
// is part of the next latency.
func measureOpen(ctx context.Context, c *client, cfg Config, children []child, measuring func()) result {
	start := time.Now()
	warmEnd := start.Add(cfg.Warmup)
	end := warmEnd.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	var timer sync.WaitGroup
	// The "before" metrics scrape has finished (or never started) when this returns.
	defer func() { cancel(); timer.Wait() }()
	timer.Go(func() { onTime(runCtx, warmEnd, measuring) })

	var (
		wg      sync.WaitGroup
		b       = newBodies()
		sched   = cfg.Mix.schedule()
		workers = make([]worker, len(children))
		span    = float64(cfg.ThinkMax - cfg.ThinkMin)
	)
	for i := range workers {
		w := &workers[i]
		*w = newWorker()
		token := children[i].token
		rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
		think := func() time.Duration { return cfg.ThinkMin + time.Duration(rng.Float64()*span) }
		wg.Go(func() {
			// Spread the first sends over one think time so the children
			// do not all start at once.
			due := start.Add(time.Duration(rng.Float64() * float64(cfg.ThinkMax)))
			t := time.NewTimer(time.Until(due))
			defer t.Stop()
			for k := 0; ; k++ {
				if !due.Before(end) {
					return
				}
				if wait := time.Until(due); wait > 0 {
					t.Reset(wait)
					select {
					case <-runCtx.Done():
						return
					case <-t.C:
					}
				}
				op := sched[(i*37+k)%len(sched)]
				// A refusal's Retry-After needs no extra wait here: the
				// child's next message is due a think time later anyway.
				outcome, _, _ := send(runCtx, c, op, token, b, i*7+k)
				done := time.Now()
				d := done.Sub(due)
				cutOff := runCtx.Err() != nil && (outcome == errTimeout || outcome == errTransport)
				switch {
				case due.Before(warmEnd):
				case !cutOff && !done.After(end):
					w.record(op, outcome, d)
				case due.Before(end.Add(-unfinishedGrace)):
					// Due well inside the window and still not answered at
					// its end (an overloaded cluster): a failure, not noise.
					w.record(op, errUnfinished, d)
				}
				due = due.Add(think())
			}
		})
	}
	wg.Wait()

	stop := time.Now()
	if stop.After(end) {
		stop = end
	}
	var window time.Duration
	if stop.After(warmEnd) {
		window = stop.Sub(warmEnd)
	}
	r := merge(workers, window)
	mean := (cfg.ThinkMin + cfg.ThinkMax).Seconds() / 2
	r.offered = float64(len(children)) / mean
	return r
}
