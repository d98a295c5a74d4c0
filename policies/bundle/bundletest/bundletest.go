// Package bundletest builds real signed policy bundles for tests: a small
// data-driven policy (../testdata/wordpolicy) compiled with the Go
// toolchain, vectors that match it, and Ed25519 keys.
package bundletest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/wasm/wasmtest"
)

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

// WordModule compiles testdata/wordpolicy (once per test binary): a policy
// that blocks the words of its data file "blocked.txt".
func WordModule(t testing.TB) []byte {
	t.Helper()
	buildOnce.Do(func() {
		// Found from the module's go.mod, not from this file's compiled
		// path (which -trimpath turns into an import path).
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(gomod)), "go.mod") {
			buildErr = fmt.Errorf("finding the module's root (go env GOMOD: %q): %v", gomod, err)
			return
		}
		src := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "policies", "bundle", "testdata", "wordpolicy")
		dir, err := os.MkdirTemp("", "wordpolicy")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "p.wasm")
		// #nosec G204 -- a test helper building a test module with the go command; no input from outside
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(msg)}
			return
		}
		module, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		t.Fatalf("building the word policy: %v", buildErr)
	}
	return module
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Key returns a fresh signing key pair.
func Key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// WordVectors returns vectors for the word policy blocking words: each
// listed word is blocked, an innocent sentence is allowed.
func WordVectors(t testing.TB, words ...string) []byte {
	t.Helper()
	vf := policies.VectorFile{ABI: 1, Policy: "words", Description: "test"}
	in := func(text string) policies.Input {
		return policies.Input{Text: text, Direction: "in", AgeTier: "9-12"}
	}
	vf.Vectors = append(vf.Vectors, policies.Vector{Name: "innocent", Input: in("I like dogs"),
		Expect: policies.Expectation{Action: "allow", Categories: []string{}}})
	for _, w := range words {
		vf.Vectors = append(vf.Vectors, policies.Vector{Name: "blocks " + w, Input: in("you " + w + "!"),
			Expect: policies.Expectation{Action: "block", Categories: []string{"profanity"}}})
	}
	b, err := json.Marshal(vf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Words builds and signs a word-policy bundle named name@version that
// blocks words, with matching vectors.
func Words(t testing.TB, key ed25519.PrivateKey, name, version string, words ...string) []byte {
	t.Helper()
	b, err := bundle.Build(bundle.Spec{
		Name: name, Version: version, Module: WordModule(t),
		Data:    map[string]string{"blocked.txt": strings.Join(words, "\n")},
		Vectors: WordVectors(t, words...), Now: time.Now(),
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Const builds and signs a bundle whose module answers every input with
// the same verdict (action, categories): a tiny module that compiles in
// milliseconds, for lifecycle tests. Its vectors expect that verdict.
func Const(t testing.TB, key ed25519.PrivateKey, name, version, action string, categories ...string) []byte {
	t.Helper()
	if categories == nil {
		categories = []string{}
	}
	verdict, err := json.Marshal(map[string]any{"action": action, "categories": categories, "rules": []string{"const." + version}})
	if err != nil {
		t.Fatal(err)
	}
	vf := policies.VectorFile{ABI: 1, Policy: name, Vectors: []policies.Vector{{
		Name:   "anything",
		Input:  policies.Input{Text: "hello there", Direction: "in", AgeTier: "5-8"},
		Expect: policies.Expectation{Action: action, Categories: categories},
	}}}
	vec, err := json.Marshal(vf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(bundle.Spec{Name: name, Version: version, Module: wasmtest.ConstModule(verdict), Vectors: vec, Now: time.Now()}, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
