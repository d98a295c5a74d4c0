#!/usr/bin/env bash
# Statement coverage per package from a Go cover profile that may hold the
# same block several times (-coverpkg=./...: every test binary reports every
# package). A statement counts as covered when any test binary ran it, so a
# handler in node/api exercised by the tests of package node counts for
# node/api. Prints one line per package and the total.
set -euo pipefail
profile=${1:?usage: coverage-by-package.sh PROFILE [LABEL]}
label=${2:-unit tests}
awk '
  NR == 1 && /^mode:/ { next }
  {
    # file.go:12.3,15.4 NUMSTMT COUNT
    key = $1
    stmts[key] = $2
    if ($3 > 0) hit[key] = 1
    pkg = key; sub(/:.*$/, "", pkg); sub(/\/[^\/]*$/, "", pkg)
    pkgOf[key] = pkg
  }
  END {
    for (k in stmts) {
      p = pkgOf[k]; total[p] += stmts[k]
      if (k in hit) covered[p] += stmts[k]
    }
    for (p in total) printf "%s %d %d\n", p, covered[p] + 0, total[p]
  }' "$profile" | sort | awk -v label="$label" '
  { printf "%-36s %6.1f%%  (%d of %d statements)\n", $1, 100 * $2 / $3, $2, $3; c += $2; t += $3 }
  END { printf "%s, total statement coverage: %.1f%% (%d of %d statements)\n", label, 100 * c / t, c, t }'
