#!/bin/sh
# props-sweep.sh - the property tests of tests/test_props.c on more seeds
# than make test runs (1-25), in chunks that each stay within the suite's
# 120 s limit a test.
#
#   scripts/props-sweep.sh FIRST LAST [CHUNK] [BUILD_DIR]
#
# Runs props/every_policy_obeys_the_physics_and_repeats_exactly and
# props/lazy_pacing_and_pairs_match_flow_by_flow on seeds FIRST..LAST,
# CHUNK seeds a run (default 1000, about 25-40 s each here), one test per
# core. Prints a line per chunk; a failing chunk's output is kept in
# BUILD_DIR/props-sweep-TEST-FIRST.log and the status is 1.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 FIRST LAST [CHUNK] [BUILD_DIR]" >&2
    exit 2
fi
first=$1 last=$2 chunk=${3:-1000} build=${4:-$(dirname "$0")/../build}
case "$first$last$chunk" in
*[!0-9]*) echo "$0: FIRST, LAST and CHUNK are whole numbers" >&2; exit 2 ;;
esac
if [ "$first" -lt 1 ] || [ "$first" -gt "$last" ] || [ "$chunk" -lt 1 ]; then
    echo "$0: expected 1 <= FIRST <= LAST and CHUNK >= 1" >&2
    exit 2
fi
[ -x "$build/test_props" ] || { echo "$0: $build/test_props: build it first" >&2; exit 2; }

sweep() { # one test over the whole range; status 1 if a chunk failed
    test=$1 a=$first bad=0
    while [ "$a" -le "$last" ]; do
        b=$((a + chunk - 1))
        [ "$b" -gt "$last" ] && b=$last
        log=$build/props-sweep-$test-$a.log
        if WEFT_PROPS_SEEDS=$a-$b "$build/test_props" --filter "props/$test" > "$log" 2>&1
        then
            echo "ok   $test seeds $a-$b"
            rm -f "$log"
        else
            echo "FAIL $test seeds $a-$b: $log"
            bad=1
        fi
        a=$((b + 1))
    done
    return $bad
}

sweep every_policy_obeys_the_physics_and_repeats_exactly & one=$!
sweep lazy_pacing_and_pairs_match_flow_by_flow & two=$!
status=0
wait $one || status=1
wait $two || status=1
exit $status
