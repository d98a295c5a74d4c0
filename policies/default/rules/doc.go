// Package rules is the detection logic of the default child-safety policy,
// in plain Go so that it builds and is tested on the host; the wasm module
// (package policies/default) only wires it to the ABI.
//
// Pipeline: normalise (normalize.go: case, zero-width and combining marks,
// accents, fullwidth and mathematical letters, Cyrillic/Greek look-alikes,
// apostrophes, leetspeak inside words, spaced-out letters, elongation) →
// match phrase rules on whole words (lexicon.go: a small pattern language
// compiled to word-level programs, with filler-word skipping and joined
// "squash" forms) → loose stem matching of rude words in words that are not
// ordinary English, including spelling by sound in words no dictionary
// knows (words.go; data/innocent.txt is generated from a word list by
// TestGenerateInnocent) → exemptions and co-occurrence rules, and quoted
// reported speech in a child's message, counter-speech (a threat or a
// sexual-violence word quoted about a group and condemned) and denial
// ("no one deserves to be raped"; a negator before a group of several words
// counts as near) (resolve.go) → a trained linear model over hashed n-grams of the
// normalised text (model.go; weights in data/model.bin, trained by
// `daisydog policy train`) that adds hits and may clear soft word-list
// hits → character pictures (art.go) → multi-turn grooming risk over the
// child's recent turns in Input.Context (context.go) → scan the ORIGINAL
// text for personal data (pii.go: phones, e-mail addresses incl.
// spelled-out forms, links; pii_more.go: addresses, schools, passwords,
// handles, full names, post codes, card numbers, IBANs; redaction
// placeholders such as "<Person>" are not personal data) → combine
// (policy.go). The rule tables are data (table.go); a bundle's data can
// extend or switch off rules and set the model's thresholds without a
// recompile (data.go, CompileData). How the policy is scored, and its
// numbers: docs/safety.md.
//
// Invariants:
//
//   - Matching is on word boundaries, so innocent words that contain a bad
//     word ("assassin", "Scunthorpe", "cockatoo") stay innocent.
//   - Spans are UTF-8 byte offsets into the original text, on rune
//     boundaries, sorted and disjoint.
//   - Action precedence is support > block > redirect > redact > allow: a
//     child in crisis gets support even if they also swore.
//   - A reply (direction "out", or anything not "in") is held to a stricter
//     standard: any rule hit blocks, contact details and links block.
//   - Unknown age tiers or strictness levels are treated as the strictest.
//   - Policy is immutable after Compile and safe for concurrent use;
//     Evaluate does no I/O and is deterministic.
//
// Cost: the policy runs as a Go wasip1 module, where what is cheap
// natively is not: a Go-wasm function is a dispatch loop, every call and
// every loop step passes the host's interrupt check (wasm/instrument.go),
// maps hash in software, and the guest's GC has no background worker
// between calls. So the hot paths avoid calls and loop steps per
// character (scan runs of plain bytes in tight loops, test the cheap
// condition before calling out), look words up in strTab and hashSet
// rather than maps, and allocate little. Measure a change with
// BenchmarkEvaluateDevSet (by length band, and "wire" through sdk.Handle)
// and TestPhaseTimes (DAISYDOG_PHASES=1, per phase), natively and in the
// guest (GOOS=wasip1 GOARCH=wasm go test -c, run under wazero): both read
// the dev set at run time. Any such change must leave the verdicts of
// `daisydog policy eval --verdicts` byte-identical.
package rules
