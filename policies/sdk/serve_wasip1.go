//go:build wasip1

package sdk

import "unsafe"

// handler is the policy installed by Serve.
var handler Handler

// live holds every buffer handed to the host, with its address. Being
// referenced from here keeps the buffer reachable (and, Go's GC being
// non-moving, at the same address) until the host frees it. A host holds
// two or three at a time (input, verdict), so a short list searched from
// the end costs less than a map (whose hashing has no hardware support in
// wasm).
var live []liveBuf

type liveBuf struct {
	ptr uint32
	b   []byte
}

// lookup returns the index in live of the buffer at ptr, or -1.
func lookup(ptr uint32) int {
	for i := len(live) - 1; i >= 0; i-- {
		if live[i].ptr == ptr {
			return i
		}
	}
	return -1
}

// spare holds a few freed buffers for reuse so that the steady state of
// alloc → evaluate → free → free allocates nothing new.
var spare [][]byte

const (
	maxSpare    = 8
	maxSpareCap = 256 << 10
)

// Serve installs h as the policy's evaluate function. Call it from an init
// function of the policy's main package: in -buildmode=c-shared the Go
// runtime runs package initialisers during _initialize but never runs main.
func Serve(h Handler) {
	if h == nil {
		panic("sdk: Serve(nil)")
	}
	handler = h
}

func ptrOf(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// take returns a buffer with capacity >= n and length n, preferring a spare.
func take(n int) []byte {
	for i := len(spare) - 1; i >= 0; i-- {
		if cap(spare[i]) >= n {
			b := spare[i][:n]
			spare[i] = spare[len(spare)-1]
			spare[len(spare)-1] = nil
			spare = spare[:len(spare)-1]
			return b
		}
	}
	c := n
	if c < 512 {
		c = 512 // one size class for typical chat messages and verdicts
	}
	return make([]byte, n, c)
}

// unregister drops live[i] and returns its buffer.
func unregister(i int) []byte {
	b := live[i].b
	last := len(live) - 1
	live[i] = live[last]
	live[last] = liveBuf{}
	live = live[:last]
	return b
}

// register records b as owned by the host and returns its address.
func register(b []byte) uint32 {
	p := ptrOf(b[:cap(b)])
	if i := lookup(p); i >= 0 { // cannot happen: a live buffer is never handed out again
		live[i].b = b
		return p
	}
	live = append(live, liveBuf{p, b})
	return p
}

//go:wasmexport policy_abi_v1
func policyABIv1() uint32 { return ABIVersion }

//go:wasmexport alloc
func alloc(size uint32) uint32 {
	return register(take(int(size)))
}

//go:wasmexport free
func free(ptr uint32) {
	i := lookup(ptr)
	if i < 0 {
		return // freeing an unknown pointer is a no-op, like free(NULL)
	}
	b := unregister(i)
	if cap(b) <= maxSpareCap && len(spare) < maxSpare {
		spare = append(spare, b[:0])
	}
}

//go:wasmexport evaluate
func evaluate(inPtr, inLen uint32) uint64 {
	if handler == nil {
		panic("sdk: evaluate called but no handler installed (call sdk.Serve from init)")
	}
	i := lookup(inPtr)
	if i < 0 || int(inLen) > len(live[i].b) {
		panic("sdk: evaluate: input is not a buffer returned by alloc")
	}
	out := handle(live[i].b[:inLen], take(0))
	return uint64(register(out))<<32 | uint64(len(out))
}

func handle(in, dst []byte) []byte { return Handle(handler, in, dst) }
