// Package policies is DaisyDog's safety-policy evaluation API: it turns a
// child's message or Daisy's reply into a validated Verdict by running a
// Policy ABI v1 WebAssembly module (ABI.md) on the wasm host.
//
// It owns:
//
//   - the host-side ABI types (Input, ContextTurn, Verdict, Span) and their
//     wire encoding;
//   - Engine: one loaded policy (name, version) and Evaluate, which
//     validates the input, calls the module and strictly decodes and
//     validates the verdict;
//   - the embedded default policy (default.wasm, built from ./default) with
//     its version string and test vectors, and the vector format and
//     checker (vectors.go) used to verify any policy;
//   - Redact, which applies a verdict's spans to text.
//
// Invariants:
//
//   - Evaluate returns either a verdict that satisfies every ABI v1 rule
//     (known action and categories, severity 0..4, spans inside the text,
//     on rune boundaries, sorted, disjoint; redact has spans) or an error.
//     There is no partial verdict: on error the caller fails closed.
//   - Span offsets are UTF-8 byte offsets into exactly the Input.Text the
//     caller passed (invalid UTF-8 is refused, since JSON would alter it).
//   - Engine never interprets a verdict beyond validation: what to do with
//     "support" or "escalate" is the caller's business.
//
// It must never know about HTTP, Raft or storage, and never log text.
package policies
