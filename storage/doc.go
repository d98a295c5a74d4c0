// Package storage owns DaisyDog's SQLite database: the schema and its versioned
// migrations, the typed commands that change state (applied deterministically,
// in batches, by the Raft FSM), actor-scoped read queries, and field-level
// encryption of sensitive data.
//
// Invariants:
//   - There is exactly one writer connection; reads use a separate read-only pool.
//   - State changes only through Apply/ApplyBatch of typed commands. A command
//     carries every non-deterministic value (IDs, timestamps, sealed bytes,
//     verdicts) so that applying the same log gives the same database everywhere.
//   - Each batch is applied in one transaction that also records the Raft index
//     it reached, so replaying an already-applied entry is a no-op.
//   - Sensitive fields (chat text, nicknames, parent e-mail) are stored only as
//     XChaCha20-Poly1305 ciphertext under a per-family data key; the data key is
//     stored only wrapped by the cluster key. Equality lookups use keyed-hash
//     blind indexes, never plaintext.
//   - Every read query takes an Actor and is scoped in SQL to what that actor may see.
//
// storage knows nothing about Raft, HTTP or policies.
package storage
