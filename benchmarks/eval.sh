#!/bin/sh
# The learned policy against every heuristic on workloads training never
# saw: multi-stage jobs of Facebook coflows in Alibaba and WfCommons DAG
# shapes, offered loads 0.5, 0.7 and 0.9, SEEDS seeds each (1001.., while
# scripts/train.sh trains on seeds 1..4 and validates on 501), 30 jobs on
# 16 ports of 1 Gbit/s, the shapes of scripts/train.sh. Prints
# `weft eval`'s table; per-workload CSV and a bar plot in OUT.
#
#   sh benchmarks/eval.sh [BUILD_DIR]     (MODEL=file to evaluate another model;
#   SEEDS=N seeds, JOBS=N jobs a workload, OUT=DIR)
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/eval}
SEEDS=${SEEDS:-4}
JOBS=${JOBS:-30}
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
[ -x "$WEFT" ] || { echo "eval.sh: $WEFT not built (make build)" >&2; exit 1; }
mkdir -p "$OUT/data"
# The files are named by shape, load and seed, not JOBS, and reused: those
# made for another JOBS (weft gen ends a file with "end JOBS") were taken
# silently. They go, so that OUT/data, which room.sh reads whole, holds
# workloads of one JOBS.
for f in "$OUT"/data/*.weft; do
    [ ! -e "$f" ] || [ "$(tail -n 1 "$f")" = "end $JOBS" ] || rm -f "$f"
done
set -- # the workloads: positional parameters keep a blank in OUT in a path
for shape in alibaba wfcommons; do
    for load in 0.5 0.7 0.9; do
        s=1
        while [ $s -le "$SEEDS" ]; do
            seed=$((1000 + s))
            f="$OUT/data/$shape-l$load-s$seed.weft"
            # gen's summary kept quiet, but not its error
            [ -s "$f" ] || err=$("$WEFT" gen --shape $shape --load $load --seed $seed \
                --jobs "$JOBS" --ports 16 -o "$f" 2>&1) || { echo "$err" >&2; exit 1; }
            set -- "$@" "$f"
            s=$((s + 1))
        done
    done
done
# shellcheck disable=SC2086
"$WEFT" eval ${MODEL:+--model "$MODEL"} --lp-bound --csv "$OUT/eval.csv" --plot "$OUT/eval.png" "$@"
