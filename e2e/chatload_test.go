package e2e

import (
	"sync"
	"sync/atomic"
)

// chatLoad is perNode children per node chatting without pause through
// their node, until stopped: the load under which an operation must not
// fail a request (a policy push, a CA rotation).
type chatLoad struct {
	ok, failed atomic.Int64
	stopCh     chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
}

// startChatLoad starts the load; each answer (or transport error) goes to
// seen, from the load's goroutines, before it is counted.
func startChatLoad(c *cluster, api *apiClient, perNode int, msg string, seen func(n *node, r apiResp, err error)) *chatLoad {
	c.t.Helper()
	l := &chatLoad{stopCh: make(chan struct{})}
	for _, n := range c.nodes {
		for range perNode {
			f := c.newFamily(n, "", "")
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-l.stopCh:
						return
					default:
					}
					r, err := api.do("POST", n.url("/v1/chat"), f.childToken, map[string]string{"message": msg})
					if seen != nil {
						seen(n, r, err)
					}
					if err == nil && r.Status == 200 {
						l.ok.Add(1)
					} else {
						l.failed.Add(1)
					}
				}
			}()
		}
	}
	return l
}

// stop ends the load and waits for its goroutines (idempotent).
func (l *chatLoad) stop() {
	l.once.Do(func() { close(l.stopCh) })
	l.wg.Wait()
}
