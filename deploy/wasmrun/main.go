// Command wasmrun runs a WASI (wasip1) command module, such as a test
// binary built with GOOS=wasip1 GOARCH=wasm go test -c, on wazero's
// compiler with the current directory mounted as /, passing its arguments
// on. deploy/wasm-vs-native.sh uses it to time the default policy's rules
// as WebAssembly beside the same code compiled natively.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmrun MODULE.wasm [ARG…]")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func run(path string, args []string) int {
	ctx := context.Background()
	module, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		return 1
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cfg := wazero.NewModuleConfig().WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithArgs(append([]string{path}, args...)...).
		WithFSConfig(wazero.NewFSConfig().WithDirMount(".", "/")).
		WithSysNanotime().WithSysWalltime()
	for _, kv := range os.Environ() {
		// The tests' own switches (DAISYDOG_PHASES, DAISYDOG_EVAL_CASES
		// naming a file under the current directory) reach the guest.
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "DAISYDOG_") {
			cfg = cfg.WithEnv(k, v)
		}
	}
	if _, err := rt.InstantiateWithConfig(ctx, module, cfg); err != nil {
		if exit, ok := err.(*sys.ExitError); ok {
			return int(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		return 1
	}
	return 0
}
