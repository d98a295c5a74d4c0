package node

import (
	"fmt"
	"os"
	"testing"

	"daisydog/wasm/wasmtest"
)

// sharedPolicyCache is one wazero compilation cache for every node the
// tests start: the default policy (3.5 MB of WebAssembly) is compiled once
// per run instead of once per node, which is most of a node's start-up CPU.
var sharedPolicyCache string

func TestMain(m *testing.M) {
	if dir := wasmtest.SharedCacheDir(); dir != "" {
		sharedPolicyCache = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "daisydog-node-test-wasm-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedPolicyCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
