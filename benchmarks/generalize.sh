#!/bin/sh
# The shipped model on workloads unlike its training mix: one setting moved
# at a time away from eval.sh's (30 jobs, 16 ports, offered load 0.7):
# ports 8, 32, 64; jobs 15, 60, 120; loads 0.3 and 1.0. Alibaba and
# WfCommons shapes, SEEDS seeds each (2001.., never used in training or in
# eval.sh). Prints `weft eval`'s table (one group per setting and shape);
# per-workload CSV in OUT.
#
#   sh benchmarks/generalize.sh [BUILD_DIR]   (MODEL=file, POLICIES="p1 p2 ...")
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/generalize}
SEEDS=${SEEDS:-3}
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
POLICIES=${POLICIES:-learned jsebf jsebf-cp sincronia sebf wcp}
[ -x "$WEFT" ] || { echo "generalize.sh: $WEFT not built (make build)" >&2; exit 1; }
# shellcheck source=benchmarks/eval.inc
. "$(dirname "$0")/eval.inc"
need_seeds generalize.sh
mkdir -p "$OUT/data"
set -- # the workloads: positional parameters keep a blank in OUT in a path
for setting in p8 p32 p64 j15 j60 j120 l0.3 l1.0; do
    ports=16 jobs=30 load=0.7
    case $setting in
    p*) ports=${setting#p} ;;
    j*) jobs=${setting#j} ;;
    l*) load=${setting#l} ;;
    esac
    for shape in alibaba wfcommons; do
        s=1
        while [ $s -le "$SEEDS" ]; do
            seed=$((2000 + s))
            f="$OUT/data/$setting-$shape-s$seed.weft"
            # gen's summary kept quiet, but not its error
            [ -s "$f" ] || err=$("$WEFT" gen --shape $shape --load $load --seed $seed \
                --jobs "$jobs" --ports "$ports" -o "$f" 2>&1) || { echo "$err" >&2; exit 1; }
            set -- "$@" "$f"
            s=$((s + 1))
        done
    done
done
eval_policies "$OUT/eval.csv" --lp-bound "$@"
