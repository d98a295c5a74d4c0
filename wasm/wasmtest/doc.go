// Package wasmtest builds small WebAssembly modules byte by byte, for
// tests of the wasm host and of policy loading (like net/http/httptest).
// It has no dependencies and needs no external assembler.
//
// Invariant: every module it builds is a valid WebAssembly 1.0 binary;
// behaviour is chosen by the caller (a well-behaved ABI v1 guest, or one
// that traps, loops, lies about pointers or imports forbidden things).
package wasmtest
