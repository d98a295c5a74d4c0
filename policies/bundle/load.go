package bundle

import (
	"context"
	"fmt"

	"daisydog/policies"
	"daisydog/wasm"
)

// Load compiles a verified bundle's module into rt (with its data), runs
// its test vectors and returns the engine, versioned by the bundle's ID.
// Any failure (forbidden import, broken module, crash at init, data
// refused, failing vectors) closes what was loaded and is returned.
func Load(ctx context.Context, rt *wasm.Runtime, b *Bundle) (*policies.Engine, error) {
	var data []byte
	if b.HasData() {
		data = b.Data
	}
	e, err := policies.NewEngineWithData(ctx, rt, b.Manifest.Name, b.ID(), b.Module, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModule, b.ID(), err)
	}
	vf, err := policies.ParseVectors(b.Vectors)
	if err == nil {
		err = e.CheckVectors(ctx, vf)
	}
	if err != nil {
		_ = e.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%w: %s: %w", ErrVectors, b.ID(), err)
	}
	return e, nil
}
