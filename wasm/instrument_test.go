package wasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"daisydog/wasm/wasmtest"
)

func TestInstrumentProducesValidModules(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mods := map[string][]byte{
		"abi":   wasmtest.ABIModule(wasmtest.Options{}),
		"const": wasmtest.ConstModule([]byte("x")),
		"global import": wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{
			{Module: "env", Name: "g", Kind: 3}}}),
	}
	for name, b := range mods {
		out, err := instrument(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("%s: instrumented module does not compile: %v", name, err)
		}
		if len(c.ExportedFunctions()) < 5 {
			t.Fatalf("%s: exports lost", name)
		}
		if name == "global import" {
			continue // nothing provides env.g
		}
		mod, err := rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("").WithStartFunctions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g := mod.ExportedGlobal(interruptExport); g == nil || g.Get() != 0 {
			t.Fatalf("%s: no %s export", name, interruptExport)
		}
	}
}

func TestInstrumentRefusesUnknownInstructions(t *testing.T) {
	m := wasmtest.Module{Funcs: []wasmtest.Func{{Export: "f", Body: []byte{0x06, 0x40, 0x0b}}}} // legacy "try"
	if _, err := instrument(m.Bytes()); err == nil {
		t.Fatal("accepted an instruction it cannot decode")
	}
	m = wasmtest.Module{Funcs: []wasmtest.Func{{Export: interruptExport}}}
	if _, err := instrument(m.Bytes()); err == nil {
		t.Fatal("accepted a module exporting the reserved name")
	}
}
