package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// exportData is the optional ABI v1 (revision 2) export that receives a
// bundle's data once per instance: policy_data(ptr i32, len i32) -> i32,
// 0 meaning accepted. See policies/ABI.md.
const exportData = "policy_data"

// MaxDataBytes bounds the data handed to a module (it is copied into every
// instance's memory).
const MaxDataBytes = 16 << 20

// LoadWithData is Load for a module that receives data: after _initialize,
// every instance gets a copy of data through its policy_data export before
// its first call. A module that does not export policy_data, or that
// refuses the data (non-zero result, trap), is refused. Empty data means
// Load.
func (r *Runtime) LoadWithData(ctx context.Context, name string, wasmBytes, data []byte) (*Module, error) {
	if len(data) > MaxDataBytes {
		return nil, fmt.Errorf("wasm: load %q: %w: data of %d bytes exceeds %d", name, ErrInvalidModule, len(data), MaxDataBytes)
	}
	return r.load(ctx, name, wasmBytes, data)
}

// checkDataExport verifies the policy_data export when data is given.
func checkDataExport(c wazero.CompiledModule) error {
	def, ok := c.ExportedFunctions()[exportData]
	if !ok {
		return fmt.Errorf("%w: the policy has data but does not export %q", ErrInvalidModule, exportData)
	}
	want := []api.ValueType{i32, i32}
	if !sameTypes(def.ParamTypes(), want) || !sameTypes(def.ResultTypes(), []api.ValueType{i32}) {
		return fmt.Errorf("%w: export %q has signature %s, want %s", ErrInvalidModule, exportData,
			sig(def.ParamTypes(), def.ResultTypes()), sig(want, []api.ValueType{i32}))
	}
	return nil
}

// loadData hands data to a fresh instance: alloc(len), write, then
// policy_data(ptr, len). The buffer then belongs to the guest (the host
// never frees it).
func (in *instance) loadData(ctx context.Context, data []byte) error {
	fn := in.mod.ExportedFunction(exportData)
	if fn == nil {
		return fmt.Errorf("%w: missing export %q", ErrBadResult, exportData)
	}
	return in.guarded(ctx, func(ctx context.Context) error {
		st := in.stack[:]
		st[0] = uint64(len(data))
		if err := in.alloc.CallWithStack(ctx, st); err != nil {
			return classify(err, exportAlloc)
		}
		ptr := uint32(st[0])
		if !in.mem.Write(ptr, data) {
			return fmt.Errorf("%w: alloc(%d) returned %#x, outside memory of %d bytes", ErrBadResult, len(data), ptr, in.mem.Size())
		}
		st[0], st[1] = uint64(ptr), uint64(len(data))
		if err := fn.CallWithStack(ctx, st); err != nil {
			return classify(err, exportData)
		}
		switch rc := uint32(st[0]); rc {
		case 0:
		case 1:
			return fmt.Errorf("%w: %s: this policy takes no data (code 1)", ErrTrap, exportData)
		default:
			return fmt.Errorf("%w: %s refused the data (code %d)", ErrTrap, exportData, rc)
		}
		return nil
	})
}
