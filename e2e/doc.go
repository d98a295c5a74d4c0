// Package e2e owns the end-to-end cluster tests: they run the real, static
// daisydog binary as separate processes (three-node clusters over loopback
// TCP with mutual TLS, single-node runs), drive them through the public
// HTTPS API and the operator CLI, and check what must hold for the product:
// no acknowledged write is lost across a leader crash or a restart that
// needs a snapshot, no marker written through the API appears in plaintext
// anywhere under a data directory, a client reads its own writes from the
// node it wrote through, writes without a quorum answer 503 with
// Retry-After while a child's own history stays readable, and the operator
// commands (init, join, serve, run, cluster status|remove|ca) behave as
// documented.
//
// Fault scenarios (faults_test.go, docker_faults_test.go) run under a load
// of chat turns (checker_test.go: a dozen children, ~200 turns/s in all,
// E2E_FAULT_RATE overrides) sent through the real API of any node, and a
// checker that, once the scenario healed, reads every child's history from
// every node: every acknowledged turn is there exactly once with its id and
// seq, in acknowledgement order; no turn refused with a definite error is
// there; an ambiguous one (timeout, lost connection, "could not be
// confirmed") is there at most once; all nodes hold the same turns. Each
// scenario logs a "SCENARIO" line with attempts, failures by kind and the
// longest window without an acknowledged write (its unavailability;
// E2E_FAILOVER_BUDGET, default 3s, bounds it where an election is
// involved). Scenarios: leader kill -9 (also on containers: `docker kill`
// of the leader's), follower kill -9 and restart (also on containers), a
// partition isolating the leader (loopback: a TCP proxy per node in the
// test process that attributes each connection to the node process that
// opened it and cuts chosen links, proxy_test.go; containers: `docker
// network disconnect` of the raft network), power cut of all three (also
// on containers: `docker kill` of each), rolling
// restart (also on containers: `docker stop`, which must end in exit code 0,
// and `docker start`, leader last), disk full (also on containers, /data
// bind-mounted from a tmpfs of the host) on a follower and on the leader (a tmpfs per node;
// needs root, skipped otherwise), a node returning after a long absence
// (catches up by snapshot; also on containers), and a rolling upgrade from
// the previous release (prevRelease, built from the repository's history)
// to the binary under test, with one node rolled back to the old binary
// for a while (also on containers: each replaced by one of the other image
// on the same bind-mounted /data; upgrade_test.go).
//
// Beside the faults: going back to the previous release after an upgrade
// through a backup (TestBinaryRollback), the project's own penetration
// probes against a running node (attacker_test.go), the Debian package and
// the systemd unit (systemd_test.go), and the two web pages in a real
// Chromium (browser_test.go, browser_staff_test.go: flows, contrast,
// keyboard, a phone-sized screen), the parent console also in a real
// Firefox over WebDriver BiDi (browser_firefox_test.go, bidi_test.go), and
// the compose file run by docker-compose (compose_test.go).
//
// Where the Docker engine is available (as in CI), the process variants of
// the scenarios that also run on containers are skipped, with a message
// naming their container twin: the same scenario function, load and checker
// run on separate hosts there, and the process variants are for machines
// without Docker. The loopback partition (its own mechanism) always runs;
// E2E_PROCESS_FAULTS=1 (`make e2e-processes`) runs every process variant.
// Cluster nodes of one run share one compiled-policy cache
// (--policy-cache), so the default policy compiles once per run.
//
// The package has no non-test code besides this file. The binary comes from
// $DAISYDOG_BIN, or TestMain builds it with `make build` at the repository
// root. Every process a test starts is killed in t.Cleanup; its stdout and
// stderr are written to files under t.TempDir() and printed when the test
// fails. Tests synchronise only by polling real conditions (readiness,
// cluster status, applied indexes, files on disk) with deadlines — never by
// sleeping for a guessed duration.
//
// It tests the binary as an operator and a client would use it: nodes are
// reached only through their API, cluster port and the CLI. Product
// packages are imported only to make what an administrator or a policy
// author brings along — signed bundles, modules and their vector files
// (policies, policies/bundle, bundletest, wasmtest) — and TOTP codes
// (node/auth), never to look inside a node.
package e2e
