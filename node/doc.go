// Package node is the composition root of a DaisyDog server: it owns the data
// directory layout, cluster initialisation and joining, start-up and shutdown
// order, the state-machine adapter between Raft and storage, and the HTTPS
// server.
//
// Start order: data dir → keys → storage → policy engine → Raft → signing
// keys → HTTPS. Stop order is the reverse, with leadership transferred first.
//
// Invariants:
//   - Secrets (cluster key, CA key, node key) live only in the data directory
//     with 0600 permissions and are never logged.
//   - A restart needs no flags: everything is read from the data directory.
//   - The node certificate is renewed by the node itself before it expires,
//     and the key and certificate files always form a pair (certs.go).
//   - The TLS files and identity follow the replicated CA rotation record:
//     brought to its step after each step applied and at every start,
//     before the node talks to its peers (carotation.go).
//   - With a log archive, every batch the state machine applied is archived
//     with the stretch of the log it covers completely, after it committed;
//     archiving never fails a batch (archive.go).
package node
