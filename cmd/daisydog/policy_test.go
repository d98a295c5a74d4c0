package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"daisydog/policies/default/rules"
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
