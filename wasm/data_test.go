package wasm

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"daisydog/wasm/wasmtest"
)

const (
	opI32Load = 0x28
)

// dataModule is an ABI v1 guest with a policy_data export that records
// where its data is (ptr at 0, len at 4) and returns code; its evaluate
// returns the recorded data, so a call shows what the instance received
// (or traps when the input starts with 'T').
// dataBody, when set, replaces policy_data's body; dataParams its params.
func dataModule(code int32, dataBody []byte, dataParams []byte) []byte {
	if dataParams == nil {
		dataParams = []byte{wasmtest.I32, wasmtest.I32}
	}
	if dataBody == nil {
		dataBody = wasmtest.Cat(
			wasmtest.I32Const(0), []byte{wasmtest.OpLocalGet, 0, wasmtest.OpI32Store, 2, 0},
			wasmtest.I32Const(4), []byte{wasmtest.OpLocalGet, 1, wasmtest.OpI32Store, 2, 0},
			wasmtest.I32Const(code))
	}
	evalBody := wasmtest.Cat(
		// An input starting with 'T' traps (the instance is discarded).
		[]byte{wasmtest.OpBlock, wasmtest.BlockEmpty, wasmtest.OpLocalGet, 0, wasmtest.OpI32Load8U, 0, 0}, wasmtest.I32Const('T'),
		[]byte{wasmtest.OpI32Ne, wasmtest.OpBrIf, 0, wasmtest.OpUnreachable, wasmtest.OpEnd},
		wasmtest.I32Const(0), []byte{opI32Load, 2, 0, wasmtest.OpI64ExtendU}, wasmtest.I64Const(32), []byte{wasmtest.OpI64Shl},
		wasmtest.I32Const(4), []byte{opI32Load, 2, 0, wasmtest.OpI64ExtendU, wasmtest.OpI64Or})
	// alloc bumps an offset kept at address 8 (never reused), so inputs do
	// not overwrite the data.
	allocBody := wasmtest.Cat(
		wasmtest.I32Const(8), []byte{opI32Load, 2, 0}, wasmtest.I32Const(wasmtest.Scratch), []byte{wasmtest.OpI32Add, wasmtest.OpLocalSet, 1},
		wasmtest.I32Const(8), wasmtest.I32Const(8), []byte{opI32Load, 2, 0, wasmtest.OpLocalGet, 0, wasmtest.OpI32Add, wasmtest.OpI32Store, 2, 0},
		[]byte{wasmtest.OpLocalGet, 1})
	funcs := []wasmtest.Func{
		{Export: "policy_abi_v1", Results: []byte{wasmtest.I32}, Body: wasmtest.I32Const(1)},
		{Export: "alloc", Params: []byte{wasmtest.I32}, Results: []byte{wasmtest.I32}, Locals: []byte{wasmtest.I32}, Body: allocBody},
		{Export: "free", Params: []byte{wasmtest.I32}},
		{Export: "evaluate", Params: []byte{wasmtest.I32, wasmtest.I32}, Results: []byte{wasmtest.I64}, Body: evalBody},
		{Export: "_initialize"},
		{Export: exportData, Params: dataParams, Results: []byte{wasmtest.I32}, Body: dataBody},
	}
	return wasmtest.Module{Imports: []wasmtest.Import{wasmtest.SchedYield}, Funcs: funcs, MemoryPages: 2, ExportMemory: true}.Bytes()
}

func TestLoadWithData(t *testing.T) {
	for _, safe := range []bool{false, true} {
		rt := newRuntime(t, Config{SafeCompile: safe})
		data := []byte(`{"blocked":["zorblin"]}`)
		m, err := rt.LoadWithData(context.Background(), "with-data", dataModule(0, nil, nil), data)
		if err != nil {
			t.Fatalf("safe=%v: %v", safe, err)
		}
		if m.Name() != "with-data" {
			t.Fatalf("Name = %q", m.Name())
		}
		// Every new instance receives its own copy: trap to discard one.
		for i := range 3 {
			if got := mustCall(t, m, "x"); got != string(data) {
				t.Fatalf("safe=%v: instance data %q, want %q", safe, got, data)
			}
			if n := m.Stats().Instantiated; n != uint64(i+1) {
				t.Fatalf("safe=%v: %d instances created after %d traps, want %d", safe, n, i, i+1)
			}
			if _, err := m.Call(context.Background(), []byte("T")); !errors.Is(err, ErrTrap) {
				t.Fatalf("safe=%v: trap call: %v", safe, err)
			}
		}
	}
}

func TestLoadWithDataRefusals(t *testing.T) {
	rt := newRuntime(t, Config{})
	big := bytes.Repeat([]byte{'a'}, 200<<10) // larger than the module's 2 pages
	tests := []struct {
		name   string
		module []byte
		data   []byte
		want   error
		msg    string
	}{
		{"takes no data", dataModule(1, nil, nil), []byte("d"), ErrTrap, "takes no data (code 1)"},
		{"refuses the data", dataModule(7, nil, nil), []byte("d"), ErrTrap, "refused the data (code 7)"},
		{"traps", dataModule(0, []byte{wasmtest.OpUnreachable, wasmtest.OpI32Const, 0}, nil), []byte("d"), ErrTrap, exportData},
		{"no policy_data export", wasmtest.ABIModule(wasmtest.Options{}), []byte("d"), ErrInvalidModule, `does not export "policy_data"`},
		{"wrong signature", dataModule(0, wasmtest.I32Const(0), []byte{wasmtest.I32}), []byte("d"), ErrInvalidModule, "has signature"},
		{"data outside memory", dataModule(0, nil, nil), big, ErrBadResult, "outside memory"},
		{"data over the limit", dataModule(0, nil, nil), make([]byte, MaxDataBytes+1), ErrInvalidModule, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := rt.LoadWithData(context.Background(), tc.name, tc.module, tc.data)
			if err == nil {
				t.Fatalf("loaded (%v)", m)
			}
			if !errors.Is(err, ErrInvalidModule) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want ErrInvalidModule, %v and %q", err, tc.want, tc.msg)
			}
		})
	}
	// Without data a module without policy_data loads (LoadWithData = Load).
	m, err := rt.LoadWithData(context.Background(), "no-data", wasmtest.ABIModule(wasmtest.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustCall(t, m, "echo"); got != "echo" {
		t.Fatalf("echo = %q", got)
	}
}
