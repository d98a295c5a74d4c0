package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/policies"
	"daisydog/policies/bundle"
	"daisydog/policies/default/rules"
	"daisydog/wasm/wasmtest"
)

// TestPolicyTrainWritesALoadableModel runs "daisydog policy train" on a
// small made-up file twice: it writes a model the policy can load, and the
// same input gives the same bytes.
func TestPolicyTrainWritesALoadableModel(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "cases.jsonl")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range 40 {
		src := fmt.Sprintf("src%d", i%2)
		_ = enc.Encode(map[string]string{"id": fmt.Sprintf("s%d", i), "source": src, "label": "safe", "category": "none",
			"direction": "input", "text": fmt.Sprintf("we played football in the park %d", i)})
		_ = enc.Encode(map[string]string{"id": fmt.Sprintf("u%d", i), "source": src, "label": "unsafe", "category": "hate",
			"direction": "input", "text": fmt.Sprintf("every zorblin is vermin %d", i)})
	}
	if err := os.WriteFile(data, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var models [][]byte
	for k := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("model%d.bin", k))
		if err := cmdPolicyTrain([]string{"--cases", data, "--out", out, "--bits", "10", "--epochs", "2", "--folds", "2"}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := rules.UnmarshalModel(b)
		if err != nil {
			t.Fatalf("written model does not load: %v", err)
		}
		if _, err := rules.CompileWithModel(rules.DefaultRules, m); err != nil {
			t.Fatal(err)
		}
		models = append(models, b)
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Fatal("training is not deterministic")
	}
	if err := cmdPolicyTrain([]string{"--cases", data}); err == nil {
		t.Fatal("missing --out accepted")
	}
}

// TestPolicyScoreBundle scores a signed bundle: the report names the
// bundle's version, --pub checks the signature (a different key is
// refused), and a bundle whose own vectors fail is refused before scoring.
func TestPolicyScoreBundle(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range 4 {
		label, cat := "safe", "none"
		if i%2 == 1 {
			label, cat = "unsafe", "hate"
		}
		_ = enc.Encode(map[string]string{"id": fmt.Sprintf("c%d", i), "source": "made-up", "label": label, "category": cat,
			"direction": "input", "text": fmt.Sprintf("made-up case number %d", i)})
	}
	cases := write("cases.jsonl", buf.Bytes())

	keyPair := func(name string) (ed25519.PrivateKey, string) {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, err := bundle.MarshalPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return priv, write(name, pemBytes)
	}
	signer, signerPub := keyPair("signer.pub")
	_, otherPub := keyPair("other.pub")
	module := wasmtest.ConstModule([]byte(`{"action":"block","categories":["hate"],"rules":["all"]}`))
	build := func(name, vectorsAction string) string {
		vectors, err := json.Marshal(policies.VectorFile{ABI: 1, Policy: "blocker", Vectors: []policies.Vector{{
			Name:   "anything",
			Input:  policies.Input{Text: "hello there", Direction: "in", AgeTier: "5-8"},
			Expect: policies.Expectation{Action: vectorsAction, Categories: []string{"hate"}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := bundle.Build(bundle.Spec{Name: "blocker", Version: "2.0.0", Module: module, Vectors: vectors, Now: time.Now()}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, raw)
	}
	good := build("good.ddpb", "block")
	bad := build("bad.ddpb", "allow")

	for _, args := range [][]string{
		{"score", "--data", cases, "--bundle", good, "--json", "--daisy-lines=false"},
		{"score", "--data", cases, "--bundle", good, "--pub", signerPub, "--json", "--daisy-lines=false"},
	} {
		out, errOut, err := capture(t, func() error { return cmdPolicy(args) })
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var rep struct {
			Policy  string         `json:"policy"`
			Cases   int            `json:"cases"`
			Actions map[string]int `json:"actions"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
		if rep.Policy != "blocker@2.0.0" || rep.Cases != 4 || rep.Actions["block"] != 4 {
			t.Fatalf("%v: report = %+v", args, rep)
		}
		want := "signature not checked"
		if slices.Contains(args, "--pub") {
			want = "signature verified with key"
		}
		if !strings.Contains(errOut, want) {
			t.Fatalf("%v: stderr %q, want %q", args, errOut, want)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"score", "--data", cases, "--bundle", good, "--pub", otherPub}, "not in the cluster's trusted keys"},
		{[]string{"score", "--data", cases, "--bundle", bad}, "vectors"},
		{[]string{"score", "--data", cases, "--bundle", cases}, "policy score"},
		{[]string{"score", "--data", cases, "--bundle", filepath.Join(dir, "none.ddpb")}, "no such file"},
		{[]string{"score", "--data", cases, "--bundle", good, "--pub", cases}, "policy score"},
		{[]string{"score", "--data", cases, "--bundle", good, "--pub", filepath.Join(dir, "none.pub")}, "no such file"},
		{[]string{"score", "--data", cases, "--bundle", good, "--module", filepath.Join(dir, "x.wasm")}, "not both"},
		{[]string{"score", "--data", cases, "--pub", signerPub}, "--pub needs --bundle"},
	} {
		_, _, err := capture(t, func() error { return cmdPolicy(tc.args) })
		if err == nil {
			t.Fatalf("%v accepted", tc.args)
		}
		wantErrContains(t, err, tc.want)
	}
}
