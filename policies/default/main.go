//go:build wasip1

// Command default is DaisyDog's default child-safety policy, built as a
// Policy ABI v1 WebAssembly module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o policies/default.wasm ./policies/default
//
// All detection logic lives in the host-testable package rules; this file
// only wires it to the ABI through the sdk (which provides the
// policy_abi_v1, alloc, free and evaluate exports).
package main

import (
	"daisydog/policies/default/rules"
	"daisydog/policies/sdk"
)

func init() {
	// In -buildmode=c-shared the Go runtime runs init functions during
	// _initialize and never calls main.
	rules.Default() // compile the rule tables now, not on the first call
	sdk.Serve(rules.Evaluate)
}

func main() {}
