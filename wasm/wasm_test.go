package wasm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"daisydog/wasm/wasmtest"
)

// testSafeCompile makes newRuntime use Config.SafeCompile (see
// TestSafeCompileMode, which reruns the behavioural tests that way).
var testSafeCompile bool

func newRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	cfg.SafeCompile = testSafeCompile
	rt, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return rt
}

func load(t *testing.T, rt *Runtime, b []byte) *Module {
	t.Helper()
	m, err := rt.Load(context.Background(), t.Name(), b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCall(t *testing.T, m *Module, in string) string {
	t.Helper()
	out, err := m.Call(context.Background(), []byte(in))
	if err != nil {
		t.Fatalf("Call(%q): %v", in, err)
	}
	return string(out)
}

func TestGoodModuleEcho(t *testing.T) {
	rt := newRuntime(t, Config{})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	for _, in := range []string{"hello", `{"abi":1}`, strings.Repeat("x", 4000)} {
		if got := mustCall(t, m, in); got != in {
			t.Fatalf("echo = %q", got)
		}
	}
	st := m.Stats()
	if st.Calls != 3 || st.Failures != 0 || st.Instantiated != 1 || st.Live != 1 || st.Idle != 1 {
		t.Fatalf("stats %+v", st)
	}
	if m.Instrumented() == testSafeCompile {
		t.Fatalf("Instrumented() = %v with SafeCompile %v", m.Instrumented(), testSafeCompile)
	}
	if rt.Config().PoolSize <= 0 || rt.Config().CallTimeout != DefaultCallTimeout {
		t.Fatalf("defaults not applied: %+v", rt.Config())
	}
}

func TestTrapDiscardsInstanceAndNextCallWorks(t *testing.T) {
	rt := newRuntime(t, Config{})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	_, err := m.Call(context.Background(), []byte("Trap"))
	if !errors.Is(err, ErrTrap) {
		t.Fatalf("want ErrTrap, got %v", err)
	}
	if !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error should say what happened: %v", err)
	}
	if got := mustCall(t, m, "after"); got != "after" {
		t.Fatal(got)
	}
	st := m.Stats()
	if st.Discarded != 1 || st.Failures != 1 || st.Instantiated != 2 || st.Live != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestInfiniteLoopSpendsItsBudget: a looping guest is stopped by its work
// budget, not the clock: with an hour's time limit the call still ends,
// with ErrBudget (the guest's doing), after exactly its budget.
// Under SafeCompile (no instrumentation, no budget) the clock stops it.
func TestInfiniteLoopSpendsItsBudget(t *testing.T) {
	cfg := Config{CallTimeout: time.Hour, CallBudget: 300}
	if testSafeCompile {
		cfg.CallTimeout = 50 * time.Millisecond
	}
	rt := newRuntime(t, cfg)
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	start := time.Now()
	_, err := m.Call(context.Background(), []byte("Loop"))
	switch {
	case testSafeCompile:
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrBudget) || errors.Is(err, ErrStarved) {
			t.Fatalf("want a bare ErrTimeout, got %v", err)
		}
	case !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrBudget) || errors.Is(err, ErrStarved) || errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("want ErrTimeout+ErrBudget, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping took %v", d)
	}
	if st := m.Stats(); !testSafeCompile && (st.MaxWork != 300 || st.Work != 300) {
		t.Fatalf("work %d (max %d), want 300: the budget counts every exit to the host", st.Work, st.MaxWork)
	}
	// The node keeps serving: the next call gets a fresh instance.
	if got := mustCall(t, m, "next"); got != "next" {
		t.Fatal(got)
	}
	if st := m.Stats(); st.Discarded != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCallerDeadlineIsHonoured: the caller's deadline ends a call that
// still has work budget left, and says so (ErrStarved: the time, not the
// guest, ran out); a deadline that passed before the call never reaches
// the guest.
func TestCallerDeadlineIsHonoured(t *testing.T) {
	rt := newRuntime(t, Config{CallTimeout: 10 * time.Second, CallBudget: 1 << 40})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := m.Call(ctx, []byte("Loop"))
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrBudget) || !errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrStarved) == testSafeCompile { // without instrumentation it cannot tell
		t.Fatalf("want ErrTimeout+ErrStarved (bare ErrTimeout under SafeCompile), got %v", err)
	}
	if _, err := m.Call(ctx, []byte("x")); !errors.Is(err, ErrStarved) {
		t.Fatalf("a call after its deadline: want ErrStarved, got %v", err)
	}
	if st := m.Stats(); st.Calls != 1 {
		t.Fatalf("the expired call reached the guest: %+v", st)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := m.Call(ctx, []byte("x")); !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want ErrCanceled, got %v", err)
	}
}

func TestBadResults(t *testing.T) {
	rt := newRuntime(t, Config{MaxIOBytes: 200 << 10})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	for _, in := range []string{
		"Out of bounds result",
		"Zero length result",
		"x" + strings.Repeat("y", 130<<10), // alloc's buffer runs past memory
	} {
		if _, err := m.Call(context.Background(), []byte(in)); !errors.Is(err, ErrBadResult) {
			t.Fatalf("%.20q: want ErrBadResult, got %v", in, err)
		}
	}
	if got := mustCall(t, m, "fine"); got != "fine" {
		t.Fatal(got)
	}
	if st := m.Stats(); st.Discarded != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFreeTrapIsAnError(t *testing.T) {
	rt := newRuntime(t, Config{})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{FreeTraps: true}))
	if _, err := m.Call(context.Background(), []byte("x")); !errors.Is(err, ErrTrap) {
		t.Fatalf("want ErrTrap, got %v", err)
	}
}

func TestInputTooLarge(t *testing.T) {
	rt := newRuntime(t, Config{MaxIOBytes: 16})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	if _, err := m.Call(context.Background(), make([]byte, 17)); !errors.Is(err, ErrInputTooLarge) {
		t.Fatalf("want ErrInputTooLarge, got %v", err)
	}
	if st := m.Stats(); st.Discarded != 0 || st.Calls != 0 {
		t.Fatalf("an oversized input must not touch an instance: %+v", st)
	}
}

func TestLoadRefusesForbiddenImports(t *testing.T) {
	rt := newRuntime(t, Config{})
	cases := map[string]wasmtest.Import{
		"env.host_fn": {Module: "env", Name: "host_fn", Params: []byte{wasmtest.I32}},
		"env.memory":  {Module: "env", Name: "memory", Kind: 2},
		"env.g":       {Module: "env", Name: "g", Kind: 3},
		"wasi global": {Module: "wasi_snapshot_preview1", Name: "sneaky", Kind: 3},
	}
	for label, im := range cases {
		_, err := rt.Load(context.Background(), "bad", wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{im}}))
		if !errors.Is(err, ErrForbiddenImport) || !errors.Is(err, ErrInvalidModule) {
			t.Fatalf("%s: want ErrForbiddenImport, got %v", label, err)
		}
		if !strings.Contains(err.Error(), im.Name) || !strings.Contains(err.Error(), im.Module) {
			t.Errorf("%s: error should name the import: %v", label, err)
		}
	}
}

func TestLoadValidatesABI(t *testing.T) {
	rt := newRuntime(t, Config{})
	cases := map[string][]byte{
		"garbage":          []byte("not wasm at all"),
		"empty":            nil,
		"missing evaluate": wasmtest.ABIModule(wasmtest.Options{Omit: "evaluate"}),
		"missing alloc":    wasmtest.ABIModule(wasmtest.Options{Omit: "alloc"}),
		"missing free":     wasmtest.ABIModule(wasmtest.Options{Omit: "free"}),
		"missing init":     wasmtest.ABIModule(wasmtest.Options{Omit: "_initialize"}),
		"missing abi":      wasmtest.ABIModule(wasmtest.Options{Omit: "policy_abi_v1"}),
		"missing memory":   wasmtest.ABIModule(wasmtest.Options{Omit: "memory"}),
		"bad signature":    wasmtest.ABIModule(wasmtest.Options{EvaluateI32: true}),
		"abi version 2":    wasmtest.ABIModule(wasmtest.Options{ABIVersion: 2}),
		"init traps":       wasmtest.ABIModule(wasmtest.Options{InitTraps: true}),
		"memory too large": wasmtest.ABIModule(wasmtest.Options{Pages: 5000}),
		"unknown wasi fn": wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{
			{Module: "wasi_snapshot_preview1", Name: "no_such_function"}}}),
	}
	for label, b := range cases {
		m, err := rt.Load(context.Background(), label, b)
		if !errors.Is(err, ErrInvalidModule) {
			t.Errorf("%s: want ErrInvalidModule, got %v (module %v)", label, err, m)
		}
	}
}

func TestConcurrentCallsPoolBounded(t *testing.T) {
	const pool = 2
	// A generous call limit: this test is about the pool bound, and on a
	// busy machine (CI, SafeCompile mode) a call waiting behind eleven
	// others can exceed the 250 ms default without anything being wrong.
	rt := newRuntime(t, Config{PoolSize: pool, CallTimeout: 10 * time.Second})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	var (
		wg      sync.WaitGroup
		maxLive atomic.Int64
		stop    = make(chan struct{})
	)
	go func() { // sample the live count while the calls run
		for {
			select {
			case <-stop:
				return
			default:
			}
			if l := m.Stats().Live; l > maxLive.Load() {
				maxLive.Store(l)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	errs := make(chan error, 1000)
	for g := 0; g < 12; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				in := []byte{byte('a' + g), byte('a' + i)}
				switch {
				case i%7 == 3:
					in = []byte("Trap")
				case i%5 == 1:
					in = []byte("Spin")
				}
				out, err := m.Call(context.Background(), in)
				switch {
				case in[0] == 'T':
					if !errors.Is(err, ErrTrap) {
						errs <- err
					}
				case err != nil:
					errs <- err
				case !bytes.Equal(out, in):
					errs <- errors.New("wrong echo " + string(out))
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l := maxLive.Load(); l > pool {
		t.Fatalf("live instances reached %d > pool %d", l, pool)
	}
	st := m.Stats()
	if st.Live > pool || st.Idle > pool {
		t.Fatalf("stats %+v", st)
	}
}

func TestWaitingForInstanceRespectsContext(t *testing.T) {
	rt := newRuntime(t, Config{PoolSize: 1, CallTimeout: 2 * time.Second, CallBudget: 1 << 40})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = m.Call(context.Background(), []byte("Loop"))
	}()
	// Wait until the looping call holds the only instance.
	deadline := time.Now().Add(2 * time.Second)
	for m.Stats().Idle != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := m.Call(ctx, []byte("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout while waiting, got %v", err)
	}
	<-busy
	if got := mustCall(t, m, "free again"); got != "free again" {
		t.Fatal(got)
	}
}

func TestStdoutIsCapped(t *testing.T) {
	rt := newRuntime(t, Config{MaxStdioBytes: 16, PoolSize: 1})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	msg := "P" + strings.Repeat("!", 99)
	for i := 0; i < 3; i++ {
		if got := mustCall(t, m, msg); got != msg {
			t.Fatal(got)
		}
	}
	m.mu.Lock()
	in := m.idle[0]
	m.mu.Unlock()
	if in.stdout.Len() != 16 || in.stdout.Dropped() != 300-16 {
		t.Fatalf("stdout kept %d, dropped %d", in.stdout.Len(), in.stdout.Dropped())
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	rt, err := NewRuntime(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	m1 := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	m2 := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	if err := m1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m1.Close(ctx); err != nil {
		t.Fatal("second close:", err)
	}
	if _, err := m1.Call(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	if got := mustCall(t, m2, "still"); got != "still" {
		t.Fatal(got)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Call(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("module of closed runtime: want ErrClosed, got %v", err)
	}
	if _, err := rt.Load(ctx, "late", wasmtest.ABIModule(wasmtest.Options{})); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal("second close:", err)
	}
}

func TestCloseWhileCalling(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, Config{PoolSize: 2})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, _ = m.Call(ctx, []byte("Spin"))
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if st := m.Stats(); st.Live != 0 {
		t.Fatalf("instances leaked after close: %+v", st)
	}
}

func TestCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	b := wasmtest.ABIModule(wasmtest.Options{})
	for i := 0; i < 2; i++ {
		rt := newRuntime(t, Config{CacheDir: dir})
		m := load(t, rt, b)
		if got := mustCall(t, m, "cached"); got != "cached" {
			t.Fatal(got)
		}
		if err := rt.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache dir empty: %v %v", entries, err)
	}
}

func TestParseImports(t *testing.T) {
	b := wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{{Module: "env", Name: "m", Kind: 2}}})
	ims, err := parseImports(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 3 || ims[0].name != "fd_write" || ims[1].name != "sched_yield" || ims[2].kind != 2 {
		t.Fatalf("%+v", ims)
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\x02\xff"), []byte("\x00asm\x01\x00\x00\x00\x02\x05\x01\x03env")} {
		if _, err := parseImports(bad); err == nil {
			t.Errorf("parseImports(%q) accepted garbage", bad)
		}
	}
}

func BenchmarkCallEcho(b *testing.B) {
	rt, err := NewRuntime(context.Background(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(context.Background())
	m, err := rt.Load(context.Background(), "echo", wasmtest.ABIModule(wasmtest.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(`{"abi":1,"text":"hello daisy","direction":"in"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Call(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestSafeCompileMode reruns the behavioural tests with wazero's own
// close-on-context-done checks instead of the instrumented interrupt.
func TestSafeCompileMode(t *testing.T) {
	testSafeCompile = true
	defer func() { testSafeCompile = false }()
	for name, f := range map[string]func(*testing.T){
		"echo":          TestGoodModuleEcho,
		"trap":          TestTrapDiscardsInstanceAndNextCallWorks,
		"loop":          TestInfiniteLoopSpendsItsBudget,
		"deadline":      TestCallerDeadlineIsHonoured,
		"bad results":   TestBadResults,
		"imports":       TestLoadRefusesForbiddenImports,
		"validate":      TestLoadValidatesABI,
		"concurrent":    TestConcurrentCallsPoolBounded,
		"waiting":       TestWaitingForInstanceRespectsContext,
		"stdout":        TestStdoutIsCapped,
		"close calling": TestCloseWhileCalling,
		"gc":            TestLoopingGuestDoesNotBlockGC,
	} {
		t.Run(name, f)
	}
}

func TestInitializeLoopIsInterrupted(t *testing.T) {
	// An _initialize that never returns must not hang Load.
	init := wasmtest.Func{Export: "_initialize", Body: []byte{wasmtest.OpLoop, wasmtest.BlockEmpty, wasmtest.OpBr, 0, wasmtest.OpEnd}}
	m := wasmtest.Module{MemoryPages: 1, ExportMemory: true, Funcs: []wasmtest.Func{
		{Export: "policy_abi_v1", Results: []byte{wasmtest.I32}, Body: wasmtest.I32Const(1)},
		{Export: "alloc", Params: []byte{wasmtest.I32}, Results: []byte{wasmtest.I32}, Body: wasmtest.I32Const(16)},
		{Export: "free", Params: []byte{wasmtest.I32}},
		{Export: "evaluate", Params: []byte{wasmtest.I32, wasmtest.I32}, Results: []byte{wasmtest.I64}, Body: wasmtest.I64Const(16<<32 | 1)},
		init,
	}}
	rt := newRuntime(t, Config{CallTimeout: 10 * time.Millisecond, InitTimeout: 2 * time.Second})
	start := time.Now()
	_, err := rt.Load(context.Background(), "init-loop", m.Bytes())
	if !errors.Is(err, ErrInvalidModule) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrInvalidModule+ErrTimeout, got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestModuleWithoutSchedYieldFallsBackToContextChecks(t *testing.T) {
	rt := newRuntime(t, Config{CallTimeout: 50 * time.Millisecond})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{NoYield: true}))
	if m.Instrumented() {
		t.Fatal("a module without sched_yield cannot be instrumented")
	}
	if _, err := m.Call(context.Background(), []byte("Loop")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if got := mustCall(t, m, "ok"); got != "ok" {
		t.Fatal(got)
	}
}

// TestLoopingGuestDoesNotBlockGC: a guest spinning in native code must
// still let the Go GC stop the world (or the timer that interrupts it could
// never run: a process-wide deadlock).
func TestLoopingGuestDoesNotBlockGC(t *testing.T) {
	rt := newRuntime(t, Config{CallTimeout: 300 * time.Millisecond, PoolSize: 2, CallBudget: 1 << 40})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	done := make(chan error, 1)
	go func() {
		_, err := m.Call(context.Background(), []byte("Loop"))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	gcDone := make(chan struct{})
	go func() {
		for i := 0; i < 5; i++ {
			runtime.GC()
		}
		close(gcDone)
	}()
	select {
	case <-gcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("GC blocked by a looping guest")
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("want ErrTimeout, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("looping guest was not interrupted")
	}
}
