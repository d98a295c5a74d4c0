//go:build wasip1

// Package main (policies/default) owns the ABI wrapper of the default
// child-safety policy. It contains no detection logic: that lives in
// policies/default/rules, which builds and tests on any platform. Every
// file of this package carries the wasip1 build tag so that `go vet ./...`
// and `go test ./...` on the host skip it.
//
// Invariants: the module imports nothing but wasi_snapshot_preview1 (the
// Go runtime's own needs), performs no I/O, and is a pure function of its
// input. vectors.json beside this file is the policy's contract; it is run
// against rules on the host and against the compiled module by the
// policies package tests.
package main
