#!/bin/sh
# N one-flow jobs, all on port 0 -> 1 and all arriving at 0 (sizes 1 to
# 1,000 kB, a fixed pseudo-random draw), so every coflow shares one
# bottleneck at every decision: the simulation time of each policy at each
# N. Sincronia's BSSI reads and rescales every unplaced coflow on the
# bottleneck port in each of its N rounds, so its decisions cost N^2 and
# the run about N^3; the sorting orderings cost N log N a decision.
#
#   sh benchmarks/one_port.sh [BUILD_DIR] [N...]     (default 500 1000 2000)
#   POLICIES="sincronia" sh benchmarks/one_port.sh build 4000
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
[ -x "$WEFT" ] || { echo "one_port.sh: $WEFT not built (make build)" >&2; exit 1; }
[ $# -gt 0 ] || set -- 500 1000 2000
POLICIES=${POLICIES:-sebf aalo sincronia}
for n in "$@"; do # awk would compare a word as text: 'abc' made an endless file
    case $n in
    '' | *[!0-9]* | 0*)
        echo "one_port.sh: '$n': expected a number of coflows, 1 or more" >&2
        exit 2
        ;;
    esac
done
TMP=$(mktemp -d)
# a signal runs no EXIT trap in sh unless it is trapped too
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
printf '%8s %-10s %12s\n' coflows policy 'sim (s)'
for n in "$@"; do
    f="$TMP/one$n.weft"
    awk -v n="$n" 'BEGIN {
        printf "weft-workload 1\nports 2\n"
        x = 12345
        for (j = 0; j < n; j++) {
            x = (x * 1103515245 + 12345) % 2147483648
            printf "job %d 0 1 0 1\ncoflow 1 0 1 -\n0 1 %d\n", j, (x % 1000 + 1) * 1000
        }
        printf "end %d\n", n
    }' > "$f"
    for p in $POLICIES; do
        # the table's wall(s) column: the emulation alone (its own command,
        # so that set -e sees weft fail: a pipeline's status is awk's)
        "$WEFT" sim "$f" --policy "$p" >"$TMP/out"
        s=$(tail -n 1 "$TMP/out" | awk '{ print $NF }')
        printf '%8d %-10s %12s\n' "$n" "$p" "$s"
    done
done
