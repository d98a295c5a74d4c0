package wasm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config bounds what guests may use. Zero values take the defaults below.
type Config struct {
	CacheDir string // on-disk compilation cache dir ("" = in-memory only)
	PoolSize int    // max instances kept per module, idle or busy (default 2*GOMAXPROCS)
	// CallTimeout is the wall-clock limit per call (default 1s). With
	// instrumentation the work budget stops a runaway guest long before
	// (CallBudget), and this only ends calls the machine did not run
	// (ErrStarved); modules that are not instrumented have only this.
	CallTimeout time.Duration
	// CallBudget is the work a call may do on an instrumented module, in
	// units of yieldEvery (2048) checks: a check is one function entry or
	// one loop iteration (default DefaultCallBudget). A call that spends
	// it fails with ErrBudget, the same way on every machine.
	CallBudget uint64
	// InitTimeout bounds a guest's _initialize (default 30s): runtimes do
	// real work there (the default policy builds its lexicons and model,
	// ~0.3 s on an idle core). On the request path the caller's shorter
	// deadline wins; the generous bound matters when a node loads a policy
	// on a saturated machine.
	InitTimeout      time.Duration
	MemoryLimitPages uint32 // default 4096 (256 MiB)
	MaxIOBytes       int    // max input/output size (default 1 MiB)
	MaxStdioBytes    int    // captured stdout/stderr cap per instance (default 64 KiB)

	// SafeCompile runs guests with wazero's WithCloseOnContextDone instead
	// of the instrumented interrupt check (see instrument.go). Both bound
	// every call; this one is about nine times slower for Go guests because
	// compiled code calls into the Go runtime at every loop iteration.
	SafeCompile bool
}

// Defaults.
const (
	DefaultCallTimeout      = time.Second
	DefaultCallBudget       = 5000
	DefaultInitTimeout      = 30 * time.Second
	DefaultMemoryLimitPages = 4096
	DefaultMaxIOBytes       = 1 << 20
	DefaultMaxStdioBytes    = 64 << 10
)

func (c Config) withDefaults() Config {
	if c.PoolSize <= 0 {
		c.PoolSize = 2 * runtime.GOMAXPROCS(0)
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.CallBudget == 0 {
		c.CallBudget = DefaultCallBudget
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = max(DefaultInitTimeout, 20*c.CallTimeout)
	}
	if c.MemoryLimitPages == 0 || c.MemoryLimitPages > 65536 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MaxIOBytes <= 0 {
		c.MaxIOBytes = DefaultMaxIOBytes
	}
	if c.MaxStdioBytes <= 0 {
		c.MaxStdioBytes = DefaultMaxStdioBytes
	}
	return c
}

// Runtime is a wazero runtime with DaisyDog's limits. It is safe for
// concurrent use. Close it to release every module and the cache.
type Runtime struct {
	cfg   Config
	rt    wazero.Runtime // instrumented modules (or all, under SafeCompile)
	cache wazero.CompilationCache

	mu      sync.Mutex
	closed  bool
	modules map[*Module]struct{}
	// compileMu serialises CompileModule. wazero v1.12 publishes a module
	// loaded from the on-disk cache to its in-memory table before it has
	// compiled the module's entry preambles; a concurrent CompileModule of
	// the same bytes can take it from there half-built, and instantiating
	// it then panics (index out of range in wazevo's NewFunction). Seen
	// when a restarted node compiled two bundles that share a module
	// (words@1 and words@2: same module, different data) at once.
	compileMu sync.Mutex
	safe      wazero.Runtime // WithCloseOnContextDone, created on first need
}

// NewRuntime creates a runtime. With cfg.CacheDir set, compiled machine
// code is cached on disk there (keyed by module hash and wazero version),
// so a restart does not recompile.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	var (
		cache wazero.CompilationCache
		err   error
	)
	if cfg.CacheDir != "" {
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %q: %w", cfg.CacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	// Guests are bounded either by the interrupt check Load instruments
	// into them (default) or by wazero's close-on-context-done checks.
	rt, err := newWazero(ctx, cfg, cache, cfg.SafeCompile)
	if err != nil {
		_ = cache.Close(ctx)
		return nil, err
	}
	return &Runtime{cfg: cfg, rt: rt, cache: cache, modules: map[*Module]struct{}{}}, nil
}

func newWazero(ctx context.Context, cfg Config, cache wazero.CompilationCache, closeOnDone bool) (wazero.Runtime, error) {
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(closeOnDone).
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCompilationCache(cache)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate WASI: %w", err)
	}
	return rt, nil
}

// safeRuntime returns the close-on-context-done runtime for modules that
// cannot be instrumented.
func (r *Runtime) safeRuntime(ctx context.Context) (wazero.Runtime, error) {
	if r.cfg.SafeCompile {
		return r.rt, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.safe == nil {
		rt, err := newWazero(ctx, r.cfg, r.cache, true)
		if err != nil {
			return nil, err
		}
		r.safe = rt
	}
	return r.safe, nil
}

// Config returns the effective configuration (defaults applied).
func (r *Runtime) Config() Config { return r.cfg }

// Close closes every module loaded by r, the wazero runtime and the cache.
// Calls in flight fail with an error; later calls return ErrClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	mods := make([]*Module, 0, len(r.modules))
	for m := range r.modules {
		mods = append(mods, m)
	}
	r.mu.Unlock()
	var errs []error
	for _, m := range mods {
		errs = append(errs, m.Close(ctx))
	}
	errs = append(errs, r.rt.Close(ctx))
	if r.safe != nil {
		errs = append(errs, r.safe.Close(ctx))
	}
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}

func (r *Runtime) forget(m *Module) {
	r.mu.Lock()
	delete(r.modules, m)
	r.mu.Unlock()
}

// Load validates and compiles a module, then instantiates one instance to
// prove that _initialize works and policy_abi_v1() returns 1. name is used
// in errors and stats only. The same bytes may be loaded more than once
// (compilation is shared); each Load returns an independent Module with
// its own pool.
func (r *Runtime) Load(ctx context.Context, name string, wasmBytes []byte) (*Module, error) {
	return r.load(ctx, name, wasmBytes, nil)
}

func (r *Runtime) load(ctx context.Context, name string, wasmBytes, data []byte) (*Module, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := checkImports(wasmBytes); err != nil {
		return nil, fmt.Errorf("wasm: load %q: %w", name, err)
	}
	wrt, code, instrumented := r.rt, wasmBytes, false
	if !r.cfg.SafeCompile {
		out, err := instrument(wasmBytes)
		switch {
		case err == nil:
			code, instrumented = out, true
		case errors.Is(err, errNoYield) || errors.Is(err, errUnsupported):
			if wrt, err = r.safeRuntime(ctx); err != nil {
				return nil, fmt.Errorf("wasm: load %q: %w", name, err)
			}
		default:
			// Prefer wazero's diagnosis of a broken binary.
			if _, cerr := r.rt.CompileModule(ctx, wasmBytes); cerr != nil {
				err = cerr
			}
			return nil, fmt.Errorf("wasm: load %q: %w: %v", name, ErrInvalidModule, err)
		}
	}
	r.compileMu.Lock()
	compiled, err := wrt.CompileModule(ctx, code)
	r.compileMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("wasm: load %q: %w: %v", name, ErrInvalidModule, err)
	}
	if err := checkExports(compiled); err != nil {
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("wasm: load %q: %w", name, err)
	}
	if len(data) > 0 {
		if err := checkDataExport(compiled); err != nil {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("wasm: load %q: %w", name, err)
		}
	}
	m := newModule(r, name, compiled, wrt, instrumented)
	m.data = data

	// Prove the module works before anyone depends on it.
	inst, err := m.instantiate(ctx)
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("wasm: load %q: %w: %w", name, ErrInvalidModule, err)
	}
	if err := inst.checkABI(ctx, r.cfg.CallTimeout); err != nil {
		inst.close(ctx)
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("wasm: load %q: %w: %w", name, ErrInvalidModule, err)
	}
	m.idle = append(m.idle, inst)

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = m.Close(ctx)
		return nil, ErrClosed
	}
	r.modules[m] = struct{}{}
	r.mu.Unlock()
	return m, nil
}
