#!/usr/bin/env bash
# Start a three-node cluster on 127.0.0.1 from bin/daisydog, run the chat
# benchmark at several concurrencies against all three nodes, print one JSON
# summary per run, then stop the cluster. Usage: deploy/bench-local.sh [C...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/daisydog}
DURATION=${DURATION:-20s}
CHILDREN=${CHILDREN:-64}
CONCURRENCY=("$@")
[ ${#CONCURRENCY[@]} -gt 0 ] || CONCURRENCY=(16 64 256)
work=$(mktemp -d /tmp/daisydog-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
declare -A HTTP PPROF
for n in n1 n2 n3; do HTTP[$n]=127.0.0.1:$(port); PPROF[$n]=""; done
if [ -n "${PPROF_BASE:-}" ]; then # e.g. PPROF_BASE=606 → n1 on 127.0.0.1:6061 …
  for i in 1 2 3; do PPROF[n$i]="--pprof 127.0.0.1:${PPROF_BASE}$i"; done
fi

wait_ready() { # node-dir http-addr
  for _ in $(seq 1 300); do
    if curl -fsS --cacert "$1/tls/ca.crt" "https://$2/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "node at $2 did not become ready" >&2; return 1
}

"$BIN" init --data "$work/n1" --node-id n1 --http "${HTTP[n1]}" --raft "127.0.0.1:$(port)" --log-level warn --auth-rate -1 ${PPROF[n1]} >"$work/n1.out" 2>"$work/n1.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q ddj1 "$work/n1.out" 2>/dev/null && break; sleep 0.1; done
token=$(grep -o 'ddj1\.[0-9a-f.]*' "$work/n1.out")
wait_ready "$work/n1" "${HTTP[n1]}"
for n in n2 n3; do
  "$BIN" join --data "$work/$n" --node-id "$n" --http "${HTTP[$n]}" --raft "127.0.0.1:$(port)" \
    --join "${HTTP[n1]}" --token "$token" --log-level warn --auth-rate -1 ${PPROF[$n]} >"$work/$n.out" 2>"$work/$n.err" &
  pids+=($!)
done
wait_ready "$work/n2" "${HTTP[n2]}"; wait_ready "$work/n3" "${HTTP[n3]}"
for _ in $(seq 1 100); do
  [ "$("$BIN" cluster status --data "$work/n1" | grep -c '"suffrage": "Voter"')" = 3 ] && break; sleep 0.1
done

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load generator on the same machine" >&2
targets="https://${HTTP[n1]},https://${HTTP[n2]},https://${HTTP[n3]}"
for c in "${CONCURRENCY[@]}"; do
  echo "--- C=$c" >&2
  "$BIN" bench --targets "$targets" --ca "$work/n1/tls/ca.crt" -c "$c" --children "$CHILDREN" --duration "$DURATION"
done
