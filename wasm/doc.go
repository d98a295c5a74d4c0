// Package wasm is DaisyDog's WebAssembly host: it loads modules that
// implement Policy ABI v1 (see ../policies/ABI.md) and runs them with
// wazero, safely and fast. It knows nothing about safety semantics: it
// moves opaque bytes in and out of a module.
//
// It owns:
//
//   - the wazero runtimes of a Runtime (compiler engine, on-disk compilation
//     cache when Config.CacheDir is set, memory limit), and the
//     instrumentation that makes calls interruptible (instrument.go; a
//     close-on-context-done runtime is the fallback, see DESIGN.md);
//   - validation at Load: only wasi_snapshot_preview1 imports, the ABI v1
//     exports with exact signatures, policy_abi_v1() == 1, and a first
//     instance whose _initialize succeeds;
//   - a bounded instance pool per Module;
//   - the call protocol alloc → write → evaluate → read → free, with a
//     work budget and a timeout per call and size limits on input and
//     result.
//
// Invariants:
//
//   - Every call ends within its work budget (instrumented modules:
//     Config.CallBudget units of 2048 function entries or loop iterations,
//     ErrBudget) and within its time limit (ErrTimeout; ErrStarved when the
//     time ran out with budget left, i.e. the machine did not run it): the
//     guest is interrupted at its next loop header or call, and never holds
//     up the Go scheduler or GC for more than a few microseconds.
//   - An instance that returned any error (trap, exit, timeout, ABI
//     violation, failed free) is closed and never reused. Errors are
//     wrapped typed sentinels (ErrTimeout, ErrTrap, ErrBadResult, …) so a
//     caller can fail closed and count them.
//   - At most Config.PoolSize instances of a module exist at once (idle or
//     busy); further callers wait for one, bounded by their context.
//   - Guests get no file system, no environment, no arguments, no sockets,
//     deterministic clocks and randomness (wazero defaults), and stdout /
//     stderr captured into buffers of at most Config.MaxStdioBytes.
//   - Results are copied out of guest memory before the instance is
//     released: a returned slice never aliases guest memory.
//
// It must never: import anything above it (policies, node, …), log child
// text, or let a guest failure panic or block the host.
package wasm
