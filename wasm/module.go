package wasm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Module is a loaded, validated module with a bounded pool of instances.
// It is safe for concurrent use.
type Module struct {
	rt           *Runtime
	wrt          wazero.Runtime // the wazero runtime it was compiled in
	instrumented bool
	name         string
	compiled     wazero.CompiledModule
	cfg          Config
	modCfg       wazero.ModuleConfig
	data         []byte // handed to every instance through policy_data (nil: none)

	// sem holds one token per busy instance; its capacity is the pool size.
	// Instances are only created by a token holder when idle is empty, so
	// idle+busy never exceeds the pool size.
	sem  chan struct{}
	done chan struct{} // closed by Close: wakes waiters

	mu     sync.Mutex
	idle   []*instance
	closed bool

	// Warming (KeepWarm): a goroutine keeps the pool full in the
	// background, so that no call pays for instantiating (the default
	// policy's initialisation takes about 0.2 s, more under load, which a
	// call would spend out of its own timeout and fail closed).
	warm   atomic.Bool
	refill chan struct{} // wakes the warmer (buffered, 1)
	bg     context.Context
	stopBG context.CancelFunc
	wg     sync.WaitGroup

	// memory sizes instances' linear memory from what earlier ones reached.
	memory memorySizer

	calls, failures, created, discarded, warmed atomic.Uint64
	live                                        atomic.Int64
	work, maxWork                               atomic.Uint64
}

// Stats are counters of a module, for metrics.
type Stats struct {
	Calls        uint64 // Call invocations that reached an instance
	Failures     uint64 // of which failed (and discarded their instance)
	Instantiated uint64 // instances created, including Load's
	Warmed       uint64 // of which by KeepWarm's background filling
	Discarded    uint64 // instances closed after an error
	Live         int64  // instances currently alive (idle or busy)
	Idle         int    // instances currently idle
	// Work units (Config.CallBudget) the calls used in total, and the most
	// one call used; zero for modules that are not instrumented.
	Work, MaxWork uint64
}

// instance is one guest instance and its reusable call state.
type instance struct {
	mod            api.Module
	mem            api.Memory
	abi            api.Function
	alloc, free    api.Function
	evaluate       api.Function
	stack          [2]uint64
	stdout, stderr *cappedBuffer

	// interrupt is the instrumented global (nil under SafeCompile). It is
	// set, under mu and only while inCall, when the call's context ends.
	interrupt   api.MutableGlobal
	mu          sync.Mutex
	inCall      bool
	interrupted bool

	// Work budget (instrumented modules only). work counts the current
	// call's exits to the host (sched_yield: one every yieldEvery checks,
	// plus the guest's own); at limit (0: none) the call is interrupted and
	// exhausted set. Only the goroutine running the call touches them;
	// setting the interrupt takes mu like the context's AfterFunc does.
	work, limit uint64
	exhausted   bool
}

// yield is the instance's sched_yield (wazero's Osyield hook): it counts
// the call's work and ends the call when its budget is spent.
func (in *instance) yield() {
	in.work++
	if in.limit == 0 || in.work < in.limit || in.exhausted || in.interrupt == nil {
		return
	}
	in.mu.Lock()
	in.exhausted = true
	in.interrupt.Set(1)
	in.mu.Unlock()
}

func newModule(r *Runtime, name string, compiled wazero.CompiledModule, wrt wazero.Runtime, instrumented bool) *Module {
	// No FS, env, args or sockets; deterministic clocks and randomness
	// (wazero defaults). Anonymous, so one compiled module can have many
	// instances. With instrumentation, _initialize is called explicitly so
	// that it can be interrupted like any call.
	modCfg := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	if !instrumented {
		modCfg = modCfg.WithStartFunctions(exportInitialize)
	}
	bg, stop := context.WithCancel(context.Background())
	return &Module{
		rt:           r,
		wrt:          wrt,
		instrumented: instrumented,
		name:         name,
		compiled:     compiled,
		cfg:          r.cfg,
		modCfg:       modCfg,
		sem:          make(chan struct{}, r.cfg.PoolSize),
		done:         make(chan struct{}),
		refill:       make(chan struct{}, 1),
		bg:           bg,
		stopBG:       stop,
	}
}

// KeepWarm fills the pool to its size in the background and, from then
// on, replaces every instance discarded after a failure, so that calls
// find an idle instance instead of instantiating one inside their own
// time limit. Calling it again does nothing.
func (m *Module) KeepWarm() {
	if m.warm.Swap(true) {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			m.fill()
			select {
			case <-m.refill:
			case <-m.done:
				return
			}
		}
	}()
	m.wakeWarmer()
}

func (m *Module) wakeWarmer() {
	select {
	case m.refill <- struct{}{}:
	default:
	}
}

// fill instantiates instances until the pool is full. Like a caller, it
// holds a pool token while it creates one, so idle+busy never exceeds the
// pool size. A failure ends this round (the next discard retries).
func (m *Module) fill() {
	for m.live.Load() < int64(m.cfg.PoolSize) {
		select {
		case m.sem <- struct{}{}:
		case <-m.done:
			return
		}
		if m.live.Load() >= int64(m.cfg.PoolSize) {
			<-m.sem
			return
		}
		in, err := m.instantiate(m.bg)
		if err != nil {
			<-m.sem
			return
		}
		m.warmed.Add(1)
		m.release(m.bg, in, true)
	}
}

// Instrumented reports whether calls are bounded by the instrumented
// interrupt check (fast) rather than wazero's close-on-context-done checks.
func (m *Module) Instrumented() bool { return m.instrumented }

// Budget returns the work budget of one call (Config.CallBudget; 0 when
// the module is not instrumented: only its time limit applies).
func (m *Module) Budget() uint64 {
	if !m.instrumented {
		return 0
	}
	return m.cfg.CallBudget
}

// Name returns the name given to Load.
func (m *Module) Name() string { return m.name }

// Stats returns a snapshot of the module's counters.
func (m *Module) Stats() Stats {
	m.mu.Lock()
	idle := len(m.idle)
	m.mu.Unlock()
	return Stats{
		Calls:        m.calls.Load(),
		Failures:     m.failures.Load(),
		Instantiated: m.created.Load(),
		Discarded:    m.discarded.Load(),
		Warmed:       m.warmed.Load(),
		Live:         m.live.Load(),
		Idle:         idle,
		Work:         m.work.Load(),
		MaxWork:      m.maxWork.Load(),
	}
}

func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	out, errw := newCappedBuffer(m.cfg.MaxStdioBytes), newCappedBuffer(m.cfg.MaxStdioBytes)
	ictx, cancel := context.WithTimeout(ctx, m.cfg.InitTimeout)
	defer cancel()
	in := &instance{stdout: out, stderr: errw}
	mod, err := m.wrt.InstantiateModule(m.memory.with(ictx), m.compiled,
		m.modCfg.WithStdout(out).WithStderr(errw).WithOsyield(in.yield))
	if err != nil {
		return nil, classify(err, "instantiate")
	}
	in.mod = mod
	in.mem = mod.Memory()
	in.abi = mod.ExportedFunction(exportABI)
	in.alloc = mod.ExportedFunction(exportAlloc)
	in.free = mod.ExportedFunction(exportFree)
	in.evaluate = mod.ExportedFunction(exportEvaluate)
	if m.instrumented {
		g, ok := mod.ExportedGlobal(interruptExport).(api.MutableGlobal)
		if !ok {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("%w: instrumented module lacks %s", ErrTrap, interruptExport)
		}
		in.interrupt = g
		err := in.guarded(ictx, func(ctx context.Context) error {
			if err := mod.ExportedFunction(exportInitialize).CallWithStack(ctx, in.stack[:]); err != nil {
				return classify(err, exportInitialize)
			}
			return nil
		})
		if err != nil {
			_ = mod.Close(ctx)
			return nil, err
		}
	}
	if len(m.data) > 0 {
		if err := in.loadData(ictx, m.data); err != nil {
			_ = mod.Close(ctx)
			return nil, err
		}
	}
	if in.mem != nil {
		m.memory.observe(uint64(in.mem.Size()))
	}
	m.created.Add(1)
	m.live.Add(1)
	return in, nil
}

// guarded runs f so that it is interrupted when ctx ends. Under
// SafeCompile wazero does that itself; otherwise the instrumented global
// is set, the guest traps at its next check, and the error is reported as
// a timeout or cancellation. An interrupted instance must be discarded.
func (in *instance) guarded(ctx context.Context, f func(context.Context) error) error {
	if in.interrupt == nil {
		return f(ctx)
	}
	in.mu.Lock()
	in.inCall, in.interrupted = true, false
	in.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		in.mu.Lock()
		if in.inCall {
			in.interrupt.Set(1)
			in.interrupted = true
		}
		in.mu.Unlock()
	})
	err := f(ctx)
	stop()
	in.mu.Lock()
	in.inCall = false
	interrupted, exhausted := in.interrupted, in.exhausted
	in.mu.Unlock()
	switch {
	case exhausted:
		return fmt.Errorf("%w: %w: used %d work units", ErrTimeout, ErrBudget, in.work)
	case interrupted && in.limit != 0 && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		// Stopped by the clock with budget left: the guest was not given
		// the CPU to finish (its work per unit is bounded, its budget was
		// not spent), so the machine, not the guest, ran out.
		return fmt.Errorf("%w: %w: time ran out after %d of %d work units: %w",
			ErrTimeout, ErrStarved, in.work, in.limit, context.Cause(ctx))
	case interrupted:
		return ctxErr(context.Cause(ctx), "interrupted")
	}
	return err
}

func (in *instance) checkABI(ctx context.Context, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := in.guarded(cctx, func(ctx context.Context) error {
		if err := in.abi.CallWithStack(ctx, in.stack[:]); err != nil {
			return classify(err, exportABI)
		}
		return nil
	}); err != nil {
		return err
	}
	if v := uint32(in.stack[0]); v != ABIVersion {
		return fmt.Errorf("policy_abi_v1() returned %d, want %d", v, ABIVersion)
	}
	return nil
}

func (in *instance) close(ctx context.Context) {
	_ = in.mod.Close(ctx)
}

// classify maps a wazero call error to a sentinel.
func classify(err error, what string) error {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: %s: %w", ErrTimeout, what, context.DeadlineExceeded)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: %s: %w", ErrCanceled, what, context.Canceled)
		default:
			return fmt.Errorf("%w: %s: guest exited with code %d", ErrTrap, what, ee.ExitCode())
		}
	}
	return fmt.Errorf("%w: %s: %v", ErrTrap, what, err)
}

// acquire takes a pool token and an instance (idle or new).
func (m *Module) acquire(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, waitErr(err, "before the call")
	}
	select {
	case m.sem <- struct{}{}:
	case <-m.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, waitErr(ctx.Err(), "waiting for an instance")
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.sem
		return nil, ErrClosed
	}
	if n := len(m.idle); n > 0 {
		in := m.idle[n-1]
		m.idle[n-1] = nil
		m.idle = m.idle[:n-1]
		m.mu.Unlock()
		return in, nil
	}
	m.mu.Unlock()
	in, err := m.instantiate(ctx)
	if err != nil {
		<-m.sem
		return nil, err
	}
	return in, nil
}

func ctxErr(err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCanceled, what, err)
}

// waitErr is ctxErr for a caller whose time ran out before the guest ran:
// that is never the guest's doing (ErrStarved).
func waitErr(err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w: %s: %w", ErrTimeout, ErrStarved, what, err)
	}
	return ctxErr(err, what)
}

// release returns a healthy instance to the pool, or closes it.
func (m *Module) release(ctx context.Context, in *instance, healthy bool) {
	if healthy && !in.mod.IsClosed() {
		m.mu.Lock()
		if !m.closed {
			m.idle = append(m.idle, in)
			m.mu.Unlock()
			<-m.sem
			return
		}
		m.mu.Unlock()
	} else {
		m.discarded.Add(1)
	}
	in.close(context.WithoutCancel(ctx))
	m.live.Add(-1)
	<-m.sem
	if m.warm.Load() {
		m.wakeWarmer()
	}
}

// Call runs evaluate on input and returns a copy of the result. It takes
// an idle instance (or creates one, up to the pool size, or waits), writes
// input into a buffer from alloc, calls evaluate, copies the result out
// and frees both buffers. Any failure discards the instance.
func (m *Module) Call(ctx context.Context, input []byte) ([]byte, error) {
	if len(input) > m.cfg.MaxIOBytes {
		return nil, fmt.Errorf("wasm: %q: %w: %d bytes > %d", m.name, ErrInputTooLarge, len(input), m.cfg.MaxIOBytes)
	}
	in, err := m.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("wasm: %q: %w", m.name, err)
	}
	m.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	var out []byte
	if m.instrumented {
		in.work, in.limit = 0, m.cfg.CallBudget
	}
	err = in.guarded(cctx, func(ctx context.Context) error {
		var err error
		out, err = m.call(ctx, in, input)
		return err
	})
	cancel()
	if m.instrumented {
		m.recordWork(in.work)
		in.limit = 0
	}
	if err != nil {
		m.failures.Add(1)
		m.release(ctx, in, false)
		return nil, fmt.Errorf("wasm: %q: %w", m.name, err)
	}
	m.release(ctx, in, true)
	return out, nil
}

// recordWork adds one call's work units to the module's counters.
func (m *Module) recordWork(w uint64) {
	m.work.Add(w)
	for {
		cur := m.maxWork.Load()
		if w <= cur || m.maxWork.CompareAndSwap(cur, w) {
			return
		}
	}
}

func (m *Module) call(ctx context.Context, in *instance, input []byte) ([]byte, error) {
	st := in.stack[:]
	st[0] = uint64(len(input))
	if err := in.alloc.CallWithStack(ctx, st[:]); err != nil {
		return nil, classify(err, exportAlloc)
	}
	inPtr := uint32(st[0])
	if !in.mem.Write(inPtr, input) {
		return nil, fmt.Errorf("%w: alloc(%d) returned %#x, outside memory of %d bytes",
			ErrBadResult, len(input), inPtr, in.mem.Size())
	}
	st[0], st[1] = uint64(inPtr), uint64(len(input))
	if err := in.evaluate.CallWithStack(ctx, st[:]); err != nil {
		return nil, classify(err, exportEvaluate)
	}
	resPtr, resLen := uint32(st[0]>>32), uint32(st[0])
	if resLen == 0 {
		return nil, fmt.Errorf("%w: evaluate returned an empty result", ErrBadResult)
	}
	if int64(resLen) > int64(m.cfg.MaxIOBytes) {
		return nil, fmt.Errorf("%w: result of %d bytes exceeds %d", ErrBadResult, resLen, m.cfg.MaxIOBytes)
	}
	view, ok := in.mem.Read(resPtr, resLen)
	if !ok {
		return nil, fmt.Errorf("%w: result [%#x, +%d) is outside memory of %d bytes",
			ErrBadResult, resPtr, resLen, in.mem.Size())
	}
	out := make([]byte, resLen)
	copy(out, view)
	st[0] = uint64(resPtr)
	if err := in.free.CallWithStack(ctx, st[:]); err != nil {
		return nil, classify(err, exportFree)
	}
	if resPtr != inPtr {
		st[0] = uint64(inPtr)
		if err := in.free.CallWithStack(ctx, st[:]); err != nil {
			return nil, classify(err, exportFree)
		}
	}
	return out, nil
}

// Close closes idle instances and the compiled module. Calls in flight
// finish (or fail) and then close their instance; later calls return
// ErrClosed.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	idle := m.idle
	m.idle = nil
	close(m.done)
	m.mu.Unlock()
	m.stopBG()
	m.wg.Wait() // the warmer closes what it was creating (release sees closed)
	for _, in := range idle {
		in.close(ctx)
		m.live.Add(-1)
	}
	m.rt.forget(m)
	return m.compiled.Close(ctx)
}
