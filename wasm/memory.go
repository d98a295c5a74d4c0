package wasm

import (
	"context"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory backs one instance's linear memory with a Go byte slice
// that grows by doubling (bounded by the module's maximum) and starts at
// the size earlier instances of the same module reached. wazero's own
// growth appends for every memory.grow, and a Go guest grows its heap in
// steps of a few pages: the default policy's initialisation copied its
// memory seven times (about 60 MB) and allocated as much again.
//
// The bytes stay in the Go heap, as wazero's own buffer does: a call still
// running when its runtime is closed keeps them alive, never faults.
type linearMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory. Bytes beyond the old
// length are zero, as WebAssembly requires: capacity comes from make and
// the memory never shrinks, so nothing has written them.
func (l *linearMemory) Reallocate(size uint64) []byte {
	if size > l.max {
		return nil
	}
	if size <= uint64(cap(l.buf)) {
		l.buf = l.buf[:size]
		return l.buf
	}
	next := min(max(size, 2*uint64(cap(l.buf))), l.max)
	grown := make([]byte, size, next)
	copy(grown, l.buf)
	l.buf = grown
	return grown
}

// Free implements experimental.LinearMemory; the garbage collector
// reclaims the bytes once no call holds them.
func (l *linearMemory) Free() { l.buf = nil }

// firstCapacity is the capacity a module's first instance starts with:
// room for a Go guest's runtime and initialised heap (the default policy
// reaches 18 MiB) without a copy. Capacity nothing has written costs
// address space, not memory: the pages are the operating system's until
// touched.
const firstCapacity = 32 << 20

// memorySizer hands out linearMemory for one module's instances and
// remembers the largest size an instance reached after initialisation, so
// that the next one starts there instead of growing (and copying) again.
type memorySizer struct {
	seen atomic.Uint64
}

// Allocate implements experimental.MemoryAllocator.
func (s *memorySizer) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	start := s.seen.Load()
	if start == 0 {
		start = firstCapacity
	}
	c := min(max(capacity, start), maxBytes)
	return &linearMemory{buf: make([]byte, 0, c), max: maxBytes}
}

// observe records the size an instance's memory reached.
func (s *memorySizer) observe(size uint64) {
	for {
		old := s.seen.Load()
		if size <= old || s.seen.CompareAndSwap(old, size) {
			return
		}
	}
}

// with returns ctx carrying s as wazero's allocator for instantiation.
func (s *memorySizer) with(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, s)
}
