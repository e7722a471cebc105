#!/bin/sh
# One job whose coflows form a chain (coflow i the parent of i+1; compute
# 0.001 s, two flows on 8 ports each), at each length:
#   - the time of `weft inspect`, which grows linearly since 2026-12-03 (it
#     was quadratic: docs/performance-log.md, 2026-12-03 (night));
#   - the time of `weft sim` under sebf and the DAG-aware orderings, which
#     read only each job's frontier since 2026-12-04 (wcp and jsebf-cp were
#     quadratic: 209 and 192 s at 200,000 coflows); POLICIES=learned for
#     the learned one, which scores nothing with one coflow schedulable
#     since the same day (it took 26 s at 4,000 coflows).
# With BASE=DIR, every timing is taken with DIR/weft too, alternately, for
# a comparison of two builds in one run.
#
#   sh benchmarks/chain.sh [BUILD_DIR] [N...]     (default 20000 40000 200000)
#   POLICIES="wcp jsebf" BASE=/tmp/old/build sh benchmarks/chain.sh build 20000
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
[ -x "$WEFT" ] || { echo "chain.sh: $WEFT not built (make build)" >&2; exit 1; }
[ $# -gt 0 ] || set -- 20000 40000 200000
POLICIES=${POLICIES:-sebf wcp jsebf jsebf-cp}
BASE=${BASE:-}
[ -z "$BASE" ] || [ -x "$BASE/weft" ] || { echo "chain.sh: $BASE/weft not built" >&2; exit 1; }
for n in "$@"; do # awk would compare a word as text: 'abc' made an endless file
    case $n in
    '' | *[!0-9]* | 0*)
        echo "chain.sh: '$n': expected a number of coflows, 1 or more" >&2
        exit 2
        ;;
    esac
done
TMP=$(mktemp -d)
# a signal runs no EXIT trap in sh unless it is trapped too
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
# seconds of wall time of a command, its output dropped
timed() {
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", t1 - t0 }'
}
printf '%10s %8s %-10s %10s%s\n' coflows MB command seconds "${BASE:+ base_seconds}"
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
    mb=$(awk -v b="$(wc -c < "$f")" 'BEGIN { printf "%.1f", b / 1e6 }')
    for what in inspect $POLICIES; do
        if [ "$what" = inspect ]; then set -- inspect "$f"; else set -- sim "$f" --policy "$what"; fi
        t=$(timed "$WEFT" "$@")
        b=
        [ -z "$BASE" ] || b=" $(timed "$BASE/weft" "$@")"
        printf '%10d %8s %-10s %10s%s\n' "$n" "$mb" "$what" "$t" "${b:+$(printf '%13s' "$b")}"
    done
done
