#!/usr/bin/env bash
# Times the default policy's rules (package policies/default/rules, its
# BenchmarkEvaluateRules*) compiled natively and compiled to WebAssembly
# (GOOS=wasip1) run on wazero's compiler without the host's ABI or
# instrumentation: what the WebAssembly code generation itself costs.
# Usage: deploy/wasm-vs-native.sh [BENCH_REGEX] (default 'BenchmarkEvaluateRules')
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-BenchmarkEvaluateRules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wasmrun" ./deploy/wasmrun
GOOS=wasip1 GOARCH=wasm go test -c -o "$tmp/rules.wasm" ./policies/default/rules
echo "== native ($(go env GOARCH))"
(cd policies/default/rules && go test -run '^$' -bench "$bench" -count 3 . | grep -E '^Benchmark')
echo "== WebAssembly (wasip1 on wazero)"
(cd policies/default/rules && "$tmp/wasmrun" "$tmp/rules.wasm" -test.run '^$' -test.bench "$bench" -test.count 3 | grep -E '^Benchmark')
