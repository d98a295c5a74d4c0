package wasm

import "sync"

// cappedBuffer is an io.Writer that keeps at most max bytes and silently
// drops the rest (a guest must not fail, nor grow host memory, by writing).
type cappedBuffer struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

func newCappedBuffer(max int) *cappedBuffer { return &cappedBuffer{max: max} }

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.buf)
	if room < 0 {
		room = 0
	}
	n := len(p)
	if n > room {
		c.dropped += int64(n - room)
		n = room
	}
	c.buf = append(c.buf, p[:n]...)
	return len(p), nil
}

// Len returns the number of bytes kept.
func (c *cappedBuffer) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// Dropped returns the number of bytes discarded over the cap.
func (c *cappedBuffer) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}
