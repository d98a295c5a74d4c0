package wasm

import (
	"context"
	"os"
	"testing"
)

// BenchmarkInstantiateDefaultPolicy measures what a call pays when the pool
// has no idle instance: instantiating the default policy module and running
// its initialisation (needs `make policy`).
func BenchmarkInstantiateDefaultPolicy(b *testing.B) {
	wasmBytes, err := os.ReadFile("../policies/default.wasm")
	if err != nil {
		b.Skipf("no default policy module (run make policy): %v", err)
	}
	ctx := context.Background()
	rt, err := NewRuntime(ctx, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.Load(ctx, "default", wasmBytes)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		in, err := m.instantiate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		in.close(ctx)
		m.live.Add(-1)
	}
}
