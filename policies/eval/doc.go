// Package eval scores a safety policy against labelled cases in the JSONL
// format of shared/eval/README.md: every case runs through an Evaluator
// (in production a policies.Engine, i.e. the real WASM host), and the
// report gives, per source and per (source, category), recall on unsafe
// cases, the false-positive rate on safe cases, PII span recall, latency
// percentiles, and the issue-4 targets met or not.
//
// A case is "flagged" when the verdict's action is anything but allow (an
// evaluation error counts as flagged: the pipeline fails closed). Cases
// labelled unknown or policy are evaluated (they count for latency) but not
// scored. Labelled span offsets are code points; verdict spans are UTF-8
// bytes; Score converts.
//
// Invariant: nothing in a Report, the table or the verdict lines contains
// case text — the data holds slurs and abuse, and must never be echoed.
// (Report.DaisyLines lists Daisy's own lines that a policy refuses: those
// texts are the built-in catalogue's, not cases'.)
package eval
