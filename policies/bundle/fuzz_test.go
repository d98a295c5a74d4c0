package bundle_test

import (
	"crypto/ed25519"
	"testing"

	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
	"daisydog/wasm/wasmtest"
)

// FuzzOpen: any bytes either open (and then verify or not) or give an
// error; never a panic, never an unbounded allocation.
func FuzzOpen(f *testing.F) {
	pub, priv := bundletest.Key(f)
	f.Add(bundletest.Const(f, priv, "fz", "1", "allow"))
	f.Add([]byte("not a bundle"))
	f.Add(wasmtest.ConstModule([]byte(`{"action":"allow"}`)))
	trusted := map[string]ed25519.PublicKey{bundle.KeyID(pub): pub}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := bundle.Open(raw)
		if err != nil {
			return
		}
		_ = b.Verify(trusted)
		_ = b.HasData()
	})
}
