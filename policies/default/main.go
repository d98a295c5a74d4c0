//go:build wasip1

// Command default is DaisyDog's default child-safety policy, built as a
// Policy ABI v1 WebAssembly module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o policies/default.wasm ./policies/default
//
// All detection logic lives in the host-testable package rules; this file
// only wires it to the ABI through the sdk (which provides the
// policy_abi_v1, alloc, free, evaluate and policy_data exports).
package main

import (
	"daisydog/policies/default/rules"
	"daisydog/policies/sdk"
)

// policy is the compiled rule set: the compiled-in tables, or those tables
// adjusted by the bundle's data (rules.CompileData), which the host hands
// over once per instance before the first evaluate.
var policy *rules.Policy

func init() {
	// In -buildmode=c-shared the Go runtime runs init functions during
	// _initialize and never calls main.
	policy = rules.Default() // compile the rule tables now, not on the first call
	sdk.OnData(func(doc []byte) error {
		d, err := rules.ParseData(doc)
		if err != nil {
			return err
		}
		p, err := rules.CompileData(d)
		if err != nil {
			return err
		}
		policy = p
		return nil
	})
	sdk.Serve(func(in sdk.Input) sdk.Verdict { return policy.Evaluate(in) })
}

func main() {}
