package wasm

import "errors"

// Sentinel errors. Errors returned by this package wrap exactly one of
// these (test with errors.Is); timeouts and cancellations also wrap the
// matching context error, and a timeout also says why: ErrBudget or
// ErrStarved (or neither, for a module that is not instrumented).
var (
	// ErrInvalidModule: Load refused the module (bad binary, missing or
	// mistyped export, wrong ABI version, _initialize failed).
	ErrInvalidModule = errors.New("wasm: invalid module")
	// ErrForbiddenImport: Load refused a module importing something other
	// than a wasi_snapshot_preview1 function. Also wraps ErrInvalidModule.
	ErrForbiddenImport = errors.New("wasm: forbidden import")
	// ErrTimeout: a call was stopped for running too long: it spent its
	// work budget, or exceeded Config.CallTimeout or the caller's deadline.
	ErrTimeout = errors.New("wasm: call timed out")
	// ErrBudget (with ErrTimeout): the guest spent its whole work budget
	// (Config.CallBudget). Independent of the machine's speed and load (the
	// guest's own garbage collection counts too, so one input's work varies
	// a little with the instance's history). The guest's doing.
	ErrBudget = errors.New("wasm: work budget spent")
	// ErrStarved (with ErrTimeout): the time ran out before the guest
	// spent its work budget, or before it ran at all: the machine did not
	// give it the CPU (overload), so it is not the guest's doing. Only
	// instrumented modules can tell; others report a bare ErrTimeout.
	ErrStarved = errors.New("wasm: starved of CPU")
	// ErrCanceled: the caller's context was canceled.
	ErrCanceled = errors.New("wasm: call canceled")
	// ErrTrap: the guest trapped, exited, or could not be instantiated.
	ErrTrap = errors.New("wasm: guest trapped")
	// ErrBadResult: the guest broke the ABI (a pointer or length outside its
	// memory, an empty or oversized result).
	ErrBadResult = errors.New("wasm: guest returned a bad result")
	// ErrInputTooLarge: the input exceeds Config.MaxIOBytes.
	ErrInputTooLarge = errors.New("wasm: input too large")
	// ErrClosed: the Runtime or Module is closed.
	ErrClosed = errors.New("wasm: closed")
)
