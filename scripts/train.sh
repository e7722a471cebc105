#!/bin/sh
# Reproduces the shipped model, models/weft-policy.msgpack, from scratch:
# generates the training and validation workloads (multi-stage jobs of FB
# coflows in Alibaba and WfCommons DAG shapes, offered loads 0.5/0.7/0.9, on
# 16 and 32 ports), trains with `weft train` and copies the best validated
# model.
#
# The model is a residual of jsebf-cp (--prior, --prior-path): its score is
# the network's plus 3 × −log(job remaining work / weight) plus 0.6 ×
# log(the coflow's remaining path), the network's score head starting at
# zero, so iteration 0 is (nearly) jsebf-cp's order and REINFORCE learns
# corrections; the best validated model (iteration 0 included) is kept.
#
# Seeds: training workloads 1..4 (16 ports) and 1..2 (32 ports), validation
# 501..503 (16 ports) and 501 (32 ports); `benchmarks/eval.sh` evaluates on
# seeds 1001.. which training never sees (and `make run` uses seed 11).
#
#   sh scripts/train.sh [BUILD_DIR]      (default build; output in BUILD_DIR/train)
#
# A run stopped before its end (Ctrl-C writes the checkpoint at the
# iteration it stops at) continues from its last checkpoint with
# TRAIN_ARGS="--resume BUILD_DIR/train/checkpoint.msgpack"; started again
# without it, weft train refuses to overwrite that checkpoint.
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/train}
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
MODEL=${MODEL:-models/weft-policy.msgpack}
[ -x "$WEFT" ] || { echo "train.sh: $WEFT not built (make build)" >&2; exit 1; }
# The shipped model was trained on OpenBLAS's SkylakeX kernels. Other
# kernels (Haswell, Zen, ...) round their sums differently and REINFORCE
# amplifies any difference, so reproducing the model bit for bit takes the
# same kernels. On a CPU with AVX-512 they are chosen here (BLAS_CORETYPE
# names others), over an inherited OPENBLAS_CORETYPE too: some machines set
# Haswell's for every program. Without AVX-512 the model trains as well
# but differs from the shipped one in its bits.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
avx512=yes
for f in avx512f avx512cd avx512bw avx512dq avx512vl; do
    case " $flags " in *" $f "*) ;; *) avx512=no ;; esac
done
if [ $avx512 = yes ]; then
    export OPENBLAS_CORETYPE="${BLAS_CORETYPE:-SkylakeX}"
else
    echo "train.sh: no AVX-512 here for OpenBLAS's SkylakeX kernels, which trained the" \
        "shipped model: this model will differ from it in its bits" >&2
fi
mkdir -p "$OUT/data" "$(dirname "$MODEL")"
start=$(date +%s)

gen() { # shape load seed jobs ports file
    [ ! -s "$6" ] || return 0
    # weft gen's summary goes to stderr: shown only with its error
    "$WEFT" gen --shape "$1" --load "$2" --seed "$3" --jobs "$4" --ports "$5" -o "$6" \
        2>"$OUT/gen.log" || {
        cat "$OUT/gen.log" >&2
        echo "train.sh: weft gen failed making $6" >&2
        exit 1
    }
}
set -- # the --val options: positional parameters keep a blank in OUT in its path
for shape in alibaba wfcommons; do
    for load in 0.5 0.7 0.9; do
        for seed in 1 2 3 4; do
            gen $shape $load $seed 60 16 "$OUT/data/train-$shape-l$load-s$seed.weft"
        done
        for seed in 1 2; do
            gen $shape $load $seed 60 32 "$OUT/data/train32-$shape-l$load-s$seed.weft"
        done
        for seed in 501 502 503; do
            gen $shape $load $seed 30 16 "$OUT/data/val-$shape-l$load-s$seed.weft"
            set -- "$@" --val "$OUT/data/val-$shape-l$load-s$seed.weft"
        done
        gen $shape $load 501 60 32 "$OUT/data/val32-$shape-l$load-s501.weft"
        set -- "$@" --val "$OUT/data/val32-$shape-l$load-s501.weft"
    done
done

# shellcheck disable=SC2086
"$WEFT" train "$OUT"/data/train-*.weft "$OUT"/data/train32-*.weft "$@" --out "$OUT" \
    --model-out "$MODEL" --seed 1 --prior 3 --prior-path 0.6 --iters 40 --imitate 0 --dagger 0 \
    --episodes 4 --rollouts 4 --jobs-min 30 --jobs-max 30 --curriculum 0 \
    --lr-rl 3e-4 --lr-rl-end 3e-5 --clip 0.5 --entropy 0.001 \
    --validate-every 4 --checkpoint-every 4 ${TRAIN_ARGS:-}
echo "train.sh: wall time $(( $(date +%s) - start )) s; model in $MODEL"
