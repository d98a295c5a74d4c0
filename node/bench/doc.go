// Package bench is the load generator behind `daisydog bench`: a program that
// drives a running DaisyDog cluster over its public HTTPS API and prints
// numbers. It is not a test and makes no pass/fail judgement.
//
// What it owns: creating a throw-away family (one parent with a random
// e-mail and password, N children, one linked device token per child),
// running C closed-loop clients or N open-loop children (each sending every
// 3–10 s, latency counted from when a request was due) with a mix of
// operations (chat, feeding, tricks, games, Daisy's state) against one or
// more targets round-robin, and summarising throughput, errors by status,
// exact latency percentiles per operation, the server-side split (the
// difference of the nodes' GET /v1/metrics over the window), the machine's
// limits (fsync latency, loopback round trip) and, for soak runs, the growth
// of the nodes' goroutines, open files, RSS and database size.
//
// What it must never do: talk to storage, Raft or policies directly (only the
// HTTP API, like a real client); print or log the parent password or tokens;
// retry during measurement (a 503 there is a result, not noise).
//
// Invariants:
//   - Run is bounded: it honours ctx, every request has a timeout, setup
//     retries are capped, and the measured phase ends at Warmup+Duration
//     (in-flight requests are cancelled then and not counted).
//   - Only requests that start (open loop: are due) after the warm-up and
//     finish inside the window are counted; Turns counts 2xx chat turns with a well-formed body,
//     Errors counts everything else, keyed by HTTP status ("503") or by
//     "timeout", "transport", "bad_response" or "fail_closed" (a turn the
//     safety policy could not check: the child got the fail-closed reply);
//     in the open loop, a request due over a second before the window's end
//     and not answered by then counts as "unfinished" (overload is a
//     result, not a silent gap).
//   - With MaxTurns > 0, exactly MaxTurns measured chat requests are started
//     (unless the window or ctx ends first), so Turns+Errors == MaxTurns.
//   - Percentiles are exact (nearest rank over the full sorted slice of
//     successful-turn latencies), never approximated; memory is 8 bytes per
//     measured turn.
//   - One shared http.Client with keep-alive (HTTP/1.1, so C clients use C
//     connections like C devices would), idle pool ≥ C per host.
package bench
