package wasm

import (
	"bytes"
	"context"
	"testing"

	"daisydog/wasm/wasmtest"
)

func TestLinearMemoryGrowth(t *testing.T) {
	const page = 65536
	cases := []struct {
		name     string
		start    uint64 // capacity Allocate gives
		max      uint64
		sizes    []uint64 // successive Reallocate sizes
		wantCaps []uint64 // capacity after each (0: the call must fail)
	}{
		{"doubles from the start", page, 64 * page, []uint64{page, 2 * page, 3 * page, 5 * page}, []uint64{page, 2 * page, 4 * page, 8 * page}},
		{"a big step is taken whole", page, 64 * page, []uint64{page, 20 * page}, []uint64{page, 20 * page}},
		{"never beyond the maximum", 4 * page, 6 * page, []uint64{4 * page, 5 * page, 6 * page, 7 * page}, []uint64{4 * page, 6 * page, 6 * page, 0}},
		{"a remembered size needs no growth", 8 * page, 64 * page, []uint64{2 * page, 5 * page, 8 * page}, []uint64{8 * page, 8 * page, 8 * page}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &linearMemory{buf: make([]byte, 0, tc.start), max: tc.max}
			for i, size := range tc.sizes {
				old := append([]byte(nil), l.buf...)
				for j := range l.buf { // dirty every byte in use
					l.buf[j] = byte(j%251) + 1
					old[j] = l.buf[j]
				}
				b := l.Reallocate(size)
				if tc.wantCaps[i] == 0 {
					if b != nil {
						t.Fatalf("step %d: grew to %d beyond max %d", i, size, tc.max)
					}
					continue
				}
				if uint64(len(b)) != size || uint64(cap(b)) != tc.wantCaps[i] {
					t.Fatalf("step %d: len %d cap %d, want %d and %d", i, len(b), cap(b), size, tc.wantCaps[i])
				}
				if !bytes.Equal(b[:len(old)], old) {
					t.Fatalf("step %d: contents not kept", i)
				}
				if bytes.IndexFunc(b[len(old):], func(r rune) bool { return r != 0 }) >= 0 {
					t.Fatalf("step %d: new pages are not zero", i)
				}
			}
			l.Free()
			if l.buf != nil {
				t.Fatal("Free kept the buffer")
			}
		})
	}
}

// A module's later instances start with the memory its earlier ones
// reached, and the guest sees the same memory either way.
func TestInstancesStartAtTheSizeEarlierOnesReached(t *testing.T) {
	rt := newRuntime(t, Config{PoolSize: 2})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{InitGrows: 5})) // 2 pages + 5
	const want = 7 * 65536
	if got := m.memory.seen.Load(); got != want {
		t.Fatalf("remembered %d bytes after Load, want %d", got, want)
	}
	ctx := context.Background()
	a, err := m.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.acquire(ctx) // a second, new instance: a is busy
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []*instance{a, b} {
		view, ok := in.mem.Read(0, in.mem.Size())
		if !ok || len(view) != want || cap(view) < want {
			t.Fatalf("instance memory len %d cap %d, want %d", len(view), cap(view), want)
		}
	}
	for _, in := range []*instance{a, b} { // Load's instance started at firstCapacity
		if view, _ := in.mem.Read(0, in.mem.Size()); cap(view) != want {
			t.Fatalf("a later instance did not start where Load's ended: capacity %d, want exactly %d", cap(view), want)
		}
	}
	m.release(ctx, a, true)
	m.release(ctx, b, true)
	if got := mustCall(t, m, "still echoes"); got != "still echoes" {
		t.Fatalf("echo = %q", got)
	}
}
