// Package raftcluster owns replication: the Raft node (hashicorp/raft over a
// durable bbolt log), the batching FSM that hands committed entries to a
// StateMachine, the mutual-TLS 1.3 cluster port (Raft and node-to-node RPC
// multiplexed on one listener), forwarding of writes to the leader, cluster
// membership (join, remove, status), the cluster PKI, and encrypted snapshots.
//
// Invariants:
//   - Entries are opaque bytes to this package; it never interprets commands.
//   - The StateMachine applies each batch atomically and records the index it
//     reached; replay of an already-applied entry is a no-op.
//   - If the StateMachine fails to apply (I/O) the node stops instead of
//     diverging from the log (the node's StateMachine waits out a full disk).
//   - A node whose log store is out of space, or whose owner turned its
//     candidacy off (SetCandidacy), never wins an election: its own vote
//     requests are withheld (gate.go); it still votes and replicates.
//   - Every connection on the cluster port is TLS 1.3 with a client certificate
//     issued by a CA the node trusts at that moment (two during a CA rotation);
//     the certificate's common name is the node ID. A connection whose peer
//     the trust no longer accepts is ended when the trust changes, where no
//     request is lost
//     (conntrack.go).
//   - A write is acknowledged only after the leader committed it on a quorum.
//   - A follower waiting to apply a write it forwarded learns of its commit
//     without hashicorp/raft's idle timer: when writes pause, the leader
//     appends an empty entry whose replication carries the commit index
//     (notice.go).
//   - Snapshots are zstd-compressed and sealed (XChaCha20-Poly1305, chunked)
//     under the cluster snapshot key; a snapshot that fails authentication is refused.
//
// raftcluster knows nothing about HTTP handlers, policies or the SQL schema.
package raftcluster
