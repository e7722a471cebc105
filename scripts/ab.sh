#!/bin/sh
# ab.sh - two builds of weft timed side by side on the Facebook trace.
#
#   scripts/ab.sh OLD_WEFT NEW_WEFT [PAIRS] [POLICY] [TRACE]
#
# Runs `weft sim TRACE --format fb --varys --policy POLICY` with both
# binaries at once, one per core, PAIRS times (default 10, policy sebf), so
# that both runs of a pair see the same spell of this shared host (alone, the
# same binary moves by up to ±30% within an hour). Prints each pair's
# simulation seconds (the table's wall(s) column), then the mean of
# new / old and how many pairs the new build won. A build of an older
# commit: git archive REV | tar -x -C DIR, then cmake -S DIR -B DIR/build
# and cmake --build DIR/build --target weft.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 OLD_WEFT NEW_WEFT [PAIRS] [POLICY] [TRACE]" >&2
    exit 2
fi
old=$1 new=$2 pairs=${3:-10} policy=${4:-sebf}
case $pairs in
''|*[!0-9]*|0*) echo "$0: PAIRS '$pairs': expected a whole number, 1 or more" >&2; exit 2 ;;
esac
trace=${5:-$(dirname "$0")/../data/FB2010-1Hr-150-0.txt}
for bin in "$old" "$new"; do
    [ -x "$bin" ] || { echo "$0: $bin: not an executable" >&2; exit 2; }
done
[ -r "$trace" ] || { echo "$0: $trace: cannot read the trace" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The simulation seconds of one run: the last field of its table's row.
sim_seconds() {
    "$1" sim "$trace" --format fb --varys --policy "$policy" > "$2" 2>&1 ||
        { echo "$0: $1 failed:" >&2; cat "$2" >&2; return 1; }
    tail -n 1 "$2" | awk '{ print $NF }' > "$2.s"
}

echo "policy $policy, $pairs pairs; simulation seconds: old new"
# The loop runs in a subshell of the pipeline: a failed pair ends it early,
# which only the number of pairs awk saw tells (not the mean of the pairs
# before it, which is no result).
i=0
while [ "$i" -lt "$pairs" ]; do
    sim_seconds "$old" "$tmp/old" & a=$!
    sim_seconds "$new" "$tmp/new" & b=$!
    ok=1
    wait "$a" || ok=0
    wait "$b" || ok=0
    [ "$ok" = 1 ] || exit 1
    echo "$(cat "$tmp/old.s") $(cat "$tmp/new.s")"
    i=$((i + 1))
done | awk -v want="$pairs" '{ print; r = $2 / $1; sum += r; n++; if (r < 1) won++ }
    END { if (n != want) { printf "%d of %d pairs ran\n", n, want > "/dev/stderr"; exit 1 }
          printf "BENCH bench=ab policy=%s pairs=%d mean_new_over_old=%.3f new_faster=%d\n",
          "'"$policy"'", n, sum / n, won }'
