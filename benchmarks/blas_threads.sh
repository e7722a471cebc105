#!/bin/sh
# What OpenBLAS's worker threads cost `weft sim` when the learned policy
# runs beside others (four policies on two cores): the same command with
# OpenBLAS's own default (a worker per core: OPENBLAS_NUM_THREADS=$(nproc))
# and with weft's (one thread), alternately, ROUNDS times each. Prints each
# run's wall seconds and the CPU seconds (user + system) of the run, then
# the table of the last run of each.
# usage: benchmarks/blas_threads.sh [BUILD_DIR] [ROUNDS]   (from the source tree)
set -eu
WEFT=${1:-build}/weft # holds a slash: run from there, absolute or not
ROUNDS=${2:-2}
W=build/bench-blas.weft
# gen's summary kept quiet, but not its error
[ -f "$W" ] || err=$("$WEFT" gen --shape wfcommons --jobs 100 --ports 64 --load 0.9 --seed 3 \
    -o "$W" 2>&1) || { echo "$err" >&2; exit 1; }
CORES=$(nproc)
# the children's user + system seconds so far, from the shell's `times`
# (in this shell: a command substitution would count its own children)
cpu() { tail -1 "$W.times" | tr 'ms' '  ' | awk '{print 60 * $1 + $2 + 60 * $3 + $4}'; }
for r in $(seq "$ROUNDS"); do
    for mode in default weft; do
        threads=$([ $mode = default ] && echo "$CORES" || echo 1)
        times >"$W.times"
        c0=$(cpu)
        t0=$(date +%s.%N)
        if [ $mode = default ]; then
            OPENBLAS_NUM_THREADS=$CORES "$WEFT" sim "$W" --policy learned --policy sebf \
                --policy jsebf-cp --policy aalo >"$W.$mode.txt"
        else
            env -u OPENBLAS_NUM_THREADS "$WEFT" sim "$W" --policy learned --policy sebf \
                --policy jsebf-cp --policy aalo >"$W.$mode.txt"
        fi
        t1=$(date +%s.%N)
        times >"$W.times"
        c1=$(cpu)
        echo "BENCH bench=blas_threads round=$r blas_threads=$threads" \
            "$(awk -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
                'BEGIN { printf "wall_s=%.2f cpu_s=%.2f", t1 - t0, c1 - c0 }')"
    done
done
for mode in default weft; do
    echo "== $mode"
    tail -5 "$W.$mode.txt"
done
