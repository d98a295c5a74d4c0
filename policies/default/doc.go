//go:build wasip1

// Package main (policies/default) owns the ABI wrapper of the default
// child-safety policy. It contains no detection logic: that lives in
// policies/default/rules, which builds and tests on any platform. Every
// file of this package carries the wasip1 build tag so that `go vet ./...`
// and `go test ./...` on the host skip it.
//
// Bundle data: the module accepts a bundle's data document (ABI.md,
// "Data") through policy_data and recompiles its tables with it once per
// instance (rules.CompileData): extra phrases or stems for a rule
// (phrases/<rule id>.txt, stems/<rule id>.txt), rules switched off
// (disabled.txt), extra innocent words (innocent.txt) and the model's
// thresholds (thresholds.json); rules/data.go documents the formats. A
// bundle without data gets the compiled-in tables unchanged. Data the
// policy cannot use (an unknown file name, rule id or model head, a phrase
// that does not compile) is refused, and so is the bundle.
//
// Invariants: the module imports nothing but wasi_snapshot_preview1 (the
// Go runtime's own needs), performs no I/O, and is a pure function of its
// input and its bundle data. vectors.json beside this file is the policy's contract; it is run
// against rules on the host and against the compiled module by the
// policies package tests.
package main
