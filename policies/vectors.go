package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// VectorFile is the test-vector document shipped with a policy (for the
// default policy: default/vectors.json). Vectors are part of a policy's
// contract: a bundle whose module fails its vectors is refused.
type VectorFile struct {
	ABI         int      `json:"abi"`
	Policy      string   `json:"policy"`
	Description string   `json:"description"`
	Vectors     []Vector `json:"vectors"`
}

// Vector is one input and the verdict expected for it.
type Vector struct {
	Name   string      `json:"name"`
	Input  Input       `json:"input"`
	Expect Expectation `json:"expect"`
}

// Expectation is what a vector checks. Action and Categories (as a set)
// are always compared; Escalate, Severity and Spans only when present.
type Expectation struct {
	Action     string          `json:"action"`
	Categories []string        `json:"categories"`
	Escalate   *bool           `json:"escalate,omitempty"`
	Severity   *int            `json:"severity,omitempty"`
	Spans      *[]ExpectedSpan `json:"spans,omitempty"`
}

// ExpectedSpan is a span without its category (the kind says enough).
type ExpectedSpan struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Kind  string `json:"kind"`
}

// ParseVectors strictly decodes a vector file.
func ParseVectors(b []byte) (VectorFile, error) {
	var vf VectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		return VectorFile{}, fmt.Errorf("policies: vectors: %w", err)
	}
	if vf.ABI != ABIVersion {
		return VectorFile{}, fmt.Errorf("policies: vectors: abi %d, want %d", vf.ABI, ABIVersion)
	}
	if len(vf.Vectors) == 0 {
		return VectorFile{}, errors.New("policies: vectors: none")
	}
	return vf, nil
}

// Check compares a verdict with the expectation; nil when it matches.
func (x Expectation) Check(v Verdict) error {
	var diffs []string
	if v.Action != x.Action {
		diffs = append(diffs, fmt.Sprintf("action %q, want %q", v.Action, x.Action))
	}
	got, want := slices.Sorted(slices.Values(v.Categories)), slices.Sorted(slices.Values(x.Categories))
	if !slices.Equal(got, want) {
		diffs = append(diffs, fmt.Sprintf("categories %v, want %v", v.Categories, x.Categories))
	}
	if x.Escalate != nil && v.Escalate != *x.Escalate {
		diffs = append(diffs, fmt.Sprintf("escalate %v, want %v", v.Escalate, *x.Escalate))
	}
	if x.Severity != nil && v.Severity != *x.Severity {
		diffs = append(diffs, fmt.Sprintf("severity %d, want %d", v.Severity, *x.Severity))
	}
	if x.Spans != nil {
		ok := len(v.Spans) == len(*x.Spans)
		for i := 0; ok && i < len(v.Spans); i++ {
			w, g := (*x.Spans)[i], v.Spans[i]
			ok = g.Start == w.Start && g.End == w.End && g.Kind == w.Kind
		}
		if !ok {
			diffs = append(diffs, fmt.Sprintf("spans %+v, want %+v", v.Spans, *x.Spans))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return errors.New(strings.Join(diffs, "; "))
}

// CheckVectors evaluates every vector with e and returns one error per
// failing vector (nil when all pass).
func (e *Engine) CheckVectors(ctx context.Context, vf VectorFile) error {
	var errs []error
	for _, vec := range vf.Vectors {
		v, err := e.Evaluate(ctx, vec.Input)
		if err == nil {
			err = vec.Expect.Check(v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("vector %q: %w", vec.Name, err))
		}
	}
	return errors.Join(errs...)
}
