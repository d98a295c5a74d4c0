#!/usr/bin/env bash
# Start a three-node cluster on 127.0.0.1 from bin/daisydog and run the
# standard benchmark suite against all three nodes: closed loop at C=1 (a
# lone child: latency without load), 16, 64 and 256, then the open loop
# with 1,000 and 10,000 children (3–10 s think time). Every run also measures the machine's limits (fsync on the data
# disk, loopback round trip) and reads the nodes' metrics for the
# server-side split. Results: bench/results-DATE.json (one JSON object per
# run, in an array) and bench/results-DATE.md (the table for the README).
#
# Usage: deploy/bench-local.sh            the standard suite
#        deploy/bench-local.sh c16 open1000 …   chosen runs (cN = closed loop, openN = open loop)
# Env:   DURATION (20s), CHILDREN (256, closed loop), MIX (bench default),
#        OUT (bench/results-$(date)), PPROF_BASE (e.g. 606 → pprof on 127.0.0.1:6061..6063),
#        KEEP=1 keeps the nodes' data and logs (printed at the end),
#        EXTRA (more `daisydog bench` flags, e.g. "--watch 30s" for a soak run),
#        NODE_FLAGS (more flags for every node, e.g. "--memory-limit 320MiB")
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/daisydog}
DURATION=${DURATION:-20s}
CHILDREN=${CHILDREN:-256}
MIX=${MIX:-}
read -r -a extra <<<"${EXTRA:-}"
read -r -a nodeflags <<<"${NODE_FLAGS:-}"
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(c1 c16 c64 c256 open1000 open10000)
stamp=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-bench/results-$stamp}
mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d /tmp/daisydog-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
declare -A HTTP PPROF
for n in n1 n2 n3; do HTTP[$n]=127.0.0.1:$(port); PPROF[$n]=""; done
if [ -n "${PPROF_BASE:-}" ]; then
  for i in 1 2 3; do PPROF[n$i]="--pprof 127.0.0.1:${PPROF_BASE}$i"; done
fi

wait_ready() { # node-dir http-addr
  for _ in $(seq 1 300); do
    if curl -fsS --cacert "$1/tls/ca.crt" "https://$2/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "node at $2 did not become ready" >&2; return 1
}

"$BIN" init --data "$work/n1" --node-id n1 --http "${HTTP[n1]}" --raft "127.0.0.1:$(port)" --log-level warn --auth-rate -1 ${PPROF[n1]} "${nodeflags[@]}" >"$work/n1.out" 2>"$work/n1.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q ddj1 "$work/n1.out" 2>/dev/null && break; sleep 0.1; done
token=$(grep -o 'ddj1\.[0-9a-f.]*' "$work/n1.out")
wait_ready "$work/n1" "${HTTP[n1]}"
for n in n2 n3; do
  "$BIN" join --data "$work/$n" --node-id "$n" --http "${HTTP[$n]}" --raft "127.0.0.1:$(port)" \
    --join "${HTTP[n1]}" --token "$token" --log-level warn --auth-rate -1 ${PPROF[$n]} "${nodeflags[@]}" >"$work/$n.out" 2>"$work/$n.err" &
  pids+=($!)
done
wait_ready "$work/n2" "${HTTP[n2]}"; wait_ready "$work/n3" "${HTTP[n3]}"
for _ in $(seq 1 100); do
  [ "$("$BIN" cluster status --data "$work/n1" | grep -c '"suffrage": "Voter"')" = 3 ] && break; sleep 0.1
done

machine="$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); load generator on the same machine"
echo "machine: $machine" >&2
targets="https://${HTTP[n1]},https://${HTTP[n2]},https://${HTTP[n3]}"
mixflag=()
[ -z "$MIX" ] || mixflag=(--mix "$MIX")
: >"$work/results.jsonl"
for run in "${RUNS[@]}"; do
  case "$run" in
    c[0-9]*) args=(-c "${run#c}" --children "$CHILDREN") ;;
    open[0-9]*) args=(--open --children "${run#open}") ;;
    *) echo "unknown run $run (cN or openN)" >&2; exit 2 ;;
  esac
  echo "--- $run" >&2
  if "$BIN" bench --targets "$targets" --ca "$work/n1/tls/ca.crt" --duration "$DURATION" \
    --limits-dir "$work/n1" "${mixflag[@]}" "${extra[@]}" "${args[@]}" >"$work/run.json" 2>"$work/run.err"; then
    cat "$work/run.err" >&2
    jq -c --arg run "$run" '{run: $run} + .' "$work/run.json" >>"$work/results.jsonl"
    cat "$work/run.json"
  else # a failed run is a result too; the suite goes on
    cat "$work/run.err" >&2
    jq -nc --arg run "$run" --arg err "$(tail -1 "$work/run.err")" '{run: $run, failed: $err}' >>"$work/results.jsonl"
  fi
done

jq -s --arg date "$stamp" --arg machine "$machine" --arg version "$("$BIN" version)" \
  '{date: $date, machine: $machine, version: $version, runs: .}' "$work/results.jsonl" >"$OUT.json"
{
  echo "Benchmark $stamp — $("$BIN" version) — $machine. Duration $DURATION per run; three nodes on loopback, TLS, durable Raft commits."
  echo
  echo "| run | req/s | offered/s | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | errors | policy ms/turn | raft commit ms (p50) | fsm batch ms (p50) | entries/batch | cache hits | CPU ms/req nodes+client | CPU ceiling req/s | fsync p50 ms | RTT p50 µs | CPU pressure |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r '.runs[] | if .failed then "| \(.run) | failed: \(.failed) |" else [ .run,
      (.turns_per_sec|floor), (if .offered_per_sec then (.offered_per_sec|floor) else "—" end),
      (.latency_ms.p50*10|round/10), (.latency_ms.p95*10|round/10), (.latency_ms.p99*10|round/10),
      (.latency_ms["p99_9"]*10|round/10), (.latency_ms.max|round), .errors,
      ((.server.stages.policy_eval.per_turn_ms // 0)*100|round/100),
      ((.server.stages.raft_apply.p50_ms // 0)*10|round/10),
      ((.server.stages.fsm_apply_batch.p50_ms // 0)*10|round/10),
      ((.server.fsm_entries_per_batch // 0)*10|round/10),
      (((.server.cache_hit_ratio // 0)*100|round|tostring) + "%"),
      (if .cpu then "\((.cpu.server_ms_per_request*100|round/100)) + \((.cpu.client_ms_per_request*100|round/100))" else "—" end),
      (if .cpu then (.cpu.ceiling_requests_per_sec|floor) else "—" end),
      ((.machine.fsync_ms.p50 // 0)*100|round/100), ((.machine.loopback_rtt_us.p50 // 0)|round),
      (((.machine.contention_after.cpu_pressure_some_avg10_pct // 0)|round|tostring) + "%")
    ] | "| " + (map(tostring) | join(" | ")) + " |" end' "$OUT.json"
  echo
  echo "CPU ms/req: CPU time (user + system) the three nodes together, and the load generator, spent per request in the measured window (refused requests included). CPU ceiling: the request rate at which both cores would be busy at that cost — the most this machine can serve with this software, however the work is scheduled."
  echo
  echo "CPU pressure: share of the last 10 s in which some task on the machine waited for a core (Linux PSI) at the end of the run; high values mean the numbers measure the machine's other load as much as DaisyDog."
} >"$OUT.md"
echo "wrote $OUT.json and $OUT.md" >&2
cat "$OUT.md" >&2
# Against the previous suite in the same directory, for information only:
# another sitting, perhaps another machine (the comparison says so when the
# machines' limits differ); deploy/bench-ab.sh is the fair comparison.
prev=$(ls "$(dirname "$OUT")"/results-*.json 2>/dev/null | grep -vxF "$OUT.json" | sort | tail -1 || true)
if [ -n "$prev" ] && [ -z "${NO_COMPARE:-}" ]; then
  echo "--- against $prev (information: another sitting)" >&2
  "$BIN" bench compare --base "$prev" --new "$OUT.json" >&2 || true
fi
