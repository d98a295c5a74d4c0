// Package freeport picks loopback TCP ports for tests that must name an
// address before the process that binds it starts (a node's HTTP and Raft
// addresses are part of its configuration).
//
// Invariant: a port it returns is outside the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), so no outgoing connection of any process
// can take it between the probe and the bind — the collision that asking
// the kernel for port 0 left open when test packages run in parallel. It
// was free when probed; another test that probes the same port in between
// can still collide, which the random choice over thousands of ports makes
// rare.
package freeport
