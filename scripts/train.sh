#!/bin/sh
# Reproduces the shipped model, models/weft-policy.msgpack, from scratch:
# generates the training and validation workloads (multi-stage jobs of FB
# coflows in Alibaba and WfCommons DAG shapes, offered loads 0.5/0.7/0.9),
# trains with `weft train` in two stages and copies the best validated model
# of the second.
#
# Seeds: training workloads 1..4, validation 501; `benchmarks/eval.sh`
# evaluates on seeds 1001.. which training never sees.
#
#   sh scripts/train.sh [BUILD_DIR]      (default build; output in BUILD_DIR/train)
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/train}
WEFT=./$BUILD/weft
MODEL=${MODEL:-models/weft-policy.msgpack}
[ -x "$WEFT" ] || { echo "train.sh: $WEFT not built (make build)" >&2; exit 1; }
mkdir -p "$OUT/data" "$(dirname "$MODEL")"

gen() { # shape load seed jobs file
    [ -s "$5" ] || "$WEFT" gen --shape "$1" --load "$2" --seed "$3" --jobs "$4" \
        --ports 16 -o "$5" 2>/dev/null
}
VAL=""
for shape in alibaba wfcommons; do
    for load in 0.5 0.7 0.9; do
        for seed in 1 2 3 4; do
            gen $shape $load $seed 60 "$OUT/data/train-$shape-l$load-s$seed.weft"
        done
        gen $shape $load 501 30 "$OUT/data/val-$shape-l$load-s501.weft"
        VAL="$VAL --val $OUT/data/val-$shape-l$load-s501.weft"
    done
done

start=$(date +%s)
# shellcheck disable=SC2086
# stage 1: imitation, DAgger and REINFORCE from random parameters
"$WEFT" train "$OUT"/data/train-*.weft $VAL --out "$OUT" \
    --seed 1 --iters 120 --imitate 60 --dagger 30 --teacher jsebf --episodes 4 \
    --rollouts 4 --jobs-min 10 --jobs-max 30 --curriculum 40 --lr-imitate 3e-3 \
    --lr-rl 1e-4 --topk 8 --validate-every 5 --checkpoint-every 5 ${TRAIN_ARGS:-}
# stage 2: REINFORCE from stage 1's best validated model, episodes of 30 jobs
# shellcheck disable=SC2086
"$WEFT" train "$OUT"/data/train-*.weft $VAL --out "$OUT/rl" --model-out "$MODEL" \
    --init "$OUT/best.msgpack" --seed 2 --iters 40 --imitate 0 --dagger 0 --episodes 4 \
    --rollouts 4 --jobs-min 30 --jobs-max 30 --curriculum 0 --lr-rl 2e-4 --entropy 0.005 \
    --validate-every 5
echo "train.sh: wall time $(( $(date +%s) - start )) s; model in $MODEL"
