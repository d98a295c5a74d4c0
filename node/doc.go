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
package node
