// Package bundle is the signed, compressed form in which a safety policy
// travels from its author to every node: a manifest (name, version, ABI,
// SHA-256 and size of each part), the WebAssembly module, the policy's data
// (lists, patterns, thresholds: a JSON object of named text files handed to
// the module through the policy_data export, see ../ABI.md), its test
// vectors (../vectors.go format) and an Ed25519 signature over the
// manifest, all in a tar stream compressed with zstd.
//
// Build and Sign make one; Open decompresses and parses one within the size
// limits (a clear error names the limit); Verify checks the parts against
// the manifest and the signature against a set of trusted keys; Load
// compiles a verified bundle into a policies.Engine and runs its vectors.
// A bundle is refused unless every step succeeds.
package bundle
