#!/bin/sh
# Reading and analysing one job whose coflows form a chain (coflow i the
# parent of i+1; compute 0.001 s, two flows on 8 ports each): the time of
# `weft inspect` at each length, which grows linearly since 2026-12-03
# (it was quadratic: docs/performance-log.md, 2026-12-03 (night)).
#
#   sh benchmarks/chain.sh [BUILD_DIR] [N...]     (default 20000 40000 200000)
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
WEFT=./$BUILD/weft
[ -x "$WEFT" ] || { echo "chain.sh: $WEFT not built (make build)" >&2; exit 1; }
[ $# -gt 0 ] || set -- 20000 40000 200000
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf '%10s %10s %12s\n' coflows MB inspect_s
for n in "$@"; do
    f="$TMP/chain$n.weft"
    awk -v n="$n" 'BEGIN {
        p = 8
        printf "weft-workload 1\nports %d\njob 0 0 1 0 %d\n", p, n
        for (i = 0; i < n; i++) {
            printf "coflow %d 0.001 2 %s\n", i, i == 0 ? "-" : i - 1
            printf "%d %d %d\n", i % p, (i + 1) % p, 1000000 + i
            printf "%d %d %d\n", (i + 3) % p, (i + 5) % p, 2000000 + 7 * i
        }
        print "end 1"
    }' > "$f"
    t0=$(date +%s.%N)
    "$WEFT" inspect "$f" > /dev/null
    t1=$(date +%s.%N)
    awk -v n="$n" -v b="$(wc -c < "$f")" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%10d %10.1f %12.2f\n", n, b / 1e6, t1 - t0 }'
done
