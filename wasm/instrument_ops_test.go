package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	w "daisydog/wasm/wasmtest"
)

func f64(v float64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{0x44}, math.Float64bits(v))
}

func f32(v float32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{0x43}, math.Float32bits(v))
}

// opModule wraps body as "f() -> i32" (one i32 local) in a module with a
// memory and the sched_yield import, so that instrument rewrites it.
func opModule(body []byte) []byte {
	return w.Module{
		Imports:     []w.Import{w.SchedYield},
		Funcs:       []w.Func{{Export: "f", Results: []byte{w.I32}, Locals: []byte{w.I32}, Body: body}},
		MemoryPages: 1,
	}.Bytes()
}

// Instrumentation must decode every instruction's immediates correctly:
// a mistake shifts the rest of the body, which then fails to compile or
// computes something else. Each body is run as written and instrumented.
func TestInstrumentKeepsSemantics(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want uint32
	}{
		{"block with a result, br_if", w.Cat([]byte{w.OpBlock, w.I32}, w.I32Const(7), w.I32Const(1), []byte{w.OpBrIf, 0, w.OpDrop},
			w.I32Const(9), []byte{w.OpEnd}), 7},
		{"if else", w.Cat(w.I32Const(0), []byte{0x04, w.I32}, w.I32Const(1), []byte{0x05}, w.I32Const(2), []byte{w.OpEnd}), 2},
		{"br_table", w.Cat([]byte{w.OpBlock, w.BlockEmpty, w.OpBlock, w.BlockEmpty}, w.I32Const(1), []byte{0x0e, 2, 0, 1, 0, w.OpEnd},
			w.I32Const(10), []byte{w.OpReturn, w.OpEnd}, w.I32Const(20)), 20},
		{"select", w.Cat(w.I32Const(3), w.I32Const(4), w.I32Const(0), []byte{0x1b}), 4},
		{"typed select", w.Cat(w.I32Const(3), w.I32Const(4), w.I32Const(1), []byte{0x1c, 1, w.I32}), 3},
		{"float constants", w.Cat(f64(2.5), []byte{0xaa}, f32(1), []byte{0xa8, w.OpI32Add}), 3},
		{"load, store, memory.size", w.Cat(w.I32Const(8), w.I32Const(42), []byte{w.OpI32Store, 2, 0}, w.I32Const(8), []byte{0x28, 2, 0},
			[]byte{0x3f, 0, w.OpI32Add}), 43},
		{"load with offset", w.Cat(w.I32Const(16), w.I32Const(5), []byte{w.OpI32Store, 2, 0}, w.I32Const(0), []byte{0x28, 2, 0x90, 0x00}), 5},
		{"memory.grow", w.Cat(w.I32Const(1), []byte{0x40, 0}), 1},
		{"memory.fill and memory.copy", w.Cat(
			w.I32Const(16), w.I32Const(5), w.I32Const(4), []byte{0xfc, 11, 0},
			w.I32Const(32), w.I32Const(16), w.I32Const(4), []byte{0xfc, 10, 0, 0},
			w.I32Const(34), []byte{w.OpI32Load8U, 0, 0}), 5},
		{"saturating truncation", w.Cat(f64(-1e20), []byte{0xfc, 2}, w.I32Const(math.MinInt32), []byte{w.OpI32Eq}), 1},
		{"ref.null, ref.is_null", []byte{0xd0, 0x70, 0xd1}, 1},
		{"loop", w.Cat(w.I32Const(5), []byte{w.OpLocalSet, 0, w.OpLoop, w.BlockEmpty, w.OpLocalGet, 0}, w.I32Const(1),
			[]byte{w.OpI32Sub, w.OpLocalTee, 0, w.OpBrIf, 0, w.OpEnd}, w.I32Const(11)), 11},
		{"loop with a result", w.Cat([]byte{w.OpLoop, w.I32}, w.I32Const(6), []byte{w.OpEnd}), 6},
		{"i64 arithmetic", w.Cat(w.I64Const(1<<40), w.I64Const(3), []byte{0x7c /* i64.add */, 0xa7 /* i32.wrap_i64 */}), 3},
		{"SIMD v128.const, extract_lane", w.Cat([]byte{0xfd, 12}, []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0},
			[]byte{0xfd, 27, 2}), 3},
		{"SIMD load", w.Cat(w.I32Const(0), w.I32Const(9), []byte{w.OpI32Store, 2, 0}, w.I32Const(0), []byte{0xfd, 0, 4, 0, 0xfd, 27, 0}), 9},
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	run := func(t *testing.T, b []byte) uint32 {
		t.Helper()
		c, err := rt.CompileModule(ctx, b)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		mod, err := rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		defer mod.Close(ctx)
		res, err := mod.ExportedFunction("f").Call(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(res[0])
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := opModule(tc.body)
			if got := run(t, orig); got != tc.want {
				t.Fatalf("the test body itself computes %d, want %d", got, tc.want)
			}
			out, err := instrument(orig)
			if err != nil {
				t.Fatalf("instrument: %v", err)
			}
			if got := run(t, out); got != tc.want {
				t.Fatalf("instrumented: %d, want %d", got, tc.want)
			}
		})
	}
}

// Truncated or unknown instructions are refused by instrument and reported
// by Load as an invalid module, never a panic.
func TestInstrumentRefusesMalformedBodies(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"f32.const cut short", []byte{0x43, 0x00}},
		{"f64.const cut short", []byte{0x44, 0, 0, 0}},
		{"br_table count too large", []byte{0x0e, 0x7f}},
		{"typed select count too large", []byte{0x1c, 0x7f}},
		{"unknown 0xfc op", []byte{0xfc, 0x7f}},
		{"unknown 0xfd op", []byte{0xfd, 0x80, 0x04}},
		{"v128.const cut short", []byte{0xfd, 12, 1, 2}},
		{"call_indirect cut short", []byte{0x11}},
		// The builder ends the body with 0x0b, read here as an immediate.
		{"load without offset", []byte{0x28}},
		{"multi-memory load without offset", []byte{0x28, 0x40}},
	}
	rt := newRuntime(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := opModule(tc.body)
			if _, err := instrument(b); err == nil {
				t.Fatal("instrument accepted it")
			}
			if _, err := rt.Load(context.Background(), "bad", b); !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("Load: %v, want ErrInvalidModule", err)
			}
		})
	}
}
