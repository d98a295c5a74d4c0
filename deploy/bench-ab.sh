#!/usr/bin/env bash
# A/B benchmark on this machine: a baseline binary against the candidate,
# alternating (A B, then B A, …) so that the machine's drift and its neighbours'
# load fall on both alike. Each round runs deploy/bench-local.sh (a fresh
# three-node cluster) with one binary, then `daisydog bench compare` judges
# the candidate against the baseline on the medians of the rounds; the
# script fails when a number regressed beyond the tolerance.
#
# Usage: deploy/bench-ab.sh BASE_BIN [runs...]     runs as in bench-local.sh (default: c64 c256 open1000)
#        make bench-ab BASE=<git revision>         builds that revision's binary first
# Env:   CAND (bin/daisydog), ROUNDS (2), DURATION (20s), TOLERANCE (0.15),
#        OUT (bench/ab-DATE: one results file per binary and round, and compare.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_BIN=${1:?usage: deploy/bench-ab.sh BASE_BIN [runs...]}
shift
CAND=${CAND:-bin/daisydog}
ROUNDS=${ROUNDS:-2}
TOLERANCE=${TOLERANCE:-0.15}
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(c64 c256 open1000)
OUT=${OUT:-bench/ab-$(date -u +%Y-%m-%dT%H%MZ)}
mkdir -p "$OUT"
for b in "$BASE_BIN" "$CAND"; do
  [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 2; }
done
echo "baseline $("$BASE_BIN" version), candidate $("$CAND" version); $ROUNDS round(s) of ${RUNS[*]}" >&2
base_files=() cand_files=()
# The order within a round alternates (A B, B A, A B, …): the second run of
# a pair was measured slower in 6 of 7 pairs on 2026-11-28 (2–16%, the
# machine warming or a neighbour), a bias that must not fall on one binary.
run_base() {
  echo "=== round $1: baseline" >&2
  BIN="$BASE_BIN" OUT="$OUT/base-$1" deploy/bench-local.sh "${RUNS[@]}" >/dev/null
  base_files+=("$OUT/base-$1.json")
}
run_cand() {
  echo "=== round $1: candidate" >&2
  BIN="$CAND" OUT="$OUT/new-$1" deploy/bench-local.sh "${RUNS[@]}" >/dev/null
  cand_files+=("$OUT/new-$1.json")
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then
    run_base "$r"; run_cand "$r"
  else
    run_cand "$r"; run_base "$r"
  fi
done
join() { local IFS=,; echo "$*"; }
status=0
"$CAND" bench compare --base "$(join "${base_files[@]}")" --new "$(join "${cand_files[@]}")" --tolerance "$TOLERANCE" \
  | tee "$OUT/compare.txt" || status=$?
echo "wrote $OUT" >&2
exit $status
