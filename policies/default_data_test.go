package policies

import (
	"context"
	"errors"
	"testing"

	"daisydog/wasm"
)

// The default module is data-driven: the same module bytes with different
// bundle data give different verdicts, and data it cannot use refuses the
// instance (so the bundle is refused at upload).
func TestDefaultModuleTakesBundleData(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, data string
		text       string
		action     string
	}{
		{"no data", ``, "you zorblax", "allow"},
		{"an extra phrase", `{"phrases/profanity.strong.txt":"zorblax\n"}`, "you zorblax", "block"},
		{"no data", ``, "what the hell", "block"},
		{"a rule switched off", `{"disabled.txt":"profanity.mild\n"}`, "what the hell", "allow"},
	} {
		e, err := NewEngineWithData(ctx, testRT, "default", "default@data-"+c.name, DefaultModule(), []byte(c.data))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v, err := e.Evaluate(ctx, in(c.text))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v.Action != c.action {
			t.Errorf("%s: %q → %s %v, want %s", c.name, c.text, v.Action, v.Rules, c.action)
		}
		if err := e.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := NewEngineWithData(ctx, testRT, "default", "default@bad-data", DefaultModule(), []byte(`{"phrases/no.such.rule.txt":"x"}`))
	if !errors.Is(err, wasm.ErrInvalidModule) {
		t.Fatalf("bad data: err = %v, want ErrInvalidModule", err)
	}
}
