package bundle_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
	"daisydog/wasm"
	"daisydog/wasm/wasmtest"
)

// compileCache is an on-disk compilation cache shared by the package's
// runtimes, as a node has one: the default module (4.7 MB) is compiled
// once for all tests instead of once per load (seconds each under -race).
var compileCache string

func TestMain(m *testing.M) {
	if compileCache = wasmtest.SharedCacheDir(); compileCache != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "bundle-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	compileCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newRuntime(t *testing.T) *wasm.Runtime {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{PoolSize: 2, CacheDir: compileCache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func TestRoundTripLoadsDataAndRunsVectors(t *testing.T) {
	ctx := context.Background()
	pub, priv := bundletest.Key(t)
	raw := bundletest.Words(t, priv, "words", "1.0.0", "zonk", "blarg")
	b, err := bundle.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID() != "words@1.0.0" || !b.HasData() {
		t.Fatalf("id %q, has data %v", b.ID(), b.HasData())
	}
	if err := b.Verify(map[string]ed25519.PublicKey{bundle.KeyID(pub): pub}); err != nil {
		t.Fatal(err)
	}
	e, err := bundle.Load(ctx, newRuntime(t), b)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	if e.Version() != "words@1.0.0" {
		t.Fatalf("version %q", e.Version())
	}
	// The word list came from the bundle's data, not from the module.
	for text, want := range map[string]string{"ZONK you": "block", "blarg": "block", "zonkers": "allow", "hello": "allow"} {
		v, err := e.Evaluate(ctx, policies.Input{Text: text, Direction: "in", AgeTier: "5-8"})
		if err != nil || v.Action != want {
			t.Errorf("%q: %+v %v, want %s", text, v, err, want)
		}
	}
}

// TestRefused: each kind of bad bundle is refused with its own error.
func TestRefused(t *testing.T) {
	ctx := context.Background()
	pub, priv := bundletest.Key(t)
	otherPub, otherPriv := bundletest.Key(t)
	trusted := map[string]ed25519.PublicKey{bundle.KeyID(pub): pub}
	words := bundletest.WordModule(t)
	build := func(t *testing.T, spec bundle.Spec, key ed25519.PrivateKey) []byte {
		t.Helper()
		if spec.Name == "" {
			spec.Name, spec.Version = "words", "2"
		}
		if spec.Module == nil {
			spec.Module = words
		}
		if spec.Vectors == nil {
			spec.Vectors = bundletest.WordVectors(t, "zonk")
		}
		if spec.Data == nil {
			spec.Data = map[string]string{"blocked.txt": "zonk"}
		}
		spec.Now = time.Now()
		raw, err := bundle.Build(spec, key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tamper := func(raw []byte, mutate func(*bundle.Bundle)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := bundle.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			mutate(b)
			return bundle.Repack(t, b)
		}
	}
	good := build(t, bundle.Spec{}, priv)
	_ = otherPub
	cases := []struct {
		name string
		raw  func(t *testing.T) []byte
		want error
		msg  string
	}{
		{"untrusted key", func(t *testing.T) []byte { return build(t, bundle.Spec{}, otherPriv) }, bundle.ErrUntrusted, "not in the cluster's trusted keys"},
		{"module swapped after signing", tamper(good, func(b *bundle.Bundle) { b.Module = wasmtest.ConstModule([]byte(`{"action":"allow"}`)) }), bundle.ErrSignature, "module.wasm does not match"},
		{"data swapped after signing", tamper(good, func(b *bundle.Bundle) { b.Data = []byte(`{"blocked.txt":""}`) }), bundle.ErrSignature, "data.json does not match"},
		{"manifest edited after signing", tamper(good, func(b *bundle.Bundle) {
			b.ManifestRaw = bytes.Replace(b.ManifestRaw, []byte(`"version":"2"`), []byte(`"version":"3"`), 1)
		}), bundle.ErrSignature, "does not verify"},
		{"failing vectors", func(t *testing.T) []byte {
			return build(t, bundle.Spec{Vectors: bundletest.WordVectors(t, "zonk", "notlisted")}, priv)
		}, bundle.ErrVectors, `vector "blocks notlisted"`},
		{"forbidden import", func(t *testing.T) []byte {
			m := wasmtest.ABIModule(wasmtest.Options{Imports: []wasmtest.Import{{Module: "env", Name: "socket", Results: []byte{wasmtest.I32}}}})
			return build(t, bundle.Spec{Module: m, Data: map[string]string{}}, priv)
		}, wasm.ErrForbiddenImport, "env"},
		{"crash at init", func(t *testing.T) []byte {
			return build(t, bundle.Spec{Module: wasmtest.ABIModule(wasmtest.Options{InitTraps: true}), Data: map[string]string{}}, priv)
		}, bundle.ErrModule, "_initialize"},
		{"loops on a vector (work budget)", func(t *testing.T) []byte {
			// Answers the load-time self-test, then loops on a longer input:
			// refused at upload by its work budget, on any machine.
			const allow = `{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`
			m := wasmtest.FlakyPolicy(allow, []byte{wasmtest.OpLoop, wasmtest.BlockEmpty, wasmtest.OpBr, 0, wasmtest.OpEnd})
			return build(t, bundle.Spec{Module: m, Data: map[string]string{}, Vectors: bundletest.WordVectors(t, strings.Repeat("zonk", 60))}, priv)
		}, bundle.ErrVectors, "work budget spent"},
		{"data refused at init", func(t *testing.T) []byte {
			return build(t, bundle.Spec{Data: map[string]string{"crash.txt": "x", "blocked.txt": "zonk"}}, priv)
		}, bundle.ErrModule, "refused the data"},
		{"data for a module without policy_data", func(t *testing.T) []byte {
			return build(t, bundle.Spec{Module: wasmtest.ConstModule([]byte(`{"action":"allow"}`))}, priv)
		}, bundle.ErrModule, "does not export \"policy_data\""},
		{"too large", func(t *testing.T) []byte { return make([]byte, bundle.MaxCompressed+1) }, bundle.ErrTooLarge, "limit"},
		{"not a bundle", func(t *testing.T) []byte { return []byte("hello") }, bundle.ErrMalformed, ""},
	}
	rt := newRuntime(t) // one runtime: the word policy compiles once
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := check(ctx, rt, c.raw(t), trusted)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.msg)
			}
		})
	}
}

func check(ctx context.Context, rt *wasm.Runtime, raw []byte, trusted map[string]ed25519.PublicKey) error {
	b, err := bundle.Open(raw)
	if err != nil {
		return err
	}
	if err := b.Verify(trusted); err != nil {
		return err
	}
	e, err := bundle.Load(ctx, rt, b)
	if err != nil {
		return err
	}
	return e.Close(ctx)
}

func TestBuildRefusesOversizedModuleAndBadNames(t *testing.T) {
	_, priv := bundletest.Key(t)
	vec := bundletest.WordVectors(t)
	for _, c := range []struct {
		spec bundle.Spec
		want error
	}{
		{bundle.Spec{Name: "big", Version: "1", Module: make([]byte, bundle.MaxModule+1), Vectors: vec}, bundle.ErrTooLarge},
		{bundle.Spec{Name: "default", Version: "1", Module: []byte{0}, Vectors: vec}, bundle.ErrMalformed},
		{bundle.Spec{Name: "Bad Name", Version: "1", Module: []byte{0}, Vectors: vec}, bundle.ErrMalformed},
		{bundle.Spec{Name: "ok", Version: "1/2", Module: []byte{0}, Vectors: vec}, bundle.ErrMalformed},
		{bundle.Spec{Name: "ok", Version: "1", Module: []byte{0}, Vectors: []byte(`{}`)}, bundle.ErrMalformed},
	} {
		if _, err := bundle.Build(c.spec, priv); !errors.Is(err, c.want) {
			t.Errorf("%s@%s: err %v, want %v", c.spec.Name, c.spec.Version, err, c.want)
		}
	}
}

func TestKeysRoundTrip(t *testing.T) {
	pub, priv := bundletest.Key(t)
	pp, err := bundle.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	gotPriv, err := bundle.ParsePrivateKey(pp)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("private: %v", err)
	}
	gotPub, err := bundle.ParsePublicKey(pk)
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("public: %v", err)
	}
	if _, err := bundle.ParsePublicKey(pp); err == nil {
		t.Fatal("a private key parsed as a public key")
	}
	if !bundle.ValidID("words@1.0.0") || bundle.ValidID("words") || bundle.ValidID("@1") {
		t.Fatal("ValidID")
	}
}

// The default module is data-driven: two bundles with the same module
// bytes and different data give different verdicts, and each bundle's
// vectors run against its own data.
func TestDefaultModuleWithChangedData(t *testing.T) {
	ctx := context.Background()
	_, priv := bundletest.Key(t)
	rt := newRuntime(t)
	vectors := []byte(`{"abi":1,"vectors":[{"name":"extra word","input":{"text":"you zorblax","direction":"in","age_tier":"9-12"},"expect":{"action":"block","categories":["profanity"],"severity":2}}]}`)
	for _, c := range []struct {
		version string
		data    map[string]string
		vectors []byte
		want    string
	}{
		{"1.0.0", nil, policies.DefaultVectors(), "allow"},
		{"1.0.1", map[string]string{"phrases/profanity.strong.txt": "zorblax\n"}, vectors, "block"},
	} {
		raw, err := bundle.Build(bundle.Spec{Name: "default-data", Version: c.version, Module: policies.DefaultModule(), Data: c.data, Vectors: c.vectors, Now: time.Now()}, priv)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		e, err := bundle.Load(ctx, rt, b)
		if err != nil {
			t.Fatalf("%s: %v", c.version, err)
		}
		v, err := e.Evaluate(ctx, policies.Input{Text: "you zorblax", Direction: "in", AgeTier: "9-12"})
		if err != nil || v.Action != c.want {
			t.Errorf("%s: %+v %v, want %s", c.version, v, err, c.want)
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
