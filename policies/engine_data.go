package policies

import (
	"context"
	"fmt"

	"daisydog/policies/sdk"
	"daisydog/wasm"
)

// NewEngineWithData is NewEngine for a bundle whose module receives data
// (ABI.md, "Data"): every instance gets data through policy_data before
// its first call. Empty data means NewEngine.
func NewEngineWithData(ctx context.Context, rt *wasm.Runtime, name, version string, module, data []byte) (*Engine, error) {
	if len(data) == 0 {
		return NewEngine(ctx, rt, name, version, module)
	}
	mod, err := rt.LoadWithData(ctx, name, module, data)
	if err != nil {
		return nil, fmt.Errorf("policies: load %s: %w", version, err)
	}
	e := &Engine{name: name, version: version, mod: mod}
	e.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	if _, err := e.Evaluate(ctx, Input{Text: "hello", Direction: sdk.DirectionIn, AgeTier: sdk.AgeTier9to12}); err != nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("policies: self-test of %s: %w", version, err)
	}
	return e, nil
}
