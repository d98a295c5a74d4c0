package wasm

import (
	"context"
	"os"
	"sync"
	"testing"

	"daisydog/wasm/wasmtest"
)

// TestConcurrentLoadsFromDiskCache: a fresh runtime (a restarted node)
// loads the same module several times at once from the on-disk compilation
// cache, then instantiates each. Without Runtime.compileMu, wazero could
// hand one load the module half-built and the instantiation panicked.
func TestConcurrentLoadsFromDiskCache(t *testing.T) {
	b, err := os.ReadFile("../policies/default.wasm")
	if err != nil {
		t.Skipf("no default policy module (run make policy): %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	if shared := wasmtest.SharedCacheDir(); shared != "" {
		// make unit compiled the module into the shared cache without
		// -race; a copy makes the fill below a load, not a 30 s compile.
		if err := os.CopyFS(dir, os.DirFS(shared)); err != nil {
			t.Fatal(err)
		}
	}
	warm := newRuntime(t, Config{CacheDir: dir})
	if _, err := warm.Load(ctx, "fill-cache", b); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		rt := newRuntime(t, Config{CacheDir: dir, PoolSize: 2})
		var wg sync.WaitGroup
		mods := make([]*Module, 6)
		errs := make([]error, len(mods))
		for i := range mods {
			wg.Go(func() { mods[i], errs[i] = rt.Load(ctx, "twin", b) })
		}
		wg.Wait()
		for i, m := range mods {
			if errs[i] != nil {
				t.Fatalf("round %d load %d: %v", round, i, errs[i])
			}
			in, err := m.instantiate(ctx)
			if err != nil {
				t.Fatalf("round %d instantiate %d: %v", round, i, err)
			}
			in.close(ctx)
			m.live.Add(-1)
		}
	}
}
