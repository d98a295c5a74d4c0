// Package e2e owns the end-to-end cluster tests: they run the real, static
// daisydog binary as separate processes (three-node clusters over loopback
// TCP with mutual TLS, single-node runs), drive them through the public
// HTTPS API and the operator CLI, and check what must hold for the product:
// no acknowledged write is lost across a leader crash or a restart that
// needs a snapshot, no marker written through the API appears in plaintext
// anywhere under a data directory, a client reads its own writes from the
// node it wrote through, writes without a quorum answer 503 with
// Retry-After while a child's own history stays readable, and the operator
// commands (init, join, serve, run, cluster status|remove) behave as
// documented.
//
// The package has no non-test code besides this file. The binary comes from
// $DAISYDOG_BIN, or TestMain builds it with `make build` at the repository
// root. Every process a test starts is killed in t.Cleanup; its stdout and
// stderr are written to files under t.TempDir() and printed when the test
// fails. Tests synchronise only by polling real conditions (readiness,
// cluster status, applied indexes, files on disk) with deadlines — never by
// sleeping for a guessed duration.
//
// This package must never import product packages: it tests the binary as
// an operator and a client would use it.
package e2e
