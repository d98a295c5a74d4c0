// Package sdk is what a DaisyDog safety-policy author imports to write a
// policy in Go against Policy ABI v1 (see ../ABI.md).
//
// It owns two things:
//
//   - The wire types of ABI v1 (Input, ContextTurn, Verdict, Span) and the
//     vocabulary constants (actions, categories, directions, age tiers,
//     strictness levels). These files build on every platform so that the
//     detection logic of a policy can be unit-tested with plain `go test`.
//   - On GOOS=wasip1 only: Serve, which installs a Handler and provides the
//     ABI exports policy_abi_v1, alloc, free and evaluate (memory and
//     _initialize come from the Go toolchain in -buildmode=c-shared).
//
// Invariants:
//
//   - A buffer handed to the host (by alloc or as an evaluate result) stays
//     reachable, and therefore at a fixed address, until the host calls free
//     on its pointer. Go's wasm GC does not move objects.
//   - evaluate never returns a verdict for an input it could not decode or
//     for an unsupported ABI version: it traps (panics), so the host fails
//     closed and records the error.
//   - Verdicts are encoded without reflection by Verdict.AppendJSON, which
//     emits exactly the ABI v1 fields and nothing else.
//
// The package must never do I/O, read the clock or keep state between
// evaluate calls other than the buffer bookkeeping: a policy is a pure
// function of its input.
package sdk
